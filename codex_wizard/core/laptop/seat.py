"""Where the user really is: at this computer, or at another one that reached it over SSH.

codex-wizard may run on a jump box or a dev VM the user is logged in to (SSH_CONNECTION set) and
that has no display. Then the browser runs on the user's own computer, and its 127.0.0.1:1455
is that computer's, not this one's: the tunnel we open here is out of its reach. The faces say
so before the URL and offer what works from there: forward the port from the user's computer
to this one (`ssh -L`), or a way in without a tunnel (relay, device code).
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from ..sanitize import printable

__all__ = ["RemoteSeat", "remote_seat"]


@dataclass(frozen=True)
class RemoteSeat:
    """This computer is used over SSH from another one, where the user's browser is."""

    this_host: str  # this computer's own name
    client: str  # the address the user's SSH connection came from
    address: str  # the address the user's ssh reached this computer on
    ssh_port: int
    user: str

    def forward_command(self, port: int) -> str:
        """What to run on the user's own computer so its browser's port reaches this one."""
        target = f"{self.user}@{self.address}" if self.user else self.address
        port_option = f" -p {self.ssh_port}" if self.ssh_port != 22 else ""
        return f"ssh -L {port}:127.0.0.1:{port}{port_option} {target}"

    def warning(self, port: int) -> str:
        """Why the URL alone won't do, in one sentence."""
        return (
            f"You are on {self.this_host} over SSH (from {self.client}) and it has no display: "
            f"the browser on your own computer goes to that computer's 127.0.0.1:{port}, "
            "not this one's."
        )


def remote_seat(environ: Mapping[str, str] | None = None) -> RemoteSeat | None:
    """A RemoteSeat when this process runs in an SSH session without a display, else None.

    With a display (X11 forwarding, a desktop session) a browser started here shows on the
    user's screen and reaches this computer's 127.0.0.1 itself: nothing to warn about.
    """
    env = os.environ if environ is None else environ
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    parts = env.get("SSH_CONNECTION", "").split()
    if len(parts) != 4 or not parts[3].isdigit():
        return None
    client, _, address, ssh_port = (printable(part) for part in parts)
    return RemoteSeat(
        this_host=printable(socket.gethostname()) or address,
        client=client,
        address=address,
        ssh_port=int(ssh_port),
        user=printable(env.get("USER") or env.get("LOGNAME") or _login_name()),
    )


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, no USER: the command goes without a user
        return ""
