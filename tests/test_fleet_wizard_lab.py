"""The wizard's host list on a real inventory of the lab's sshd (issue 23): each group it shows
marks exactly the hosts `ansible -i inv GROUP --list-hosts` lists (children, host ranges, a host
in two groups), and re-checking the marked group reaches each of its hosts over SSH with the
inventory's settings (the real core behind the wizard, no fake)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from textual.widgets import DataTable

from codex_wizard.core.ssh.inventory import InventoryRequest, read_inventory
from codex_wizard.core.ssh.remembered import MemoryHosts
from codex_wizard.core.ssh.types import ConnectSettings
from codex_wizard.core.tokens.state import TokenState
from codex_wizard.tui.app import WizardApp
from tests.lab.sshlab import SshLab
from tests.test_fleet_wizard_inventory import choose_row, names, row_names
from tests.test_inventory_lab import ANSIBLE, lab_ssh_config
from tests.tui_fakes import screen_name, wait_for


def lab_inventory(lab: SshLab, tmp: Path) -> Path:
    """Five names of the lab's one sshd, in groups that nest and overlap."""
    inventory = tmp / "inv.ini"
    inventory.write_text(
        "[web]\nweb-a\nweb-b\n"
        "[db]\ndb-a\n"
        "[stage]\nweb-b\nedge-2\n"
        "[edge]\nedge-[1:2]\n"
        "[prod:children]\nweb\ndb\n"
        "[all:vars]\n"
        f"ansible_host=127.0.0.1\nansible_port={lab.port}\nansible_user={lab.user}\n"
        f"ansible_ssh_private_key_file={lab.client_key}\n"
    )
    return inventory


def ansible_lists(inventory: Path, group: str, tmp: Path) -> set[str]:
    """`ansible -i inv GROUP --list-hosts`: the hosts real Ansible counts in the group."""
    env = {
        **os.environ,
        "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "PYTHONWARNINGS": "ignore",
    }
    argv = [str(ANSIBLE), "-i", str(inventory), group, "--list-hosts"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True, timeout=120)
    lines = done.stdout.splitlines()
    assert lines[0].strip().startswith("hosts ("), done.stdout
    return {line.strip() for line in lines[1:]}


async def test_each_group_marks_what_ansible_lists_and_its_hosts_are_checked(
    lab: SshLab, tmp_path: Path
) -> None:
    config = lab_ssh_config(lab, tmp_path)
    path = lab_inventory(lab, tmp_path)
    inventory = await read_inventory(InventoryRequest((path,)))
    app = WizardApp(
        settings=ConnectSettings(ssh_config=config),
        inventory=inventory,
        remembered=MemoryHosts(),
        check_statuses=True,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
        screen = app.screen
        groups = [row[1:-1] for row in row_names(app) if row.startswith("[")]
        assert sorted(groups) == ["db", "edge", "prod", "stage", "web"]
        for group in groups:
            await choose_row(pilot, app, f"[{group}]", "enter")
            assert names(screen.marked) == ansible_lists(path, group, tmp_path), group

        await choose_row(pilot, app, "[prod]", "enter")
        await wait_for(pilot, lambda: not any(w.is_running for w in screen.workers), timeout=60)
        await pilot.press("r")  # the marked group's hosts, checked again over SSH
        table = screen.query_one("#hosts", DataTable)
        marked = sorted(names(screen.marked))
        assert marked == ["db-a", "web-a", "web-b"]

        def checked() -> bool:
            return all("checking" not in str(table.get_cell(host, "token")) for host in marked)

        await wait_for(pilot, checked, timeout=60)
        states = {host: screen.statuses[host].state for host in marked}
        assert TokenState.ERROR not in states.values(), {
            host: screen.statuses[host].error for host in marked
        }
