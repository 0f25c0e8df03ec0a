"""Step 5: signing in. SignInScreen holds what every way in shares (the live status, codex's
message, the history, Fresh login and Other ways in); LoginScreen is the tunnel's: the login URL
in full and selectable, with Copy and Open, and what the login session reports live: waiting,
callback received, state mismatch, token exchange failed, cancelled, success."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.reactive import var
from textual.widgets import Button, Static

from ...core.logins.summary import logged_in_line
from ...core.progress import ENDED_BADLY, LoginMode, LoginPhase, LoginProgress
from ..messages import FreshLogin, GoTo, ShowWays
from ..state import NO_LOGIN, Step
from ..widgets.tunnel_status import TunnelStatus
from .base import StepScreen, styled

PHASE_TEXT: dict[LoginPhase, tuple[str, str]] = {
    LoginPhase.IDLE: ("No login running.", "dim"),
    LoginPhase.STARTING: ("Starting codex login on the server…", "dim"),
    LoginPhase.WAITING: ("◌ Waiting for you to sign in in the browser…", "warn"),
    LoginPhase.RELAYING: ("◌ Replaying the address on the server…", "warn"),
    LoginPhase.CALLBACK: ("◌ The browser came back: codex is finishing the sign-in…", "warn"),
    LoginPhase.MISMATCH: ("! State mismatch: that was an old URL. Still waiting…", "warn"),
    LoginPhase.VERIFYING: ("◌ codex says it is logged in: checking its credentials…", "warn"),
    LoginPhase.EXCHANGE_FAILED: ("✗ The token exchange failed.", "bad"),
    LoginPhase.CANCELLED: ("✗ The login was cancelled.", "bad"),
    LoginPhase.FAILED: ("✗ The login could not go on.", "bad"),
    LoginPhase.SUCCEEDED: ("✓ Logged in: the server holds the new ChatGPT login.", "ok"),
    LoginPhase.EXITED: ("✗ codex login ended without logging in.", "bad"),
    LoginPhase.DISCONNECTED: ("✗ The SSH connection was lost.", "bad"),
}
MODE_PHASE_TEXT: dict[tuple[LoginMode, LoginPhase], tuple[str, str]] = {
    (LoginMode.RELAY, LoginPhase.WAITING): (
        "◌ Waiting for the address your browser ends on after signing in…",
        "warn",
    ),
    (LoginMode.RELAY, LoginPhase.CALLBACK): (
        "◌ Relayed to codex on the server: it is finishing the sign-in…",
        "warn",
    ),
    (LoginMode.DEVICE, LoginPhase.STARTING): (
        "Starting codex login --device-auth on the server…",
        "dim",
    ),
    (LoginMode.DEVICE, LoginPhase.WAITING): (
        "◌ Waiting for you to enter the code in the browser…",
        "warn",
    ),
}
WAITING = (LoginPhase.WAITING, LoginPhase.MISMATCH)
WAY_BINDINGS: list[BindingType] = [
    Binding("f", "fresh", "Fresh login"),
    Binding("w", "ways", "Other ways in"),
]
"""Every sign-in screen's, listed after its own keys (the footer shows them in this order)."""


def url_text(url: str | None) -> Text:
    """The URL as a hyperlink (OSC 8: a click opens it where the terminal supports that)."""
    if url is None:
        return Text("(the URL appears here when codex prints it)")
    return Text(url, style=Style(link=url))


def phase_text(login: LoginProgress) -> tuple[str, str]:
    """The status line for a login in its way in."""
    return MODE_PHASE_TEXT.get((login.mode, login.phase)) or PHASE_TEXT[login.phase]


