"""The words of a connection, without the connecting: errors and their kinds, host keys, settings.

Faces (the CLI, the wizard) import these to ask and explain; core/ssh/connection.py raises them.
Nothing here imports asyncssh, so the wizard's first frame can use them.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ConnectError",
    "ConnectErrorKind",
    "ConnectSettings",
    "HostKeyChanged",
    "HostKeyConfirm",
    "HostKeyInfo",
    "HostKeyUnknown",
    "PassphrasePrompt",
    "ServerPrompt",
    "remove_entry_command",
]

DEFAULT_CONNECT_TIMEOUT = 15.0


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
            f"{key.key_type} {key.fingerprint}: the host's key does not match what known_hosts "
            f"records ({key.listed_in}). "
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
# Asked for a password or a keyboard-interactive answer: the prompt as ssh shows it and whether
# the answer may be echoed in, the answer or None (none: stop asking) out.
ServerPrompt = Callable[[str, bool], Awaitable[str | None]]


@dataclass
class ConnectSettings:
    """Options shared by every command: ssh_config, host-key policy, prompts, timeouts."""

    ssh_config: Path | None = None
    accept_new_host_key: bool = False
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    confirm_host_key: HostKeyConfirm | None = None
    ask_passphrase: PassphrasePrompt | None = None
    answer_prompt: ServerPrompt | None = None  # passwords, keyboard-interactive (a terminal)
    on_note: Callable[[str], None] | None = None  # ssh's warnings: "Permanently added ..."
    keepalive_interval: float = 15.0
    extra_options: dict[str, object] = field(default_factory=dict)  # the target's only
    unlocked_keys: dict[str, object] = field(default_factory=dict)
    """Encrypted keys unlocked with a passphrase, by path, for the rest of this run (memory
    only, as ssh-agent holds them): a reconnect or the next host does not ask again. Shared
    by copies of these settings (dataclasses.replace keeps the same dict)."""
