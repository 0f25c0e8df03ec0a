"""Open a URL in the user's browser: Python's webbrowser, or Windows' browser from WSL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import webbrowser
from pathlib import Path

__all__ = ["is_wsl", "open_in_browser"]

# Tried in order under WSL: wslu's opener, then Explorer (it hands a URL to the default browser).
_WSL_OPENERS = ("wslview", "explorer.exe", "/mnt/c/Windows/explorer.exe")


def is_wsl() -> bool:
    """True inside the Windows Subsystem for Linux (version 1 or 2)."""
    if os.environ.get("WSL_DISTRO_NAME"):
        return True
    try:
        return "microsoft" in Path("/proc/version").read_text(errors="replace").lower()
    except OSError:
        return False


def _has_graphical_browser() -> bool:
    """False on a Linux/BSD box without a display, where webbrowser would start a text browser
    (lynx, w3m) inside our own terminal."""
    if sys.platform in ("darwin", "win32", "cygwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_in_browser(url: str) -> bool:
    """Open url; True if a browser was started. Never raises for a missing browser."""
    if _has_graphical_browser():
        try:
            if webbrowser.open(url, new=2):
                return True
        except webbrowser.Error:
            pass
    return is_wsl() and _open_from_wsl(url)


def _open_from_wsl(url: str) -> bool:
    """Hand url to the Windows side. Explorer's exit code is 1 even on success: not waited for."""
    for name in _WSL_OPENERS:
        program = shutil.which(name)
        if program is None:
            continue
        try:
            subprocess.Popen(
                [program, url],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            continue
        return True
    return False
