"""Ansible inventories as targets (core/ssh/inventory.py, core/ssh/sshargs.py): real Ansible
chooses the hosts and resolves their variables; OpenSSH's own `ssh -G` says what its command
line means, and asyncssh must read our options file the same way."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codex_wizard.core.ssh.config import identity_files, resolve_options
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.inventory import (
    InventoryError,
    InventoryRequest,
    inventory_targets,
    target_from_vars,
)
from codex_wizard.core.ssh.sshargs import SshArgsError, ssh_option_lines
from codex_wizard.core.ssh.types import ConnectSettings
from tests.test_e2e_cli import CLI

# ---------------------------------------------------------------------------- ssh's arguments


def test_ssh_words_become_config_lines_in_order() -> None:
    words = ["-o", "Port=2222", "-J", "bastion", "-i", "/k/my key", "-p22", "-4C", "-lops", "-v"]
    assert ssh_option_lines(words) == [
        "Port 2222",
        "ProxyJump bastion",
        'IdentityFile "/k/my key"',
        "Port 22",
        "AddressFamily inet",
        "Compression yes",
        "User ops",
    ]


@pytest.mark.parametrize(
    "words",
    [["-F", "other_config"], ["-L", "1:h:2"], ["web1"], ["-o"], ["-o", "Port"], ["-J", "a\nb"]],
)
def test_ssh_words_we_cannot_honour_are_refused(words: list[str]) -> None:
    with pytest.raises(SshArgsError):
        ssh_option_lines(words)


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs OpenSSH's ssh")
def test_options_win_over_ssh_config_as_on_ssh_command_line(tmp_path: Path) -> None:
    """`ssh -G` (no connection) with the words on its command line, against asyncssh reading
    our options file before the same ssh_config: the same port, user, jump and keys."""
    cli_key, config_key = tmp_path / "cli_key", tmp_path / "config_key"
    for key in (cli_key, config_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host web\n  HostName 10.9.8.7\n  Port 1\n  User cfguser\n  IdentityFile {config_key}\n"
    )
    words = ["-o", "Port=2222", "-l", "ops", "-J", "jump.example", "-i", str(cli_key)]
    argv = ["ssh", "-G", "-F", str(config), *words, "web"]
    said = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()
    ssh = {}
    for line in said:
        key, _, value = line.partition(" ")
        ssh.setdefault(key, []).append(value)
    target = HostTarget("web", ssh_options=tuple(ssh_option_lines(words)))
    ours = resolve_options(target, ConnectSettings(ssh_config=config)).options
    assert str(ours.port) == ssh["port"][0] == "2222"
    assert ours.username == ssh["user"][0] == "ops"
    assert ours.tunnel == ssh["proxyjump"][0] == "jump.example"
    assert ours.host == ssh["hostname"][0] == "10.9.8.7"
    keys = [str(path) for path in identity_files(ours)]
    assert keys == ssh["identityfile"] == [str(cli_key), str(config_key)]


# ---------------------------------------------------------------------------- one host's vars


def test_a_host_is_reached_as_ansibles_ssh_connection_reaches_it() -> None:
    hostvars = {
        "ansible_host": "10.0.0.1",
        "ansible_ssh_host": "10.0.0.2",  # the later spelling wins, as in Ansible
        "ansible_port": 2200,
        "ansible_user": "deploy",
        "ansible_ssh_private_key_file": "~/.ssh/fleet",
        "ansible_ssh_common_args": "-o ProxyJump=bastion",
        "ansible_ssh_extra_args": "-o Port=9",
    }
    target = target_from_vars("web1", hostvars)
    key = os.path.expanduser("~/.ssh/fleet")
    assert target == HostTarget(
        "10.0.0.2",
        ssh_options=(
            "Port 2200",
            f"IdentityFile {key}",
            "User deploy",
            "ProxyJump bastion",
            "Port 9",
        ),
        alias="web1",
    )
    assert target.label() == "web1"


@pytest.mark.parametrize(
    "hostvars",
    [{"ansible_connection": "local"}, {"ansible_ssh_common_args": "-L 8080:h:80"}],
)
def test_a_host_not_reached_over_ssh_as_meant_is_refused(hostvars: dict[str, object]) -> None:
    with pytest.raises(InventoryError):
        target_from_vars("h", hostvars)


# ---------------------------------------------------------------------------- real Ansible


def write_inventory(tmp: Path) -> Path:
    (tmp / "group_vars").mkdir()
    (tmp / "group_vars" / "web.yml").write_text("ansible_user: deploy\nsite_port: 2201\n")
    (tmp / "host_vars").mkdir()
    (tmp / "host_vars" / "web2.yml").write_text("ansible_user: web2-owner\n")
    inventory = tmp / "inv.ini"
    inventory.write_text(
        "[web]\n"
        "web1 ansible_host=10.0.0.1 ansible_port='{{ site_port }}'\n"
        "web2\n"
        "web3\n"
        "[db]\n"
        "db1 ansible_connection=local\n"
        "db2\n"
    )
    return inventory


def targets(request: InventoryRequest) -> tuple[list[HostTarget], list[str]]:
    skipped: list[str] = []
    found = asyncio.run(inventory_targets(request, lambda name, why: skipped.append(name)))
    return found, skipped


def test_ansible_chooses_the_hosts_and_resolves_their_vars(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path)
    found, skipped = targets(InventoryRequest((inventory,), ("web*:db",), limit="!web3"))
    assert [target.label() for target in found] == ["web1", "web2", "db2"]
    assert skipped == ["db1"]  # ansible_connection=local: nothing to reach over SSH
    web1, web2, db2 = found
    assert web1.name == "10.0.0.1"
    assert web1.ssh_options == ("Port 2201", "User deploy")  # group_vars, a template rendered
    assert web2.ssh_options == ("User web2-owner",)  # host_vars over group_vars
    assert db2 == HostTarget("db2", alias="db2")


def test_no_matching_host_says_so_with_ansibles_words(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path)
    with pytest.raises(InventoryError, match=r"no host to check matches 'mail'.*mail"):
        targets(InventoryRequest((inventory,), ("mail",)))


def test_without_ansible_the_command_says_how_to_install_it(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path)
    blocked = tmp_path / "blocked" / "ansible"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('no ansible here')\n")
    env = {**os.environ, "PYTHONPATH": str(blocked.parent), "PYTHONWARNINGS": "ignore"}
    argv = [*CLI, "status", "--inventory", str(inventory), "web"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "pip install 'codex-wizard[ansible]'" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert sys.executable  # the same interpreter runs Ansible's side


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["status", "--limit", "web1", "127.0.0.1"], 2, "--limit goes with --inventory"),
        (["login", "--inventory", "INV", "mail", "--no-tui"], 1, "no host to check matches"),
        (["doctor", "--inventory", "INV", "mail"], 1, "no host to check matches"),
        (["status", "--json", "--format", "nagios", "127.0.0.1"], 2, "--json is --format json"),
    ],
)
def test_inventory_options_are_checked_before_connecting(
    tmp_path: Path, args: list[str], code: int, said: str
) -> None:
    inventory = str(write_inventory(tmp_path))
    argv = [*CLI, *(inventory if arg == "INV" else arg for arg in args)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert (done.returncode, done.stdout) == (code, "")
    assert said in done.stderr and "Traceback" not in done.stderr
