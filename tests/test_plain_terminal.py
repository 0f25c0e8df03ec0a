"""The plain terminal as a person meets it: TERM=dumb falls back from the full-screen wizard to
the plain login and says so, a login on a dumb terminal or into a pipe carries no escape
sequence, `--open` without a browser says so, and every subcommand's --help opens with what
it does. The installed command on a real pseudo-terminal, against the lab's sshd."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codex_wizard.cli.main import COMMANDS
from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import CLI, URL_LINE, cli, state_of
from tests.test_e2e_core import browser_callback, no_codex_left
from tests.test_faults_more import laptop_login_port_free  # noqa: F401  (autouse)

COMMAND = Path(sys.executable).with_name("codex-wizard")


def plain_env(**extra: str) -> dict[str, str]:
    """A user's environment without a display (no browser can be started)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("SSH_CONNECTION", None)
    return {**env, **extra}


class PtyRun:
    """The command on a pseudo-terminal of its own, every byte it writes kept."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.output = b""

    def read_until(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in:\n{self.output.decode(errors='replace')}")
            self._read_some()
        return self.output.decode(errors="replace")

    def _read_some(self) -> None:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal
            chunk = b""
        if not chunk:
            time.sleep(0.05)
        self.output += chunk

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.output += chunk
        os.close(self.master)
        return code


def test_term_dumb_runs_the_login_in_the_plain_terminal_without_escapes(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    run = PtyRun([str(COMMAND), "login", "lab", "-F", str(lab.ssh_config)], plain_env(TERM="dumb"))
    try:
        shown = run.read_until("Waiting for the browser")
        assert "TERM is dumb, so the full-screen wizard can't run here" in shown
        assert re.search(URL_LINE.pattern, shown.replace("\r\n", "\n"), re.M)
        run.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert run.finish() == 130
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    assert b"\x1b" not in run.output
    no_codex_left(lab)


def test_term_dumb_without_a_host_says_what_to_run_instead() -> None:
    run = PtyRun([str(COMMAND)], plain_env(TERM="dumb"))
    assert run.finish() == 2
    said = run.output.decode()
    assert "codex-wizard login HOST --no-tui" in said and b"\x1b" not in run.output


def test_login_into_a_pipe_has_no_escapes_and_open_without_a_browser_says_so(
    lab: SshLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab.install_codex("fake", "path")
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):  # the CLI below inherits: no browser to start
        monkeypatch.delenv(name, raising=False)
    with cli(lab, "login", "lab", "--no-tui", "--open", "--timeout", "60") as run:
        url = run.wait_for(URL_LINE.pattern)
        run.wait_for("no browser can be started from here")
        assert browser_callback(1455, f"/auth/callback?code=c&state={state_of(url)}") == 302
        code, out = run.finish()
    assert code == 0, out
    assert "\x1b" not in out
    assert "(not copied: no clipboard here; select the line above)" in out
    assert "✓ Logged in on lab." in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_help_opens_with_what_it_does(command: str) -> None:
    shown = subprocess.run(
        [*CLI, command, "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    first, blank = shown.splitlines()[:2]
    assert first[0].isupper() and first.endswith(".") and not first.startswith("usage")
    assert blank == ""


def test_status_counter_on_a_dumb_terminal_or_a_pipe_sends_no_escape(lab: SshLab) -> None:
    """`status` over two hosts counts them on the terminal ("checked 2/2") and clears the
    counter without an escape sequence (it wrote ESC [ K); into a pipe it sends none either."""
    argv = [str(COMMAND), "status", "lab", "nobody@127.0.0.1:1", "-F", str(lab.ssh_config)]
    run = PtyRun([*argv, "--timeout", "20"], plain_env(TERM="dumb"))
    try:
        run.finish(timeout=120)
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    shown = run.output.decode(errors="replace")
    assert "checked 2/2" in shown and "nobody@127.0.0.1:1" in shown, shown
    assert b"\x1b" not in run.output, shown
    piped = subprocess.run(
        [*argv, "--timeout", "20"],
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=plain_env(TERM="xterm-256color"),
    )
    assert b"nobody@127.0.0.1:1" in piped.stdout
    assert b"\x1b" not in piped.stdout + piped.stderr, piped.stderr
