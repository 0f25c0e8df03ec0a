"""Step 4, the ways in: how the sign-in gets back to codex on the server. The tunnel when the
server forwards ports; when it refuses (or a jump host or a container is in the way): first a
fresh login made with codex on this computer and pushed (a login of the server's own), then
relaying the browser's redirect or a device code. Offered on its own when forwarding is
refused, and always reachable from the tunnel step."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from ...core.logins.fresh import LocalCodex
from ...core.logins.push import LocalAuth
from ...core.progress import LoginMode
from ..messages import ChooseWay, GoTo
from ..state import Step, forwarding_refused
from ..text import login_summary
from .base import StepScreen, styled
from .push import find_codex, load_local

WAYS: dict[LoginMode, tuple[str, str]] = {
    LoginMode.TUNNEL: (
        "Tunnel (t)",
        "The usual way: the browser comes back to codex through 127.0.0.1:1455, forwarded "
        "over this SSH connection.",
    ),
    LoginMode.PUSH: (
        "Log in here, push it (p)",
        "codex on this computer signs in in the browser here (nothing to forward) and the new "
        "login goes to the server: a login of its own. Or copy this computer's own login "
        "(the two then share it, and the first to renew logs the other out).",
    ),
    LoginMode.RELAY: (
        "Relay the redirect (r)",
        "Open the login URL and sign in. The browser ends on a page that does not load: paste "
        "its address here and codex-wizard hands it to codex on the server. No forwarding.",
    ),
    LoginMode.DEVICE: (
        "Device code (d)",
        "codex shows a link and a one-time code: sign in on any device and enter the code. "
        "Needs 'device code login' turned on in ChatGPT's security settings.",
    ),
}
KEYS = {LoginMode.TUNNEL: "t", LoginMode.PUSH: "p", LoginMode.RELAY: "r", LoginMode.DEVICE: "d"}


class WaysInScreen(StepScreen):
    STEP = Step.TUNNEL
    NEXT_LABEL = "Next"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "choose('tunnel')", "Tunnel"),
        Binding("p", "choose('push')", "Log in here"),
        Binding("r", "choose('relay')", "Relay"),
        Binding("d", "choose('device')", "Device code"),
        Binding("up", "app.focus_previous", "Previous", show=False),
        Binding("down", "app.focus_next", "Next choice", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.local: LocalAuth | None = None
        self.codex: LocalCodex | str | None = None  # str: why there is none here

    def compose_body(self) -> ComposeResult:
        label = self.wizard.state.target.label() if self.wizard.state.target else "the server"
        yield Static(f"How should the sign-in get back to codex on {label}?", classes="lead")
        yield Static("", id="ways-why")
        with Vertical(id="ways-list"):
            for mode, (title, text) in WAYS.items():
                with Horizontal(classes="way"):
                    yield Button(title, id=f"way-{mode.value}", classes="way-button")
                    yield Static(text, id=f"way-{mode.value}-text", classes="way-text")

    def on_mount(self) -> None:
        self.set_next(False, "choose a way in: " + " ".join(KEYS.values()))
        self.query_one("#next", Button).display = False
        self.render_ways()
        self.query_one(f"#way-{self.recommended().value}", Button).focus()
        self.run_guarded(self._load_local(), "reading this computer's auth.json", group="local")

    async def _load_local(self) -> None:
        self.local, self.codex = await asyncio.gather(
            load_local(self.wizard), find_codex(self.wizard)
        )
        relay = self.query_one("#way-relay", Button)
        self.render_ways()
        chose_other = isinstance(self.focused, Button) and self.focused is not relay
        if not chose_other:  # the first guess: a fresh login here beats it when possible
            self.query_one(f"#way-{self.recommended().value}", Button).focus()

    def recommended(self) -> LoginMode:
        if not self.refused:
            return LoginMode.TUNNEL
        return LoginMode.PUSH if isinstance(self.codex, LocalCodex) else LoginMode.RELAY

    @property
    def refused(self) -> bool:
        return forwarding_refused(self.wizard.state.forwarding)

    def render_ways(self) -> None:
        state = self.wizard.state
        why = self.query_one("#ways-why", Static)
        if self.refused:
            detail = state.forwarding.detail if state.forwarding else ""
            why.update(
                styled(
                    f"The tunnel can't work here: {detail}. Each of the other ways needs no "
                    "forwarding at all.",
                    "warn",
                )
            )
        else:
            why.update(
                Text(
                    "The tunnel is the usual way. If it can't work (a jump host in between, "
                    "codex in a container, a browser on another computer), the others need no "
                    "forwarding.",
                    style="dim",
                )
            )
        tunnel = self.query_one("#way-tunnel", Button)
        tunnel.disabled = self.refused
        tunnel.variant = "default" if self.refused else "primary"
        for mode in (LoginMode.PUSH, LoginMode.RELAY):
            primary = self.refused and mode is self.recommended()
            self.query_one(f"#way-{mode.value}", Button).variant = (
                "primary" if primary else "default"
            )
        self._render_push()
        self.refresh_bindings()

    def _render_push(self) -> None:
        push_text = Text(WAYS[LoginMode.PUSH][1])
        codex, local = self.codex, self.local
        if codex is None or local is None:
            push_text.append("\nLooking for codex and a login on this computer…", style="dim")
        else:
            push_text.append_text(self._here(codex, local))
        self.query_one("#way-push", Button).disabled = not self.available(LoginMode.PUSH)
        self.query_one("#way-push-text", Static).update(push_text)

    def _here(self, codex: LocalCodex | str, local: LocalAuth) -> Text:
        """What this computer offers: its codex (fresh) and its own login (copy)."""
        fresh = (
            styled(f"\nFresh: {codex.describe()}.", "dim")
            if isinstance(codex, LocalCodex)
            else styled(f"\nNo fresh login: {codex}", "dim")
        )
        if local.usable and local.record is not None:
            summary, style = login_summary(local.record, self.wizard.now(), self.wizard.warn_days)
            fresh.append_text(styled(f"\nCopy: {summary}.", style or "dim"))
        else:
            fresh.append_text(styled(f"\nNo copy: {local.error}", "dim"))
        return fresh

    def available(self, mode: LoginMode) -> bool:
        if mode is LoginMode.TUNNEL:
            return not self.refused
        if mode is LoginMode.PUSH:
            if self.codex is None or self.local is None:
                return True  # still looking
            return isinstance(self.codex, LocalCodex) or self.local.usable
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose" and parameters:
            return True if self.available(LoginMode(str(parameters[0]))) else None
        if action == "next":
            return False  # the choices are the way on
        return super().check_action(action, parameters)

    def action_choose(self, mode: str) -> None:
        way = LoginMode(mode)
        if self.available(way):
            self.post_message(ChooseWay(way))

    def action_back(self) -> None:
        self.post_message(GoTo(Step.TUNNEL))

    @on(Button.Pressed, ".way-button")
    def _way_pressed(self, event: Button.Pressed) -> None:
        self.action_choose((event.button.id or "").removeprefix("way-"))
