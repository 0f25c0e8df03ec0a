"""One asyncssh connection per host: ssh_config, keys/agent, and a strict host-key policy.

Host keys are checked as OpenSSH checks them (core/ssh/knownhosts.py). An unknown key is shown
(SHA256 fingerprint) and needs a yes before it is added; a changed or revoked key is always
refused. ProxyJump hops are opened here, one by one, under the same policy, so a jump host's key
is shown and confirmed as the target's is. Keys: the agent first, then IdentityFiles; an
encrypted one is unlocked with a passphrase asked through ConnectSettings.ask_passphrase.
Every failure is a ConnectError with a typed `kind`: faces switch on it, never on the words.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..sanitize import printable
from . import knownhosts
from .config import ResolvedHost, identity_files, resolve_options
from .hosts import HostTarget
from .knownhosts import KnownHostsPolicy
from .server import (
    ServerConnection,
    auth_behind_service_request,
    coalesce_writes,
    count_round_trips,
    offer_keys_first,
    sign_file_keys_at_once,
)
from .types import (
    ConnectError,
    ConnectErrorKind,
    ConnectSettings,
    HostKeyChanged,
    HostKeyInfo,
    HostKeyUnknown,
    PassphrasePrompt,
)

if TYPE_CHECKING:
    import asyncssh  # imported where it runs: the wizard's first frame doesn't wait for it

__all__ = ["append_known_host", "connect"]

PASSPHRASE_TRIES = 3  # OpenSSH's NumberOfPasswordPrompts


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


def _client_factory(
    check: _HostKeyCheck, identities: list[Path]
) -> Callable[[], asyncssh.SSHClient]:
    """The client of one hop: it offers only the unlocked keys among that hop's IdentityFiles,
    as ssh offers only the identities its config names."""
    import asyncssh

    names = {str(path) for path in identities}
    unlocked = [key for path, key in check.attempt.unlocked.items() if path in names]

    class _Client(asyncssh.SSHClient):
        def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
            coalesce_writes(conn)
            count_round_trips(conn)
            offer_keys_first(conn)
            auth_behind_service_request(conn)

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
    attempt = _Attempt(settings, unlocked=settings.unlocked_keys)  # type: ignore[arg-type]
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
        resolved = await asyncio.to_thread(resolve_options, target, settings)
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
    resolved: ResolvedHost,
    check: _HostKeyCheck,
    tunnel: asyncssh.SSHClientConnection | None,
    *,
    any_key_type: bool = False,
) -> asyncssh.SSHClientConnection:
    """One handshake; any_key_type: offer every host key type, not only those known_hosts
    lists for the host (asyncssh's default)."""
    import asyncssh

    sign_file_keys_at_once()
    settings = check.attempt.settings
    reuse = {"options": resolved.options, "config": None} if resolved.reuse else {}
    extra = {} if check.jump else settings.extra_options
    kwargs = {**resolved.kwargs, "server_host_key_algs": "default"} if any_key_type else {}
    try:
        return await asyncio.wait_for(
            asyncssh.connect(
                target.name,
                known_hosts=check,
                client_factory=_client_factory(check, identity_files(resolved.options)),
                keepalive_interval=settings.keepalive_interval,
                connect_timeout=settings.connect_timeout,
                tunnel=tunnel,
                **reuse,
                **(kwargs or resolved.kwargs),
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
        if not any_key_type and _known_types_missing(check, exc):
            # The server has no key of the types known_hosts lists, so asyncssh, offering only
            # those, got no handshake at all ("Connection lost"). Offer every type, as OpenSSH
            # does: the key the server has is then judged, and refused as not the one recorded.
            return await _handshake(target, resolved, check, tunnel, any_key_type=True)
        message = printable(f"SSH to {check.describe()} failed: {exc.reason or exc}")
        raise _problem(check, message, ConnectErrorKind.SSH) from None
    except OSError as exc:
        message = _describe_os_error(check.describe(), exc)
        raise _problem(check, message, ConnectErrorKind.NETWORK) from None


def _known_types_missing(check: _HostKeyCheck, exc: Exception) -> bool:
    """The key exchange failed before any host key was seen, while known_hosts lists keys
    for this host: the server may have none of their types (ECDSA recorded, ed25519 offered)."""
    import asyncssh

    seen = check.changed is not None or check.unknown is not None
    lost = isinstance(exc, asyncssh.ConnectionLost | asyncssh.KeyExchangeFailed)
    return lost and not seen and bool(check.found.host_keys)


def _problem(check: _HostKeyCheck, message: str, kind: ConnectErrorKind) -> ConnectError:
    """A failure at the target keeps its kind; at a jump host it is a JUMP_HOST one."""
    return check.error(message, ConnectErrorKind.JUMP_HOST if check.jump else kind)


async def _refused(resolved: ResolvedHost, check: _HostKeyCheck) -> ConnectError:
    """PermissionDenied: encrypted keys left to unlock, or plainly refused."""
    attempt = check.attempt
    skip = set(attempt.unlocked) | attempt.declined
    candidates = [p for p in identity_files(resolved.options) if str(p) not in skip]
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
