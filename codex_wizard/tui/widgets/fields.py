"""A two-column `label  value` list whose values may carry a colour class."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from .status import StatusColours

Field = tuple[str, str] | tuple[str, str, str]


class FieldList(StatusColours, Static):
    def __init__(self, fields: Sequence[Field] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self.fields = list(fields)

    def show(self, fields: Sequence[Field]) -> None:
        self.fields = list(fields)
        self.refresh(layout=True)

    def render(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(ratio=1)
        for field in self.fields:
            label, value, style = (*field, "")[:3]
            table.add_row(label, Text(value, style=self.status_style(style)))
        return table
