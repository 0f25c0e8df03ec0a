"""ServerConnection: the one open SSH connection to a server, and what runs over it."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .hosts import HostTarget

if TYPE_CHECKING:
    import asyncssh  # imported where it runs: the wizard's first frame doesn't wait for it

__all__ = [
    "RUN_MAX_OUTPUT",
    "CompletedRun",
    "RoundTrips",
    "ServerConnection",
    "auth_behind_service_request",
    "coalesce_writes",
    "count_round_trips",
    "offer_keys_first",
    "prefer_agent_keys",
    "sign_file_keys_at_once",
    "tallies",
]


@dataclass
class RoundTrips:
    """What one connection waited on the server for (`--debug` shows it).

    `turns` counts every time an answer arrived after we had sent something since the last one:
    each is a round trip we waited on (a long transfer adds a few for its window adjusts).
    `at_login` is the part until the connection was up (handshake and auth); `requests` counts
    what we asked for since: execs, processes, channels, SFTP sessions.
    """

    label: str = ""
    turns: int = 0
    at_login: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    sent: bool = False

    def summary(self) -> str:
        asked = ", ".join(f"{n} {kind}" for kind, n in self.requests.items())
        after = f" and {self.turns - self.at_login} for {asked}" if asked else ""
        return f"{self.label}: {self.turns} round trips: {self.at_login} to connect{after}"


_TALLIES: deque[RoundTrips] = deque(maxlen=256)
_COUNTED: weakref.WeakKeyDictionary[Any, RoundTrips] = weakref.WeakKeyDictionary()


def tallies() -> list[RoundTrips]:
    """The round-trip counts of this process's connections, oldest first (the last 256)."""
    return list(_TALLIES)


def count_round_trips(conn: asyncssh.SSHClientConnection) -> None:
    """Count the round trips conn waits on (call from connection_made, after coalesce_writes)."""
    transport = getattr(conn, "_transport", None)
    write = getattr(transport, "write", None)
    if transport is None or write is None:
        return
    tally = _COUNTED[conn] = RoundTrips()
    received = conn.data_received

    def sending(data: bytes) -> None:
        tally.sent = True
        write(data)

    def receiving(data: bytes, *args: Any) -> None:
        if tally.sent:
            tally.turns, tally.sent = tally.turns + 1, False
        received(data, *args)

    transport.write = sending
    conn.data_received = receiving  # type: ignore[method-assign]


def coalesce_writes(conn: asyncssh.SSHClientConnection) -> None:
    """Hand the socket what one event-loop turn writes in one piece.

    asyncssh writes every SSH message as two writes (an SSH_MSG_IGNORE, then the message), so
    each message leaves as two TCP segments. Behind anything that relays with Nagle's algorithm
    (socat, nc or a bastion as ProxyCommand, the test lab's bridge) the second one waits for
    the first one's delayed ACK: 40 ms per message exchange (measured: bench/, issue 6).
    Joining the writes of one turn sends the same bytes in one segment, as OpenSSH does.
    """
    transport = getattr(conn, "_transport", None)  # set by asyncssh before connection_made
    write = getattr(transport, "write", None)
    if transport is None or write is None:
        return
    loop = asyncio.get_running_loop()
    pending: list[bytes] = []

    def flush() -> None:
        if not pending:  # already flushed by a close()
            return
        data = b"".join(pending)
        pending.clear()
        with contextlib.suppress(ConnectionError):  # as asyncssh's own send does
            write(data)

    def coalesced(data: bytes) -> None:
        if not pending:
            loop.call_soon(flush)  # before any close or abort asyncssh schedules after it
        pending.append(bytes(data))

    close = transport.close

    def flush_then_close() -> None:
        flush()  # e.g. the disconnect message written just before a direct close()
        close()

    transport.write = coalesced
    transport.close = flush_then_close


# asyncssh lists these among its methods, but with no GSSAPI and no host keys here they are
# skipped: publickey comes first unless PreferredAuthentications puts another method first.
_METHODS_NEVER_TRIED = (b"gssapi-keyex", b"gssapi-with-mic", b"hostbased")


def offer_keys_first(conn: asyncssh.SSHClientConnection) -> None:
    """Start auth with publickey instead of asyncssh's `none` probe: one round trip less.

    `none` only asks which methods the server takes; a refused key brings that same list, and
    with no key to offer asyncssh moves on to `none` as before (so passwords still work). Not
    when PreferredAuthentications puts a password or keyboard-interactive first: those come
    first then, as ssh tries them. Call from connection_made, before auth starts.
    """
    preferred = getattr(conn, "_preferred_auth", None) or ()
    ours = [method for method in preferred if method not in _METHODS_NEVER_TRIED]
    if ours[:1] == [b"publickey"] and getattr(conn, "_auth_methods", None) == [b"none"]:
        conn._auth_methods = [b"publickey", b"none"]


