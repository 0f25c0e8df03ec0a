"""The token step's "send one test prompt": QUOTA_NOTE first (a confirm), then
core.logins.livecheck's `codex exec` on the server in a worker, and its reply or the problem in
plain words. The screen hears it ended (Done) and re-reads auth.json: a prompt that worked may
have renewed the token."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from ...core.logins.livecheck import QUOTA_NOTE, LiveCheck, LiveOutcome
from ...core.sanitize import printable
from .base import guarded, running, styled
from .dialogs import ConfirmDialog

if TYPE_CHECKING:
    from ..protocol import Wizard

SENDING = "Sending one test prompt with codex exec on the server (up to two minutes)…"
OUTCOME_STYLES = {LiveOutcome.REPLY: "ok", LiveOutcome.USAGE_LIMIT: "warn"}


def outcome_text(check: LiveCheck, host: str) -> Text:
    """The reply, or what went wrong and what to do, made printable (it comes from the server)."""
    words = printable(check.summary().replace("HOST", host))
    if check.outcome is LiveOutcome.LOGIN_AGAIN:
        words += " Press l to log in again here."
    mark = "✓" if check.ok else "✗"
    return styled(f"{mark} {words}", OUTCOME_STYLES.get(check.outcome, "bad"))


class LiveCheckPanel(Vertical):
    """The button and the outcome line; start() asks first, then runs the check."""

    class Done(Message):
        """The check ended (`check`, or None when it was cancelled or declined)."""

        def __init__(self, check: LiveCheck | None) -> None:
            super().__init__()
            self.check = check

    @property
    def busy(self) -> bool:
        """The question or the check is under way (its worker has not finished)."""
        return running(self)

    @property
    def wizard(self) -> Wizard:
        return cast("Wizard", self.app)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="actions"):
            yield Button("Send one test prompt (p)", id="live-check")
        yield Static("", id="live-note")

    def start(self) -> None:
        if not self.busy:
            self.query_one("#live-check", Button).disabled = True
            self.run_worker(
                guarded(self, self._ask_then_check(), "sending a test prompt"),
                group="live-check",
                exit_on_error=False,
            )

    async def _ask_then_check(self) -> None:
        check: LiveCheck | None = None
        note = self.query_one("#live-note", Static)
        try:
            if await self.app.push_screen_wait(
                ConfirmDialog("Send one test prompt?", QUOTA_NOTE, yes="Send", no="Not now")
            ):
                note.update(styled(SENDING, "dim"))
                check = await self._check()
                note.update(outcome_text(check, self._host()))
        except asyncio.CancelledError:
            note.update(styled("Stopped: codex exec was ended on the server.", "warn"))
            raise
        finally:
            for button in self.query("#live-check").results(Button):  # none: the step was left
                button.disabled = False
            self.post_message(self.Done(check))

    async def _check(self) -> LiveCheck:
        state = self.wizard.state
        return await self.wizard.backend.live_check(state.conn, state.env)

    def _host(self) -> str:
        target = self.wizard.state.target
        return target.label() if target else "HOST"

    @on(Button.Pressed, "#live-check")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.start()
