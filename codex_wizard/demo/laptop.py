"""The demo's laptop side and small server pieces: the client files (key, ssh_config,
known_hosts, this computer's made-up login), SFTP rooted at the server's files, the stray
program of the busy-port scenario, and free loopback ports."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import asyncssh

from . import httpio
from .scenario import DEMO_HOST_ALIAS, DEMO_USER, HOME
from .tokens import LAPTOP_EXPIRES_IN_S, demo_auth_json


def write_laptop_files(
    workdir: Path, port: int, host_key: asyncssh.SSHKey, client_key: asyncssh.SSHKey
) -> Path:
    """The laptop side of the demo: its key, ssh_config, known_hosts and a made-up login."""
    laptop = workdir / "laptop"
    laptop.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_file = laptop / "id_ed25519"
    key_file.write_bytes(client_key.export_private_key())
    key_file.chmod(0o600)
    laptop_auth = laptop / "auth.json"
    laptop_auth.write_text(demo_auth_json(expires_in_s=LAPTOP_EXPIRES_IN_S))
    laptop_auth.chmod(0o600)
    known_hosts = laptop / "known_hosts"
    public = " ".join(host_key.export_public_key().decode().split()[:2])
    known_hosts.write_text(f"[127.0.0.1]:{port} {public}\n")
    config = laptop / "ssh_config"
    config.write_text(
        "# codex-wizard demo: a simulated server inside codex-wizard itself\n"
        f"Host {DEMO_HOST_ALIAS}\n"
        "  HostName 127.0.0.1\n"
        f"  Port {port}\n"
        f"  User {DEMO_USER}\n"
        f'  IdentityFile "{key_file}"\n'
        "  IdentitiesOnly yes\n"
        f'  UserKnownHostsFile "{known_hosts}"\n'
    )
    return config


class HomeSFTPServer(asyncssh.SFTPServer):
    """SFTP chrooted to the server's `/`, with relative paths from the demo user's home."""

    def __init__(self, chan: asyncssh.SSHServerChannel, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(chan, chroot=str(root).encode())

    def map_path(self, path: bytes) -> bytes:
        if not path.startswith(b"/"):
            path = HOME.encode() + b"/" + path
        return super().map_path(path)


async def answer_not_found(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The stray program on 1455 in the port_1455_busy scenario: a static file server."""
    await httpio.read_request(reader)
    await httpio.send(writer, httpio.response(404, "File not found"))


def free_ports(count: int) -> list[int]:
    """Distinct ports free on 127.0.0.1 right now, for the tunnel's local ends."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()
