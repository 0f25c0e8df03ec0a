"""No warning from a dependency reaches the user's terminal: the installed `codex-wizard` command's
quick paths, each in a process of its own as a user starts it, write nothing to stderr but our
own lines. scripts/test runs this with the locked versions, `scripts/test --latest` with the
newest ones (issue 17: cryptography 51 made asyncssh's import print five DSA deprecation blocks
before every command's output)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

COMMAND = Path(sys.executable).with_name("codex-wizard")
UNREACHABLE = "nobody@127.0.0.1:1"  # nothing listens on port 1: refused at once
# Our own lines: messages, and the summary line both faces leave at the end (core.logins.summary).
OUR_LINE = re.compile(r"^(codex-wizard( [a-z-]+)?: |✓ Logged in on |✗ Not logged in)")
ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)")
ALT_SCREEN_ON, ALT_SCREEN_OFF = "\x1b[?1049h", "\x1b[?1049l"


def user_env(home: Path) -> dict[str, str]:
    """A user's environment, without what this test process has (PYTHONWARNINGS, CI, ...)."""
    home.mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "PATH": f"{COMMAND.parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
    }


def assert_only_our_lines(stderr: str) -> None:
    assert "Warning" not in stderr
    assert "Traceback" not in stderr
    strangers = [line for line in stderr.splitlines() if line.strip() and not OUR_LINE.match(line)]
    assert strangers == [], stderr


@pytest.fixture(autouse=True)
def _installed() -> None:
    assert COMMAND.exists(), f"codex-wizard is not installed at {COMMAND} (scripts/test does)"


QUICK = [  # (arguments, exit code)
    (["--version"], 0),
    (["doctor", "--help"], 0),
    (["status", UNREACHABLE, "--connect-timeout", "5"], 2),
    (["status", UNREACHABLE, "--connect-timeout", "5", "--json"], 2),
    (["doctor", UNREACHABLE, "--connect-timeout", "5"], 1),
    (["login", UNREACHABLE, "--no-tui", "--connect-timeout", "5"], 1),
]


@pytest.mark.parametrize(("args", "exit_code"), QUICK, ids=[" ".join(a) for a, _ in QUICK])
def test_a_quick_command_writes_only_our_lines_to_stderr(
    args: list[str], exit_code: int, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(COMMAND), *args],
        env=user_env(tmp_path / "home"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == exit_code, done.stdout + done.stderr
    assert done.stdout.strip()  # it did what it is for
    assert_only_our_lines(done.stderr)
    if args[0] == "login":  # the one of these that explains itself on stderr
        assert f"codex-wizard: {UNREACHABLE} refused the connection" in done.stderr


class Terminal:
    """The command in a pseudo-terminal of 110x36: stdin, stdout and stderr all the terminal,
    as in a user's shell (Textual draws on stderr)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.fd, child = pty.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 110, 0, 0))
        self.proc = subprocess.Popen(
            argv, stdin=child, stdout=child, stderr=child, env=env, start_new_session=True
        )
        os.close(child)
        self.output = b""

    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def read_until(self, done, what: str, timeout: float = 60) -> None:
        """Read what the command writes until done(text) holds or it closes the terminal."""
        deadline = time.monotonic() + timeout
        while not done(self.text()):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {what} within {timeout} s:\n{ESCAPE.sub('', self.text())}"
                )
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:  # EIO: every process has closed the terminal
                    data = b""
                if not data:
                    return
                self.output += data

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        os.close(self.fd)


@pytest.mark.parametrize(
    "args",
    [
        [],  # imports asyncssh while its screen is open, where Textual takes stderr
        ["--demo"],  # imports asyncssh for the demo server before the screen opens
    ],
    ids=["wizard", "demo wizard"],
)
def test_the_wizard_starts_and_quits_with_nothing_but_its_screen(
    args: list[str], tmp_path: Path
) -> None:
    term = Terminal([str(COMMAND), *args], user_env(tmp_path / "home"))
    try:
        term.read_until(
            lambda text: "Which server should Codex be logged in on?" in ESCAPE.sub("", text),
            "host step of the wizard",
        )
        os.write(term.fd, b"\x11")  # Ctrl-Q
        term.read_until(lambda text: False, "end of the wizard's output", timeout=30)
        assert term.proc.wait(30) == 1  # quit before any login: not logged in
    finally:
        term.close()
    text = term.text()
    assert ALT_SCREEN_ON in text
    assert text.rfind(ALT_SCREEN_OFF) > text.find(ALT_SCREEN_ON)  # it left its screen
    before = text[: text.find(ALT_SCREEN_ON)]
    after = text[text.rfind(ALT_SCREEN_OFF) + len(ALT_SCREEN_OFF) :]
    # Before its screen opens and after it closes, the terminal shows only what is printed there.
    assert_only_our_lines(ESCAPE.sub("", before) + ESCAPE.sub("", after))
    # While it is open, nothing was written over it either.
    assert_only_our_lines("\n".join(re.findall(r"\S*Warning\S*|Traceback.*", text)))


def python(code: str, *options: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *options, "-c", code],
        env=user_env(home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_filter_hides_only_cryptographys_deprecations_blamed_on_asyncssh(
    tmp_path: Path,
) -> None:
    code = """if True:
        import warnings
        import codex_wizard
        from cryptography.utils import CryptographyDeprecationWarning as Deprecated
        for module in ("asyncssh", "asyncssh.crypto.dsa", "asyncsshx", "paramiko", "__main__"):
            warnings.warn_explicit(f"cd from {module}", Deprecated, "f.py", 1, module=module)
            warnings.warn_explicit(f"uw from {module}", UserWarning, "f.py", 2, module=module)
    """
    shown = python(code, home=tmp_path / "home").stderr
    assert "cd from asyncssh:" not in shown
    assert "cd from asyncssh.crypto.dsa" not in shown
    for module in ("asyncsshx", "paramiko", "__main__"):
        assert f"cd from {module}" in shown
    for module in ("asyncssh", "asyncssh.crypto.dsa", "asyncsshx", "paramiko", "__main__"):
        assert f"uw from {module}" in shown


@pytest.mark.parametrize("module", ["codex_wizard.cli", "codex_wizard.tui.app"])
def test_importing_with_deprecations_as_errors_works(module: str, tmp_path: Path) -> None:
    """No blanket filter hides a DeprecationWarning: with the locked versions none is raised."""
    done = python(f"import {module}", "-W", "error::DeprecationWarning", home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
