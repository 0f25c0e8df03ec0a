"""Make text from a server safe to show on the laptop's terminal.

Anything a server sends (codex's lines, npm's output, versions, paths, process names, error
messages) may carry terminal controls: an OSC 52 sets the terminal's clipboard, an OSC 0 its
title, a DCS talks to the terminal itself, bidirectional overrides make text read differently
from what it is, and invisible characters (zero-width spaces, tag characters, private-use and
unassigned code points) make text look like what it is not. `printable` removes all of them;
the core applies it where server text enters, so every face (the wizard, the plain-terminal
commands, JSON) gets clean text. `clip` bounds a message built from server text.

Stdlib only and cheap: regular-expression passes, and a look at the Unicode category of each
character outside ASCII only.
"""

from __future__ import annotations

import re
import unicodedata

# Escape sequences, 7-bit (ESC + introducer) and 8-bit (the C1 introducer alone):
# - control strings, DCS (ESC P, 0x90), SOS (ESC X, 0x98), OSC (ESC ], 0x9d), PM (ESC ^, 0x9e)
#   and APC (ESC _, 0x9f): up to BEL, ST (ESC \ or 0x9c), the end of the line or the next ESC;
# - CSI (ESC [, 0x9b): parameters, intermediates, one final byte;
# - other ESC sequences: intermediates (0x20-0x2f), then one final byte (0x30-0x7e).
# Whatever is left over (a lone ESC, a cut-off sequence) is a control character that _CONTROL
# drops anyway, so the guarantee does not rest on this pattern. The lookahead lets the regex
# engine skip plain text quickly (codex may print megabytes on one line).
_SEQUENCE = re.compile(
    r"(?=[\x1b\x90\x98\x9b\x9d\x9e\x9f])(?:"
    r"(?:\x1b[P_X\]^]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x9c|\x1b\\)?"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b[ -/]*[0-~]?"
    r")"
)
# C0 but tab and newline, DEL, C1, and the bidirectional marks, embeddings, overrides, isolates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Unicode categories a terminal shows as nothing (or as something else): controls, format
# characters (zero-width space and joiners, soft hyphen, BOM, tags), surrogates, private use,
# unassigned; line and paragraph separators become a space.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_SEPARATORS = frozenset({"Zl", "Zp"})
ELLIPSIS = "…"


def _visible(char: str) -> str:
    category = unicodedata.category(char)
    if category in _INVISIBLE:
        return ""
    return " " if category in _SEPARATORS else char


def _visible_run(run: re.Match[str]) -> str:
    return "".join(map(_visible, run.group()))


def printable(text: str | bytes, *, keep_newlines: bool = True) -> str:
    """text without escape sequences, control characters, bidirectional controls or invisible
    characters (Unicode Cc, Cf, Cs, Co, Cn; Zl and Zp become spaces).

    Keeps tabs, and newlines unless `keep_newlines` is False (then each becomes a space).
    Bytes are decoded as UTF-8 with replacement characters. Plain printable text is returned
    unchanged.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    clean = _NON_ASCII.sub(_visible_run, _CONTROL.sub("", _SEQUENCE.sub("", text)))
    return clean if keep_newlines else clean.replace("\n", " ")


def clip(text: str, limit: int) -> str:
    """text cut to at most `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS
