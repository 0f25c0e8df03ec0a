"""Step 5, push auth.json: for someone already logged in to Codex on this computer. Copies
~/.codex/auth.json to the server's CODEX_HOME over SFTP (backed up, atomic, 0600 in a 0700
folder; core.push), after a yes, then shows the backup and what `codex login status` says."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Static

from ...core.push import LocalAuth, PushError, PushResult, read_local_login
from ..state import Step
from ..text import login_summary
from ..widgets.fields import FieldList
from .base import StepScreen, styled
from .dialogs import ConfirmDialog
from .expiry import display_path

if TYPE_CHECKING:
    from ..protocol import Wizard


async def load_local(wizard: Wizard) -> LocalAuth:
    """This computer's auth.json (read in a thread), or why it can't be pushed."""
    return await asyncio.to_thread(
        read_local_login, wizard.local_auth_path, wizard.backend.load_local_auth
    )


PUSH_EXPLAINED = (
    "For when Codex is already logged in on this computer. The file is written atomically with "
    "mode 0600 in a 0700 folder, and an auth.json already there is kept as a backup; then "
    "`codex login status` checks it on the server. Both computers then hold the same sign-in."
)


class PushScreen(StepScreen):
    STEP = Step.LOGIN
    NEXT_LABEL = "Token status"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "push", "Push auth.json"),
        Binding("w", "ways", "Other ways in"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.local: LocalAuth | None = None
        self.busy = False

    @property
    def label(self) -> str:
        target = self.wizard.state.target
        return target.label() if target else "the server"

    def compose_body(self) -> ComposeResult:
        yield Static(
            f"Copy this computer's Codex login to {self.label}", id="push-lead", classes="lead"
        )
        yield FieldList(id="push-fields")
        yield Static(PUSH_EXPLAINED, id="push-explain")
        with Horizontal(classes="actions"):
            yield Button("Push auth.json (p)", id="push", variant="primary")
            yield Button("Other ways in (w)", id="ways")
        yield Static("", id="push-note")
        yield FieldList(id="push-result")

    def on_mount(self) -> None:
        self.busy = True
        self.render_push()
        self.run_guarded(self._load(), "reading this computer's auth.json", group="local")

    async def _load(self) -> None:
        try:
            self.local = await load_local(self.wizard)
        finally:
            self.busy = False
        self.render_push()

    def render_push(self) -> None:
        app = self.wizard
        state = app.state
        local = self.local
        remote = f"{self.label}:{display_path(state.env.auth_path())}"
        fields: list[tuple[str, str, str]] = []
        if local is None:
            fields.append(("From", str(app.local_auth_path), ""))
            fields.append(("Login", "reading…", "dim"))
        else:
            fields.append(("From", local.path, ""))
            if local.record is not None and local.usable:
                fields.append(("Login", *login_summary(local.record, app.now(), app.warn_days)))
            else:
                fields.append(("Login", local.error or "can't be used", "bad"))
        fields.append(("To", remote, ""))
        self.query_one("#push-fields", FieldList).show(fields)
        pushed = state.pushed
        result = self.query_one("#push-result", FieldList)
        result.display = pushed is not None
        if pushed is not None:
            result.show(self._result_fields(pushed))
        can_push = self._can_push()
        self.query_one("#push", Button).disabled = not can_push
        if pushed is not None:
            self.set_next(True, "")
        elif local is not None and not local.usable:
            self.set_next(False, "nothing to push from this computer")
        else:
            self.set_next(False, "press p to push")
        self.refresh_bindings()

    def _result_fields(self, pushed: PushResult) -> list[tuple[str, str, str]]:
        app = self.wizard
        status = pushed.login_status
        backup = pushed.backup_path
        return [
            ("Copied to", f"{self.label}:{display_path(pushed.remote_path)}  mode 0600", "ok"),
            (
                "Backup",
                display_path(backup) if backup else "none needed (there was no auth.json)",
                "",
            ),
            ("codex says", status, "ok" if status.startswith("Logged in") else "warn"),
            ("Now there", *login_summary(pushed.record, app.now(), app.warn_days)),
        ]

    def _can_push(self) -> bool:
        return not self.busy and self.local is not None and self.local.usable

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "push":
            return True if self._can_push() else None
        return super().check_action(action, parameters)

    def action_push(self) -> None:
        if self._can_push():
            self.run_guarded(self._push(), "pushing auth.json")

    def action_ways(self) -> None:
        self.wizard.show_ways()

    async def _push(self) -> None:
        app = self.wizard
        local = self.local
        assert local is not None
        remote = f"{self.label}:{display_path(app.state.env.auth_path())}"
        yes = await app.ask(
            ConfirmDialog(
                f"Copy your Codex login to {self.label}?",
                f"This copies {local.path} to {remote}. Anyone who can read that account's "
                f"files on {self.label} can use this sign-in for Codex. An auth.json already "
                "there is kept as a backup.",
                yes="Push it",
                no="Cancel",
            )
        )
        if not yes:
            return
        note = self.query_one("#push-note", Static)
        note.update(styled("Copying over SFTP, then running codex login status…", "dim"))
        self.busy = True
        self.render_push()
        try:
            if local.data is None:
                raise PushError(local.error or f"{local.path} can't be used.")
            app.state.record = (await app.state.flow.push(local.data)).record
        except PushError as exc:
            note.update(styled(f"✗ {exc}", "bad"))
        else:
            note.update(styled(f"✓ Pushed. Codex on {self.label} uses this login now.", "ok"))
        finally:
            self.busy = False
        self.render_push()
        if app.state.pushed is not None:
            self.query_one("#next", Button).focus()

    @on(Button.Pressed, "#push")
    def _push_pressed(self) -> None:
        self.action_push()

    @on(Button.Pressed, "#ways")
    def _ways_pressed(self) -> None:
        self.action_ways()

    def go_next(self) -> None:
        self.wizard.goto(Step.EXPIRY)
