"""One asyncssh connection per host: ssh_config, keys/agent, and a strict host-key policy.

Host keys are checked as OpenSSH checks them (core/knownhosts.py). An unknown key is shown
(SHA256 fingerprint) and needs a yes before it is added; a changed or revoked key is always
refused. ProxyJump hops are opened here, one by one, under the same policy, so a jump host's key
is shown and confirmed as the target's is. Keys: the agent first, then IdentityFiles; an
encrypted one is unlocked with a passphrase asked through ConnectSettings.ask_passphrase.
Every failure is a ConnectError with a typed `kind`: faces switch on it, never on the words.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import knownhosts
from .hosts import HostArgError, HostTarget, parse_host_arg
from .knownhosts import KnownHostsPolicy, known_hosts_pattern
from .sanitize import printable

if TYPE_CHECKING:
    import asyncssh  # imported where it runs: the wizard's first frame doesn't wait for it

__all__ = [
    "ConnectError",
    "ConnectErrorKind",
    "ConnectSettings",
    "HostKeyChanged",
    "HostKeyInfo",
    "HostKeyUnknown",
    "PassphrasePrompt",
    "ServerConnection",
    "append_known_host",
    "connect",
    "known_hosts_pattern",
]

DEFAULT_CONNECT_TIMEOUT = 15.0
PASSPHRASE_TRIES = 3  # OpenSSH's NumberOfPasswordPrompts
MAX_JUMPS = 8
# OpenSSH's default IdentityFiles, in its order (ssh -G HOST | grep identityfile).
DEFAULT_IDENTITY_FILES = ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk")


class ConnectErrorKind(enum.Enum):
    """Why a connection failed, for faces to switch on."""

    HOST_KEY_UNKNOWN = "host_key_unknown"  # not in known_hosts, not accepted (HostKeyUnknown)
    HOST_KEY_CHANGED = "host_key_changed"  # known_hosts has another key (HostKeyChanged)
    HOST_KEY_REVOKED = "host_key_revoked"  # marked @revoked in known_hosts
    HOST_KEY_UNVERIFIED = "host_key_unverified"  # e.g. a certificate from an untrusted CA
    AUTH_REFUSED = "auth_refused"  # the server accepted none of our keys (or password)
    NEEDS_PASSPHRASE = "needs_passphrase"  # an encrypted key, and nobody to ask its passphrase
    NETWORK = "network"  # name not resolved, refused, unreachable
    TIMEOUT = "timeout"  # no SSH handshake in time
    JUMP_HOST = "jump_host"  # a ProxyJump hop could not be reached or refused us
    CONFIG = "config"  # the ssh_config cannot be used
    SSH = "ssh"  # any other SSH protocol failure


class ConnectError(Exception):
    """A connection problem with a message meant for the user, and its kind.

    jump_host names the ProxyJump hop where it happened (None: the target itself).
    """

    def __init__(
        self,
        message: str,
        kind: ConnectErrorKind = ConnectErrorKind.SSH,
        *,
        jump_host: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.jump_host = jump_host


@dataclass(frozen=True)
class HostKeyInfo:
    """What the user needs to decide about a host key."""

    host_label: str
    known_hosts_pattern: str  # "host", "[host]:port" or "host,ip", as OpenSSH writes it
    key_type: str
    fingerprint: str  # SHA256:...
    openssh_line: str  # the plain known_hosts line for this key
    known_hosts: Path | None  # where it is added once accepted (None: UserKnownHostsFile none)
    hash_known_hosts: bool = False  # HashKnownHosts yes: the line is written hashed
    listed_in: Path | None = None  # the file that lists another key for this host
    jump_host: bool = False  # the key of a ProxyJump hop, not of the target


def _host_description(key: HostKeyInfo) -> str:
    return f"jump host {key.host_label}" if key.jump_host else key.host_label


class HostKeyUnknown(ConnectError):
    """The server's key is not in known_hosts and the user did not accept it."""

    def __init__(self, key: HostKeyInfo) -> None:
        super().__init__(
            f"The host key of {_host_description(key)} is not known ({key.key_type} "
            f"{key.fingerprint}). Confirm it to continue, or pass --accept-new-host-key after "
            "checking the fingerprint with the server's administrator.",
            ConnectErrorKind.HOST_KEY_UNKNOWN,
            jump_host=key.host_label if key.jump_host else None,
        )
        self.key = key


