"""An `ssh -L` that already holds a login port here: where it leads, read from its command line.

The seed guide's manual login runs `ssh -L 1455:localhost:1455 HOST` in another terminal. When
that ssh holds the port, the login can use it instead of failing on a busy port: this module
reads the ssh process's arguments (ssh(1)'s option letters) into an SshForward; whether it leads
to the server being logged in is core/ssh/forwards.py's question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psutil

from ..sshopts import WITH_ARGUMENT, ssh_options
from .ports import PortOwner

__all__ = ["SshForward", "parse_ssh_forward", "ssh_forward_holding"]

_PART = re.compile(r"\[[^\]]*\]|[^:]+")


@dataclass(frozen=True)
class SshForward:
    """`ssh [-F config] [-p port] [-l user] -L [bind:]listen:to_host:to_port destination`."""

    pid: int
    destination: str
    listen_port: int
    to_host: str
    to_port: int
    config: str | None = None
    port: int | None = None
    user: str | None = None

    def describe(self) -> str:
        """``ssh (pid 42) forwarding it to localhost:1455 as seen from myhost``."""
        return (
            f"ssh (pid {self.pid}) forwarding it to {self.to_host}:{self.to_port} as seen from "
            f"{self.destination}"
        )


def ssh_forward_holding(owner: PortOwner) -> SshForward | None:
    """The ssh forward behind owner's port, when owner is an ssh with a -L for that port."""
    if owner.pid is None or (owner.process or "") != "ssh":
        return None
    try:
        argv = psutil.Process(owner.pid).cmdline()
    except (psutil.Error, OSError):
        return None
    return parse_ssh_forward(argv, owner.pid, owner.port)


def parse_ssh_forward(argv: list[str], pid: int, port: int) -> SshForward | None:
    """The -L of argv (an ssh command line) that listens on port, with its destination."""
    options: dict[str, list[str]] = {}
    destination = None
    for letter, value in ssh_options(argv[1:]):
        if not letter:
            destination = value
        elif letter in WITH_ARGUMENT:
            options.setdefault(letter, []).append(value or "")
    if destination is None:
        return None
    for spec in options.get("L", []):
        forward = _forward(spec, pid, destination, port)
        if forward is not None:
            return _with_options(forward, options)
    return None


def _forward(spec: str, pid: int, destination: str, port: int) -> SshForward | None:
    """`[bind:]listen:host:hostport` (IPv6 in brackets) when it listens on port."""
    parts = [part.strip("[]") for part in _PART.findall(spec)]
    if len(parts) not in (3, 4) or not parts[-3].isdigit() or not parts[-1].isdigit():
        return None
    if int(parts[-3]) != port:
        return None
    return SshForward(pid, destination, port, parts[-2], int(parts[-1]))


def _with_options(forward: SshForward, options: dict[str, list[str]]) -> SshForward:
    port = (options.get("p") or [""])[0]
    return SshForward(
        forward.pid,
        forward.destination,
        forward.listen_port,
        forward.to_host,
        forward.to_port,
        config=(options.get("F") or [None])[0],
        port=int(port) if port.isdigit() else None,
        user=(options.get("l") or [None])[0],
    )
