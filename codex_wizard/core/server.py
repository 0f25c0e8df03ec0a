"""ServerConnection: the one open SSH connection to a server, and what runs over it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from .hosts import HostTarget

if TYPE_CHECKING:
    import asyncssh  # imported where it runs: the wizard's first frame doesn't wait for it

__all__ = ["ServerConnection", "coalesce_writes"]


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
    ) -> asyncssh.SSHCompletedProcess:
        """Run a command on the server and collect its output (never raises on exit code);
        binary: bytes in and out instead of text."""
        text = {"encoding": None} if binary else {}
        return await asyncio.wait_for(
            self.ssh.run(command, input=input, check=False, **text), timeout
        )

    async def start_process(
        self, command: str, *, pty: bool, binary: bool = False
    ) -> asyncssh.SSHClientProcess:
        """Start a command whose output is read as it comes: under a PTY (stdout only, as a
        terminal shows it) or without (stderr merged into stdout); binary: bytes, not text."""
        import asyncssh

        text = {"encoding": None} if binary else {"encoding": "utf-8", "errors": "replace"}
        if pty:
            return await self.ssh.create_process(
                command, term_type="dumb", term_size=(4000, 50), **text
            )
        return await self.ssh.create_process(command, stderr=asyncssh.STDOUT, **text)

    async def open_channel(
        self, host: str, port: int
    ) -> tuple[asyncssh.SSHReader, asyncssh.SSHWriter]:
        """A direct-tcpip channel to host:port as the server sees it (what `ssh -L` uses)."""
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