class HostKeyChanged(ConnectError):
    """known_hosts has a different key for this host: possibly an attack. Never accepted."""

    def __init__(self, key: HostKeyInfo) -> None:
        super().__init__(
            f"WARNING: the host key of {_host_description(key)} has CHANGED. It is now "
            f"{key.key_type} {key.fingerprint}, which does not match {key.listed_in}. "
            "Someone could be intercepting the connection (or the server was reinstalled). "
            "codex-wizard refuses to connect. If you know why the key changed, remove the old "
            f"entry with: {remove_entry_command(key)}",
            ConnectErrorKind.HOST_KEY_CHANGED,
            jump_host=key.host_label if key.jump_host else None,
        )
        self.key = key


def remove_entry_command(key: HostKeyInfo) -> str:
    """The ssh-keygen command that removes the old key from the file that lists it."""
    name = key.known_hosts_pattern.split(",")[0]
    return f"ssh-keygen -R '{name}' -f '{key.listed_in}'"


HostKeyConfirm = Callable[[HostKeyInfo], Awaitable[bool]]
# Asked for an encrypted key's passphrase: the key file's path in, the passphrase or None out.
PassphrasePrompt = Callable[[str], Awaitable[str | None]]


@dataclass
class ConnectSettings:
    """Options shared by every command: ssh_config, host-key policy, prompts, timeouts."""

    ssh_config: Path | None = None
    accept_new_host_key: bool = False
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    confirm_host_key: HostKeyConfirm | None = None
    ask_passphrase: PassphrasePrompt | None = None
    keepalive_interval: float = 15.0
    extra_options: dict[str, object] = field(default_factory=dict)  # the target's only


def append_known_host(info: HostKeyInfo) -> None:
    """Add an accepted key to its known_hosts file (hashed with HashKnownHosts yes)."""
    if info.known_hosts is not None:
        lines = knownhosts.lines_for(info.openssh_line, info.hash_known_hosts)
        knownhosts.append_lines(info.known_hosts, lines)


@dataclass
class _Attempt:
    """What the user decided across the retries of one connect(): keys accepted or unlocked."""

    settings: ConnectSettings
    accepted: set[tuple[str, str]] = field(default_factory=set)  # (pattern, fingerprint)
    unlocked: dict[str, asyncssh.SSHKeyPair] = field(default_factory=dict)  # by key path
    declined: set[str] = field(default_factory=set)

    def accepts(self, key: HostKeyInfo) -> bool:
        return (
            self.settings.accept_new_host_key
            or (key.known_hosts_pattern, key.fingerprint) in self.accepted
        )


class _HostKeyCheck:
    """known_hosts for one hop of one attempt: asyncssh's callable, and what it saw."""

    def __init__(self, policy: KnownHostsPolicy, label: str, jump: bool, attempt: _Attempt):
        self.policy = policy
        self.label = label
        self.jump = jump
        self.attempt = attempt
        self.found = knownhosts.Lookup([], [], [], None)
        self.names: list[str] = []
        self.unknown: HostKeyInfo | None = None
        self.changed: HostKeyInfo | None = None

    def __call__(self, host: str, addr: str, port: int | None) -> tuple[list, list, list]:
        """asyncssh's known_hosts callable (host is HostKeyAlias when set)."""
        self.names = self.policy.names(host, port or 22, addr)
        self.found = knownhosts.lookup(self.policy, self.names)
        return self.found.as_asyncssh()

    def judge(self, key: asyncssh.SSHKey) -> bool:
        """A key not trusted by known_hosts (nor revoked): unknown, or a changed one."""
        pattern = ",".join(self.names)
        info = HostKeyInfo(
            host_label=self.label,
            known_hosts_pattern=pattern,
            key_type=key.get_algorithm(),
            fingerprint=key.get_fingerprint("sha256"),
            openssh_line=f"{pattern} {_public_key_text(key)}",
            known_hosts=self.policy.append_to,
            hash_known_hosts=self.policy.hash_known_hosts,
            listed_in=self.found.listed_in,
            jump_host=self.jump,
        )
        if self.found.host_keys:
            self.changed = info
            return False
        self.unknown = info
        return self.attempt.accepts(info)

    def failure(self) -> ConnectError:
        """The error for a handshake that failed on the host key."""
        if self.changed:
            return HostKeyChanged(self.changed)
        if self.unknown:
            return HostKeyUnknown(self.unknown)
        if self.found.revoked:
            return self.error(
                f"The host key of {self.describe()} is marked @revoked in known_hosts: "
                "codex-wizard refuses to connect.",
                ConnectErrorKind.HOST_KEY_REVOKED,
            )
        return self.error(
            f"The host key of {self.describe()} could not be verified.",
            ConnectErrorKind.HOST_KEY_UNVERIFIED,
        )

    def describe(self) -> str:
        return f"jump host {self.label}" if self.jump else self.label

    def error(self, message: str, kind: ConnectErrorKind) -> ConnectError:
        return ConnectError(message, kind, jump_host=self.label if self.jump else None)


