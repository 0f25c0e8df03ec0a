"""The installed `codex-wizard` command in a real terminal (tmux), as a user sees it: the demo
wizard driven by keys to its token screen and quit back to the shell; `login --no-tui` against
the lab printing its URL, a host-key question answered (or abandoned with Ctrl-C)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from codex_wizard.core.server.preflight import AUTH_ADDRESS_VARIABLE
from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import state_of
from tests.test_e2e_core import browser_callback, no_codex_left
from tests.test_faults_more import laptop_login_port_free  # noqa: F401  (autouse)

COMMAND = Path(sys.executable).with_name("codex-wizard")
PROMPT = "cw-test$"
URL_RE = re.compile(r"^https://auth\.openai\.com/oauth/authorize\?\S+$", re.M)

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
    pytest.mark.skipif(not COMMAND.exists(), reason=f"codex-wizard is not installed at {COMMAND}"),
]


class Tmux:
    """A private tmux server with one fixed-size pane running a plain bash."""

    def __init__(self, home: Path, socket: Path, *, width: int, height: int) -> None:
        self.base = ["tmux", "-S", str(socket), "-f", "/dev/null"]
        home.mkdir(parents=True, exist_ok=True)
        env = {
            "HOME": str(home),
            "PATH": f"{COMMAND.parent}:/usr/bin:/bin",
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "PS1": f"{PROMPT} ",
        }
        # The offline lab's stand-in for auth.openai.com (tests/conftest.py): the preflight's
        # reach test must find it in the terminal too, or every login stops before its URL.
        if AUTH_ADDRESS_VARIABLE in os.environ:
            env[AUTH_ADDRESS_VARIABLE] = os.environ[AUTH_ADDRESS_VARIABLE]
        shell = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), "bash", "--norc"]
        self.tmux("new-session", "-d", "-s", "main", "-x", str(width), "-y", str(height))
        self.tmux("set-option", "-g", "set-clipboard", "on")
        self.tmux("respawn-pane", "-k", "-t", "main", shlex.join(shell))
        self.wait_for(lambda screen: PROMPT in screen, "the shell prompt")

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, timeout=30, check=True
        )
        return result.stdout

    def run(self, command: str) -> None:
        self.tmux("send-keys", "-t", "main", "-l", command)
        self.tmux("send-keys", "-t", "main", "Enter")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "main", *keys)

    def screen(self, *, joined: bool = False) -> str:
        """What the pane shows; joined: wrapped lines put back together (-J)."""
        return self.tmux("capture-pane", "-p", *(["-J"] if joined else []), "-t", "main")

    def pane(self, fmt: str) -> str:
        return self.tmux("display-message", "-p", "-t", "main", fmt).strip()

    def wait_for(
        self, predicate: Callable[[str], bool], what: str, *, timeout: float = 60, joined=False
    ) -> str:
        """Poll the screen until predicate holds (a bounded wait, not a timing assertion)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(joined=joined)
            if predicate(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} on the screen:\n{screen}")
            time.sleep(0.1)

    def wait_text(self, text: str, **kwargs) -> str:
        return self.wait_for(lambda screen: text in screen, repr(text), **kwargs)

    def at_prompt(self) -> bool:
        lines = [line for line in self.screen().splitlines() if line.strip()]
        return bool(lines) and lines[-1].strip() == PROMPT

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=30)


@contextmanager
def tmux_pane(tmp_path: Path, *, width: int, height: int) -> Iterator[Tmux]:
    """A private tmux whose one pane has this size (its socket: tmp_path/tmux.sock)."""
    term = Tmux(tmp_path / "home", tmp_path / "tmux.sock", width=width, height=height)
    try:
        yield term
    finally:
        term.close()


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Tmux]:
    with tmux_pane(tmp_path, width=110, height=36) as term:
        yield term


def back_at_the_shell(term: Tmux) -> None:
    term.wait_for(lambda _: term.at_prompt(), "shell prompt after quitting")
    assert term.pane("#{alternate_on}") == "0"  # the wizard left the alternate screen
    assert term.pane("#{pane_current_command}") == "bash"


# ------------------------------------------------------------------------------ the demo


