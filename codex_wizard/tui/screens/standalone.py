"""The install step's "standalone codex" (no Node.js): why it is offered, its progress (bytes of
total, rate) with Cancel, and where it went. The install itself is core.install.standalone's,
run in a worker of this panel; the screen hears how it ended (Finished) and re-probes."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ProgressBar, Static
from textual.worker import Worker, WorkerState

from ...core.doctor import Check, Verdict
from ...core.install.standalone import InstallProgress, Phase, StandaloneResult
from ...core.sanitize import printable
from .base import guarded, running, styled

if TYPE_CHECKING:
    from ..protocol import Wizard

ON_REQUEST = (
    "Or install the standalone codex (s): one self-contained binary under ~/.local, "
    "no Node.js or npm needed."
)
UPLOADING = (
    "The server can't reach the npm registry: this computer downloads the package, checks "
    "its sha512 and uploads it over the SSH connection."
)
CANCELLED = "Cancelled: nothing was installed, the server's codex (if any) is as it was."


def offer_text(reason: str | None) -> str:
    """Why the standalone codex is offered (the core's reason), or the offer on request."""
    if reason is None:
        return ON_REQUEST
    return f"Recommended: the standalone codex (s), because {reason}."


def result_text(result: StandaloneResult, host: str) -> Text:
    """Where it went and which rc file to put ~/.local/bin on PATH in, or why it failed."""
    if not result.ok:
        return styled(f"✗ The standalone install failed: {printable(result.summary())}", "bad")
    text = styled(f"✓ {printable(result.summary())}", "ok")
    if result.path_hint:
        text.append("\n" + printable(result.path_hint.replace("HOST", host)), style="yellow")
    return text


def unlisted_standalone_checks(result: StandaloneResult) -> tuple[Check, Check, Check]:
    """The node, codex and PATH rows once the standalone codex is in ~/.local/bin but none of
    the server's shells lists that directory: the wizard runs it from there all the same."""
    hint = printable((result.path_hint or "").replace("HOST", "<host>"))
    return (
        Check("node", Verdict.PASS, "not needed (the standalone codex runs without it)"),
        Check(
            "codex",
            Verdict.PASS,
            f"standalone codex {result.version} ({printable(result.link or '')}); "
            "codex-wizard runs it from there",
        ),
        Check("PATH", Verdict.WARN, "~/.local/bin is not on the server's PATH", hint),
    )


class StandalonePanel(Vertical):
    """The offer, the Start/Cancel buttons, a progress bar and the outcome."""

    class Finished(Message):
        """The install ended: `result`, or None (cancelled, or an unexpected error)."""

        def __init__(self, result: StandaloneResult | None) -> None:
            super().__init__()
            self.result = result

    @property
    def busy(self) -> bool:
        """The install runs (its worker has not finished)."""
        return running(self)

    @property
    def wizard(self) -> Wizard:
        return cast("Wizard", self.app)

    def compose(self) -> ComposeResult:
        yield Static(ON_REQUEST, id="standalone-offer")
        with Horizontal(classes="actions"):
            yield Button("Standalone codex (s)", id="standalone")
            yield Button("Cancel install (c)", id="standalone-cancel", variant="error")
        yield ProgressBar(id="standalone-bar", show_eta=False)
        yield Static("", id="standalone-status")

    def on_mount(self) -> None:
        self._show_running(False)

    def offer(self, reason: str | None, *, enabled: bool) -> None:
        """Attributes down: the reason to show, and whether Start may be pressed now."""
        offer = self.query_one("#standalone-offer", Static)
        offer.update(styled(offer_text(reason), "warn" if reason else "dim"))
        self.query_one("#standalone", Button).disabled = not enabled or self.busy

    def start(self) -> None:
        if self.busy:
            return
        self._show_running(True)
        self._status("asking the registry…", "dim")
        self.run_worker(
            guarded(self, self._install(), "installing the standalone codex"),
            group="standalone",
            exit_on_error=False,
        )

    def cancel(self) -> None:
        if self.busy:
            self._status("Cancelling: stopping it on the server and cleaning up…", "warn")
            self.workers.cancel_node(self)

    async def _install(self) -> StandaloneResult:
        state = self.wizard.state
        try:
            result = await self.wizard.backend.install_standalone(
                state.conn, state.probe, on_progress=self.show_progress
            )
        except asyncio.CancelledError:
            self._status(CANCELLED, "warn")
            raise
        self._status(result_text(result, state.target.label() if state.target else "HOST"))
        return result

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The install ended (done, failed or cancelled): the screen hears how."""
        if event.worker.is_finished:
            self._show_running(False)
            done = event.state is WorkerState.SUCCESS
            self.post_message(self.Finished(event.worker.result if done else None))

    def show_progress(self, progress: InstallProgress) -> None:
        """One InstallProgress: the words, and the bar (indeterminate without a total)."""
        bar = self.query_one("#standalone-bar", ProgressBar)
        bar.update(total=progress.total, progress=progress.done)
        text = progress.describe()
        if progress.phase in (Phase.DOWNLOAD_HERE, Phase.UPLOAD):
            text = f"{UPLOADING}\n{text}"
        self._status(text, "")

    def _show_running(self, running: bool) -> None:
        self.query_one("#standalone", Button).disabled = running
        self.query_one("#standalone-cancel", Button).display = running
        self.query_one("#standalone-bar", ProgressBar).display = running

    def _status(self, text: str | Text, style: str = "") -> None:
        shown = styled(text, style) if isinstance(text, str) else text
        self.query_one("#standalone-status", Static).update(shown)

    @on(Button.Pressed, "#standalone-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.cancel()