def _client_factory(check: _HostKeyCheck) -> Callable[[], asyncssh.SSHClient]:
    import asyncssh

    unlocked = list(check.attempt.unlocked.values())

    class _Client(asyncssh.SSHClient):
        def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
            _coalesce_writes(conn)

        def validate_host_public_key(
            self, host: str, addr: str, port: int, key: asyncssh.SSHKey
        ) -> bool:
            return check.judge(key)  # called only for keys known_hosts does not trust

        def public_key_auth_requested(self) -> list[asyncssh.SSHKeyPair] | None:
            """After the agent's and the unencrypted keys: the ones unlocked by passphrase."""
            keys = unlocked[:]
            unlocked.clear()
            return keys or None

    return _Client


def _public_key_text(key: asyncssh.SSHKey) -> str:
    """'<type> <base64>' without the comment, as known_hosts wants it."""
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


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
    """A host's ssh_config, read once: asyncssh's options, known_hosts policy, ProxyJump hops."""

    options: asyncssh.SSHClientConnectionOptions
    kwargs: dict[str, object]
    policy: KnownHostsPolicy
    jumps: tuple[HostTarget, ...]
    reuse: bool  # asyncssh.connect can take `options` as they are, without reading the config


def _resolve_options(target: HostTarget, settings: ConnectSettings) -> _Resolved:
    """Read the ssh_config for target (the only time per connection: it is slow to parse)."""
    import asyncssh

    knownhosts.add_openssh_options()
    config = [str(settings.ssh_config)] if settings.ssh_config else ()
    kwargs: dict[str, object] = {}
    if target.port:
        kwargs["port"] = target.port
    if target.user:
        kwargs["username"] = target.user
    options = asyncssh.SSHClientConnectionOptions(host=target.name, config=config, **kwargs)
    policy = knownhosts.policy_from_config(options, target.name)
    jumps = _jump_hosts(options.tunnel)
    kwargs.update(_agent_option(options.config.get("IdentityAgent")))
    # Canonicalisation or `Match final` re-read the config after resolving the name: those
    # must get the paths again.
    reuse = not (
        options.config.has_match_final()
        or (options.canonicalize_hostname and options.canonical_domains)
    )
    if not reuse:
        kwargs["config"] = config
    return _Resolved(options, kwargs, policy, jumps, reuse)


def _jump_hosts(tunnel: object) -> tuple[HostTarget, ...]:
    """ProxyJump's hops, in order (`[user@]host[:port]` or `ssh://` URIs, `none` for none)."""
    if not isinstance(tunnel, str) or tunnel.lower() == "none":
        return ()
    hops = [hop.removeprefix("ssh://") for hop in tunnel.split(",") if hop]
    if len(hops) > MAX_JUMPS:
        raise ValueError(f"ProxyJump has more than {MAX_JUMPS} hops")
    try:
        return tuple(parse_host_arg(hop) for hop in hops)
    except HostArgError as exc:
        raise ValueError(f"ProxyJump {tunnel!r}: {exc}") from None


