"""What the demo server pretends to be: the knobs (DemoScenario) and the fixed facts behind them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoScenario:
    """Knobs for tests and screenshots; the defaults are a healthy, logged-in server.

    `node_version=""` means Node.js is not installed (so neither is npm, and codex cannot run).
    `pace` scales every simulated delay (npm install, time to the URL, token exchange): tests
    pass a small value, screenshots and people keep 1.0.
    """

    codex_installed: bool = True
    codex_on_login_path_only: bool = False
    node_version: str = "22.11.0"
    port_1455_busy: bool = False
    forwarding_refused: bool = False
    logged_in: bool = True
    token_exchange_fails: bool = False
    saves_no_login: bool = False  # codex says "Successfully logged in" but writes no auth.json
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