def prefer_agent_keys(conn: asyncssh.SSHClientConnection, identity_keys: frozenset[bytes]) -> None:
    """Offer the agent's keys in ssh's order: those that are also IdentityFiles first, then the
    agent's others; a file key the agent holds is not offered twice.

    asyncssh offers the agent's keys in the agent's order, so a server with MaxAuthTries 3
    stopped us before the IdentityFile's key came up (a workaround here: asyncssh has no
    option for it). Call from connection_made.
    """
    agent = getattr(conn, "_agent", None)
    if agent is None or not identity_keys or not hasattr(conn, "_client_keys"):
        return
    get_keys = agent.get_keys

    async def in_ssh_order(*args: Any, **kwargs: Any) -> Sequence[Any]:
        keys = list(await get_keys(*args, **kwargs))
        held = {key.public_data for key in keys}
        conn._client_keys = [key for key in conn._client_keys if key.public_data not in held]
        return sorted(keys, key=lambda key: key.public_data not in identity_keys)

    agent.get_keys = in_ssh_order


def auth_behind_service_request(conn: asyncssh.SSHClientConnection) -> None:
    """Send the first userauth request right behind the `ssh-userauth` service request.

    asyncssh waits for the service's accept before it begins auth: one round trip. The server
    handles the two in order (OpenSSH's sshd installs its userauth handler as it accepts), as
    OpenSSH's own `ssh` does not but RFC 4253 permits. The accept, when it comes, is only
    checked. Per connection (its own copy of the packet handlers); call from connection_made.
    """
    from asyncssh import ServiceNotAvailable
    from asyncssh.constants import MSG_SERVICE_ACCEPT

    handlers = getattr(type(conn), "_packet_handlers", None)
    request = getattr(conn, "send_service_request", None)
    if not isinstance(handlers, dict) or MSG_SERVICE_ACCEPT not in handlers or request is None:
        return
    accepted = handlers[MSG_SERVICE_ACCEPT]
    begun = False

    def request_and_begin(service: bytes) -> None:
        nonlocal begun
        request(service)
        if service == b"ssh-userauth" and not begun:
            begun = True
            conn._auth_in_progress = True
            if conn._owner:
                conn._owner.begin_auth(conn._username)
            conn.try_next_auth()

    def accept(self: Any, pkttype: int, pktid: int, packet: Any) -> None:
        if not begun:
            accepted(self, pkttype, pktid, packet)
            return
        service = packet.get_string()
        packet.check_end()
        if service != self._next_service:
            raise ServiceNotAvailable("Unexpected service in service accept")
        self._next_service = None

    conn._packet_handlers = {**handlers, MSG_SERVICE_ACCEPT: accept}
    conn.send_service_request = request_and_begin  # type: ignore[method-assign]


def sign_file_keys_at_once() -> None:
    """For keys read from files, send the signed publickey request at once (idempotent).

    asyncssh, like OpenSSH when it has the public key, first asks whether the server takes a
    key (a query), then signs: two round trips. RFC 4252 lets a client sign straight away, which
    costs one. Agent keys keep the query (an agent may ask the user to confirm every use), and
    so do security keys (a signature needs a touch). Patches asyncssh's publickey client, so
    it is skipped when asyncssh's internals are not the ones this was written against.
    """
    from asyncssh import auth
    from asyncssh.packet import Boolean, String
    from asyncssh.public_key import SSHLocalKeyPair

    client = getattr(auth, "_ClientPublicKeyAuth", None)
    if (
        client is None
        or not hasattr(client, "_send_signed_request")
        or client.__dict__.get("_cw_signs_at_once")
    ):
        return

    async def start(self: Any) -> None:
        self._keypair = await self._conn.public_key_auth_requested()
        if self._keypair is None:
            self._conn.try_next_auth(next_method=True)
            return
        key = self._keypair
        if isinstance(key, SSHLocalKeyPair) and not key.algorithm.startswith(b"sk-"):
            await self._send_signed_request()
            return
        await self.send_request(Boolean(False), String(key.algorithm), String(key.public_data))

    client._start = start
    client._cw_signs_at_once = True


RUN_MAX_OUTPUT = 1024 * 1024
"""Bytes of stdout (and of stderr) ServerConnection.run keeps before it gives a command up."""


@dataclass(frozen=True)
class CompletedRun:
    """What ServerConnection.run collected: output as text (or bytes when binary), the exit
    status (None when the command was given up or killed by a signal), and whether it flooded."""

    stdout: Any
    stderr: Any
    exit_status: int | None
    flooded: bool

    @classmethod
    def of(cls, out: bytes, err: bytes, process: Any, flooded: bool, binary: bool) -> CompletedRun:
        def decode(data: bytes) -> str | bytes:
            return data if binary else data.decode("utf-8", "replace")

        status = None if flooded else process.exit_status
        return cls(decode(out), decode(err), status, flooded)


