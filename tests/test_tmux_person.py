"""The installed wizard's ending, in a real terminal (tmux) as a person meets it: `q` quits,
the exit code says whether it ended logged in (0), was interrupted (130) or not (1), and one
summary line stays on the terminal after the full screen has gone."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.sshlab import SshLab
from tests.test_faults_more import laptop_login_port_free  # noqa: F401  (autouse)
from tests.test_tmux import PROMPT, Tmux, back_at_the_shell, tmux_pane
from tests.test_tmux import pytestmark as tmux_marks

pytestmark = tmux_marks


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Tmux]:
    with tmux_pane(tmp_path, width=120, height=40) as term:
        yield term


def demo_to_the_token_step(term: Tmux) -> None:
    term.run("codex-wizard --demo")
    term.wait_text("Which server should Codex be logged in on?")
    term.wait_text("expires in 9 days")
    term.keys("Enter")
    term.wait_text("codex is ready on the server.")
    term.keys("n")
    term.wait_text("allowed by the server")
    term.keys("n")
    term.wait_text("Waiting for you to sign in", joined=True)
    term.keys("s")
    term.wait_text("The server holds the new ChatGPT login.", joined=True)


def exit_code_after(term: Tmux) -> str:
    """The shell's $? for the command that just ended."""
    back_at_the_shell(term)
    term.run("echo exit=$?")
    screen = term.wait_for(lambda s: "exit=" in s.split("echo exit=$?")[-1], "the exit code")
    return screen.split("echo exit=$?")[-1].split("exit=")[1].split()[0]


def test_q_after_a_verified_login_exits_0_with_the_summary_line(pane: Tmux) -> None:
    demo_to_the_token_step(pane)
    pane.keys("q")
    assert exit_code_after(pane) == "0"
    screen = pane.screen(joined=True)
    assert "✓ Logged in on demo. Access token expires " in screen
    assert "codex renews it on use." in screen
    assert f"{PROMPT} codex-wizard --demo" in screen


def test_ctrl_c_mid_login_exits_130_and_says_so(pane: Tmux) -> None:
    pane.run("codex-wizard --demo")
    pane.wait_text("expires in 9 days")
    pane.keys("Enter")
    pane.wait_text("codex is ready on the server.")
    pane.keys("C-c")
    assert exit_code_after(pane) == "130"
    assert "✗ Not logged in on demo: cancelled." in pane.screen(joined=True)


def test_q_before_any_login_exits_1(pane: Tmux) -> None:
    pane.run("codex-wizard --demo")
    pane.wait_text("expires in 9 days")
    pane.keys("q")
    assert exit_code_after(pane) == "1"
    assert "✗ Not logged in: no host chosen." in pane.screen(joined=True)


def test_login_over_ssh_says_where_the_browser_is_before_the_url(lab: SshLab, pane: Tmux) -> None:
    """Run on a machine the user reached over SSH (no display): the note and the exact
    `ssh -L` come before the URL, the command alone on its line to copy whole."""
    lab.install_codex("fake", "path")
    pane.run("export SSH_CONNECTION='192.0.2.7 53122 198.51.100.4 22' USER=alice")
    pane.run(f"codex-wizard login lab --no-tui -F {lab.ssh_config}")
    screen = pane.wait_text("Waiting for the browser", joined=True)
    note = screen.index("over SSH (from 192.0.2.7)")
    assert note < screen.index("Open this URL in your browser") < screen.index("https://auth.")
    assert "\nssh -L 1455:127.0.0.1:1455 alice@198.51.100.4\n" in screen
    assert "--relay" in screen[note:] and "--device-auth" in screen[note:]
    pane.keys("C-c")
    assert exit_code_after(pane) == "130"


def colours_on(term: Tmux) -> list[str]:
    """The SGR sequences that set a foreground or background colour in the pane."""
    shown = term.tmux("capture-pane", "-p", "-e", "-t", "main")
    return [seq for seq in re.findall(r"\x1b\[[0-9;]*m", shown) if _sets_colour(seq)]


COLOUR_CODES = {*range(30, 39), *range(40, 49), *range(90, 108)}  # 39, 49: back to default


def _sets_colour(seq: str) -> bool:
    return any(int(code) in COLOUR_CODES for code in seq[2:-1].split(";") if code)


def test_no_color_is_honoured_by_the_wizard(pane: Tmux) -> None:
    pane.run("NO_COLOR=1 codex-wizard --demo")
    pane.wait_text("expires in 9 days")
    assert colours_on(pane) == []
    pane.keys("q")
    back_at_the_shell(pane)
    pane.run("codex-wizard --demo")  # the control: without NO_COLOR there is colour
    pane.wait_text("expires in 9 days")
    assert colours_on(pane) != []
    pane.keys("q")


def no_network() -> bool:
    """A network namespace of its own (loopback only) can be made here."""
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(shutil.which("unshare") is None or not no_network(), reason="needs unshare -n")
def test_q_at_a_host_that_could_not_be_reached_exits_1_naming_it(pane: Tmux) -> None:
    """In a namespace with loopback only, so the name lookup sends nothing off this machine."""
    pane.run("unshare -n codex-wizard bob@nohost.invalid -F /dev/null")
    pane.wait_text("Can't resolve bob@nohost.invalid:", timeout=90)  # the host as typed
    pane.keys("q")
    assert exit_code_after(pane) == "1"
    assert "✗ Not logged in on bob@nohost.invalid: not connected." in pane.screen(joined=True)


def test_the_relay_at_80x24_with_keys_only(tmp_path: Path) -> None:
    """A person in an 80×24 pane, keys only: on the relay step the box to paste into, its key
    (a Paste address) and ^q Quit are on the screen; after the paste the outcome is too."""
    with tmux_pane(tmp_path, width=80, height=24) as term:
        term.run("codex-wizard --demo relay")
        term.wait_text("expires in 9 days")
        term.keys("Enter")
        term.wait_text("codex is ready on the server.")
        term.keys("n")
        term.wait_text("Other ways in ›")
        term.keys("n")
        term.wait_text("Relay the redirect")
        term.keys("r")
        term.wait_text("https://auth.openai.com/oauth/authorize")
        term.wait_text("paste that whole address")
        screen = term.screen()
        footer = screen.rstrip("\n").splitlines()[-1]
        assert "a Paste address" in footer and footer.rstrip().endswith("^q Quit"), footer
        assert "http://127.0.0.1:1455/auth/callback?code=…&state=…" in screen  # the empty box
        assert "6 Token" in screen and "Token status ›" in screen
        term.keys("s")  # the demo types in where the browser ended
        term.wait_for(pasted, "the address in the box")
        term.keys("Enter")
        term.wait_text("✓ Logged in on demo.")
        screen = term.wait_text("Access token expires", joined=True)  # at once, no key pressed
        assert "Relayed with curl on demo" in screen, screen
        assert "✓ The server holds the new ChatGPT login." in screen, screen
        term.keys("q")
        assert exit_code_after(term) == "0"


def pasted(screen: str) -> bool:
    """The relay's box holds an address (not its placeholder, which ends in …)."""
    return any("▊" in line and "&state=" in line and "…" not in line for line in screen.split("\n"))
