"""Copy text to the clipboard: pyperclip, or the terminal's OSC 52 when no clipboard exists
(over SSH, in tmux, on a headless box)."""

from __future__ import annotations

import base64
import os
import sys
from typing import TextIO


def osc52_sequence(text: str, *, in_tmux: bool = False) -> str:
    """The OSC 52 escape that asks the terminal to set its clipboard to text."""
    payload = base64.b64encode(text.encode()).decode("ascii")
    sequence = f"\x1b]52;c;{payload}\x07"
    if in_tmux:  # tmux passes it on to the outer terminal only when wrapped
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence


def copy_text(text: str, *, terminal: TextIO | None = None) -> str:
    """Copy text; return how it was done ('clipboard', 'osc52') or '' when nothing worked."""
    try:
        import pyperclip

        pyperclip.copy(text)
        return "clipboard"
    except Exception:  # pyperclip raises its own PyperclipException, or others on odd systems
        pass
    out = terminal or sys.stdout
    if not out.isatty():
        return ""
    out.write(osc52_sequence(text, in_tmux="TMUX" in os.environ))
    out.flush()
    return "osc52"
