"""The cipher a connection uses (core/ssh/config.py gcm_first): with no Ciphers in ssh_config,
AES-GCM, which OpenSSH offers by default too and which costs asyncssh a seventh of
chacha20-poly1305's CPU per packet; a Ciphers line is used as written, as `ssh -G` reads it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codex_wizard.core.ssh.connection import connect
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.types import ConnectSettings
from tests.lab import SshLab
from tests.test_lab_ssh import _config

pytestmark = pytest.mark.lab


async def cipher_of(config: Path, alias: str) -> str:
    async with await connect(HostTarget(alias), ConnectSettings(config)) as conn:
        return conn.ssh.get_extra_info("send_cipher")


async def test_no_ciphers_line_means_aes_gcm(lab: SshLab, tmp_path: Path) -> None:
    config = _config(lab, tmp_path, "plain")
    assert "ciphers" not in config.read_text().lower()
    assert await cipher_of(config, "plain") == "aes256-gcm@openssh.com"


@pytest.mark.parametrize("cipher", ["chacha20-poly1305@openssh.com", "aes128-ctr"])
async def test_a_ciphers_line_is_used_as_written(lab: SshLab, tmp_path: Path, cipher: str) -> None:
    config = _config(lab, tmp_path, "chosen", Ciphers=cipher)
    said = subprocess.run(
        ["ssh", "-G", "-F", str(config), "chosen"], capture_output=True, text=True
    )
    assert f"ciphers {cipher}" in said.stdout.splitlines()
    assert await cipher_of(config, "chosen") == cipher
