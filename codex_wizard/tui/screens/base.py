"""What every step screen shares: top bar, step indicator, body, Back/Next and the footer."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from ..messages import GoBack, WorkFailed
from ..state import Step
from ..widgets.chrome import StepIndicator, TopBar, WizardFooter

if TYPE_CHECKING:
    from ..protocol import Wizard

STYLES = {"ok": "bold green", "warn": "bold yellow", "bad": "bold red", "dim": "dim", "": ""}


def styled(text: str, style: str = "") -> Text:
    return Text(text, style=STYLES.get(style, style))


async def guarded(node: DOMNode, work: Awaitable[Any], doing: str) -> Any:
    """Await work; an unexpected failure goes up to the app as WorkFailed (it shows the error
    screen, or the lost connection) instead of a traceback."""
    try:
        return await work
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        node.post_message(WorkFailed(doing, exc))
        return None


def running(node: DOMNode, *groups: str) -> bool:
    """A worker of node (in one of `groups`; any, when none given) has not finished yet: the
    busy state of a screen or panel, derived from its workers rather than kept by hand."""
    return any(
        worker.node is node and (not groups or worker.group in groups) and not worker.is_finished
        for worker in node.workers
    )


class PagedScreen(Screen):
    """A screen whose text scrolls in one container (BODY), which is no Tab stop of its own
    (nothing showed where the focus was while it had it): PageUp/PageDown scroll it whatever
    has the focus, Back or Next too. Inside it its own keys come first (a list's rows)."""

    BODY: ClassVar[str] = "#body"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pageup", "page_body(-1)", "Page up", show=False),
        Binding("pagedown", "page_body(1)", "Page down", show=False),
    ]

    def action_page_body(self, pages: int) -> None:
        body = self.query_one(self.BODY, VerticalScroll)
        if pages < 0:
            body.scroll_page_up()
        else:
            body.scroll_page_down()


class StepScreen(PagedScreen):
    """A wizard step. Subclasses set STEP and write compose_body()."""

    STEP: ClassVar[Step]
    NEXT_LABEL: ClassVar[str] = "Next"
    AUTO_FOCUS = ""  # not the first Tab stop: each step focuses what Enter should press
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("n", "next", "Next"),
    ]

    @property
    def wizard(self) -> Wizard:
        return cast("Wizard", self.app)

    def compose(self) -> ComposeResult:
        target = self.wizard.state.target
        yield TopBar(target.label() if target else None, self.wizard.demo is not None, id="topbar")
        yield StepIndicator(self.STEP, id="steps")
        with VerticalScroll(id="body", can_focus=False):  # PagedScreen's BODY
            yield from self.compose_body()
        with Horizontal(id="nav"):
            yield Button("‹ Back", id="back", disabled=self.STEP == Step.HOST)
            yield Static("", id="nav-note")
            yield Button(f"{self.NEXT_LABEL} ›", id="next", variant="primary")
        yield WizardFooter()

    def compose_body(self) -> ComposeResult:
        yield from ()

    # -------------------------------------------------------------- navigation

    def action_back(self) -> None:
        self.post_message(GoBack(self.STEP))

    async def action_next(self) -> None:
        if not self.query_one("#next", Button).disabled:
            result = self.go_next()
            if inspect.isawaitable(result):
                await result

    def go_next(self) -> Awaitable[None] | None:
        """What Next does on this step."""
        return None

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#next")
    async def _next_pressed(self) -> None:
        await self.action_next()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Next shows as disabled in the footer while its button is."""
        if action == "next":
            buttons = self.query("#next")
            return None if buttons and buttons.first(Button).disabled else True
        return True

    def set_next(
        self, enabled: bool, note: str = "", label: str | None = None, *, focus: bool = False
    ) -> None:
        """Next's state; with focus, Next takes the focus (Enter goes on: the step is ready)."""
        button = self.query_one("#next", Button)
        button.disabled = not enabled
        if label is not None:
            button.label = f"{label} ›"
        self.query_one("#nav-note", Static).update(Text(note, style="dim"))
        if enabled and focus:
            button.focus()
        self.refresh_bindings()

    def working(self, *groups: str) -> bool:
        """A worker of this screen in one of `groups` (any, when none given) has not finished."""
        return running(self, *groups)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker of this screen started or ended: what may be pressed follows from that.
        A cancelled one is left alone: the screen is being left (or the server forgotten), or a
        new run of its group replaced it, whose own states follow."""
        if event.state is not WorkerState.CANCELLED:
            self.worker_changed(event.worker)
            self.refresh_bindings()

    def worker_changed(self, worker: Worker) -> None:
        """Show what may be pressed now that `worker` started or ended (see working())."""

    def run_guarded(self, coro, doing: str, **kwargs) -> None:
        """A worker on this screen whose failure lands on the error screen, not a traceback."""
        self.run_worker(guarded(self, coro, doing), exit_on_error=False, **kwargs)
