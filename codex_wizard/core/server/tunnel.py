"""Local forward 127.0.0.1:P -> server 127.0.0.1:P over the one SSH connection, with live state.

We accept on the laptop ourselves (asyncio) and open a direct-tcpip channel per browser
connection, instead of asyncssh's forward_local_port, so that we can see what passes: the
callback request's path (never its query: it carries the OAuth code) and the login server's
answer (e.g. HTTP 400 "State mismatch"), which codex itself never prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import asyncssh

from ..laptop.ports import PortOwner, is_windows_excluded, local_port_owners
from ..sanitize import printable
from .signed_in_page import asks_for_success_page, redirects_to_success, signed_in_response

if TYPE_CHECKING:
    from ..ssh.server import ServerConnection

LOOPBACK = "127.0.0.1"
_CHUNK = 65536


class ForwardingState(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ForwardingCheck:
    state: ForwardingState
    detail: str

    @property
    def refused(self) -> bool:
        return self.state is ForwardingState.REFUSED


async def check_forwarding(
    server: ServerConnection, port: int, timeout: float = 10.0
) -> ForwardingCheck:
    """Ask the server to open a channel to its 127.0.0.1:port; the refusal code tells us."""
    try:
        _, writer = await asyncio.wait_for(server.open_channel(LOOPBACK, port), timeout)
    except asyncssh.ChannelOpenError as exc:
        if exc.code == asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED:
            return ForwardingCheck(ForwardingState.REFUSED, _refused_detail(exc.reason))
        return ForwardingCheck(ForwardingState.ALLOWED, "allowed by the server")
    except TimeoutError:
        return ForwardingCheck(ForwardingState.UNKNOWN, "the server did not answer in time")
    except (asyncssh.Error, OSError) as exc:
        return ForwardingCheck(ForwardingState.UNKNOWN, printable(str(exc)))
    writer.close()
    return ForwardingCheck(ForwardingState.ALLOWED, "allowed")


def _refused_detail(reason: str) -> str:
    reason = printable(reason) or "administratively prohibited"
    return (
        f"the server refuses TCP forwarding ({reason}); "
        "its sshd_config probably says AllowTcpForwarding no"
    )


def _bad_gateway(detail: str) -> bytes:
    """Our own HTTP 502 for the browser: why the tunnel could not reach codex."""
    body = f"codex-wizard: {detail}\n".encode()
    head = (
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class PortBusyError(Exception):
    """The local port is taken; owner says by whom when we could tell."""

    def __init__(self, port: int, owner: PortOwner | None) -> None:
        who = owner.describe() if owner else f"another program on {LOOPBACK}:{port}"
        super().__init__(
            f"Port {port} on this computer is already in use by {who}. The browser will be "
            f"sent to {LOOPBACK}:{port}, so it must be free here."
        )
        self.port = port
        self.owner = owner


class PortExcludedError(PortBusyError):
    """Windows reserves the port (WinError 10013): no program here can take it; use the relay."""

    def __init__(self, port: int) -> None:
        Exception.__init__(
            self,
            f"Windows does not let any program use port {port} on this computer: it is in an "
            "excluded port range (see `netsh interface ipv4 show excludedportrange "
            "protocol=tcp`). Log in the relay way instead (codex-wizard login HOST --relay), "
            "which needs no local port.",
        )
        self.port = port
        self.owner = None


@dataclass(frozen=True)
class TunnelRequest:
    """A request seen going through the tunnel, and the answer when it came back."""

    method: str
    path: str  # without the query string
    status: int | None = None
    body: str = ""  # first bytes of the answer's body, for "State mismatch"


@dataclass(frozen=True)
class TunnelRefused:
    """The server refused to open the forward for a browser connection."""

    detail: str


TunnelEvent = TunnelRequest | TunnelRefused


@dataclass
class TunnelStats:
    connections: int = 0
    active: int = 0
    last_request: TunnelRequest | None = None


def parse_request_line(chunk: bytes) -> tuple[str, str] | None:
    """('GET', '/auth/callback') from the start of an HTTP request; the query is dropped."""
    line = chunk.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None
    return parts[0], parts[1].split("?", 1)[0]


def parse_response_head(chunk: bytes) -> tuple[int, str] | None:
    """(400, 'State mismatch') from the start of an HTTP response."""
    if not chunk.startswith(b"HTTP/"):
        return None
    head, _, body = chunk.partition(b"\r\n\r\n")
    status_parts = head.split(b"\r\n", 1)[0].split(b" ")
    if len(status_parts) < 2 or not status_parts[1].isdigit():
        return None
    return int(status_parts[1]), body[:200].decode("utf-8", "replace")


class Tunnel:
    """Listen on 127.0.0.1:local_port and forward each connection to the server's port."""

    def __init__(
        self,
        server: ServerConnection,
        port: int,
        *,
        local_port: int | None = None,
        on_event: Callable[[TunnelEvent], None] | None = None,
    ) -> None:
        self.server = server
        self.remote_port = port
        self.local_port = port if local_port is None else local_port
        self.stats = TunnelStats()
        self._on_event = on_event or (lambda event: None)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.signed_in = False  # codex sent the browser on to /success: its sign-in worked

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def start(self) -> None:
        """Bind 127.0.0.1 only; raise PortBusyError (with the owner) when the port is taken."""
        try:
            # asyncio sets SO_REUSEADDR on POSIX only (on Windows it would allow port theft).
            self._server = await asyncio.start_server(self._serve, LOOPBACK, self.local_port)
        except OSError as exc:
            if is_windows_excluded(exc):
                raise PortExcludedError(self.local_port) from None
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            owner = local_port_owners([self.local_port]).get(self.local_port)
            raise PortBusyError(self.local_port, owner) from None
        self.local_port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats.connections += 1
        self.stats.active += 1
        try:
            await self._forward(reader, writer)
        finally:
            self.stats.active -= 1
            self._tasks.discard(task)
            writer.close()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            remote_reader, remote_writer = await self.server.open_channel(
                LOOPBACK, self.remote_port
            )
        except asyncssh.ChannelOpenError as exc:
            await self._answer_failure(reader, writer, exc)
            return
        except (asyncssh.Error, OSError):
            return
        pending: deque[tuple[str, str]] = deque()
        upstream = asyncio.create_task(self._pump_requests(reader, remote_writer, pending))
        try:
            await self._pump_responses(remote_reader, writer, pending)
        finally:
            upstream.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await upstream
            remote_writer.close()

    async def _answer_failure(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        exc: asyncssh.ChannelOpenError,
    ) -> None:
        """Tell the browser why, instead of a bare connection reset; once codex has accepted
        the sign-in and stopped listening, its /success tab gets a page saying so."""
        if self.signed_in and await asks_for_success_page(reader):
            writer.write(signed_in_response())
        elif exc.code == asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED:
            detail = _refused_detail(exc.reason)
            self._on_event(TunnelRefused(detail))
            writer.write(_bad_gateway(detail))
        else:
            detail = f"nothing answers on the server's {LOOPBACK}:{self.remote_port} ({exc.reason})"
            writer.write(_bad_gateway(detail))
        with contextlib.suppress(OSError):
            await writer.drain()

    async def _pump_requests(
        self,
        reader: asyncio.StreamReader,
        remote: asyncssh.SSHWriter,
        pending: deque[tuple[str, str]],
    ) -> None:
        while chunk := await reader.read(_CHUNK):
            request = parse_request_line(chunk)
            if request:
                pending.append(request)
                self._note(TunnelRequest(*request))
            remote.write(chunk)
        remote.write_eof()

    async def _pump_responses(
        self,
        remote: asyncssh.SSHReader,
        writer: asyncio.StreamWriter,
        pending: deque[tuple[str, str]],
    ) -> None:
        with contextlib.suppress(asyncssh.Error, OSError):
            while chunk := await remote.read(_CHUNK):
                response = parse_response_head(chunk)
                self.signed_in = self.signed_in or redirects_to_success(chunk)
                if response and pending:
                    method, path = pending.popleft()
                    self._note(TunnelRequest(method, path, *response))
                writer.write(chunk)
                await writer.drain()

    def _note(self, request: TunnelRequest) -> None:
        self.stats.last_request = request
        self._on_event(request)
