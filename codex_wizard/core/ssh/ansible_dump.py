"""Run by core/ssh/inventory.py as `python -m codex_wizard.core.ssh.ansible_dump REQUEST`, in
a process of its own: Ansible (GPL, slow to import) never loads into codex-wizard itself.

It does what `ansible PATTERN -i SOURCE... --limit LIMIT` does to choose hosts (Ansible's
InventoryManager: INI, YAML, directories, scripts, plugins; its patterns: groups, `web*`,
`a:&b`, `!c`, `~regex`), and what Ansible's ssh connection does to read a host's connection
variables (group_vars/host_vars merged by its VariableManager, Jinja templates rendered). It
prints one JSON object: "hosts", a list of {"name", "vars"} per host in Ansible's order, or
{"name", "error"}; and "groups", each group's hosts as `ansible GROUP --list-hosts` gives them
(its children's hosts too, --limit applied), in the inventory's order of groups.
"""

from __future__ import annotations

import json
import sys
from typing import Any

NO_ANSIBLE = 3  # the exit code when Ansible cannot be imported here
# The variables Ansible's ssh connection reads (ansible-doc -t connection ssh), all spellings.
CONNECTION_VARS = (
    "ansible_connection",
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_private_key_file",
    "ansible_ssh_private_key_file",
    "ansible_ssh_args",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
)


def _host_entry(name: str, hostvars: dict[str, Any], render: Any) -> dict[str, object]:
    try:
        found = {key: render(hostvars[key]) for key in CONNECTION_VARS if key in hostvars}
    except Exception as exc:  # Ansible's own words: an undefined variable, a bad template
        return {"name": name, "error": f"{type(exc).__name__}: {exc}"}
    return {"name": name, "vars": {key: value for key, value in found.items() if value is not None}}


def dump(sources: list[str], pattern: str, limit: str | None) -> dict[str, object]:
    """The hosts `ansible PATTERN -i SOURCES --limit LIMIT` would reach, with their
    connection variables as Ansible resolves them, and the hosts of each group."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=sources)
    variables = VariableManager(loader=loader, inventory=inventory)
    inventory.subset(limit)
    entries = []
    for host in inventory.get_hosts(pattern):
        hostvars = variables.get_vars(host=host, include_hostvars=False)
        templar = Templar(loader=loader, variables=hostvars)
        entries.append(_host_entry(host.name, hostvars, templar.template))
    groups = {
        name: [host.name for host in inventory.get_hosts(name)]
        for name in inventory.groups
        if name != "all"
    }
    return {"hosts": entries, "groups": groups}


def main() -> None:
    request = json.loads(sys.argv[1])
    try:
        found = dump(request["sources"], request["pattern"], request.get("limit"))
    except ImportError:
        sys.exit(NO_ANSIBLE)
    print(json.dumps(found))


if __name__ == "__main__":
    main()
