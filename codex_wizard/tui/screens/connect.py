"""Step 2: open the one SSH connection, asking about an unknown host key, a password or a key
passphrase in modal prompts; a changed host key ends on the refusal screen."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from ...core.connection import (
    ConnectError,
    ConnectErrorKind,
    ConnectSettings,
    HostKeyChanged,
    HostKeyUnknown,
)
from ..state import Step
from .base import StepScreen, styled
from .dialogs import CredentialsDialog, HostKeyChangedScreen, PassphraseDialog

MAX_CREDENTIAL_TRIES = 3


def is_auth_failure(exc: ConnectError) -> bool:
    """The target refused our keys (a jump host's refusal is not fixed by a password here)."""
    return exc.kind in (ConnectErrorKind.AUTH_REFUSED, ConnectErrorKind.NEEDS_PASSPHRASE)


def with_credentials(settings: ConnectSettings, kind: str, secret: str) -> ConnectSettings:
    """settings plus asyncssh's `password=` or `passphrase=` option."""
    extra = dict(settings.extra_options)
    extra[kind] = secret
    return replace(settings, extra_options=extra)


class ConnectScreen(StepScreen):
    STEP = Step.CONNECT

    def compose_body(self) -> ComposeResult:
        yield Static("", id="connect-progress")

    def on_mount(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.set_next(False, "connecting…")
        self.start()

    def start(self) -> None:
        self.lines = []
        again = "Reconnecting" if self.wizard.state.resume is not None else "Connecting"
        self.say(f"{again} to {self.wizard.state.target.label()} over SSH…")
        self.run_guarded(self._connect(), "connecting", group="connect", exclusive=True)

    def say(self, line: str, style: str = "") -> None:
        self.lines.append((line, style))
        text = Text()
        for index, (entry, entry_style) in enumerate(self.lines):
            if index:
                text.append("\n")
            text.append_text(styled(entry, entry_style))
        self.query_one("#connect-progress", Static).update(text)

    async def _connect(self) -> None:
        app = self.wizard
        target = app.state.target
        settings = replace(app.connect_settings(), ask_passphrase=self._ask_passphrase)
        tries = 0
        while True:
            try:
                conn = await app.backend.connect(target, settings)
                break
            except HostKeyChanged as exc:
                self.say("✗ The host key has CHANGED: refusing to connect.", "bad")
                app.switch_screen(HostKeyChangedScreen(exc.key))
                return
            except HostKeyUnknown as exc:
                self.say("✗ Host key not trusted: not connected.", "bad")
                self.set_next(True, "", label="Retry")
                app.show_error(
                    "Not connected: the host key was not trusted",
                    str(exc),
                    "Go back and try again to see the fingerprint once more, and accept it "
                    "only if it matches what the server's administrator or provider shows.",
                )
                return
            except ConnectError as exc:
                if is_auth_failure(exc) and tries < MAX_CREDENTIAL_TRIES:
                    self.say("! The server did not accept our SSH keys.", "warn")
                    answer = await app.ask(CredentialsDialog(target.label(), retry=tries > 0))
                    if answer is not None:
                        tries += 1
                        settings = with_credentials(settings, *answer)
                        self.say("Trying again with what you typed…")
                        continue
                self.say(f"✗ {exc}", "bad")
                self.set_next(True, "", label="Retry")
                app.show_error(f"Could not connect to {target.label()}", str(exc), _todo(exc))
                return
        self.say("✓ Connected.", "ok")
        await app.connected(conn, self.say)

    async def _ask_passphrase(self, key_path: str) -> str | None:
        self.say(f"! {key_path} is encrypted: asking for its passphrase.", "warn")
        return await self.wizard.ask(PassphraseDialog(key_path))

    def go_next(self) -> None:
        """Next is Retry once a connection attempt failed."""
        self.set_next(False, "connecting…", label=self.NEXT_LABEL)
        self.start()


def _todo(exc: ConnectError) -> str:
    if is_auth_failure(exc):
        return (
            "Check that `ssh HOST` works in a terminal. Add your key to ssh-agent (ssh-add), "
            "name it with IdentityFile in ~/.ssh/config, or install it on the server with "
            "ssh-copy-id. Then go back and retry."
        )
    return (
        "Check the host name, port and that sshd runs on the server (`ssh -v HOST` in a "
        "terminal shows where it stops). Then go back and retry, or choose another host."
    )
