"""The core calls the wizard makes, gathered in one replaceable object (the tests' seam).

Every field defaults to the real core function; tests swap single fields for fakes. Nothing here
imports Textual.
"""

from __future__ import annotations

import io
import os
import sys
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass

from ..core import actions
from ..core.authfile import read_remote_auth
from ..core.clipboard import copy_text
from ..core.connection import connect
from ..core.login import LoginSession
from ..core.ports import cancel_pending_login, local_port_owners, wait_port_free
from ..core.probe import probe_server
from ..core.push import load_local_auth, push_auth
from ..core.relay import replay_on_server
from ..core.status import check_host, local_login
from ..core.tunnel import check_forwarding


def copy_with_core(text: str) -> str:
    """pyperclip through core.clipboard; '' when no clipboard exists here.

    The OSC 52 fallback is the app's job (App.copy_to_clipboard writes it through Textual's
    driver); core's own fallback would write to a stdout that Textual owns, so it gets a dummy.
    """
    return copy_text(text, terminal=io.StringIO())


def has_graphical_browser() -> bool:
    """False on a Linux/BSD box without a display, where webbrowser would start a text browser
    (lynx, w3m) inside the wizard's own terminal."""
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


@dataclass
class Backend:
    connect: Callable = connect
    probe: Callable = probe_server
    check_host: Callable = check_host
    local_login: Callable = local_login
    check_forwarding: Callable = check_forwarding
    local_port_owners: Callable = local_port_owners
    cancel_pending_login: Callable = cancel_pending_login
    wait_port_free: Callable = wait_port_free
    login_session: Callable = LoginSession
    read_auth: Callable = read_remote_auth
    install: Callable = actions.install_codex
    verify: Callable = actions.verify_login
    logout: Callable = actions.logout
    relay: Callable = replay_on_server
    load_local_auth: Callable = load_local_auth
    push_auth: Callable = push_auth
    copy_text: Callable[[str], str] = copy_with_core
    open_browser: Callable[[str], bool] = open_in_browser
