"""The login flow's questions, asked in the wizard's modal dialogs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

if TYPE_CHECKING:
    from ..core.laptop.ports import PortOwner
    from ..core.progress import LoginProgress
    from ..core.ssh.types import HostKeyInfo


class WizardPrompter:
    """`ask` shows a modal screen and waits for its answer (App.ask)."""

    def __init__(self, ask: Callable[[Screen[Any]], Awaitable[Any]]) -> None:
        self.ask = ask

    async def confirm_host_key(self, key: HostKeyInfo) -> bool:
        from .screens.dialogs import HostKeyDialog

        return bool(await self.ask(HostKeyDialog(key)))

    async def passphrase(self, key_path: str) -> str | None:
        from .screens.dialogs import PassphraseDialog

        return await self.ask(PassphraseDialog(key_path))

    async def credentials(self, label: str, *, retry: bool) -> tuple[str, str] | None:
        from .screens.dialogs import CredentialsDialog

        return await self.ask(CredentialsDialog(label, retry=retry))

    async def cancel_other_users_login(self, user: str, port: int) -> bool:
        from .screens.dialogs import ConfirmDialog

        return bool(
            await self.ask(
                ConfirmDialog(
                    f"{user} is signing in on this server",
                    f"{user} has a Codex login waiting on the server's port {port}. Starting "
                    f"one now cancels theirs: codex sends it GET /cancel and {user} sees "
                    '"Login cancelled".',
                    yes="Go ahead",
                    no="Wait",
                )
            )
        )

    async def stop_pending_login(self, port: int, owner: PortOwner) -> bool:
        from .screens.dialogs import ConfirmDialog

        return bool(
            await self.ask(
                ConfirmDialog(
                    f"Stop what holds port {port}?",
                    f"{owner.describe()} holds 127.0.0.1:{port} on this computer. If it is a "
                    "Codex login that was never finished, it stops when asked (GET /cancel). "
                    "Anything else ignores the request.",
                    yes="Stop it",
                    no="Leave it",
                )
            )
        )

    async def pasted_address(self, progress: LoginProgress, problem: str | None) -> str | None:
        return None  # the relay screen pastes through LoginFlow.paste as the user types
