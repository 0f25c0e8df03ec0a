"""Hosts from Ansible inventories, with the connection settings Ansible would use for each.

Ansible itself reads the inventories and the patterns (core/ssh/ansible_dump.py, in a process
of its own); here its answer becomes HostTargets. A host is reached as Ansible's ssh connection
reaches it: `ssh [ansible_ssh_args] -o Port=ansible_port -o IdentityFile=... -o User=...
[ansible_ssh_common_args] [ansible_ssh_extra_args] ansible_host`, so the settings are the
target's ssh_options, read before the user's ssh_config, in that order (the first one wins).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..sanitize import printable
from .ansible_dump import NO_ANSIBLE
from .hosts import HostTarget
from .sshargs import SshArgsError, config_line, ssh_option_lines

__all__ = [
    "Inventory",
    "InventoryError",
    "InventoryRequest",
    "inventory_targets",
    "read_inventory",
    "target_from_vars",
]

INSTALL_HINT = (
    "--inventory needs Ansible (ansible-core) beside codex-wizard: "
    "pip install 'codex-wizard[ansible]' (with pipx: pipx inject codex-wizard ansible-core)"
)
SSH_CONNECTIONS = frozenset({"ssh", "smart", "paramiko", "paramiko_ssh"})
DEFAULT_TIMEOUT = 120.0


class InventoryError(Exception):
    """The inventory could not be read, or named no host we can reach: in words for the user."""


@dataclass(frozen=True)
class InventoryRequest:
    """What to ask Ansible: inventory sources, a host pattern, an optional --limit."""

    sources: tuple[Path, ...]
    patterns: tuple[str, ...] = ()
    limit: str | None = None

    @property
    def pattern(self) -> str:
        """Several patterns are one, as Ansible joins them: `web db` is `web:db`."""
        return ":".join(self.patterns) or "all"


@dataclass(frozen=True)
class Inventory:
    """The hosts a request names, as targets in Ansible's order, and the inventory's groups:
    each the targets among them that Ansible counts in it (its children's hosts too)."""

    request: InventoryRequest
    targets: tuple[HostTarget, ...]
    groups: Mapping[str, tuple[HostTarget, ...]]

    def group(self, name: str) -> tuple[HostTarget, ...]:
        """The hosts of group `name` (none for a group this inventory doesn't have)."""
        return self.groups.get(name, ())


def _last(hostvars: Mapping[str, object], *names: str) -> object | None:
    """The value of the last of names that is set: Ansible's rule for a setting's variables."""
    found = None
    for name in names:
        if hostvars.get(name) is not None:
            found = hostvars[name]
    return found


def _words(hostvars: Mapping[str, object], name: str) -> list[str]:
    value = hostvars.get(name)
    return shlex.split(str(value)) if value else []


def _option_lines(hostvars: Mapping[str, object]) -> list[str]:
    """The ssh_config lines for Ansible's ssh command line, in the order Ansible builds it."""
    lines = ssh_option_lines(_words(hostvars, "ansible_ssh_args"))
    port = _last(hostvars, "ansible_port", "ansible_ssh_port")
    if port is not None:
        lines.append(config_line("Port", str(port)))
    key = _last(hostvars, "ansible_private_key_file", "ansible_ssh_private_key_file")
    if key:
        lines.append(config_line("IdentityFile", os.path.expanduser(str(key))))
    user = _last(hostvars, "ansible_user", "ansible_ssh_user")
    if user:
        lines.append(config_line("User", str(user)))
    for name in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        lines += ssh_option_lines(_words(hostvars, name))
    return lines


def target_from_vars(name: str, hostvars: Mapping[str, object]) -> HostTarget:
    """The target Ansible's ssh connection would reach for inventory host `name`.

    Raises InventoryError when it is not reached over SSH (ansible_connection=local, docker…)
    or its ssh arguments are ones we cannot honour.
    """
    connection = str(hostvars.get("ansible_connection") or "ssh")
    if connection not in SSH_CONNECTIONS:
        raise InventoryError(f"ansible_connection={connection}: not reached over SSH")
    destination = str(_last(hostvars, "ansible_host", "ansible_ssh_host") or name)
    try:
        options = tuple(_option_lines(hostvars))
    except SshArgsError as exc:
        raise InventoryError(str(exc)) from None
    return HostTarget(destination, ssh_options=options, alias=name)


def _dump_command(request: InventoryRequest) -> list[str]:
    payload = {
        "sources": [str(path) for path in request.sources],
        "pattern": request.pattern,
        "limit": request.limit,
    }
    return [sys.executable, "-m", "codex_wizard.core.ssh.ansible_dump", json.dumps(payload)]


async def _run_dump(request: InventoryRequest, timeout: float) -> tuple[dict[str, Any], str]:
    """Ansible's answer and what it said on stderr (its warnings); its process is ended if
    we are (no Ansible left running)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "ANSIBLE_NOCOLOR": "1"}
    proc = await asyncio.create_subprocess_exec(
        *_dump_command(request),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise
    if proc.returncode == NO_ANSIBLE:
        raise InventoryError(INSTALL_HINT)
    said = printable(err.decode(errors="replace")).strip()
    lines = out.decode(errors="replace").strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise InventoryError(f"Ansible could not read the inventory: {said or proc.returncode}")
    return json.loads(lines[-1]), said


async def read_inventory(
    request: InventoryRequest,
    on_skip: Callable[[str, str], None] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> Inventory:
    """The hosts `ansible PATTERN -i SOURCES --limit LIMIT` reaches, as targets, in Ansible's
    order, and the groups they are in. A host we can't reach as Ansible would is left out and
    given to on_skip with why. Raises InventoryError without Ansible, for an inventory it can't
    read, or for no host."""
    missing = [str(path) for path in request.sources if not path.exists()]
    if missing:
        raise InventoryError(f"no inventory at {', '.join(missing)}")
    by_name: dict[str, HostTarget] = {}
    found, said = await _run_dump(request, timeout)
    for entry in found["hosts"]:
        name = printable(str(entry["name"]))
        try:
            if "error" in entry:
                raise InventoryError(printable(str(entry["error"])))
            by_name[str(entry["name"])] = target_from_vars(name, entry["vars"])
        except InventoryError as exc:
            if on_skip is not None:
                on_skip(name, str(exc))
    if not by_name:
        ansible_said = f" (Ansible said: {said})" if said else ""
        raise InventoryError(f"no host to check matches {request.pattern!r}{ansible_said}")
    groups = {
        printable(str(group)): members
        for group, names in found["groups"].items()
        if (members := tuple(by_name[name] for name in names if name in by_name))
    }
    return Inventory(request, tuple(by_name.values()), groups)


async def inventory_targets(
    request: InventoryRequest,
    on_skip: Callable[[str, str], None] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[HostTarget]:
    """The hosts `ansible PATTERN -i SOURCES --limit LIMIT` reaches, as targets (read_inventory)."""
    return list((await read_inventory(request, on_skip, timeout=timeout)).targets)
