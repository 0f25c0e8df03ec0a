"""Make text from a server safe to show on the laptop's terminal.

Anything a server sends (codex's lines, npm's output, versions, paths, process names, error
messages) may carry terminal controls: an OSC 52 sets the terminal's clipboard, an OSC 0 its
title, a DCS talks to the terminal itself, bidirectional overrides make text read differently
from what it is. `printable` removes all of them; the core applies it where server text enters,
so every face (the wizard, the plain-terminal commands, JSON) gets clean text.

Stdlib only and cheap: one regular expression and one str.translate per call.
"""

from __future__ import annotations

import re

# Escape sequences, 7-bit (ESC + introducer) and 8-bit (the C1 introducer alone):
# - control strings, DCS (ESC P, 0x90), SOS (ESC X, 0x98), OSC (ESC ], 0x9d), PM (ESC ^, 0x9e)
#   and APC (ESC _, 0x9f): up to BEL, ST (ESC \ or 0x9c), the end of the line or the next ESC;
# - CSI (ESC [, 0x9b): parameters, intermediates, one final byte;
# - other ESC sequences: intermediates (0x20-0x2f), then one final byte (0x30-0x7e).
# Whatever is left over (a lone ESC, a cut-off sequence) is a control character that the
# translate table below drops anyway, so the guarantee does not rest on this pattern.
_SEQUENCE = re.compile(
    r"(?:\x1b[P_X\]^]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x9c|\x1b\\)?"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b[ -/]*[0-~]?"
)

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_DROP: dict[int, None] = dict.fromkeys([*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI], None)
del _DROP[ord("\t")], _DROP[ord("\n")]
_ONE_LINE = {**_DROP, ord("\n"): " "}


def printable(text: str | bytes, *, keep_newlines: bool = True) -> str:
    """text without escape sequences, control characters or bidirectional controls.

    Keeps tabs, and newlines unless `keep_newlines` is False (then each becomes a space).
    Bytes are decoded as UTF-8 with replacement characters. Plain printable text is returned
    unchanged.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _SEQUENCE.sub("", text).translate(_DROP if keep_newlines else _ONE_LINE)
