"""A hostile server cannot write to the laptop's terminal through any command.

The demo server's hostile scenario puts escape sequences (OSC 52, OSC 0, DCS, 8-bit CSI/OSC,
bidi overrides, C0/C1 controls) in everything it sends: codex's lines (the URL line too),
versions, `uname`, port owners' names, auth.json's fields, `codex login status`, sshd's refusal,
and it prints look-alike login links. The real CLI (`codex_wizard.cli.main.main`) runs in-process
against it; the server runs on its own event loop in a thread. No laptop port is used: the
browser login goes through the relay (no tunnel), with the pasted address fed on fd 0.

And the other way round: a hostile pasted address, a login PATH the server reported or a
--codex-home full of shell syntax stay data in every command that reaches a remote shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from codex_wizard.cli import login as cli_login
from codex_wizard.cli import main as cli
from codex_wizard.cli import terminal as cli_terminal
from codex_wizard.core.server.login import device_url_ok, login_url_port
from codex_wizard.core.server.probe import ServerEnv
from codex_wizard.core.server.relay import (
    RELAY_CLIENTS,
    PastedAddressError,
    parse_relay_output,
    relay_command,
    relay_stdin,
    validate_pasted_callback,
)
from codex_wizard.core.server.remote import group_command
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
    monkeypatch.setattr(cli_terminal, "copy_text", seen.copy)
    monkeypatch.setattr(cli_login, "open_in_browser", lambda url: bool(seen.opened.append(url)))
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


# ------------------------------------------------------------------ what reaches a remote shell

STATE = "s7Kd93LmQpX2vB8nR4tY6wZ1aC5eF0gH"
PASTED_CODES = [
    "ac;touch {marker};x",
    "$(touch {marker})",
    "`touch {marker}`",
    "ac\ntouch {marker}",
    'ac"; touch {marker}; echo "',
    "ac'; touch {marker}; echo '",
    'ac\\"\nurl = "file:///etc/passwd',
    "ac%0atouch%20{marker}",
]


@contextlib.contextmanager
def callback_server() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server standing in for codex's login server: records request targets."""
    import http.server

    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("client", RELAY_CLIENTS)
@pytest.mark.parametrize("raw_code", PASTED_CODES)
@pytest.mark.parametrize("encode", [True, False], ids=["encoded", "as-typed"])
def test_pasted_address_is_only_data_for_the_shell_and_the_client(
    tmp_path: Path, client: str, raw_code: str, encode: bool
) -> None:
    """The relay's real command and stdin, run under sh here: whatever the pasted address
    holds, nothing runs, and codex's server gets the code back intact (or the paste is refused)."""
    if shutil.which(client) is None:
        pytest.skip(f"no {client} here")
    marker = tmp_path / "PWNED"
    code = raw_code.format(marker=marker)
    with callback_server() as (port, seen):
        query = f"code={quote(code, safe='') if encode else code}&state={STATE}"
        try:
            callback = validate_pasted_callback(
                f"http://127.0.0.1:{port}/auth/callback?{query}", state=STATE, port=port
            )
        except PastedAddressError:
            return  # refused: nothing is sent at all
        env = ServerEnv(codex_home=f"{tmp_path}/$(touch {marker})")
        result = subprocess.run(
            ["sh", "-c", relay_command(client, env)],
            input=relay_stdin(client, callback.url()),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert not marker.exists()
    assert parse_relay_output(result.stdout)[0] == 200, result
    assert [parse_qs(urlsplit(path).query) for path in seen] == [
        {"code": [callback.code], "state": [STATE]}
    ]


@pytest.mark.parametrize("raw", [*PASTED_CODES, 'it\'s "quoted" \\ and\ttabbed'])
def test_server_env_and_wrappers_keep_arguments_quoted(tmp_path: Path, raw: str) -> None:
    """A login PATH the server reported and a --codex-home full of shell syntax stay single
    words through ServerEnv.command and the `exec sh -c` wrappers."""
    marker = tmp_path / "PWNED"
    hostile = raw.format(marker=marker)
    env = ServerEnv(login_path=f"/usr/bin:/bin:{hostile}", codex_home=hostile)
    script = 'printf "%s\\n%s\\n" "$PATH" "$CODEX_HOME"'
    out = subprocess.run(
        ["sh", "-c", group_command(env, script)], capture_output=True, text=True, timeout=30
    ).stdout
    assert not marker.exists()
    assert out.split("\n", 1)[1] == f"/usr/bin:/bin:{hostile}\n{hostile}\n"
