"""One asyncssh connection per host: ssh_config, keys/agent, and a strict host-key policy.

Host keys are checked as OpenSSH checks them (core/ssh/knownhosts.py). An unknown key follows
StrictHostKeyChecking: shown (SHA256 fingerprint) and added after a yes (ask, the default),
refused without a question (yes, or BatchMode), added without one (accept-new, no); a changed
or revoked key is always refused. ProxyJump hops are opened here, one by one, under the same
policy, so a jump host's key is shown and confirmed as the target's is. Keys in ssh's order:
the agent's keys that are also IdentityFiles, the agent's others, then IdentityFiles; an
encrypted one is unlocked with a passphrase asked through ConnectSettings.ask_passphrase.
Passwords and keyboard-interactive answers are asked as ssh asks them (core/ssh/auth.py).
Every failure is a ConnectError with a typed `kind`: faces switch on it, never on the words.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..sanitize import printable
from . import knownhosts
from .auth import NeedsPassphrase, prompts_for, refused, unlock
from .config import ResolvedHost, identity_files, resolve_options
from .hosts import HostTarget
from .knownhosts import KnownHostsPolicy
from .prompts import AuthPrompts
from .server import (
    ServerConnection,
    auth_behind_service_request,
    coalesce_writes,
    count_round_trips,
    offer_keys_first,
    prefer_agent_keys,
    sign_file_keys_at_once,
)
from .types import (
    ConnectError,
    ConnectErrorKind,
    ConnectSettings,
    HostKeyChanged,
    HostKeyInfo,
    HostKeyUnknown,
)

if TYPE_CHECKING:
    import asyncssh  # imported where it runs: the wizard's first frame doesn't wait for it

__all__ = ["append_known_host", "connect"]


def append_known_host(info: HostKeyInfo) -> str:
    """Add an accepted key to its known_hosts file (hashed with HashKnownHosts yes), in place
    as ssh does; what ssh would say about it. A file that can't be written leaves the
    connection standing, as it does for ssh."""
    name = info.known_hosts_pattern.split(",")[0]
    if info.known_hosts is None:  # never accepted: policy.asks and adds_unknown say no
        return ""
    lines = knownhosts.lines_for(info.openssh_line, info.hash_known_hosts)
    try:
        knownhosts.append_lines(info.known_hosts, lines)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return f"Failed to add the host to the list of known hosts ({info.known_hosts}): {reason}."
    return f"Warning: Permanently added '{name}' ({info.key_type}) to the list of known hosts."


@dataclass
class _Attempt:
    """What the user decided across the retries of one connect(): keys accepted or unlocked."""

    settings: ConnectSettings
    accepted: set[tuple[str, str]] = field(default_factory=set)  # (pattern, fingerprint)
    unlocked: dict[str, asyncssh.SSHKeyPair] = field(default_factory=dict)  # by key path
    declined: set[str] = field(default_factory=set)

    def accepts(self, key: HostKeyInfo, policy: KnownHostsPolicy) -> bool:
        """An unknown key: --accept-new-host-key (as `-o StrictHostKeyChecking=accept-new`
        overrides the config), StrictHostKeyChecking accept-new or no, or a yes to it."""
        return (
            (self.settings.accept_new_host_key and policy.append_to is not None)
            or policy.adds_unknown
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
        return self.attempt.accepts(info, self.policy)

    def failure(self) -> ConnectError:
        """The error for a handshake that failed on the host key."""
        if self.changed:
            return HostKeyChanged(self.changed)
        if self.unknown and not self.policy.asks:
            return _UnknownRefused(self.unknown)
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

    def problem(self, message: str, kind: ConnectErrorKind) -> ConnectError:
        """A failure at the target keeps its kind; at a jump host it is a JUMP_HOST one."""
        return self.error(message, ConnectErrorKind.JUMP_HOST if self.jump else kind)


class _UnknownRefused(HostKeyUnknown):
    """An unknown key that StrictHostKeyChecking yes (or BatchMode) refuses without asking."""

    def __init__(self, key: HostKeyInfo) -> None:
        super().__init__(key)
        where = key.known_hosts or "known_hosts"
        self.args = (
            f"No {key.key_type} host key is known for {key.known_hosts_pattern} "
            f"({key.fingerprint}) and StrictHostKeyChecking (or BatchMode) refuses unknown keys "
            f"without asking, as ssh does. Check the fingerprint, then add the key to {where} "
            "(ssh-keyscan), or pass --accept-new-host-key.",
        )


def _client_factory(
    check: _HostKeyCheck, resolved: ResolvedHost, prompts: AuthPrompts
) -> Callable[[], asyncssh.SSHClient]:
    """The client of one hop: it offers only the unlocked keys among that hop's IdentityFiles,
    as ssh offers only the identities its config names, and asks as ssh asks."""
    import asyncssh

    names = {str(path) for path in identity_files(resolved.options)}
    unlocked = [key for path, key in check.attempt.unlocked.items() if path in names]

    class _Client(asyncssh.SSHClient):
        def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
            coalesce_writes(conn)
            count_round_trips(conn)
            offer_keys_first(conn)
            auth_behind_service_request(conn)
            prefer_agent_keys(conn, resolved.identity_keys)
            if not resolved.key_files:  # asyncssh read its default keys instead: ssh doesn't
                conn._client_keys = []

        def password_auth_requested(self) -> Awaitable[str | None]:
            return prompts.password()

        def kbdint_auth_requested(self) -> str | None:
            if prompts.ask is None:  # asyncssh may still answer with a given password=
                prompts.server_asked = True
                return NotImplemented
            return "" if prompts.starts_challenge() else None

        def kbdint_challenge_received(
            self, name: str, instructions: str, lang: str, prompts_: Sequence[tuple[str, bool]]
        ) -> Awaitable[list[str] | None]:
            return prompts.answers(name, instructions, prompts_)

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


def _describe_os_error(label: str, exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return f"Can't resolve {label}: {exc.strerror or exc}. Check the name or HostName."
    if isinstance(exc, ConnectionRefusedError):
        return f"{label} refused the connection: is sshd running, and is the port right?"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"Can't reach {label}: {reason}."


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
            if isinstance(unknown, _UnknownRefused) or confirm is None:
                raise
            if not await confirm(unknown.key):
                raise
            attempt.accepted.add((unknown.key.known_hosts_pattern, unknown.key.fingerprint))
        except NeedsPassphrase as locked:
            if settings.ask_passphrase is None:
                raise ConnectError(str(locked), locked.kind, jump_host=locked.jump_host) from None
            await unlock(
                locked.paths[0], settings.ask_passphrase, attempt.unlocked, attempt.declined
            )


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
        note = append_known_host(check.unknown)
        if note and settings.on_note is not None:
            settings.on_note(note)
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
    prompts = prompts_for(resolved, settings)
    reuse = {"options": resolved.options, "config": None} if resolved.reuse else {}
    extra = {} if check.jump else settings.extra_options
    kwargs = {**resolved.kwargs, "server_host_key_algs": "default"} if any_key_type else {}
    try:
        return await asyncio.wait_for(
            asyncssh.connect(
                target.name,
                known_hosts=check,
                client_factory=_client_factory(check, resolved, prompts),
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
        tried = set(check.attempt.unlocked) | check.attempt.declined
        raise await refused(resolved, check, prompts, tried) from None
    except TimeoutError:
        raise check.problem(
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
        raise check.problem(message, ConnectErrorKind.SSH) from None
    except OSError as exc:
        message = _describe_os_error(check.describe(), exc)
        raise check.problem(message, ConnectErrorKind.NETWORK) from None


def _known_types_missing(check: _HostKeyCheck, exc: Exception) -> bool:
    """The key exchange failed before any host key was seen, while known_hosts lists keys
    for this host: the server may have none of their types (ECDSA recorded, ed25519 offered)."""
    import asyncssh

    seen = check.changed is not None or check.unknown is not None
    lost = isinstance(exc, asyncssh.ConnectionLost | asyncssh.KeyExchangeFailed)
    return lost and not seen and bool(check.found.host_keys)