def test_demo_wizard_to_the_token_screen_and_back_to_the_shell(terminal: Tmux) -> None:
    term = terminal
    term.run("codex-wizard --demo")
    term.wait_text("Which server should Codex be logged in on?")
    term.wait_text("expires in 9 days")  # the demo host's status answered
    term.keys("Enter")
    term.wait_text("codex is ready on the server.")
    term.keys("n")
    term.wait_text("Forwarding            allowed by the server")
    term.keys("n")
    login = term.wait_text("Waiting for you to sign in in the browser")
    assert "https://auth.openai.com/oauth/authorize?response_type=code" in login
    term.keys("s")
    term.wait_text("The server holds the new ChatGPT login.")
    term.keys("n")
    token = term.wait_text("Logged in. The access token expires in 9 days 23 hours.")
    for expected in (
        "● 6 Token",
        "Account        ad***@example.com",
        "Plan           plus",
        "Refresh token  present",
        "mode 0600",
        "It is not an OpenAI API key",
    ):
        assert expected in token, expected
    assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.", token)
    term.keys("C-q")
    back_at_the_shell(term)
    screen = term.screen()
    assert "Traceback" not in screen
    assert f"{PROMPT} codex-wizard --demo" in screen


# ------------------------------------------------------------------------------ the lab


def test_login_no_tui_in_a_terminal(lab: SshLab, terminal: Tmux) -> None:
    term = terminal
    lab.install_codex("fake", "path")
    term.run(f"codex-wizard login lab --no-tui -F {lab.ssh_config}")
    screen = term.wait_text("Waiting for the browser", joined=True)
    assert "Connecting to lab…" in screen
    assert "Tunnel: 127.0.0.1:1455 here -> lab 127.0.0.1:1455" in screen
    urls = URL_RE.findall(screen)
    assert len(urls) == 1, screen  # the URL whole on one (wrapped) line, nothing around it
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback" in urls[0]
    assert "(sent to your terminal's clipboard with OSC 52, unconfirmed" in screen
    assert term.tmux("show-buffer").strip() == urls[0]  # OSC 52 reached the terminal
    assert browser_callback(1455, f"/auth/callback?code=c0de&state={state_of(urls[0])}") == 302
    done = term.wait_text("Logged in on lab.", joined=True)
    assert "Access token expires" in done and "(in 9 days" in done
    term.wait_for(lambda _: term.at_prompt(), "shell prompt")
    assert "Traceback" not in term.screen(joined=True)
    no_codex_left(lab)


def unknown_key_config(lab: SshLab, tmp_path: Path) -> tuple[Path, Path]:
    known = tmp_path / "ssh" / "known_hosts"
    config = tmp_path / "ssh_config_unknown_key"
    config.write_text(lab.ssh_config.read_text().replace(str(lab.known_hosts), str(known)))
    return config, known


def test_host_key_question_answered_yes_then_ctrl_c(
    lab: SshLab, terminal: Tmux, tmp_path: Path
) -> None:
    term = terminal
    lab.install_codex("fake", "path")
    config, known = unknown_key_config(lab, tmp_path)
    term.run(f"codex-wizard login lab --no-tui -F {config}")
    question = term.wait_text("[y/N]", joined=True)
    assert f"key fingerprint is {lab.host_key_fingerprint}." in question
    assert not known.exists()
    term.run("y")
    term.wait_text("Waiting for the browser", joined=True)
    assert known.stat().st_mode & 0o777 == 0o600
    assert lab.server_processes("codex login")
    term.keys("C-c")
    term.wait_text("codex-wizard: cancelled.")
    term.wait_for(lambda _: term.at_prompt(), "shell prompt")
    no_codex_left(lab)


def test_ctrl_c_at_the_host_key_question_leaves_at_once(
    lab: SshLab, terminal: Tmux, tmp_path: Path
) -> None:
    """Not only after Enter: the question's reader must not hold the exit up."""
    term = terminal
    config, known = unknown_key_config(lab, tmp_path)
    term.run(f"codex-wizard doctor lab -F {config}")
    term.wait_text("[y/N]", joined=True)
    term.keys("C-c")
    term.wait_text("codex-wizard: cancelled.")
    term.wait_for(lambda _: term.at_prompt(), "shell prompt")
    assert not known.exists()
    assert "Traceback" not in term.screen(joined=True)


def test_closing_the_terminal_mid_login_leaves_nothing_running(lab: SshLab, terminal: Tmux) -> None:
    """The user closes the terminal window while codex waits for the browser: the pane's
    processes get SIGHUP; codex-wizard cleans up as for Ctrl-C (tests/test_faults_more.py's
    sighup cases prove that path) and nothing is left on the server or here."""
    term = terminal
    lab.install_codex("fake", "path")
    term.run(f"codex-wizard login lab --no-tui -F {lab.ssh_config}")
    term.wait_text("Waiting for the browser", joined=True)
    assert lab.server_processes("codex login")
    term.close()  # the terminal (tmux's server) goes away: SIGHUP to the pane's processes
    no_codex_left(lab)
    deadline = time.monotonic() + 30
    while any("codex-wizard login lab" in line for line in _local_processes()):
        assert time.monotonic() < deadline, "codex-wizard still running after its terminal closed"
        time.sleep(0.1)


def _local_processes() -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, timeout=30)
    return ps.stdout.splitlines()
