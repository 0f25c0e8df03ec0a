"""Child process: codex-wizard's Tunnel on 127.0.0.1:LOCAL -> the server's 127.0.0.1:REMOTE.

Usage: tunnel_child.py SSH_CONFIG HOST REMOTE_PORT LOCAL_PORT
One connection (core.ssh.connection.connect), one core.server.tunnel.Tunnel, as `login` uses
them. Prints `ready PORT` once listening and serves until its stdin closes.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from codex_wizard.core.server.tunnel import Tunnel
from codex_wizard.core.ssh.connection import connect
from codex_wizard.core.ssh.hosts import parse_host_arg
from codex_wizard.core.ssh.types import ConnectSettings


async def serve(config: Path, host: str, remote_port: int, local_port: int) -> None:
    conn = await connect(parse_host_arg(host), ConnectSettings(ssh_config=config))
    async with conn:
        tunnel = Tunnel(conn, remote_port, local_port=local_port)
        await tunnel.start()
        print(f"ready {tunnel.local_port}", flush=True)
        try:
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        finally:
            await tunnel.close()


if __name__ == "__main__":
    config, host, remote, local = sys.argv[1:5]
    asyncio.run(serve(Path(config), host, int(remote), int(local)))
