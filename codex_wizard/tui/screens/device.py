"""Step 5, device code: `codex login --device-auth` on the server prints a link and a one-time
code; the user opens the link anywhere, signs in and enters the code. No tunnel, nothing to
paste back. Needs device-code login enabled in ChatGPT's security settings."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Static

from ...core.progress import LoginProgress
from .login import WAY_BINDINGS, SignInScreen


class DeviceScreen(SignInScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy link"),
        Binding("o", "open", "Open in browser"),
        Binding("k", "copy_code", "Copy code"),
        *WAY_BINDINGS,
    ]

    def compose_way(self) -> ComposeResult:
        yield Static("1. Open this link in your browser and sign in:", id="device-url-label")
        yield Static("", id="device-url")
        with Horizontal(classes="actions"):
            yield Button("Copy link (c)", id="copy", variant="primary")
            yield Button("Open in browser (o)", id="open")
            yield from self.way_buttons()
        yield Static(
            "2. Enter this one-time code there (it expires in 15 minutes):",
            id="device-code-label",
        )
        with Horizontal(id="device-code-row"):
            yield Static("", id="device-code")
            yield Button("Copy code (k)", id="copy-code")
        yield Static("", id="copy-note")

    def render_way(self, login: LoginProgress) -> None:
        url = self.query_one("#device-url", Static)
        url.update(Text(login.device_url or "(the link appears here when codex prints it)"))
        url.set_class(login.device_url is None, "-empty")
        code = self.query_one("#device-code", Static)
        code.update(Text(login.device_code or "…"))
        code.set_class(login.device_code is None, "-empty")
        self.query_one("#copy", Button).disabled = login.device_url is None
        self.query_one("#open", Button).disabled = login.device_url is None
        self.query_one("#copy-code", Button).disabled = login.device_code is None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        login = self.login
        if action in ("copy", "open"):
            return True if login.device_url else None
        if action == "copy_code":
            return True if login.device_code else None
        return super().check_action(action, parameters)

    def action_copy(self) -> None:
        url = self.login.device_url
        if url:
            self.copy(url, "the link", "Open it in your browser.")

    def action_copy_code(self) -> None:
        code = self.login.device_code
        if code:
            self.copy(code, "the one-time code", "Enter it on the page the link opens.")

    def action_open(self) -> None:
        url = self.login.device_url
        if url:
            self.open_url(url, "Sign in and enter the code there.")

    @on(Button.Pressed, "#copy")
    def _copy_pressed(self) -> None:
        self.action_copy()

    @on(Button.Pressed, "#copy-code")
    def _copy_code_pressed(self) -> None:
        self.action_copy_code()

    @on(Button.Pressed, "#open")
    def _open_pressed(self) -> None:
        self.action_open()
