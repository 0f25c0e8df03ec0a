"""The core calls a login flow makes, gathered in one replaceable object (the tests' seam).

Every field defaults to the real core function; tests swap single fields for fakes. Importing
this module imports asyncssh (through the core modules it names).
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from dataclasses import dataclass

from .laptop.browser import open_in_browser
from .laptop.clipboard import Copied, copy_text
from .laptop.ports import cancel_pending_login, local_port_owners, wait_port_free
from .laptop.seat import remote_seat
from .logins.authfile import read_remote_auth, read_server_auth
from .logins.push import load_local_auth, push_auth
from .logins.status import check_connected, check_host, local_login
from .server import actions
from .server.login import LoginSession
from .server.probe import probe_server
from .server.relay import replay_on_server
from .server.tunnel import check_forwarding
from .ssh.connection import connect


def on_first_call(module: str, name: str) -> Callable:
    """core.<module>.<name>, imported when first called: the steps a login does not take
    (standalone install, live check, a fresh login here) stay off its start-up."""

    def call(*args: object, **kwargs: object) -> object:
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)(*args, **kwargs)

    return call


install_standalone = on_first_call("install.standalone", "install_standalone")
live_check = on_first_call("logins.livecheck", "live_check")
find_local_codex = on_first_call("logins.fresh", "find_local_codex")
fresh_auth = on_first_call("logins.fresh", "fresh_auth")


def copy_quietly(text: str) -> Copied:
    """pyperclip through core.laptop.clipboard: CLIPBOARD, TMUX_DROPS (OSC 52 would not get
    through) or NOTHING (no clipboard here: the face sends OSC 52 itself).

    The OSC 52 fallback is the face's job (the wizard writes it through Textual's driver);
    clipboard's own fallback would write to a stdout the face owns, so it gets a dummy.
    """
    return copy_text(text, terminal=io.StringIO())


@dataclass
class Services:
    connect: Callable = connect
    probe: Callable = probe_server
    check_host: Callable = check_host
    check_connected: Callable = check_connected
    local_login: Callable = local_login
    check_forwarding: Callable = check_forwarding
    local_port_owners: Callable = local_port_owners
    cancel_pending_login: Callable = cancel_pending_login
    wait_port_free: Callable = wait_port_free
    login_session: Callable = LoginSession
    read_auth: Callable = read_remote_auth
    read_login: Callable = read_server_auth  # auth.json where codex looks for it
    install: Callable = actions.install_codex
    install_standalone: Callable = install_standalone
    live_check: Callable = live_check
    verify: Callable = actions.verify_login
    logout: Callable = actions.logout
    relay: Callable = replay_on_server
    load_local_auth: Callable = load_local_auth
    push_auth: Callable = push_auth
    find_local_codex: Callable = find_local_codex
    fresh_auth: Callable = fresh_auth
    copy_text: Callable[[str], Copied] = copy_quietly
    open_browser: Callable[[str], bool] = open_in_browser
    remote_seat: Callable = remote_seat  # where the user's browser is
