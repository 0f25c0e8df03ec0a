"""Open a URL in this computer's browser, and only where a graphical one can exist."""

from __future__ import annotations

import os
import sys
import webbrowser


def has_graphical_browser() -> bool:
    """False on a Linux/BSD box without a display, where webbrowser would start a text browser
    (lynx, w3m) inside our own terminal."""
    if sys.platform in ("darwin", "win32", "cygwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_in_browser(url: str) -> bool:
    if not has_graphical_browser():
        return False
    try:
        return webbrowser.open(url, new=2)
    except webbrowser.Error:
        return False
