"""Whether an `ssh -L` already holding the login port leads to the server being logged in.

The browser's answer reaches codex through such a forward when it goes to the server's own
loopback port codex listens on, and the ssh it belongs to reaches the same host, port and user
as our connection (both read through ssh_config, its -F, -p and -l included).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from ..laptop.ports import PortOwner
from ..laptop.sshforward import SshForward, ssh_forward_holding
from .config import resolve_options
from .hosts import HostArgError, HostTarget, parse_host_arg
from .types import ConnectSettings

__all__ = ["SshForward", "forward_problem", "usable_ssh_forward"]

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "ip6-localhost"})


def forward_problem(
    forward: SshForward, target: HostTarget, settings: ConnectSettings, server_port: int
) -> str | None:
    """Why the browser's answer would not reach codex through forward (None: it would)."""
    if forward.to_host.lower() not in _LOOPBACK or forward.to_port != server_port:
        return (
            f"it leads to {forward.to_host}:{forward.to_port} as seen from "
            f"{forward.destination}, not to the port codex listens on (127.0.0.1:{server_port})"
        )
    try:
        theirs = parse_host_arg(forward.destination)
    except HostArgError:
        return f"can't tell where {forward.destination!r} leads"
    theirs = HostTarget(theirs.name, forward.user or theirs.user, forward.port or theirs.port)
    their_settings = replace(settings, ssh_config=forward.config)
    where, ours = _reaches(theirs, their_settings), _reaches(target, settings)
    if where != ours:
        return f"it leads to {_shown(where)}, not to {target.label()} ({_shown(ours)})"
    return None


def _reaches(target: HostTarget, settings: ConnectSettings) -> tuple[str, int, str]:
    """(host, port, user) a connection to target makes, as ssh_config says."""
    options = resolve_options(target, settings).options
    return str(options.host), int(options.port or 22), str(options.username)


def _shown(where: tuple[str, int, str]) -> str:
    host, port, user = where
    return f"{user}@{host}:{port}"


async def usable_ssh_forward(
    owner: PortOwner | None, target: HostTarget, settings: ConnectSettings, server_port: int
) -> SshForward | str | None:
    """The `ssh -L` holding owner's port when the login can use it as its tunnel; when it leads
    elsewhere, what to tell the user (where it leads, what to do); None: no ssh forward."""
    forward = ssh_forward_holding(owner) if owner is not None else None
    if forward is None:
        return None
    problem = await asyncio.to_thread(forward_problem, forward, target, settings, server_port)
    if problem:
        return (
            f"port {forward.listen_port} here is held by {forward.describe()}: {problem}. Stop "
            f"that ssh (kill {forward.pid}) so codex-wizard can open its own tunnel, or log in "
            "with --relay."
        )
    return forward
