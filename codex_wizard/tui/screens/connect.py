"""Step 2: open the one SSH connection, asking about an unknown host key, a password or a key
passphrase in modal prompts; a changed host key ends on the refusal screen."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from ...core.ssh.types import ConnectError, HostKeyChanged, HostKeyUnknown
from ..messages import Connected
from ..state import Step
from .base import StepScreen, styled
from .dialogs import ErrorScreen, HostKeyChangedScreen


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
        try:
            await app.state.flow.connect()
        except HostKeyChanged as exc:
            self.say("✗ The host key has CHANGED: refusing to connect.", "bad")
            self.app.switch_screen(HostKeyChangedScreen(exc.key))
            return
        except HostKeyUnknown as exc:
            self.say("✗ Host key not trusted: not connected.", "bad")
            self.set_next(True, "", label="Retry")
            self.app.push_screen(
                ErrorScreen(
                    "Not connected: the host key was not trusted",
                    str(exc),
                    "Go back and try again to see the fingerprint once more, and accept it "
                    "only if it matches what the server's administrator or provider shows.",
                )
            )
            return
        except ConnectError as exc:
            self.say(f"✗ {exc}", "bad")
            self.set_next(True, "", label="Retry")
            self.app.push_screen(
                ErrorScreen(f"Could not connect to {target.label()}", str(exc), _todo(exc))
            )
            return
        self.say("✓ Connected.", "ok")
        self.post_message(Connected(self.say))

    def go_next(self) -> None:
        """Next is Retry once a connection attempt failed."""
        self.set_next(False, "connecting…", label=self.NEXT_LABEL)
        self.start()


def _todo(exc: ConnectError) -> str:
    if exc.refused_our_keys:
        return (
            "Check that `ssh HOST` works in a terminal. Add your key to ssh-agent (ssh-add), "
            "name it with IdentityFile in ~/.ssh/config, or install it on the server with "
            "ssh-copy-id. Then go back and retry."
        )
    return (
        "Check the host name, port and that sshd runs on the server (`ssh -v HOST` in a "
        "terminal shows where it stops). Then go back and retry, or choose another host."
    )
