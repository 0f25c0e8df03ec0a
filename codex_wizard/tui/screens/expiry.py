"""Step 6: the token on the server: mode, masked account, plan, expiry (as a date and as
"in 9 days 4 hours", coloured by urgency), file mode, and what this token is not (an API key).
Actions: verify with `codex login status`, log in again, log out."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Static

from ...core.tokens.auth import AuthKind, AuthRecord, TokenInfo
from ...core.tokens.state import TokenState, describe_expiry, describe_state, token_state
from ..messages import BackToHosts, LoginAgain, NextHost
from ..state import Step
from ..text import STATE_STYLES, ago, auth_kind_text, format_when, urgency
from ..widgets.fields import FieldList
from .base import StepScreen, styled
from .dialogs import ConfirmDialog
from .livecheck import LiveCheckPanel

NOT_AN_API_KEY = (
    "Note: this is a ChatGPT sign-in (an OAuth token) for the Codex CLI only. It is not an "
    'OpenAI API key: api.openai.com rejects it ("Missing scopes"), so don\'t export it as '
    "OPENAI_API_KEY. For the API, create a key at platform.openai.com. Codex refreshes this "
    "token by itself with the refresh token."
)


def _token_field(label: str, info: TokenInfo | None, now: datetime, warn_days: float):
    if info is None:
        return (label, "none", "dim")
    if info.expires_at is None:
        return (label, f"expiry unknown: {info.problem or 'no exp claim'}", "warn")
    left = (info.expires_at - now).total_seconds()
    when = f"{format_when(info.expires_at)}  ({describe_expiry(info.expires_at, now)})"
    return (label, when, urgency(left, warn_days))


def _id_token_field(info: TokenInfo | None, now: datetime) -> tuple[str, str, str]:
    """The id token lives about an hour and codex renews it: shown, never alarming."""
    if info is None or info.expires_at is None:
        return ("ID token", "no expiry (codex renews it)", "dim")
    when = f"{format_when(info.expires_at)}  ({describe_expiry(info.expires_at, now)})"
    return ("ID token", f"{when}; short-lived, codex renews it", "dim")


def display_path(auth_path: str) -> str:
    """auth.json's path as the user knows it (SFTP paths are relative to the home directory)."""
    return auth_path if auth_path.startswith("/") else f"~/{auth_path}"


def record_fields(
    record: AuthRecord, now: datetime, auth_path: str, warn_days: float = 3.0
) -> list[tuple[str, str, str]]:
    """The expiry screen's rows for an AuthRecord."""
    fields: list[tuple[str, str, str]] = [("Auth mode", auth_kind_text(record), "")]
    if record.kind is AuthKind.CHATGPT:
        fields += [
            ("Account", record.email_masked or "unknown", ""),
            ("Account id", record.account_masked or "unknown", "dim"),
            ("Plan", record.plan or "unknown", ""),
            _token_field("Access token", record.access, now, warn_days),
            _id_token_field(record.id, now),
            (
                "Refresh token",
                "present (codex renews the access token itself)"
                if record.has_refresh_token
                else "missing: log in again when the access token expires",
                "" if record.has_refresh_token else "warn",
            ),
        ]
    if record.kind in (AuthKind.CHATGPT, AuthKind.API_KEY):
        refreshed = record.last_refresh
        fields.append(
            (
                "Last refresh",
                f"{format_when(refreshed)}  ({ago(refreshed, now)})" if refreshed else "unknown",
                "",
            )
        )
    if record.kind is not AuthKind.MISSING:
        warning = record.file_mode_warning()
        mode = f"mode {record.file_mode:04o}" if record.file_mode is not None else "mode unknown"
        fields.append(
            ("File", f"{display_path(auth_path)}  {mode}", "ok" if not warning else "bad")
        )
        if warning:
            fields.append(("", warning, "bad"))
    if record.problem and record.kind is AuthKind.CHATGPT:
        fields.append(("Problem", record.problem, "warn"))
    return fields


def headline(record: AuthRecord, now: datetime, warn_days: float) -> Text:
    if record.kind is AuthKind.MISSING:
        return styled("Codex is not logged in on this server. Press l to log in.", "warn")
    if record.kind is AuthKind.MALFORMED:
        return styled("auth.json can't be read. Log in again (l) to replace it.", "bad")
    if record.kind is AuthKind.API_KEY:
        return styled("Codex uses an API key here, not a ChatGPT sign-in.", "")
    access = record.access
    if access is None or access.expires_at is None:
        return styled("Logged in, but the token's expiry can't be read.", "warn")
    state = token_state(record, now, warn_days)
    words = describe_state(state, record, now)
    if state is TokenState.OK:
        return styled(f"Logged in. The access token {words}.", "ok")
    return styled(f"The access token {words}.", STATE_STYLES[state])


