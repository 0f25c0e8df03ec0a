"""One asyncssh connection per host: ssh_config, keys/agent, and a strict host-key policy.

Host keys are checked against the user's known_hosts (or the ssh_config's UserKnownHostsFile).
An unknown key is shown (SHA256 fingerprint) and needs a yes before it is appended in OpenSSH
format; a changed key is always refused and never written.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .files import atomic_write
from .hosts import HostTarget
from .sanitize import printable

if TYPE_CHECKING:
    import asyncssh  # imported where it runs: the wizard's first frame doesn't wait for it

DEFAULT_CONNECT_TIMEOUT = 15.0


class ConnectError(Exception):
    """A connection problem with a message meant for the user."""


class HostKeyUnknown(ConnectError):
    """The server's key is not in known_hosts and the user did not accept it."""

    def __init__(self, key: HostKeyInfo) -> None:
        super().__init__(
            f"The host key of {key.host_label} is not known ({key.key_type} {key.fingerprint}). "
            "Confirm it to continue, or pass --accept-new-host-key after checking the "
            "fingerprint with the server's administrator."
        )
        self.key = key


class HostKeyChanged(ConnectError):
    """known_hosts has a different key for this host: possibly an attack. Never accepted."""

    def __init__(self, key: HostKeyInfo) -> None:
        super().__init__(
            f"WARNING: the host key of {key.host_label} has CHANGED. It is now "
            f"{key.key_type} {key.fingerprint}, which does not match {key.known_hosts}. "
            "Someone could be intercepting the connection (or the server was reinstalled). "
            "codex-wizard refuses to connect. If you know why the key changed, remove the old "
            f"entry with: ssh-keygen -R '{key.known_hosts_pattern}'"
        )
        self.key = key


@dataclass(frozen=True)
class HostKeyInfo:
    """What the user needs to decide about a host key."""

    host_label: str
    known_hosts_pattern: str  # "host" or "[host]:port", as OpenSSH writes it
    key_type: str
    fingerprint: str  # SHA256:...
    openssh_line: str  # the line to append to known_hosts once accepted
    known_hosts: Path


HostKeyConfirm = Callable[[HostKeyInfo], Awaitable[bool]]


@dataclass
class ConnectSettings:
    """Options shared by every command: ssh_config, host-key policy, timeouts."""

    ssh_config: Path | None = None
    accept_new_host_key: bool = False
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    confirm_host_key: HostKeyConfirm | None = None
    keepalive_interval: float = 15.0
    extra_options: dict[str, object] = field(default_factory=dict)


def known_hosts_pattern(host: str, port: int) -> str:
    """The known_hosts host field OpenSSH writes for host:port."""
    return host if port == 22 else f"[{host}]:{port}"


class _HostKeyVerdict:
    """Collects what the host-key callback saw, for a clear error after the handshake fails."""

    def __init__(self) -> None:
        self.unknown: HostKeyInfo | None = None
        self.changed: HostKeyInfo | None = None


def _client_factory(
    verdict: _HostKeyVerdict, known_hosts: Path, label: str, accept_new: bool
) -> Callable[[], asyncssh.SSHClient]:
    import asyncssh

    class _Client(asyncssh.SSHClient):
        def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
            _coalesce_writes(conn)

        def validate_host_public_key(
            self, host: str, addr: str, port: int, key: asyncssh.SSHKey
        ) -> bool:
            # Called only when the key is not among the trusted ones for this host.
            pattern = known_hosts_pattern(host, port)
            info = HostKeyInfo(
                host_label=label,
                known_hosts_pattern=pattern,
                key_type=key.get_algorithm(),
                fingerprint=key.get_fingerprint("sha256"),
                openssh_line=f"{pattern} {_public_key_text(key)}",
                known_hosts=known_hosts,
            )
            if _host_has_other_keys(known_hosts, host, addr, port):
                verdict.changed = info
                return False
            verdict.unknown = info
            return accept_new

    return _Client


def _public_key_text(key: asyncssh.SSHKey) -> str:
    """'<type> <base64>' without the comment, as known_hosts wants it."""
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


def _host_has_other_keys(known_hosts: Path, host: str, addr: str, port: int) -> bool:
    """True when known_hosts lists keys for this host (so a non-matching key is a change)."""
    import asyncssh

    try:
        data = known_hosts.read_bytes()
    except OSError:
        return False
    port_arg = None if port == 22 else port
    keys, ca_keys, *_ = asyncssh.match_known_hosts(data, host, addr, port_arg)
    return bool(keys or ca_keys)


def append_known_host(info: HostKeyInfo) -> None:
    """Add an accepted key to known_hosts atomically (0600, parent dir 0700)."""
    path = info.known_hosts
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        old = path.read_text()
    except FileNotFoundError:
        old = ""
    if old and not old.endswith("\n"):
        old += "\n"
    atomic_write(path, (old + info.openssh_line + "\n").encode(), mode=0o600)


def _coalesce_writes(conn: asyncssh.SSHClientConnection) -> None:
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


@dataclass(frozen=True)
class _Resolved:
    """The target's ssh_config, read once, and the known_hosts file it names."""

    options: asyncssh.SSHClientConnectionOptions
    kwargs: dict[str, object]
    known_hosts: Path
    reuse: bool  # asyncssh.connect can take `options` as they are, without reading the config


