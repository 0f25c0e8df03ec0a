"""`status --inventory inv.ini web` against the lab sshd checks exactly the hosts, with exactly
the connection settings, that real `ansible -i inv.ini web -m raw -a true` reaches (issue 23).

Each inventory host varies one setting Ansible honours (ansible_host, ansible_port,
ansible_user, ansible_ssh_private_key_file, -o Port= and -i in ansible_ssh_common_args,
-J and -o ProxyJump=, group vars, which of port and -o Port wins); a wrong one is refused by
both tools, a right one reached by both. Ansible runs OpenSSH with the same ssh_config (-F).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import CLI

ANSIBLE = Path(sys.executable).parent / "ansible"
ANSIBLE_ROW = re.compile(r"^(\S+) \| ([A-Z]+)", re.MULTILINE)


def lab_ssh_config(lab: SshLab, tmp: Path) -> Path:
    """A config both tools read: a `jump` host, and for every host known_hosts, no agent, and
    a wrong port and user that the inventory's settings must win over."""
    host_key = " ".join((lab.dir / "ssh_host_ed25519_key.pub").read_text().split()[:2])
    known = tmp / "known_hosts"
    # the lab's sshd through the bridge, and itself as seen through the jump (port 22)
    known.write_text(f"[127.0.0.1]:{lab.port} {host_key}\n127.0.0.1 {host_key}\n")
    config = tmp / "ssh_config"
    config.write_text(
        f"Host jump\n  HostName 127.0.0.1\n  Port {lab.port}\n  User {lab.user}\n"
        f"  IdentityFile {lab.client_key}\n"
        "Host *\n  Port 1\n  User nobody\n"
        "  IdentitiesOnly yes\n  IdentityAgent none\n  BatchMode yes\n"
        f"  UserKnownHostsFile {known}\n  GlobalKnownHostsFile /dev/null\n"
        "  StrictHostKeyChecking yes\n  UpdateHostKeys no\n"
    )
    return config


def lab_inventory(lab: SshLab, tmp: Path) -> Path:
    port, key = lab.port, lab.client_key
    at_lab = f"ansible_host=127.0.0.1 ansible_port={port}"
    through_jump = f"ansible_host=127.0.0.1 ansible_port=22 ansible_ssh_private_key_file={key}"
    inventory = tmp / "inv.ini"
    inventory.write_text(
        "[web]\n"
        f"web-key {at_lab} ansible_ssh_private_key_file={key}\n"
        f"web-common-args ansible_host=127.0.0.1"
        f" ansible_ssh_common_args='-o Port={port} -i {key}'\n"
        f"web-no-key {at_lab}\n"
        f"web-wrong-user {at_lab} ansible_user=nobody ansible_ssh_private_key_file={key}\n"
        f"web-port-first ansible_host=127.0.0.1 ansible_port=1 ansible_ssh_private_key_file={key}"
        f" ansible_ssh_extra_args='-o Port={port}'\n"
        f"web-jump-J {through_jump} ansible_ssh_extra_args='-J jump'\n"
        f"web-jump-o {through_jump} ansible_ssh_common_args='-o ProxyJump=jump'\n"
        "[web:vars]\n"
        f"ansible_user={lab.user}\n"
        "[db]\n"
        f"db1 {at_lab} ansible_user={lab.user} ansible_ssh_private_key_file={key}\n"
    )
    return inventory


def ansible_reaches(inventory: Path, pattern: str, config: Path, tmp: Path) -> dict[str, bool]:
    """Host -> reached, as `ansible PATTERN -m raw -a true` says (OpenSSH, -F config)."""
    env = {
        **os.environ,
        "ANSIBLE_SSH_ARGS": f"-F {config}",  # instead of ControlMaster: no ssh left running
        "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_TIMEOUT": "20",
        "ANSIBLE_NOCOLOR": "1",
        "PYTHONWARNINGS": "ignore",
    }
    argv = [str(ANSIBLE), pattern, "-i", str(inventory), "-m", "raw", "-a", "true", "-o"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp, timeout=180)
    rows = dict(ANSIBLE_ROW.findall(done.stdout))
    assert rows, done.stdout + done.stderr
    return {host: outcome in ("CHANGED", "SUCCESS") for host, outcome in rows.items()}


def status_reaches(inventory: Path, pattern: str, config: Path) -> dict[str, bool]:
    """Host -> reached, as `codex-wizard status --inventory ... PATTERN` says (-F config)."""
    argv = [*CLI, "status", "--inventory", str(inventory), pattern, "-F", str(config)]
    done = subprocess.run([*argv, "--json"], capture_output=True, text=True, timeout=180)
    assert "Traceback" not in done.stderr, done.stderr
    return {row["host"]: row["state"] != "error" for row in json.loads(done.stdout)}


def test_status_reaches_what_ansible_reaches(lab: SshLab, tmp_path: Path) -> None:
    config = lab_ssh_config(lab, tmp_path)
    inventory = lab_inventory(lab, tmp_path)
    ansible = ansible_reaches(inventory, "web", config, tmp_path)
    ours = status_reaches(inventory, "web", config)
    assert ours == ansible
    reached = {host for host, ok in ours.items() if ok}
    assert reached == {"web-key", "web-common-args", "web-jump-J", "web-jump-o"}, ours


def test_doctor_takes_one_inventory_host(lab: SshLab, tmp_path: Path) -> None:
    config = lab_ssh_config(lab, tmp_path)
    inventory = lab_inventory(lab, tmp_path)
    base = [*CLI, "doctor", "--inventory", str(inventory), "-F", str(config)]
    done = subprocess.run([*base, "web-jump-J", "--json"], capture_output=True, text=True)
    report = json.loads(done.stdout)
    assert report["host"] == "web-jump-J"
    connection = next(check for check in report["checks"] if check["name"] == "ssh")
    assert connection["verdict"] == "pass", report
    several = subprocess.run([*base, "web"], capture_output=True, text=True)
    assert several.returncode == 2
    assert "doctor checks one host; 'web' is web-key, web-common-args" in several.stderr
