"""ssh_config lines are split once for every host (core/ssh/config.py split_each_line_once): what
asyncssh then reads for each host is still what OpenSSH's `ssh -G` reads, and a line with bad
quotes is refused every time, not remembered as fine."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from codex_wizard.core.ssh.config import resolve_options
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.types import ConnectSettings

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs OpenSSH's ssh")


def ssh_g(config: Path, host: str) -> dict[str, str]:
    argv = ["ssh", "-G", "-F", str(config), host]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return dict(line.partition(" ")[::2] for line in out.splitlines())


def test_each_host_reads_its_own_values_as_ssh_does(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    blocks = [
        f'Host web{n}\n  HostName "10.0.0.{n}"\n  User "ops {n}"\n  Port {2200 + n}\n'
        for n in range(1, 6)
    ]
    config.write_text("".join(blocks) + "Host *\n  ProxyJump bastion.example\n")
    settings = ConnectSettings(ssh_config=config)
    for n in (1, 2, 5, 2):
        ours = resolve_options(HostTarget(f"web{n}"), settings).options
        ssh = ssh_g(config, f"web{n}")
        assert (ours.host, ours.username, str(ours.port), ours.tunnel) == (
            ssh["hostname"],
            ssh["user"],
            ssh["port"],
            ssh["proxyjump"],
        )
        assert ours.username == f"ops {n}"


def test_a_line_with_bad_quotes_is_refused_each_time(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text('Host web\n  User "unclosed\n')
    refused = subprocess.run(["ssh", "-G", "-F", str(config), "web"], capture_output=True)
    assert refused.returncode != 0  # OpenSSH refuses the file too
    for _ in range(2):
        with pytest.raises(ValueError):
            resolve_options(HostTarget("web"), ConnectSettings(ssh_config=config))