def _resolve_options(target: HostTarget, settings: ConnectSettings) -> _Resolved:
    """Read the ssh_config for target (the only time per connection: it is slow to parse)."""
    import asyncssh

    config = [str(settings.ssh_config)] if settings.ssh_config else ()
    kwargs: dict[str, object] = {}
    if target.port:
        kwargs["port"] = target.port
    if target.user:
        kwargs["username"] = target.user
    options = asyncssh.SSHClientConnectionOptions(host=target.name, config=config, **kwargs)
    files = options.known_hosts if isinstance(options.known_hosts, list) else []
    known_hosts = Path(os.path.expanduser(files[0])) if files else _default_known_hosts()
    # ProxyJump opens its hops with the config paths, and canonicalisation or `Match final`
    # re-read the config after resolving the name: those must get the paths again.
    reuse = not (
        isinstance(options.tunnel, str)
        or options.config.has_match_final()
        or (options.canonicalize_hostname and options.canonical_domains)
    )
    if not reuse:
        kwargs["config"] = config
    return _Resolved(options, kwargs, known_hosts, reuse)


def _default_known_hosts() -> Path:
    return Path.home() / ".ssh" / "known_hosts"


def _known_hosts_arg(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _describe_os_error(label: str, exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return f"Can't resolve {label}: {exc.strerror or exc}. Check the name or HostName."
    if isinstance(exc, ConnectionRefusedError):
        return f"{label} refused the connection: is sshd running, and is the port right?"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"Can't reach {label}: {reason}."


async def connect(target: HostTarget, settings: ConnectSettings) -> ServerConnection:
    """Open the one connection to target, asking about an unknown host key when we can."""
    try:
        return await _connect_once(target, settings, settings.accept_new_host_key)
    except HostKeyUnknown as unknown:
        confirm = settings.confirm_host_key
        if confirm is None or not await confirm(unknown.key):
            raise
        return await _connect_once(target, settings, accept_new=True)


async def _connect_once(
    target: HostTarget, settings: ConnectSettings, accept_new: bool
) -> ServerConnection:
    import asyncssh

    label = target.label()
    verdict = _HostKeyVerdict()
    try:
        # In a thread: parsing a long ssh_config must not stall other connections' handshakes.
        resolved = await asyncio.to_thread(_resolve_options, target, settings)
    except ValueError as exc:  # asyncssh's ConfigParseError, or a file that isn't UTF-8
        where = settings.ssh_config or "~/.ssh/config"
        raise ConnectError(f"Can't use the ssh_config {where} for {label}: {exc}") from None
    try:
        known_hosts = resolved.known_hosts
        reuse = {"options": resolved.options, "config": None} if resolved.reuse else {}
        conn = await asyncio.wait_for(
            asyncssh.connect(
                target.name,
                known_hosts=_known_hosts_arg(known_hosts),
                client_factory=_client_factory(verdict, known_hosts, label, accept_new),
                keepalive_interval=settings.keepalive_interval,
                connect_timeout=settings.connect_timeout,
                **reuse,
                **resolved.kwargs,
                **settings.extra_options,
            ),
            timeout=settings.connect_timeout + 1,
        )
    except asyncssh.HostKeyNotVerifiable as exc:
        if verdict.changed:
            raise HostKeyChanged(verdict.changed) from None
        if verdict.unknown:
            raise HostKeyUnknown(verdict.unknown) from None
        raise ConnectError(f"The host key of {label} could not be verified: {exc}") from None
    except asyncssh.PermissionDenied:
        raise ConnectError(
            f"{label} refused our SSH keys. Check IdentityFile in your ssh_config or "
            "ssh-agent, or install your key with ssh-copy-id."
        ) from None
    except TimeoutError:
        raise ConnectError(
            f"Timed out after {settings.connect_timeout:g} s connecting to {label}: the host "
            "did not complete an SSH handshake."
        ) from None
    except asyncssh.Error as exc:
        raise ConnectError(printable(f"SSH to {label} failed: {exc.reason or exc}")) from None
    except OSError as exc:
        raise ConnectError(_describe_os_error(label, exc)) from None
    if accept_new and verdict.unknown:
        append_known_host(verdict.unknown)
    return ServerConnection(target, conn)


class ServerConnection:
    """The single SSH connection to one server, shared by probe, tunnel, login and SFTP."""

    def __init__(self, target: HostTarget, conn: asyncssh.SSHClientConnection) -> None:
        self.target = target
        self.ssh = conn
        self._sftp: asyncssh.SFTPClient | None = None
        self._sftp_lock = asyncio.Lock()

    @property
    def label(self) -> str:
        return self.target.label()

    async def run(self, command: str, *, timeout: float = 30.0) -> asyncssh.SSHCompletedProcess:
        """Run a shell command on the server and collect its output (never raises on exit code)."""
        return await asyncio.wait_for(self.ssh.run(command, check=False), timeout)

    async def sftp(self) -> asyncssh.SFTPClient:
        """The SFTP session, opened on first use and reused."""
        async with self._sftp_lock:
            if self._sftp is None:
                self._sftp = await self.ssh.start_sftp_client()
            return self._sftp

    async def close(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
        self.ssh.close()
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            await asyncio.wait_for(self.ssh.wait_closed(), 5)

    async def __aenter__(self) -> ServerConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
