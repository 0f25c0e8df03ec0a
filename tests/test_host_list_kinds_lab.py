"""The host list says why a host was not reached from the connection's typed error
(HostStatus.unreached), never from its wording: an unknown host key against the lab's sshd
(OpenSSH refuses the same config), and a refused port."""

from __future__ import annotations

import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from codex_wizard.core.logins.status import check_host
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.types import ConnectErrorKind, ConnectSettings
from codex_wizard.tui.text import token_summary
from tests.lab import SshLab

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _unknown_key_config(lab: SshLab, tmp_path: Path) -> Path:
    """lab's Host block with an empty known_hosts: its host key is not known."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    lines = [line for line in lab.ssh_config.read_text().splitlines() if line.strip()]
    body = [line for line in lines[1:] if line.split()[0] != "UserKnownHostsFile"]
    config = tmp_path / "config"
    config.write_text("\n".join(["Host fresh", *body, f"  UserKnownHostsFile {empty}"]) + "\n")
    return config


@pytest.mark.lab
async def test_an_unknown_host_key_is_said_as_such(lab: SshLab, tmp_path: Path) -> None:
    config = _unknown_key_config(lab, tmp_path)
    ssh = subprocess.run(
        ["ssh", "-F", str(config), "-o", "BatchMode=yes", "fresh", "true"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert ssh.returncode != 0 and b"Host key verification failed" in ssh.stderr
    status = await check_host(HostTarget("fresh"), ConnectSettings(config), timeout=30)
    assert status.unreached is ConnectErrorKind.HOST_KEY_UNKNOWN, status
    assert token_summary(status, NOW) == ("host key not yet trusted", "warn")


async def test_a_refused_port_is_unreachable_whatever_its_words(tmp_path: Path) -> None:
    with socket.socket() as held:  # a loopback port that nothing listens on
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
    config = tmp_path / "config"
    config.write_text(f"Host shut\n  HostName 127.0.0.1\n  Port {port}\n")
    status = await check_host(HostTarget("shut"), ConnectSettings(config), timeout=10)
    assert status.unreached is ConnectErrorKind.NETWORK, status
    assert token_summary(status, NOW) == ("unreachable", "bad")
