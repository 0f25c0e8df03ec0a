"""The frame around every step: the top bar (host, DEMO badge) and the step indicator."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

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
    """`✓ 1 Host › ✓ 2 Connect › ● 3 Install › 4 Tunnel …`."""

    def __init__(self, step: Step, **kwargs) -> None:
        super().__init__(**kwargs)
        self.step = step

    def render(self) -> Text:
        text = Text()
        for index, step in enumerate(Step):
            if index:
                text.append("  ›  ", style="dim")
            if step < self.step:
                text.append(f"✓ {step.value} {step.title}", style="dim")
            elif step == self.step:
                text.append(f"● {step.value} {step.title}", style="bold reverse")
            else:
                text.append(f"{step.value} {step.title}", style="dim")
        return text
