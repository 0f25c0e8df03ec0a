"""A hostile server cannot write to the laptop's terminal through any command.

The demo server's hostile scenario puts escape sequences (OSC 52, OSC 0, DCS, 8-bit CSI/OSC,
bidi overrides, C0/C1 controls) in everything it sends: codex's lines (the URL line too),
versions, `uname`, port owners' names, auth.json's fields, `codex login status`, sshd's refusal,
and it prints look-alike login links. The real CLI (`codex_wizard.cli.main`) runs in-process
against it; the server runs on its own event loop in a thread. No laptop port is used: the
browser login goes through the relay (no tunnel), with the pasted address fed on fd 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import webbrowser
from collections.abc import Callable, Iterator

import pytest

from codex_wizard import cli, cli_commands
from codex_wizard.core.login import device_url_ok, login_url_port
from codex_wizard.demo import DemoScenario, DemoServer
from codex_wizard.demo.login_sim import DEVICE_CODE
from codex_wizard.demo.scenario import HOSTILE_DEVICE_URL, HOSTILE_LOGIN_URL

FAST = 0.02


def controls(text: str) -> list[str]:
    """Every character of text that a terminal could act on (all but newline and tab)."""
    bidi = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
    return [
        char
        for char in text
        if char not in "\n\t"
        and (ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F or ord(char) in bidi)
    ]


@contextlib.contextmanager
def hostile_demo(**knobs: object) -> Iterator[DemoServer]:
    """A hostile DemoServer serving from its own event loop in a thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    demo = DemoServer(scenario=DemoScenario(hostile=True, pace=FAST, **knobs))  # type: ignore[arg-type]
    asyncio.run_coroutine_threadsafe(demo.start(), loop).result(30)
    try:
        yield demo
    finally:
        asyncio.run_coroutine_threadsafe(demo.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


class Used:
    """What the CLI copied and opened (neither reaches the real clipboard or browser)."""

    def __init__(self) -> None:
        self.copied: list[str] = []
        self.opened: list[str] = []
        self.on_copy: Callable[[str], object] | None = None

    def copy(self, text: str) -> str:
        self.copied.append(text)
        if self.on_copy is not None:
            self.on_copy(text)
        return ""


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> Iterator[Used]:
    seen = Used()
    monkeypatch.setattr(cli_commands, "copy_text", seen.copy)
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: seen.opened.append(url))
    old_term = signal.getsignal(signal.SIGTERM)  # main() installs its own SIGTERM handler
    yield seen
    signal.signal(signal.SIGTERM, old_term)


@contextlib.contextmanager
def stdin_pipe() -> Iterator[int]:
    """fd 0 replaced by a pipe for the CLI's prompt; yields the pipe's write end."""
    read_end, write_end = os.pipe()
    saved = os.dup(0)
    os.dup2(read_end, 0)
    os.close(read_end)
    try:
        yield write_end
    finally:
        os.close(write_end)
        os.dup2(saved, 0)
        os.close(saved)


def run(demo: DemoServer, capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main([*args, "-F", str(demo.settings.ssh_config)])
    out, err = capfd.readouterr()
    text = out + err
    assert not controls(text), f"control characters reached the terminal: {text!r}"
    assert "Traceback" not in text
    return code, text


def test_browser_login_through_the_relay(capfd, used) -> None:
    with hostile_demo() as demo, stdin_pipe() as paste:
        # The "user" pastes where the browser would end, once the URL has been shown.
        used.on_copy = lambda url: os.write(paste, (demo.callback_address(url) + "\n").encode())
        code, out = run(demo, capfd, "login", "demo", "--no-tui", "--relay", "--open")
    assert code == 0, out
    assert "Logged in on demo" in out
    assert "Warning: codex printed a login link that is not codex's own" in out
    assert used.copied and used.opened == used.copied
    assert all(login_url_port(url) for url in used.copied)  # never the look-alike
    assert HOSTILE_LOGIN_URL not in out  # shown defanged only
    assert "codex: WARNING:" in out  # codex's own warning line, printed clean


def test_device_login(capfd, used) -> None:
    with hostile_demo() as demo:
        code, out = run(demo, capfd, "login", "demo", "--no-tui", "--device-auth", "--open")
    assert code == 0, out
    assert "Warning: codex printed a login link" in out
    assert used.opened == ["https://auth.openai.com/codex/device"]
    assert used.copied == [DEVICE_CODE]
    assert all(device_url_ok(url) for url in used.opened)
    assert HOSTILE_DEVICE_URL not in out


@pytest.mark.parametrize(
    ("args", "knobs"),
    [
        (("status", "demo"), {}),
        (("status", "demo", "--json"), {}),
        (("doctor", "demo"), {}),
        (("doctor", "demo", "--json"), {}),
        (("doctor", "demo"), {"forwarding_refused": True}),
        (("doctor", "demo"), {"node_version": ""}),  # codex's error output in a finding
    ],
)
def test_commands_print_only_clean_text(capfd, used, args, knobs) -> None:
    with hostile_demo(**knobs) as demo:
        run(demo, capfd, *args)


def test_push_auth(capfd, used) -> None:
    with hostile_demo() as demo:
        code, out = run(demo, capfd, "push-auth", "demo", "--from", str(demo.laptop_auth_path))
    assert code == 0, out
    assert "codex on demo says: Logged in using ChatGPT" in out
