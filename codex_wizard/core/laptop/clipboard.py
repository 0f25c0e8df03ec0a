"""Copy text to the clipboard, and say only what we know of it: pyperclip's copy read back the
same (copied), the terminal's OSC 52 sent (unconfirmed: no terminal answers it), or nothing
(no clipboard here and no terminal, or a tmux that drops programs' clipboard requests)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from enum import Enum, StrEnum
from typing import TextIO


class Copied(StrEnum):
    """What became of a copy, as far as we can know it."""

    CLIPBOARD = "clipboard"  # in this computer's clipboard: read back the same
    OSC52 = "osc52"  # sent to the terminal as OSC 52; whether it took it can't be known
    TMUX_DROPS = "tmux"  # tmux ignores programs' OSC 52 (set-clipboard external or off)
    NOTHING = ""  # no clipboard here and no terminal to send it to


class _Osc52Route(Enum):
    PLAIN = "plain"  # the terminal, or a tmux with set-clipboard on, takes it as it is
    PASSTHROUGH = "passthrough"  # tmux passes it on to the outer terminal when wrapped
    DROPPED = "dropped"


def osc52_sequence(text: str, *, in_tmux: bool = False) -> str:
    """The OSC 52 escape that asks the terminal to set its clipboard to text."""
    payload = base64.b64encode(text.encode()).decode("ascii")
    sequence = f"\x1b]52;c;{payload}\x07"
    if in_tmux:  # tmux passes it on to the outer terminal only when wrapped
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence


def copy_text(text: str, *, terminal: TextIO | None = None) -> Copied:
    """Copy text to the clipboard, else send it to the terminal; say which (see Copied)."""
    if _pyperclip_copies(text):
        return Copied.CLIPBOARD
    route = _osc52_route()
    if route is _Osc52Route.DROPPED:
        return Copied.TMUX_DROPS
    out = terminal or sys.stdout
    if not out.isatty() or os.environ.get("TERM") == "dumb":  # no escape sequence for those
        return Copied.NOTHING
    out.write(osc52_sequence(text, in_tmux=route is _Osc52Route.PASSTHROUGH))
    out.flush()
    return Copied.OSC52


def _pyperclip_copies(text: str) -> bool:
    """pyperclip copied text, and reading the clipboard back gives the same."""
    try:
        import pyperclip

        pyperclip.copy(text)
        return pyperclip.paste() == text
    except Exception:  # pyperclip raises its own PyperclipException, or others on odd systems
        return False


def _osc52_route() -> _Osc52Route:
    """How OSC 52 reaches the terminal from here: inside tmux, as its options allow."""
    if "TMUX" not in os.environ:
        return _Osc52Route.PLAIN
    if _tmux_option("set-clipboard") == "on":
        return _Osc52Route.PLAIN  # tmux keeps it in its buffer and passes it on
    if _tmux_option("allow-passthrough") in ("on", "all", None):
        return _Osc52Route.PASSTHROUGH  # None: an old tmux, without the option, passes it
    return _Osc52Route.DROPPED


def _tmux_option(name: str) -> str | None:
    """The value of a global tmux option (as tmux -S $TMUX says), None when it can't tell."""
    socket = os.environ.get("TMUX", "").split(",")[0]
    command = ["tmux", *(["-S", socket] if socket else []), "show-options", "-gv", name]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
