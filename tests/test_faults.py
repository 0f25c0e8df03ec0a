"""Faults during a login, from the command line: each a clear message, an exit code, and a
clean server (no `codex login` left, no half-written file)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from codex_wizard.core.logins.workers import CheckJob, check_fleet_spread
from codex_wizard.core.server.events import PortsBusy, UrlReady
from codex_wizard.core.server.login import LoginSession
from codex_wizard.core.server.probe import ServerEnv
from codex_wizard.core.server.tunnel import LOOPBACK
from codex_wizard.core.ssh.connection import connect
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.types import ConnectError, ConnectSettings
from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import CLI, URL_LINE, cli, run_cli
from tests.test_e2e_core import LAB, next_event, no_codex_left, settings_for

GARBAGE_CODEX = """#!/bin/sh
case "$1" in
  --version) echo "codex-cli 0.169.0" ;;
  *) printf '\\377\\376 not utf-8\\n' >&2
     head -c 300000 /dev/zero | tr '\\0' 'x' >&2; echo >&2
     echo "no url here" >&2
     exit 3 ;;
esac
"""


def install_script_as_codex(lab: SshLab, script: str) -> None:
    lab.install_codex("fake", "path")
    lab.server_path("bin/codex").unlink()
    lab.write_server_file("bin/codex", script, mode=0o755)


def assert_clean(out: str) -> None:
    assert "Traceback" not in out


# ------------------------------------------------------------------------------ the server dies


def test_sshd_killed_mid_login(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "60") as run:
        run.wait_for("Waiting for the browser")
        lab.stop_sshd()
        code, out = run.finish(timeout=60)
    assert code == 1
    assert "login failed" in out and ("connection" in out or "stopped" in out)
    assert_clean(out)
    no_codex_left(lab)


def test_connection_dropped_mid_login(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "60") as run:
        run.wait_for("Waiting for the browser")
        lab.drop_connections()
        code, out = run.finish(timeout=60)
    assert code == 1 and "login failed" in out
    assert_clean(out)
    no_codex_left(lab)


def test_codex_killed_on_the_server(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "60") as run:
        run.wait_for("Waiting for the browser")
        for pid in lab.server_pids("codex login"):
            subprocess.run(["kill", "-KILL", str(pid)], check=False)
        code, out = run.finish(timeout=60)
    assert code == 1 and "login failed" in out
    assert_clean(out)
    no_codex_left(lab)


def test_codex_exits_at_once_missing_codex_home(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    result = run_cli(lab, "login", "lab", "--no-tui", "--codex-home", "/nonexistent/codex")
    assert result.returncode == 1
    assert "CODEX_HOME" in result.stderr and "does not exist" in result.stderr
    assert_clean(result.stderr)
    no_codex_left(lab)


def test_both_server_ports_busy(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    with lab.hold_port(1455), lab.hold_port(1457):
        result = run_cli(lab, "login", "lab", "--no-tui", timeout=120)
    assert result.returncode == 1
    assert "1457 is already in use" in result.stderr
    no_codex_left(lab)


def test_codex_output_garbage_without_url(lab: SshLab) -> None:
    install_script_as_codex(lab, GARBAGE_CODEX)
    result = run_cli(lab, "login", "lab", "--no-tui")
    assert result.returncode == 1
    assert "before the login finished" in result.stderr and "no url here" in result.stderr
    assert_clean(result.stderr)


# ------------------------------------------------------------------------------ the network


class SilentServer:
    """Accepts TCP on loopback and never speaks SSH."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


async def test_server_that_never_speaks_ssh_times_out(silent_server: SilentServer) -> None:
    target = HostTarget(LOOPBACK, port=silent_server.port)
    with pytest.raises(ConnectError, match="Timed out after 2 s"):
        await connect(target, ConnectSettings(connect_timeout=2))


def test_cli_connect_timeout(silent_server: SilentServer, tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "doctor", f"{LOOPBACK}:{silent_server.port}", "--connect-timeout", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "Timed out after 2 s" in result.stdout
    assert_clean(result.stdout + result.stderr)


async def test_one_dead_host_does_not_hold_up_the_fleet(
    lab: SshLab, silent_server: SilentServer
) -> None:
    aliases = lab.add_aliases(3)
    targets = [HostTarget(LOOPBACK, port=silent_server.port)] + [HostTarget(a) for a in aliases]
    loop = asyncio.get_running_loop()
    start = loop.time()
    done_at: dict[str, float] = {}
    results = await check_fleet_spread(
        targets,
        CheckJob(settings_for(lab), timeout=8),
        on_result=lambda r: done_at.setdefault(r.host, loop.time() - start),
    )
    assert results[0].error and all(r.auth is not None for r in results[1:])
    assert max(done_at[a] for a in aliases) < done_at[results[0].host]


# ------------------------------------------------------------------------------ local port


async def test_local_port_taken_between_check_and_bind(lab: SshLab) -> None:
    """Someone grabs the laptop's port after our check: the session says who, cleanly."""
    lab.install_codex("fake", "path")
    squatter = socket.socket()
    squatter.bind((LOOPBACK, 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    try:
        async with (
            await connect(LAB, settings_for(lab)) as conn,
            LoginSession(conn, ServerEnv(), local_port_for=lambda port: taken) as login,
        ):
            busy = await next_event(login.events(), PortsBusy | UrlReady)
            assert isinstance(busy, PortsBusy)
            assert f"Port {taken} on this computer is already in use" in busy.message
    finally:
        squatter.close()
    no_codex_left(lab)


def test_tunnel_listens_on_loopback_only(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "60") as run:
        run.wait_for(URL_LINE.pattern)
        listeners = subprocess.run(
            ["ss", "-Hltn", "sport = :1455"], capture_output=True, text=True
        ).stdout.split("\n")
        local = [line.split()[3] for line in listeners if line.strip()]
        assert local == ["127.0.0.1:1455"]
        for other in ("127.0.0.2", "::1"):
            family = socket.AF_INET6 if ":" in other else socket.AF_INET
            with socket.socket(family) as probe, pytest.raises(OSError):
                probe.settimeout(2)
                probe.connect((other, 1455))
        run.proc.terminate()
        run.finish()
    no_codex_left(lab)
