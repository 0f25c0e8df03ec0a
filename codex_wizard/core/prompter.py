"""What the login flow (core/flow.py) asks the user, and the ways it can stop."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from .laptop.ports import PortOwner
from .progress import LoginProgress
from .ssh.types import HostKeyInfo


class Prompter(Protocol):
    """What the flow asks the user. The CLI answers on the terminal, the wizard in dialogs."""

    async def confirm_host_key(self, key: HostKeyInfo) -> bool: ...

    async def passphrase(self, key_path: str) -> str | None:
        """An encrypted key's passphrase (None: skip that key)."""
        ...

    async def credentials(self, label: str, *, retry: bool) -> tuple[str, str] | None:
        """After the server refused our keys: ("password" | "passphrase", secret), or None."""
        ...

    async def stop_pending_login(self, port: int, owner: PortOwner) -> bool: ...

    async def cancel_other_users_login(self, user: str, port: int) -> bool:
        """`user` has a `codex login` waiting on the server's `port`: True to go ahead (theirs
        gets GET /cancel and ends), False to wait."""
        ...

    async def pasted_address(self, progress: LoginProgress, problem: str | None) -> str | None:
        """Relay: the address the browser ended on (None: no more input). `problem` is what
        was wrong with the one pasted before, if anything."""
        ...


class FailureKind(StrEnum):
    INSTALL = "install"  # codex or node can't run on the server
    FORWARDING = "forwarding"  # the server refuses the tunnel
    PORT_BUSY = "port_busy"  # this computer's port is held by someone else
    TIMEOUT = "timeout"
    SERVER = "server"  # the server could not finish a login (CODEX_HOME, config, network)
    LOGIN = "login"  # codex login ended without a verified login

    @classmethod
    def of_check(cls, name: str) -> FailureKind:
        """The kind of failure a failed preflight check (core/preflight.py) stops a login with."""
        return _CHECK_KINDS.get(name, cls.SERVER)


class FlowError(Exception):
    """The flow stopped; the message is meant for the user, `kind` is for the faces."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


_CHECK_KINDS = {
    "node": FailureKind.INSTALL,
    "codex": FailureKind.INSTALL,
    "forwarding": FailureKind.FORWARDING,
}