class ExpiryScreen(StepScreen):
    STEP = Step.EXPIRY
    NEXT_LABEL = "Finish"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "verify", "Verify"),
        Binding("l", "login_again", "Log in again"),
        Binding("x", "logout", "Log out"),
        Binding("h", "hosts", "Other host"),
        Binding("p", "live_check", "Test prompt"),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static("Reading the server's auth.json…", id="expiry-headline", classes="lead")
        yield FieldList(id="expiry-fields")
        yield Static(NOT_AN_API_KEY, id="api-key-note")
        with Horizontal(classes="actions"):
            yield Button("Verify (v)", id="verify")
            yield Button("Log in again (l)", id="login-again")
            yield Button("Log out (x)", id="logout", variant="error")
        yield Static("", id="expiry-note")
        yield LiveCheckPanel(id="live-check-panel")

    def on_mount(self) -> None:
        self._show_fleet()
        if self.wizard.state.record is None:
            self.reload()
        else:
            self.render_record()

    @property
    def busy(self) -> bool:
        """auth.json is being read, or codex login status or codex logout runs."""
        return self.working("auth", "verify", "logout")

    def reload(self) -> None:
        self.run_guarded(self._read(), "reading auth.json", group="auth", exclusive=True)

    async def _read(self) -> None:
        app = self.wizard
        app.state.record = await app.backend.read_auth(app.state.conn, app.state.env.auth_path())
        self.render_record()

    def render_record(self) -> None:
        app = self.wizard
        record = app.state.record
        if record is None:
            return
        now = app.now()
        self.query_one("#expiry-headline", Static).update(headline(record, now, app.warn_days))
        fields = record_fields(record, now, app.state.env.auth_path(), app.warn_days)
        self.query_one("#expiry-fields", FieldList).show(fields)
        self.query_one("#logout", Button).disabled = record.kind is AuthKind.MISSING
        self.refresh_bindings()

    def _show_fleet(self) -> None:
        """Among marked hosts, Next goes on to the next one (Finish after the last)."""
        state = self.wizard.state
        if state.fleet is None or state.target is None:
            return
        upcoming = state.upcoming_host()
        place = f"host {state.fleet.position(state.target)} of {len(state.fleet)}"
        self.set_next(True, place, f"Next host: {upcoming.label()}" if upcoming else "Finish")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("verify", "login_again", "logout") and self.busy:
            return None
        if action == "logout":
            record = self.wizard.state.record
            return None if record is None or record.kind is AuthKind.MISSING else True
        return super().check_action(action, parameters)

    # ------------------------------------------------------------------ actions

    def action_verify(self) -> None:
        if not self.busy:
            self.query_one("#expiry-note", Static).update(styled("Running codex login status…"))
            self.run_guarded(self._verify(), "verifying the login", group="verify")

    async def _verify(self) -> None:
        app = self.wizard
        result = await app.backend.verify(app.state.conn, app.state.env)
        note = self.query_one("#expiry-note", Static)
        said = result.error or result.last_line() or f"exit code {result.exit_code}"
        if result.logged_in:
            note.update(styled(f"✓ codex login status: {said}", "ok"))
        elif result.logged_in is False:
            note.update(styled(f"✗ codex login status: {said}", "bad"))
        else:
            note.update(styled(f"? codex login status: {said}", "warn"))

    def action_login_again(self) -> None:
        if not self.busy:
            self.post_message(LoginAgain())

    def action_logout(self) -> None:
        if self.check_action("logout", ()) and not self.busy:
            self.run_guarded(self._logout(), "logging out", group="logout")

    async def _logout(self) -> None:
        from .logout import logout_notice_for

        app = self.wizard
        label = app.state.target.label() if app.state.target else "the server"
        note = self.query_one("#expiry-note", Static)
        note.update(styled("Looking for other copies of this login…", "dim"))
        notice = await logout_notice_for(app)
        note.update("")
        yes = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Log Codex out on {label}?",
                f"{notice} Codex there stops working until someone logs in again.",
                yes="Log out",
                no="Keep",
                danger=True,
            )
        )
        if not yes:
            return
        note.update(styled("Running codex logout…"))
        result = await app.backend.logout(app.state.conn, app.state.env)
        said = result.error or result.last_line() or f"exit code {result.exit_code}"
        mark, style = ("✓", "ok") if result.ok else ("✗", "bad")
        note.update(styled(f"{mark} codex logout: {said}", style))
        app.state.record = None
        self.reload()

    def action_live_check(self) -> None:
        if not self.busy:
            self.query_one(LiveCheckPanel).start()

    @on(LiveCheckPanel.Done)
    def _live_check_done(self, event: LiveCheckPanel.Done) -> None:
        if event.check is not None:  # codex may have renewed the token: read it again
            self.reload()

    def action_hosts(self) -> None:
        self.post_message(BackToHosts())

    @on(Button.Pressed, "#verify")
    def _verify_pressed(self) -> None:
        self.action_verify()

    @on(Button.Pressed, "#login-again")
    def _login_pressed(self) -> None:
        self.action_login_again()

    @on(Button.Pressed, "#logout")
    def _logout_pressed(self) -> None:
        self.action_logout()

    async def go_next(self) -> None:
        upcoming = self.wizard.state.finish_host()
        if upcoming is not None:
            self.post_message(NextHost(upcoming))
        else:
            await self.run_action("app.quit")
