"""The command line's options as both faces use them: the connection's ConnectSettings (one
function, so that `--connect-timeout` and the others mean the same in the CLI and the wizard)
and the login's own options. Below both faces (cli/ and tui/ import it; it imports neither)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Protocol

from .core.ssh.types import DEFAULT_CONNECT_TIMEOUT, ConnectSettings, HostKeyInfo


class KeyPrompts(Protocol):
    """Where an unknown host key and a key's passphrase are asked about (a terminal's)."""

    async def confirm_host_key(self, key: HostKeyInfo) -> bool: ...

    async def passphrase(self, key_path: str) -> str | None: ...


def connect_settings(
    args: argparse.Namespace, prompts: KeyPrompts | None = None
) -> ConnectSettings:
    """The common options as ConnectSettings; with prompts, unknown keys and passphrases are
    asked there (the wizard asks through its flow's prompter instead)."""
    timeout = getattr(args, "connect_timeout", None)
    return ConnectSettings(
        ssh_config=getattr(args, "ssh_config", None),
        accept_new_host_key=getattr(args, "accept_new_host_key", False),
        connect_timeout=DEFAULT_CONNECT_TIMEOUT if timeout is None else timeout,
        confirm_host_key=prompts.confirm_host_key if prompts else None,
        ask_passphrase=prompts.passphrase if prompts else None,
    )


@dataclass(frozen=True)
class LoginOptions:
    """`login`'s own options: open the URL in the browser once codex prints it, and how long
    a login may wait for the sign-in before it is stopped (None: as long as it takes)."""

    open_url: bool = False
    timeout: float | None = None


def login_options(args: argparse.Namespace) -> LoginOptions:
    """`login HOST --open --timeout N`'s options (none given to the bare wizard)."""
    return LoginOptions(
        open_url=getattr(args, "open", False), timeout=getattr(args, "timeout", None)
    )