def _agent_option(identity_agent: object) -> dict[str, object]:
    """IdentityAgent's words asyncssh takes for a socket path: `none`, `SSH_AUTH_SOCK`."""
    if not isinstance(identity_agent, str):
        return {}
    if identity_agent.lower() == "none":
        return {"agent_path": None}
    if identity_agent == "SSH_AUTH_SOCK":
        return {"agent_path": os.environ.get("SSH_AUTH_SOCK") or None}
    return {}


def _identity_files(options: asyncssh.SSHClientConnectionOptions) -> list[Path]:
    """The key files OpenSSH would try after the agent: IdentityFile, else its defaults."""
    named = options.config.get("IdentityFile")
    if named:
        return [Path(name).expanduser() for name in named]
    return [Path.home() / ".ssh" / name for name in DEFAULT_IDENTITY_FILES]


def _is_encrypted(path: Path) -> bool:
    """True for a private key file that needs a passphrase (asyncssh skipped it)."""
    import asyncssh

    try:
        asyncssh.read_private_key(path, passphrase="\0not-the-passphrase")
    except asyncssh.KeyEncryptionError:
        return True
    except (OSError, ValueError, asyncssh.KeyImportError):
        return False
    return False


def _describe_os_error(label: str, exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return f"Can't resolve {label}: {exc.strerror or exc}. Check the name or HostName."
    if isinstance(exc, ConnectionRefusedError):
        return f"{label} refused the connection: is sshd running, and is the port right?"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"Can't reach {label}: {reason}."


class _NeedsPassphrase(ConnectError):
    """The server refused the keys we could use, and encrypted keys are left to unlock."""

    def __init__(self, message: str, paths: list[Path], jump_host: str | None) -> None:
        super().__init__(message, ConnectErrorKind.NEEDS_PASSPHRASE, jump_host=jump_host)
        self.paths = paths


async def connect(target: HostTarget, settings: ConnectSettings) -> ServerConnection:
    """Open the one connection to target (and its ProxyJump hops).

    An unknown host key is confirmed through settings.confirm_host_key, an encrypted key's
    passphrase asked through settings.ask_passphrase; each answer means one more attempt.
    """
    attempt = _Attempt(settings)
    while True:
        try:
            return await _connect_chain(target, attempt)
        except HostKeyUnknown as unknown:
            confirm = settings.confirm_host_key
            if confirm is None or not await confirm(unknown.key):
                raise
            attempt.accepted.add((unknown.key.known_hosts_pattern, unknown.key.fingerprint))
        except _NeedsPassphrase as locked:
            if settings.ask_passphrase is None:
                raise ConnectError(str(locked), locked.kind, jump_host=locked.jump_host) from None
            await _unlock(locked.paths[0], settings.ask_passphrase, attempt)


async def _unlock(path: Path, ask: PassphrasePrompt, attempt: _Attempt) -> None:
    """Ask for path's passphrase (a few tries); declined or wrong, it is not asked again."""
    import asyncssh

    for _ in range(PASSPHRASE_TRIES):
        passphrase = await ask(str(path))
        if passphrase is None:
            break
        try:
            key = await asyncio.to_thread(asyncssh.load_keypairs, str(path), passphrase)
        except asyncssh.KeyEncryptionError:
            continue
        except (OSError, ValueError, asyncssh.KeyImportError):
            break
        attempt.unlocked[str(path)] = key[0]
        return
    attempt.declined.add(str(path))


async def _connect_chain(target: HostTarget, attempt: _Attempt) -> ServerConnection:
    """The target through its ProxyJump hops; hops opened here are closed on failure."""
    opened: list[asyncssh.SSHClientConnection] = []
    try:
        conn = await _connect_hop(target, attempt, opened, jump=False)
    except BaseException:
        for hop in reversed(opened):
            hop.close()
        raise
    return ServerConnection(target, conn, jumps=opened)


async def _connect_hop(
    target: HostTarget,
    attempt: _Attempt,
    opened: list[asyncssh.SSHClientConnection],
    *,
    jump: bool,
    tunnel: asyncssh.SSHClientConnection | None = None,
) -> asyncssh.SSHClientConnection:
    """One hop: its own ProxyJump first (unless a tunnel is given), then the hop itself."""
    settings = attempt.settings
    try:
        # In a thread: parsing a long ssh_config must not stall other connections' handshakes.
        resolved = await asyncio.to_thread(_resolve_options, target, settings)
    except ValueError as exc:  # asyncssh's ConfigParseError, a file that isn't UTF-8, a token
        where = settings.ssh_config or "~/.ssh/config"
        raise ConnectError(
            f"Can't use the ssh_config {where} for {target.label()}: {exc}",
            ConnectErrorKind.CONFIG,
        ) from None
    if tunnel is None:
        for hop in resolved.jumps:
            tunnel = await _connect_hop(hop, attempt, opened, jump=True, tunnel=tunnel)
            opened.append(tunnel)
    check = _HostKeyCheck(resolved.policy, target.label(), jump, attempt)
    conn = await _handshake(target, resolved, check, tunnel)
    if check.unknown is not None:  # accepted, since we are connected
        append_known_host(check.unknown)
    return conn


async def _handshake(
    target: HostTarget,
    resolved: _Resolved,
    check: _HostKeyCheck,
    tunnel: asyncssh.SSHClientConnection | None,
) -> asyncssh.SSHClientConnection:
    import asyncssh

    settings = check.attempt.settings
    reuse = {"options": resolved.options, "config": None} if resolved.reuse else {}
    extra = {} if check.jump else settings.extra_options
    try:
        return await asyncio.wait_for(
            asyncssh.connect(
                target.name,
                known_hosts=check,
                client_factory=_client_factory(check),
                keepalive_interval=settings.keepalive_interval,
                connect_timeout=settings.connect_timeout,
                tunnel=tunnel,
                **reuse,
                **resolved.kwargs,
                **extra,
            ),
            timeout=settings.connect_timeout + 1,
        )
    except asyncssh.HostKeyNotVerifiable:
        raise check.failure() from None
    except asyncssh.PermissionDenied:
        raise await _refused(resolved, check) from None
    except TimeoutError:
        raise _problem(
            check,
            f"Timed out after {settings.connect_timeout:g} s connecting to {check.describe()}: "
            "the host did not complete an SSH handshake.",
            ConnectErrorKind.TIMEOUT,
        ) from None
    except asyncssh.Error as exc:
        message = printable(f"SSH to {check.describe()} failed: {exc.reason or exc}")
        raise _problem(check, message, ConnectErrorKind.SSH) from None
    except OSError as exc:
        message = _describe_os_error(check.describe(), exc)
        raise _problem(check, message, ConnectErrorKind.NETWORK) from None


def _problem(check: _HostKeyCheck, message: str, kind: ConnectErrorKind) -> ConnectError:
    """A failure at the target keeps its kind; at a jump host it is a JUMP_HOST one."""
    return check.error(message, ConnectErrorKind.JUMP_HOST if check.jump else kind)


async def _refused(resolved: _Resolved, check: _HostKeyCheck) -> ConnectError:
    """PermissionDenied: encrypted keys left to unlock, or plainly refused."""
    attempt = check.attempt
    skip = set(attempt.unlocked) | attempt.declined
    candidates = [p for p in _identity_files(resolved.options) if str(p) not in skip]
    locked = [p for p in candidates if await asyncio.to_thread(_is_encrypted, p)]
    if locked:
        return _NeedsPassphrase(
            f"{check.describe()} refused the keys we could use, and {locked[0]} is encrypted. "
            f"Add it to ssh-agent (ssh-add {locked[0]}) or run codex-wizard in a terminal to "
            "type its passphrase.",
            locked,
            check.label if check.jump else None,
        )
    return _problem(
        check,
        f"{check.describe()} refused our SSH keys. Check IdentityFile in your ssh_config or "
        "ssh-agent, or install your key with ssh-copy-id.",
        ConnectErrorKind.AUTH_REFUSED,
    )


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
