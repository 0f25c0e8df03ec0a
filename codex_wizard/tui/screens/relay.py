"""Step 5, relay the redirect: no forwarding at all. The user opens the URL and signs in; the
browser ends on http://127.0.0.1:PORT/auth/callback?code=…&state=…, which does not load on this
computer. They paste that address here; it is checked against this login
(core.server.relay.validate_pasted_callback) and replayed on the server
(core.server.relay.replay_on_server)."""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Button, Input, Static

from ...core.progress import LoginPhase, LoginProgress
from ...core.server.login import CALLBACK_PATH, DEFAULT_LOGIN_PORT
from .base import styled
from .login import WAY_BINDINGS, LoginScreen


def paste_help(port: int | None) -> str:
    where = f"http://127.0.0.1:{port or DEFAULT_LOGIN_PORT}{CALLBACK_PATH}?code=…"
    return (
        f"2. Signed in, the browser ends on a page that does not load ({where}): paste "
        "that whole address here (a) and press Enter:"
    )


class RelayScreen(LoginScreen):
    """The relay: the same URL part, then the address the browser ended on, pasted."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "focus_paste", "Paste address"),
        Binding("c", "copy", "Copy URL"),
        Binding("o", "open", "Open"),
        Binding("s", "simulate", "Simulate"),
        Binding("m", "simulate_stale", "Simulate old URL", show=False),
        *WAY_BINDINGS,
    ]

    URL_LABEL = "1. Open this URL in your browser and sign in:"
    SIMULATE_LABEL = "Simulate sign-in (s)"
    OPEN_NOTE = "Sign in there, then paste where it ends."

    def __init__(self) -> None:
        super().__init__()
        self.problem = ""  # what was wrong with the last pasted text

    def compose_way(self) -> ComposeResult:
        yield from super().compose_way()
        # Docked at the foot of the step (wizard.tcss): in view however the URL above wraps.
        with Vertical(id="paste-area"):
            yield Static(paste_help(None), id="paste-help")
            yield Input(
                placeholder=f"http://127.0.0.1:{DEFAULT_LOGIN_PORT}{CALLBACK_PATH}?code=…&state=…",
                id="paste",
            )
            yield Static("", id="paste-note")

    def compose_live(self) -> ComposeResult:
        yield from ()  # no tunnel to show

    def can_simulate(self, login: LoginProgress) -> bool:
        return login.can_paste

    def render_way(self, login: LoginProgress) -> None:
        super().render_way(login)
        self.query_one("#paste-help", Static).update(paste_help(login.port))
        paste = self.query_one("#paste", Input)
        paste.disabled = not login.can_paste
        for part in ("#paste-help", "#paste"):  # gone with the URL once logged in
            self.query_one(part).display = login.phase is not LoginPhase.SUCCEEDED
        note = self.query_one("#paste-note", Static)
        if self.problem:
            note.update(styled(f"✗ {self.problem}", "bad"))
        elif login.phase is LoginPhase.RELAYING:
            note.update(styled("Replaying it on the server…", "dim"))
        elif login.relay_note:
            note.update(styled(login.relay_note, "ok" if login.relay_ok else "bad"))
        else:
            note.update("")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.login.phase is LoginPhase.SUCCEEDED and action == "focus_paste":
            return False  # the paste box is gone: so is its key
        if action == "focus_paste":
            return True if self.login.can_paste else None
        return super().check_action(action, parameters)

    def action_back(self) -> None:
        """Escape in the address field leaves the field, not the screen."""
        paste = self.query_one("#paste", Input)
        if paste.has_focus:
            self.query_one("#copy", Button).focus()
            return
        super().action_back()

    def action_focus_paste(self) -> None:
        paste = self.query_one("#paste", Input)
        if not paste.disabled:
            paste.focus()

    def _simulate(self, *, wrong_state: bool) -> None:
        """Demo: type in the address the browser would end on (Enter relays it)."""
        url = self.login.url
        if url is None or not self.check_action("simulate", ()):
            return
        address = self.wizard.demo.callback_address(url, wrong_state=wrong_state)
        if address:
            paste = self.query_one("#paste", Input)
            paste.value = address
            paste.focus()
            self.note("Simulated: this is where the browser ended. Press Enter to relay it.")

    def on_paste(self, event: events.Paste) -> None:
        """A paste anywhere on this screen lands in the address field."""
        paste = self.query_one("#paste", Input)
        if paste.disabled or paste.has_focus:
            return
        event.stop()
        paste.value = event.text.strip()
        paste.focus()

    @on(Input.Changed, "#paste")
    def _typing(self) -> None:
        if self.problem:
            self.problem = ""
            self.render_login()

    @on(Input.Submitted, "#paste")
    def _submitted(self, event: Input.Submitted) -> None:
        self.run_guarded(self._relay(event.value), "relaying", group="relay", exclusive=True)

    async def _relay(self, text: str) -> None:
        """Check the address against this login and replay it on the server (core.flow)."""
        self.problem = await self.wizard.state.flow.paste(text) or ""
        if not self.problem:
            self.note("")
        self.render_login()
