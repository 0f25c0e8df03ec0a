"""The frame around every step: the top bar (host, DEMO badge) and the step indicator."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Footer, Static

from ..state import Step


class TopBar(Static):
    """`codex-wizard · user@host`, and a loud DEMO badge in demo mode."""

    def __init__(self, host: str | None, demo: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.host = host
        self.demo = demo
        if demo:
            self.add_class("-demo")

    def render(self) -> Text:
        text = Text()
        if self.demo:
            text.append(" DEMO ", style="bold white on red")
            text.append("  a simulated server: nothing real is touched   ", style="bold")
        text.append("codex-wizard", style="bold")
        if self.host:
            text.append(f"  ·  {self.host}")
        return text


class StepIndicator(Static):
    """`✓ 1 Host › ✓ 2 Connect › ● 3 Install › 4 Tunnel …`, all six steps whatever the width:
    narrower separators first, then the steps done lose their titles (`✓ 1 › ✓ 2 › …`)."""

    def __init__(self, step: Step, **kwargs) -> None:
        super().__init__(**kwargs)
        self.step = step

    def render(self) -> Text:
        width = self.content_size.width
        forms = [(sep, short) for short in (False, True) for sep in ("  ›  ", " › ", "›")]
        for sep, short in forms:
            text = self._text(sep, short)
            if not width or text.cell_len <= width:
                return text
        return text

    def _text(self, sep: str, short_done: bool) -> Text:
        text = Text()
        for index, step in enumerate(Step):
            if index:
                text.append(sep, style="dim")
            if step < self.step:
                label = f"✓ {step.value}" if short_done else f"✓ {step.value} {step.title}"
                text.append(label, style="dim")
            elif step == self.step:
                text.append(f"● {step.value} {step.title}", style="bold reverse")
            else:
                text.append(f"{step.value} {step.title}", style="dim")
        return text


class WizardFooter(Footer):
    """The footer's keys, all of them when wide. Narrower than WIDE columns it is compact and
    leaves out Next (the Next button on show says it, Enter presses it), and ^q Quit keeps
    its place at the right edge: the step's own keys fill what is left (at 80 columns, all of
    them on most steps)."""

    WIDE = 100

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            action = getattr(widget, "action", None)  # a FooterKey's
            if action in ("next", "quit"):
                widget.add_class(f"-{action}")
            yield widget

    def on_resize(self) -> None:
        self.compact = self.size.width < self.WIDE
