#!/usr/bin/env python3
"""A hostile `codex` for the lab server: what a server of an attacker's making could print.

Installed as `~/bin/codex` by tests/test_lab_hostile.py; `~/.hostile-codex` names the behaviour,
one of those below. Anything else behaves plainly: `--version` prints a real-looking version,
`login` prints nothing and waits.

- login-flood: `codex login` writes to stderr without end and without a newline.
- login-lines: `codex login` writes endless 200-character lines to stderr.
- login-warnings: the same, each a `WARNING:` line (the plain CLI shows codex's warnings).
- version-flood: `codex --version` prints 100 MB without a newline.
- version-hang: `codex --version` never returns (nor answers SIGTERM).
- port-8080: `codex login` prints an authorize URL whose redirect_uri is 127.0.0.1:8080.
- invisible: zero-width, format, separator, private-use, unassigned and tag characters in
  `--version`, in a `WARNING:` line and in codex's own error words.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

VERSION = "codex-cli 0.169.0"
INVISIBLE = "\u200b\u2060\ufeff\u00ad\U000e0041\U000e007f\ue000\U000f0000\u0378\x7f\x85"
SEPARATORS = "\u2028\u2029"  # line and paragraph separators: shown as spaces
FLOOD_BYTES = 100 * 1024 * 1024


def mode() -> str:
    path = Path.home() / ".hostile-codex"
    return path.read_text().strip() if path.exists() else ""


def endless(stream, text: str) -> None:
    """Write text to stream until the reader goes away."""
    data = text.encode()
    try:
        while True:
            stream.buffer.write(data)
            stream.buffer.flush()
    except (BrokenPipeError, OSError):
        sys.exit(141)


def version(how: str) -> None:
    if how == "version-flood":
        out = sys.stdout.buffer
        chunk = b"9" * 65536
        for _ in range(FLOOD_BYTES // len(chunk)):
            out.write(chunk)
        out.flush()
    elif how == "version-hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(3600)
    elif how == "invisible":
        print(f"codex-cli{INVISIBLE} 0.169.0{INVISIBLE}")
    else:
        print(VERSION)


def login_url(port: int) -> str:
    query = {
        "response_type": "code",
        "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
        "redirect_uri": f"http://127.0.0.1:{port}/auth/callback",
        "scope": "openid profile email offline_access",
        "code_challenge": "abc",
        "code_challenge_method": "S256",
        "state": "s7a7e",
        "originator": "codex_cli_rs",
    }
    return "https://auth.openai.com/oauth/authorize?" + urlencode(query)


def login(how: str) -> None:
    if how == "login-flood":
        endless(sys.stderr, "x" * 4096)
    if how == "login-lines":
        endless(sys.stderr, "y" * 199 + "\n")
    if how == "login-warnings":
        endless(sys.stderr, "WARNING: " + "w" * 190 + "\n")
    if how == "port-8080":
        print("Starting local login server on http://localhost:8080.", file=sys.stderr)
        print(f"If your browser did not open, navigate to this URL:\n\n{login_url(8080)}\n")
        sys.stdout.flush()
    if how == "invisible":
        print(f"WARNING: pla{INVISIBLE}n{SEPARATORS}{INVISIBLE}expired", file=sys.stderr)
        error = f"Error logging in: acc{INVISIBLE}ount{SEPARATORS}ada{INVISIBLE}@example.com"
        print(error, file=sys.stderr)
        sys.exit(1)
    while True:
        time.sleep(3600)


def main() -> None:
    how = mode()
    if sys.argv[1:2] == ["--version"]:
        version(how)
    elif sys.argv[1:] == ["login", "status"]:  # the preflight's check: as real codex answers
        print("Not logged in", file=sys.stderr)
        sys.exit(1)
    elif sys.argv[1:2] == ["login"]:
        login(how)
    else:
        print(f"hostile codex: {' '.join(sys.argv[1:])}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
