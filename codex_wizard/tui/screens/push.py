"""Step 5, a login pushed from this computer, two ways. Fresh (first): codex runs here in a
temporary CODEX_HOME, the user signs in in this computer's browser, and the new login goes to
the server, which then has a login of its own (core.logins.fresh). Copy: this computer's own
~/.codex/auth.json, after a warning that the two then share one login. Either way the file is
written backed up, atomic, 0600 in a 0700 folder (core.logins.push), and `codex login status` there
checks it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Static
from textual.worker import Worker

from ...core.logins.fresh import FreshLoginError, LocalCodex
from ...core.logins.push import LocalAuth, PushError, PushResult, read_local_login
from ...core.logins.sharers import copy_warning
from ...core.server.events import LoginSucceeded, SessionEvent, SuspiciousUrl, UrlReady
from ..messages import GoTo, ShowWays
from ..state import Step
from ..text import login_summary
from ..widgets.fields import FieldList
from .base import StepScreen, styled
from .dialogs import ConfirmDialog
from .expiry import display_path

if TYPE_CHECKING:
    from ..protocol import Wizard

FRESH_TIMEOUT = 600.0


async def load_local(wizard: Wizard) -> LocalAuth:
    """This computer's auth.json (read in a thread), or why it can't be pushed."""
    return await asyncio.to_thread(
        read_local_login, wizard.local_auth_path, wizard.backend.load_local_auth
    )


async def find_codex(wizard: Wizard) -> LocalCodex | str:
    """The Codex CLI on this computer, for a fresh login, or why there is none."""
    if wizard.demo is not None:  # the demo never runs the real codex here, nor signs anyone in
        return "not in the demo (it would run the real codex on this computer)."
    try:
        return await asyncio.to_thread(wizard.backend.find_local_codex)
    except FreshLoginError as exc:
        return str(exc)


PUSH_EXPLAINED = (
    "Fresh login (f, recommended): codex on this computer signs in in the browser here, in a "
    "temporary folder deleted afterwards, and the server gets a login of its own. Copy (p): "
    "this computer's own login; the two then share one login and the first to renew it logs "
    "the other out. Either way the file is written atomically, mode 0600, an auth.json "
    "already there is kept as a backup, and `codex login status` checks it on the server."
)


class PushScreen(StepScreen):
    STEP = Step.LOGIN
    NEXT_LABEL = "Token status"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "fresh", "Fresh login"),
        Binding("p", "push", "Copy local login"),
        Binding("o", "open", "Open URL"),
        Binding("w", "ways", "Other ways in"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.local: LocalAuth | None = None
        self.codex: LocalCodex | str | None = None  # str: why there is none here
        self.url: str | None = None  # the fresh login's, while it waits for the browser

    @property
    def label(self) -> str:
        target = self.wizard.state.target
        return target.label() if target else "the server"

    def compose_body(self) -> ComposeResult:
        yield Static(
            f"Log codex in on {self.label} from this computer", id="push-lead", classes="lead"
        )
        yield FieldList(id="push-fields")
        yield Static(PUSH_EXPLAINED, id="push-explain")
        with Horizontal(classes="actions"):
            yield Button("Fresh login here (f)", id="fresh", variant="primary")
            yield Button("Copy this computer's login (p)", id="push")
            yield Button("Other ways in (w)", id="ways")
        yield Static("", id="push-url")
        yield Static("", id="push-note")
        yield FieldList(id="push-result")

    def on_mount(self) -> None:
        self.run_guarded(self._load(), "reading this computer's auth.json", group="local")
        self.render_push()

    async def _load(self) -> None:
        self.local, self.codex = await asyncio.gather(
            load_local(self.wizard), find_codex(self.wizard)
        )

    @property
    def busy(self) -> bool:
        """This computer's codex and login are looked at, or a login is on its way over."""
        return self.working("local", "fresh", "push")

    def worker_changed(self, worker: Worker) -> None:
        self.render_push()

    def render_push(self) -> None:
        state = self.wizard.state
        self.query_one("#push-fields", FieldList).show(self._source_fields())
        pushed = state.pushed
        result = self.query_one("#push-result", FieldList)
        result.display = pushed is not None
        if pushed is not None:
            result.show(self._result_fields(pushed))
        self.query_one("#fresh", Button).disabled = not self._can_fresh()
        self.query_one("#push", Button).disabled = not self._can_push()
        if pushed is not None:
            self.set_next(True, "")
        elif self.busy:
            self.set_next(False, "working…")
        elif self._can_fresh() or self._can_push():
            self.set_next(False, "press f for a fresh login, p to copy this computer's")
        else:
            self.set_next(False, "no codex and no login on this computer")
        self.refresh_bindings()

    def _source_fields(self) -> list[tuple[str, str, str]]:
        app = self.wizard
        codex, local = self.codex, self.local
        fields: list[tuple[str, str, str]] = []
        if codex is None:
            fields.append(("codex here", "looking…", "dim"))
        elif isinstance(codex, LocalCodex):
            fields.append(("codex here", codex.describe(), ""))
        else:
            fields.append(("codex here", codex, "warn"))
        if local is None:
            fields.append(("Login here", str(app.local_auth_path), "dim"))
        elif local.record is not None and local.usable:
            summary, style = login_summary(local.record, app.now(), app.warn_days)
            fields.append(("Login here", f"{local.path}: {summary}", style))
        else:
            fields.append(("Login here", local.error or "can't be used", "dim"))
        fields.append(("To", f"{self.label}:{display_path(app.state.env.auth_path())}", ""))
        return fields

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

    def _can_fresh(self) -> bool:
        return not self.busy and isinstance(self.codex, LocalCodex)

    def _can_push(self) -> bool:
        return not self.busy and self.local is not None and self.local.usable

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "fresh":
            return True if self._can_fresh() else None
        if action == "push":
            return True if self._can_push() else None
        if action == "open":
            return True if self.url else None
        return super().check_action(action, parameters)

    def note(self, text: str, style: str = "dim") -> None:
        self.query_one("#push-note", Static).update(styled(text, style))

    # ------------------------------------------------------------------ fresh

    def action_fresh(self) -> None:
        if self._can_fresh():
            self.run_guarded(self._fresh(), "a fresh login on this computer", group="fresh")

    async def _fresh(self) -> None:
        app = self.wizard
        codex = self.codex
        assert isinstance(codex, LocalCodex)
        self.note(f"Starting {codex.describe()} on this computer, in a temporary CODEX_HOME…")
        self.render_push()
        try:
            await app.state.flow.stop_login()  # a tunnel login of ours would hold port 1455
            data = await app.backend.fresh_auth(codex, self._fresh_event, timeout=FRESH_TIMEOUT)
            app.state.record = (await app.state.flow.push(data)).record
        except (FreshLoginError, PushError) as exc:
            self.note(f"✗ {exc}", "bad")
        else:
            self.note(f"✓ {self.label} has a login of its own now, shared with nothing.", "ok")
        finally:
            self._show_url(None)
        self.render_push()
        if app.state.pushed is not None:
            self.query_one("#next", Button).focus()

    def _fresh_event(self, event: SessionEvent) -> None:
        if isinstance(event, UrlReady):
            self._show_url(event.url)
            self.note("Waiting for the sign-in in the browser…")
        elif isinstance(event, SuspiciousUrl):
            self.note(event.warning, "warn")
        elif isinstance(event, LoginSucceeded):
            self._show_url(None)
            self.note(f"Signed in. Copying the new login to {self.label}…")

    def _show_url(self, url: str | None) -> None:
        self.url = url
        text = "" if url is None else f"Sign in in the browser (o opens it; codex may have):\n{url}"
        for shown in self.query("#push-url").results(Static):  # none once the screen was left
            shown.update(text)
        self.refresh_bindings()

    def action_open(self) -> None:
        if self.url and not self.wizard.backend.open_browser(self.url):
            self.note("No browser can be opened from here: open the link above.", "warn")

    # ------------------------------------------------------------------ copy

    def action_push(self) -> None:
        if self._can_push():
            self.run_guarded(self._push(), "pushing auth.json", group="push")

    def action_ways(self) -> None:
        self.post_message(ShowWays())

    async def _push(self) -> None:
        app = self.wizard
        local = self.local
        assert local is not None
        remote = f"{self.label}:{display_path(app.state.env.auth_path())}"
        yes = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Copy your Codex login to {self.label}?",
                f"{copy_warning('This computer', self.label)} This copies {local.path} to "
                f"{remote}; an auth.json already there is kept as a backup. A fresh login (f) "
                "gives the server one of its own instead.",
                yes="Copy it",
                no="Cancel",
            )
        )
        if not yes:
            return
        self.note("Copying, then running codex login status…")
        self.render_push()
        try:
            if local.data is None:
                raise PushError(local.error or f"{local.path} can't be used.")
            app.state.record = (await app.state.flow.push(local.data)).record
        except PushError as exc:
            self.note(f"✗ {exc}", "bad")
        else:
            self.note(f"✓ Copied. {self.label} shares this computer's login now.", "ok")
        self.render_push()
        if app.state.pushed is not None:
            self.query_one("#next", Button).focus()

    @on(Button.Pressed, "#fresh")
    def _fresh_pressed(self) -> None:
        self.action_fresh()

    @on(Button.Pressed, "#push")
    def _push_pressed(self) -> None:
        self.action_push()

    @on(Button.Pressed, "#ways")
    def _ways_pressed(self) -> None:
        self.action_ways()

    def go_next(self) -> None:
        self.post_message(GoTo(Step.EXPIRY))
