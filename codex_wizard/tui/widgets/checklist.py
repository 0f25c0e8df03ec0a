"""A pass/warn/fail checklist of core.doctor Checks, each with its fix."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ...core.doctor import Check, Verdict
from .status import StatusColours

MARKS = {Verdict.PASS: "✓", Verdict.WARN: "!", Verdict.FAIL: "✗", Verdict.SKIP: "–"}
VERDICT_CLASS = {
    Verdict.PASS: "ok",
    Verdict.WARN: "warn",
    Verdict.FAIL: "bad",
    Verdict.SKIP: "dim",
}


def check_line(check: Check) -> tuple[str, str, str]:
    """(mark, text, class) for a checklist row."""
    return MARKS[check.verdict], check.found, VERDICT_CLASS[check.verdict]


class Checklist(StatusColours, Static):
    """Rows of `✓ name  what was found` plus `fix: …` under warnings and failures."""

    def __init__(self, checks: Sequence[Check] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self.checks = list(checks)

    def show(self, checks: Sequence[Check]) -> None:
        self.checks = list(checks)
        self.refresh(layout=True)

    def render(self) -> Table | Text:
        if not self.checks:
            return Text("")
        table = Table.grid(padding=(0, 1))
        table.add_column(width=1)
        table.add_column(min_width=8, style="bold")
        table.add_column(ratio=1)
        for check in self.checks:
            found = Text(check.found)
            if check.fix and check.verdict in (Verdict.WARN, Verdict.FAIL):
                found.append(f"\nfix: {check.fix}", style="italic")
            table.add_row(
                Text(MARKS[check.verdict], style=self.status_style(VERDICT_CLASS[check.verdict])),
                check.name,
                found,
            )
        return table