class SignInScreen(StepScreen):
    """What every way of signing in shows: subclasses add their own part with compose_way()."""

    STEP = Step.LOGIN
    NEXT_LABEL = "Token status"
    login: var[LoginProgress] = var(NO_LOGIN, init=False)
    """The login on show: the app's, watched."""

    def compose_body(self) -> ComposeResult:
        yield Static("", id="login-status", classes="lead")
        yield from self.compose_way()
        yield Static("", id="login-message")
        yield from self.compose_live()
        yield Static("", id="login-history")

    def compose_way(self) -> ComposeResult:
        """The way's own part; it includes the copy-note (confirmations) under its buttons."""
        yield Static("", id="copy-note")

    def compose_live(self) -> ComposeResult:
        yield from ()

    def way_buttons(self) -> ComposeResult:
        """Fresh login and Other ways in, shown when the login ended badly."""
        yield Button("Fresh login (f)", id="fresh")
        yield Button("Other ways in (w)", id="ways")

    def on_mount(self) -> None:
        self.query_one("#copy-note", Static).display = False
        self.watch(self.app, "login", self._take_login)  # attributes down, under modals too

    def _take_login(self, login: LoginProgress) -> None:
        self.login = login

    def watch_login(self) -> None:
        self.render_login()

    def render_login(self) -> None:
        login = self.login
        text, style = phase_text(login)
        if login.succeeded:  # the outcome and the token's expiry at once, not after a key
            text = logged_in_line(self.wizard.state.label, login.record, self.wizard.now())
        self.query_one("#login-status", Static).update(styled(text, style))
        message = self.query_one("#login-message", Static)
        message.update(styled(login.message, "bad" if login.offer_fresh else "warn"))
        message.display = bool(login.message)
        history = Text("\n".join(login.history[-8:]), style="dim")
        self.query_one("#login-history", Static).update(history)
        fresh = self.query_one("#fresh", Button)
        fresh.display = login.offer_fresh
        fresh.variant = "warning" if login.offer_fresh else "default"
        self.query_one("#ways", Button).display = login.phase in ENDED_BADLY
        self.render_way(login)
        if login.phase is LoginPhase.SUCCEEDED:
            self.set_next(True, "")
            self.query_one("#next", Button).focus()
        elif login.phase is LoginPhase.DISCONNECTED:
            self.set_next(False, "the connection was lost")
        elif login.offer_fresh:
            self.set_next(False, "press f for a fresh login")
        else:
            self.set_next(False, "waiting for the sign-in")
        self.refresh_bindings()

    def render_way(self, login: LoginProgress) -> None:
        """The way-specific part of render_login."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "fresh":
            return self.login.offer_fresh
        return super().check_action(action, parameters)

    def note(self, text: str, style: str = "ok") -> None:
        """A confirmation under the URL's buttons, scrolled into view (at 80×24 it would be
        below the fold, or under the relay's paste box)."""
        note = self.query_one("#copy-note", Static)
        note.update(styled(text, style))
        note.display = bool(text)
        if text:
            self.call_after_refresh(note.scroll_visible, animate=False)

    def copy(self, text: str, what: str, then: str) -> None:
        """Copy with a visible confirmation (clipboard, or the terminal's OSC 52)."""
        how = self.wizard.backend.copy_text(text)  # pyperclip, where this computer has one
        self.app.copy_to_clipboard(text)  # and the terminal's clipboard (OSC 52), always
        if how == "clipboard":
            self.note(f"✓ Copied to the clipboard: {what}. {then}")
            self.notify(f"{what[0].upper()}{what[1:]} copied.", timeout=3)
        elif how == "tmux":
            self.note(
                f"Not copied: tmux ignores programs' clipboard requests unless `tmux set -g "
                f"set-clipboard on`. Select {what} with the mouse (Shift+drag) instead.",
                "warn",
            )
        else:
            self.note(
                f"Sent to your terminal's clipboard (OSC 52), unconfirmed: {what}. If pasting "
                "gives nothing, your terminal ignores OSC 52: select it with the mouse instead."
            )

    def open_url(self, url: str, then: str) -> None:
        if self.wizard.backend.open_browser(url):
            self.note(f"✓ Opened in your browser. {then}")
        else:
            self.note(
                "No browser can be opened from here (no display). Copy it (c) and open it in "
                "the browser of the computer you are sitting at.",
                "warn",
            )

    def action_fresh(self) -> None:
        if self.login.offer_fresh:
            self.note("")
            self.post_message(FreshLogin())

    def action_ways(self) -> None:
        self.post_message(ShowWays())

    @on(Button.Pressed, "#fresh")
    def _fresh_pressed(self) -> None:
        self.action_fresh()

    @on(Button.Pressed, "#ways")
    def _ways_pressed(self) -> None:
        self.action_ways()

    def go_next(self) -> None:
        state = self.wizard.state
        if state.login.succeeded:  # read back when the login was verified: no second read
            state.record = state.login.record
        self.post_message(GoTo(Step.EXPIRY))


