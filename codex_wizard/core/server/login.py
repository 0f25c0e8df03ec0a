"""A remote `codex login`: run it, read what it says, forward its port, and always clean up.

The session reports typed events (URL ready, callback seen, state mismatch, token exchange
failed, cancelled, success, exited). It runs codex under a PTY as the leader of its own process
group: closing the channel hangs it up, and close() also kills the group explicitly, so no
`codex login` survives us on the server whatever way we leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import deque
from collections.abc import AsyncIterator, Callable
from urllib.parse import parse_qs, urlparse, urlsplit

from ..laptop.ports import CODEX_PORTS
from ..sanitize import printable
from ..ssh.server import ServerConnection
from .events import (
    AUTH_HOST,
    CallbackSeen,
    DeviceAuthDisabled,
    DeviceCodeReady,
    ForwardRefused,
    LoginCancelled,
    LoginError,
    LoginExited,
    LoginSucceeded,
    OutputLine,
    PortsBusy,
    SessionEvent,
    StateMismatch,
    SuspiciousUrl,
    TokenExchangeFailed,
    UrlReady,
    says_state_mismatch,
)
from .probe import ServerEnv
from .remote import KEPT_LINES, ConnectionLost, GroupProcess, group_command
from .tunnel import PortBusyError, Tunnel, TunnelEvent, TunnelRefused, TunnelRequest

DEFAULT_LOGIN_PORT = 1455
LOGIN_MAX_OUTPUT = 16 * 1024 * 1024
"""Characters `codex login` may write before it is stopped as a flood. codex writes about 1 KB,
but a wrapper or rc file may print megabytes of noise before it and the login must still work
(tests/test_bad_input.py); memory is bounded anyway (lines cut, the last ones kept)."""
CALLBACK_PATH = "/auth/callback"

AUTHORIZE_PATH = "/oauth/authorize"
_URL_CHARS = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+")
_DEVICE_CODE = re.compile(r"\b[A-Z0-9]{4,}(?:-[A-Z0-9]{4,})+\b")
DEVICE_AUTH_HELP = (
    "Device-code login is not enabled for this account. Turn on 'device code login' in "
    "ChatGPT's security settings (a workspace admin may have to allow it), or use the browser "
    "login with the tunnel."
)


def _word_with(line: str, anchor: str) -> str | None:
    """The first whitespace-separated word of line containing anchor (any case), if any.

    Whole words, so a URL inside another (https://evil/?u=https://auth...) is judged as the
    word it is; the allowlist (login_url_port, device_url_ok) then decides.
    """
    if anchor not in line.lower():  # the common case, and linear on a megabyte line
        return None
    return next((word for word in line.split() if anchor in word.lower()), None)


def _on_auth_host(url: str) -> bool:
    """https://auth.openai.com/..., exactly: no userinfo, no port, only URL characters."""
    if not _URL_CHARS.fullmatch(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "https" and parts.netloc == AUTH_HOST and parts.path.startswith("/")


def redirect_port(url: str) -> int | None:
    """The port of the redirect_uri inside a codex authorize URL, when that redirect_uri is
    http://127.0.0.1:<port>/auth/callback or http://localhost:<port>/...; else None."""
    try:
        redirects = parse_qs(urlsplit(url).query).get("redirect_uri", [])
        if len(redirects) != 1:
            return None
        redirect = urlsplit(redirects[0])
        port = redirect.port
    except ValueError:
        return None
    if redirect.scheme != "http" or not port or redirect.netloc != f"{redirect.hostname}:{port}":
        return None
    if redirect.hostname == "127.0.0.1" and redirect.path == CALLBACK_PATH:
        return port
    if redirect.hostname == "localhost" and redirect.path.startswith("/"):
        return port
    return None


def login_url_port(url: str) -> int | None:
    """The callback port of an allowed login URL, else None (the URL must not be used).

    Allowed: https://auth.openai.com/oauth/authorize?... whose redirect_uri is this server's
    loopback (see redirect_port) on a port codex uses (1455, 1457): the tunnel opens that
    port on this computer, so the server must not choose any other.
    """
    if not _on_auth_host(url) or urlsplit(url).path != AUTHORIZE_PATH:
        return None
    port = redirect_port(url)
    return port if port in CODEX_PORTS else None


def device_url_ok(url: str) -> bool:
    """A device-code verification link may only be on https://auth.openai.com/."""
    return _on_auth_host(url)


def url_state(url: str) -> str | None:
    """The OAuth `state` of an authorize URL (to validate a pasted callback against)."""
    with contextlib.suppress(ValueError):
        return parse_qs(urlparse(url).query).get("state", [None])[0]
    return None


def _lost_because(exc: Exception) -> str:
    """'connection lost: Server not responding to keepalive'; asyncssh's own 'Connection lost'
    is not said twice."""
    words = str(exc).strip()
    if not words or words.lower() == "connection lost":
        return "connection lost"
    return f"connection lost: {words}"


_FATAL_PREFIXES = (
    "Error logging in:",
    "Error loading configuration:",
    "Missing optional",
    "Persist error:",  # after the callback: codex could not save the login, and waits on
)


def parse_login_line(line: str) -> SessionEvent | None:
    """What one line of `codex login` output means, if anything."""
    url = _word_with(line, "oauth/authorize")
    if url:
        port = login_url_port(url)
        return UrlReady(url, port) if port else SuspiciousUrl(url)
    if "Successfully logged in" in line:
        return LoginSucceeded()
    if "Token exchange failed" in line:
        return TokenExchangeFailed(line.split("Token exchange failed:", 1)[-1].strip() or line)
    if "Login cancelled" in line:
        return LoginCancelled()
    if "device code login is not enabled" in line.lower():
        return DeviceAuthDisabled(DEVICE_AUTH_HELP)
    if "is already in use" in line:
        return PortsBusy(line.removeprefix("Error logging in: "))
    if re.search(r"\bcodex: (?:command )?not found", line):
        return LoginError(
            "codex is not on this PATH on the server (not installed, or only a login shell "
            "finds it): run `npm install -g @openai/codex` there, or check with doctor."
        )
    if line.startswith(_FATAL_PREFIXES):
        return LoginError(line)
    return None


class DeviceCodeReader:
    """Finds the verification link and the one-time code in `--device-auth` output.

    Anchored loosely on the stable parts: a link ending in /codex/device, and the first
    code-shaped word after the line that mentions the one-time code. A link that is not on
    auth.openai.com is reported (SuspiciousUrl) and never used.
    """

    def __init__(self) -> None:
        self.url: str | None = None
        self.code: str | None = None
        self._after_code_anchor = False

    def feed(self, line: str) -> DeviceCodeReady | SuspiciousUrl | None:
        if self.url and self.code:
            return None
        url = _word_with(line, "/codex/device")
        if url and not device_url_ok(url):
            return SuspiciousUrl(url)
        if url:
            self.url = url
        if "one-time code" in line.lower():
            self._after_code_anchor = True
            line = line.split("code", 1)[1]
        code = _DEVICE_CODE.search(line) if self._after_code_anchor else None
        if code:
            self.code = code.group(0)
        return DeviceCodeReady(self.url, self.code) if self.url and self.code else None


def login_command(env: ServerEnv, args: str = "login") -> str:
    """The remote command: print our pid (the process group we will kill), then exec codex."""
    return group_command(env, f"exec codex {args}")


class LoginSession:
    """One `codex login` on the server with its tunnel. Use as an async context manager."""

    def __init__(
        self,
        server: ServerConnection,
        env: ServerEnv,
        *,
        forward: bool = True,
        device_auth: bool = False,
        local_port_for: Callable[[int], int] = lambda port: port,
    ) -> None:
        self.server = server
        self.env = env
        self.device_auth = device_auth
        self.forward = forward and not device_auth
        self._device = DeviceCodeReader() if device_auth else None
        self.local_port_for = local_port_for
        self.url: str | None = None
        self.port: int | None = None
        self.tunnel: Tunnel | None = None
        self.output: deque[str] = deque(maxlen=KEPT_LINES)
        self.succeeded = False
        self._events: asyncio.Queue[SessionEvent] = asyncio.Queue()
        self._process: GroupProcess | None = None
        self._url: UrlReady | None = None
        self._tunnels: dict[int, Tunnel | PortBusyError] = {}
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    async def __aenter__(self) -> LoginSession:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start codex and, at the same time, bind the usual local port for the tunnel."""
        prebind = (
            asyncio.create_task(self._tunnel_for(DEFAULT_LOGIN_PORT)) if self.forward else None
        )
        args = "login --device-auth" if self.device_auth else "login"
        command = login_command(self.env, args)
        process = GroupProcess(self.server, command, pty=True, max_output=LOGIN_MAX_OUTPUT)
        try:
            await process.start()
        finally:
            if prebind:
                await prebind
        if self._closed:  # close() ran while codex was starting: stop it now
            await process.stop()
            return
        self._process = process
        self._reader = asyncio.create_task(self._read_output())

    @property
    def local_ports(self) -> set[int]:
        """The ports this session's tunnels listen on here (until close())."""
        return {
            tunnel.local_port
            for tunnel in self._tunnels.values()
            if isinstance(tunnel, Tunnel) and tunnel.listening
        }

    async def events(self) -> AsyncIterator[SessionEvent]:
        """Events in order, ending with LoginExited."""
        while True:
            event = await self._events.get()
            yield event
            if isinstance(event, LoginExited):
                return

    async def _tunnel_for(self, remote_port: int) -> Tunnel | PortBusyError:
        if remote_port not in self._tunnels:
            tunnel = Tunnel(
                self.server,
                remote_port,
                local_port=self.local_port_for(remote_port),
                on_event=self._on_tunnel_event,
            )
            try:
                await tunnel.start()
                self._tunnels[remote_port] = tunnel
            except PortBusyError as busy:
                self._tunnels[remote_port] = busy
        return self._tunnels[remote_port]

    def _on_tunnel_event(self, event: TunnelEvent) -> None:
        if isinstance(event, TunnelRefused):
            self._events.put_nowait(ForwardRefused(event.detail))
        elif isinstance(event, TunnelRequest) and event.path == CALLBACK_PATH:
            if event.status is None:
                self._events.put_nowait(CallbackSeen(event.path))
            elif says_state_mismatch(event.status, event.body):
                self._events.put_nowait(StateMismatch())

    async def _read_output(self) -> None:
        process = self._process
        assert process is not None
        reason, lost = "", False
        try:
            async for line in process.lines():
                self._handle_line(line)
                if self._url is not None:
                    await self._url_ready(self._url)
                    self._url = None
        except ConnectionLost as exc:
            reason, lost = printable(_lost_because(exc)), True
        if process.flooded:
            reason = f"codex login: {process.flood_reason}"
            await process.stop()
        await process.wait_exit(5)
        exit_code = process.exit_status
        if process.exit_signal:
            exit_code, reason = (
                None,
                reason or printable(f"codex was stopped (SIG{process.exit_signal})"),
            )
        if self.server.is_closed():
            lost = True
            reason = reason or "the SSH connection was closed"
        self._events.put_nowait(LoginExited(exit_code, reason, connection_lost=lost))

    def _handle_line(self, line: str) -> None:
        self.output.append(line)
        self._events.put_nowait(OutputLine(line))
        device = self._device.feed(line) if self._device else None
        if device:
            self._events.put_nowait(device)
        event = parse_login_line(line)
        if isinstance(event, UrlReady) and not self.device_auth:
            self._url = event  # reported once its tunnel is up (_url_ready)
        elif event is not None:
            self._events.put_nowait(event)

    async def _url_ready(self, event: UrlReady) -> None:
        self.url, self.port = event.url, event.port
        if self.forward:
            tunnel = await self._tunnel_for(event.port)
            if isinstance(tunnel, PortBusyError):
                self._events.put_nowait(PortsBusy(str(tunnel)))
                return
            self.tunnel = tunnel
        self._events.put_nowait(event)

    async def close(self) -> None:
        """Stop codex on the server (process group kill + hang-up) and the tunnels. Idempotent."""
        self._closed = True
        if self._process is not None:
            await self._process.stop()
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError, Exception):
                await asyncio.wait_for(self._reader, 3)
        for tunnel in self._tunnels.values():
            if isinstance(tunnel, Tunnel):
                await tunnel.close()
        self._tunnels.clear()
