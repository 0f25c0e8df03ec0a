"""Step 5: the login URL, in full and selectable, with Copy and Open, and what the login
session reports live: waiting, callback received, state mismatch, token exchange failed,
cancelled, success."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Static

from ..state import LoginPhase, Step
from ..widgets.tunnel_status import TunnelStatus
from .base import LoginChanged, StepScreen, styled

PHASE_TEXT: dict[LoginPhase, tuple[str, str]] = {
    LoginPhase.IDLE: ("No login running.", "dim"),
    LoginPhase.STARTING: ("Starting codex login on the server…", "dim"),
    LoginPhase.WAITING: ("◌ Waiting for you to sign in in the browser…", "warn"),
    LoginPhase.CALLBACK: ("◌ The browser came back: codex is finishing the sign-in…", "warn"),
    LoginPhase.MISMATCH: ("! State mismatch: that was an old URL. Still waiting…", "warn"),
    LoginPhase.EXCHANGE_FAILED: ("✗ The token exchange failed.", "bad"),
    LoginPhase.CANCELLED: ("✗ The login was cancelled.", "bad"),
    LoginPhase.FAILED: ("✗ The login could not go on.", "bad"),
    LoginPhase.SUCCEEDED: ("✓ Logged in: codex saved its credentials on the server.", "ok"),
    LoginPhase.EXITED: ("✗ codex login ended without logging in.", "bad"),
}


WAITING = (LoginPhase.WAITING, LoginPhase.MISMATCH)


class LoginScreen(StepScreen):
    STEP = Step.LOGIN
    NEXT_LABEL = "Token status"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy URL"),
        Binding("o", "open", "Open in browser"),
        Binding("f", "fresh", "Fresh login"),
        Binding("s", "simulate", "Simulate sign-in"),
        Binding("m", "simulate_stale", "Simulate old URL", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="login-status", classes="lead")
        yield Static("Open this URL in your browser and sign in:", id="url-label")
        yield Static("", id="url")
        with Horizontal(classes="actions"):
            yield Button("Copy (c)", id="copy", variant="primary")
            yield Button("Open in browser (o)", id="open")
            yield Button("Simulate browser sign-in (s)", id="simulate", classes="demo-only")
            yield Button("Fresh login (f)", id="fresh")
        yield Static("", id="copy-note")
        yield Static("", id="login-message")
        label = self.wizard.state.target.label() if self.wizard.state.target else "the server"
        yield TunnelStatus(self.wizard.current_tunnel, label, id="tunnel-live")
        yield Static("", id="login-history")

    def on_mount(self) -> None:
        self.query_one("#simulate", Button).display = self.wizard.demo is not None
        self.render_login()

    def on_screen_resume(self) -> None:
        self.render_login()

    def on_login_changed(self, message: LoginChanged) -> None:
        self.render_login()

    def render_login(self) -> None:
        login = self.wizard.state.login
        text, style = PHASE_TEXT[login.phase]
        self.query_one("#login-status", Static).update(styled(text, style))
        url = self.query_one("#url", Static)
        has_url = login.url is not None
        url.update(Text(login.url or "(the URL appears here when codex prints it)"))
        url.set_class(not has_url, "-empty")
        message = self.query_one("#login-message", Static)
        message.update(styled(login.message, "bad" if login.offer_fresh else "warn"))
        message.display = bool(login.message)
        history = Text("\n".join(login.history[-8:]), style="dim")
        self.query_one("#login-history", Static).update(history)
        waiting = login.phase in WAITING
        self.query_one("#copy", Button).disabled = not has_url
        self.query_one("#open", Button).disabled = not has_url
        self.query_one("#simulate", Button).disabled = not waiting
        fresh = self.query_one("#fresh", Button)
        fresh.display = login.offer_fresh
        fresh.variant = "warning" if login.offer_fresh else "default"
        if login.phase is LoginPhase.SUCCEEDED:
            self.set_next(True, "")
            self.query_one("#next", Button).focus()
        elif login.offer_fresh:
            self.set_next(False, "press f for a fresh login")
        else:
            self.set_next(False, "waiting for the sign-in")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        login = self.wizard.state.login
        if action in ("copy", "open"):
            return True if login.url else None
        if action == "fresh":
            return login.offer_fresh
        if action in ("simulate", "simulate_stale"):
            return self.wizard.demo is not None and login.phase in WAITING
        return super().check_action(action, parameters)

    # ------------------------------------------------------------------ actions

    def action_copy(self) -> None:
        url = self.wizard.state.login.url
        if not url:
            return
        how = self.wizard.copy_url(url)
        note = self.query_one("#copy-note", Static)
        if how == "clipboard":
            note.update(styled("✓ Copied to the clipboard. Paste it into your browser.", "ok"))
        else:
            note.update(
                styled(
                    "✓ Sent to your terminal's clipboard (OSC 52). If pasting gives nothing, "
                    "your terminal ignores OSC 52: select the URL with the mouse instead.",
                    "ok",
                )
            )
        self.notify("Login URL copied.", timeout=3)

    def action_open(self) -> None:
        url = self.wizard.state.login.url
        if not url:
            return
        note = self.query_one("#copy-note", Static)
        if self.wizard.backend.open_browser(url):
            note.update(styled("✓ Opened in your browser. Sign in there.", "ok"))
        else:
            note.update(
                styled(
                    "No browser can be opened from here (no display). Copy the URL (c) and open "
                    "it in the browser of the computer you are sitting at.",
                    "warn",
                )
            )

    def action_fresh(self) -> None:
        if self.wizard.state.login.offer_fresh:
            self.query_one("#copy-note", Static).update("")
            self.wizard.run_worker(self.wizard.start_login(), exit_on_error=False)

    def action_simulate(self) -> None:
        self._simulate(wrong_state=False)

    def action_simulate_stale(self) -> None:
        self._simulate(wrong_state=True)

    def _simulate(self, *, wrong_state: bool) -> None:
        if self.check_action("simulate", ()):
            self.run_guarded(
                self.wizard.simulate_browser(wrong_state=wrong_state), "simulating the browser"
            )

    @on(Button.Pressed, "#copy")
    def _copy_pressed(self) -> None:
        self.action_copy()

    @on(Button.Pressed, "#open")
    def _open_pressed(self) -> None:
        self.action_open()

    @on(Button.Pressed, "#simulate")
    def _simulate_pressed(self) -> None:
        self.action_simulate()

    @on(Button.Pressed, "#fresh")
    def _fresh_pressed(self) -> None:
        self.action_fresh()

    def go_next(self) -> None:
        self.wizard.goto(Step.EXPIRY)
