"""Status colours from the theme: a widget that draws words or marks as ok, warn, bad or dim
takes their style from wizard.tcss's `.status--ok` ($success), `.status--warn` ($warning),
`.status--bad` ($error) and `.status--dim`, as Textual's own widgets take theirs from their
component classes."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from textual.widget import Widget

STATUS_CLASSES = {"ok", "warn", "bad", "dim"}


class StatusColours(Widget):
    """A widget whose status words are coloured by the theme (see the module's docstring)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"status--{name}" for name in STATUS_CLASSES}

    def status_style(self, name: str) -> Style | str:
        """The theme's style for a status class; anything else is a plain Rich style."""
        if name in STATUS_CLASSES:
            return self.get_component_rich_style(f"status--{name}", partial=True)
        return name