class LoginScreen(SignInScreen):
    """The tunnel's sign-in: the URL, and the browser comes back through the forwarded port."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy URL"),
        Binding("o", "open", "Open in browser"),
        Binding("s", "simulate", "Simulate sign-in"),
        Binding("m", "simulate_stale", "Simulate old URL", show=False),
        *WAY_BINDINGS,
    ]

    URL_LABEL = "Open this URL in your browser and sign in:"
    SIMULATE_LABEL = "Simulate browser sign-in (s)"
    OPEN_NOTE = "Sign in there."

    def compose_way(self) -> ComposeResult:
        yield Static(self.URL_LABEL, id="url-label")
        yield Static("", id="url")
        with Horizontal(id="url-actions", classes="actions"):
            yield Button("Copy (c)", id="copy", variant="primary")
            yield Button("Open in browser (o)", id="open")
            yield Button(self.SIMULATE_LABEL, id="simulate", classes="demo-only")
            yield from self.way_buttons()
        yield Static("", id="copy-note")

    def compose_live(self) -> ComposeResult:
        label = self.wizard.state.target.label() if self.wizard.state.target else "the server"
        yield TunnelStatus(lambda: self.wizard.state.tunnel, label, id="tunnel-live")

    def on_mount(self) -> None:
        # Textual then runs SignInScreen.on_mount too (handlers run for each class).
        self.query_one("#simulate", Button).display = self.wizard.demo is not None

    def render_way(self, login: LoginProgress) -> None:
        seat, port = login.browser_out_of_reach, login.port or 1455
        self.query_one("#url-label", Static).update(
            self.URL_LABEL
            if seat is None
            else f"! {seat.warning(port)}\nOn your own computer, run and keep open:\n"
            f"{seat.forward_command(port)}\nor press w for a way in without a tunnel (relay, "
            f"device code). Then open this URL in your browser and sign in:"
        )
        done = login.phase is LoginPhase.SUCCEEDED  # the outcome in view, not the spent URL
        for part in ("#url-label", "#url", "#url-actions"):
            self.query_one(part).display = not done
        if done:
            self.query_one("#body").scroll_home(animate=False)
        url = self.query_one("#url", Static)
        has_url = login.url is not None
        url.update(url_text(login.url))
        url.set_class(not has_url, "-empty")
        self.query_one("#copy", Button).disabled = not has_url
        self.query_one("#open", Button).disabled = not has_url
        self.query_one("#simulate", Button).disabled = not self.can_simulate(login)

    def can_simulate(self, login: LoginProgress) -> bool:
        return login.phase in WAITING

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        login = self.login
        if action in ("copy", "open"):
            return None if login.url is None else login.phase is not LoginPhase.SUCCEEDED
        if action in ("simulate", "simulate_stale"):
            return self.wizard.demo is not None and login.phase in WAITING
        return super().check_action(action, parameters)

    # ------------------------------------------------------------------ actions

    def action_copy(self) -> None:
        url = self.login.url
        if url:
            self.copy(url, "the login URL", "Paste it into your browser.")

    def action_open(self) -> None:
        url = self.login.url
        if url:
            self.open_url(url, self.OPEN_NOTE)

    def action_simulate(self) -> None:
        self._simulate(wrong_state=False)

    def action_simulate_stale(self) -> None:
        self._simulate(wrong_state=True)

    def _simulate(self, *, wrong_state: bool) -> None:
        if self.check_action("simulate", ()):
            self.run_guarded(self._simulated(wrong_state), "simulating the browser")

    async def _simulated(self, wrong_state: bool) -> None:
        """Demo only: play the browser coming back to the tunnel after signing in."""
        url, tunnel = self.login.url, self.wizard.state.tunnel
        if url is None or tunnel is None:
            return
        status = await self.wizard.demo.simulate_browser(
            url, local_port=tunnel.local_port, wrong_state=wrong_state
        )
        self.notify(f"Simulated browser: the login server answered HTTP {status}.", timeout=4)

    @on(Button.Pressed, "#copy")
    def _copy_pressed(self) -> None:
        self.action_copy()

    @on(Button.Pressed, "#open")
    def _open_pressed(self) -> None:
        self.action_open()

    @on(Button.Pressed, "#simulate")
    def _simulate_pressed(self) -> None:
        self.action_simulate()