async def _read_both(process: Any, limit: int) -> tuple[bytes, bytes, bool]:
    """stdout and stderr until both end, or until one passes limit bytes: then neither is read
    on (whether it flooded is the third value). Raises what reading raises."""
    kept = (bytearray(), bytearray())
    flood = asyncio.Event()

    async def read(stream: Any, buffer: bytearray) -> None:
        while chunk := await stream.read(65536):
            buffer += chunk
            if len(buffer) > limit:
                flood.set()
                return

    readers = asyncio.gather(read(process.stdout, kept[0]), read(process.stderr, kept[1]))
    flooding = asyncio.ensure_future(flood.wait())
    try:
        await asyncio.wait({readers, flooding}, return_when=asyncio.FIRST_COMPLETED)
        if readers.done():
            readers.result()
    finally:
        readers.cancel()
        flooding.cancel()
        await asyncio.gather(readers, flooding, return_exceptions=True)  # nothing left unread
    return bytes(kept[0][:limit]), bytes(kept[1][:limit]), flood.is_set()


class ServerConnection:
    """The single SSH connection to one server, shared by probe, tunnel, login and SFTP."""

    def __init__(
        self,
        target: HostTarget,
        conn: asyncssh.SSHClientConnection,
        *,
        jumps: list[asyncssh.SSHClientConnection] | None = None,
    ) -> None:
        self.target = target
        self.ssh = conn
        self._jumps = jumps or []  # ProxyJump hops, first to last
        self._sftp: asyncssh.SFTPClient | None = None
        self._sftp_lock = asyncio.Lock()
        self.round_trips = _COUNTED.pop(conn, None) or RoundTrips()
        self.round_trips.label = target.label()
        self.round_trips.at_login = self.round_trips.turns
        _TALLIES.append(self.round_trips)

    @property
    def label(self) -> str:
        return self.target.label()

    async def run(
        self,
        command: str,
        *,
        input: str | bytes | None = None,
        timeout: float = 30.0,
        binary: bool = False,
        max_output: int = RUN_MAX_OUTPUT,
    ) -> CompletedRun:
        """Run a command on the server and collect its output (never raises on exit code);
        binary: bytes in and out instead of text (else UTF-8, invalid bytes replaced).

        The server is not trusted with our memory: stdout and stderr are each kept to
        max_output bytes, and a command that writes more is given up (its channel closed,
        `flooded` set) rather than read on. Raises TimeoutError, asyncssh.Error, OSError.
        """
        self.round_trips.requests["exec"] += 1
        async with asyncio.timeout(timeout):
            data = input.encode() if isinstance(input, str) else input
            process = await self.ssh.create_process(command, input=data, encoding=None)
            try:
                out, err, flooded = await _read_both(process, max_output)
                if not flooded:
                    await process.wait_closed()
            finally:
                process.close()
        return CompletedRun.of(out, err, process, flooded, binary)

    async def start_process(
        self, command: str, *, pty: bool, binary: bool = False
    ) -> asyncssh.SSHClientProcess:
        """Start a command whose output is read as it comes: under a PTY (stdout only, as a
        terminal shows it) or without (stderr merged into stdout); binary: bytes, not text."""
        import asyncssh

        text = {"encoding": None} if binary else {"encoding": "utf-8", "errors": "replace"}
        self.round_trips.requests["process"] += 1
        if pty:
            return await self.ssh.create_process(
                command, term_type="dumb", term_size=(4000, 50), **text
            )
        return await self.ssh.create_process(command, stderr=asyncssh.STDOUT, **text)

    async def open_channel(
        self, host: str, port: int
    ) -> tuple[asyncssh.SSHReader, asyncssh.SSHWriter]:
        """A direct-tcpip channel to host:port as the server sees it (what `ssh -L` uses)."""
        self.round_trips.requests["channel"] += 1
        return await self.ssh.open_connection(host, port)

    def host_key(self) -> asyncssh.SSHKey | None:
        return self.ssh.get_server_host_key()

    def is_closed(self) -> bool:
        return self.ssh.is_closed()

    async def wait_closed(self) -> None:
        await self.ssh.wait_closed()

    async def sftp(self) -> asyncssh.SFTPClient:
        """The SFTP session, opened on first use and reused."""
        async with self._sftp_lock:
            if self._sftp is None:
                self.round_trips.requests["sftp session"] += 1
                self._sftp = await self.ssh.start_sftp_client()
            return self._sftp

    async def close(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
        for conn in [self.ssh, *reversed(self._jumps)]:
            conn.close()
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(conn.wait_closed(), 5)

    async def __aenter__(self) -> ServerConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
