"""The host list the wizard offers: ssh_config's Host aliases, then the hosts typed before; or,
started with --inventory, the inventory's hosts and its groups (a group is a set of hosts to mark,
as Ansible counts them: core/ssh/inventory.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .hosts import HostTarget, config_targets, list_config_hosts
from .remembered import RememberedHosts

if TYPE_CHECKING:
    from .inventory import Inventory


class HostList:
    """`fixed` hosts (the demo's, a test's) or an inventory's replace ssh_config and remembered
    ones."""

    def __init__(
        self,
        ssh_config: Path | None,
        remembered: RememberedHosts,
        fixed: Sequence[HostTarget] | None = None,
        fixed_source: str = "given",
        inventory: Inventory | None = None,
    ) -> None:
        self.ssh_config = ssh_config
        self.remembered = remembered
        self.inventory = inventory
        if inventory is not None:
            fixed, fixed_source = inventory.targets, "inventory"
        self.fixed = list(fixed) if fixed is not None else None
        self.fixed_source = fixed_source

    def groups(self) -> list[tuple[str, tuple[HostTarget, ...]]]:
        """The inventory's groups with their hosts, in its order (none without an inventory)."""
        return list(self.inventory.groups.items()) if self.inventory is not None else []

    def entries(self) -> list[tuple[HostTarget, str]]:
        """(target, where it comes from), each target once."""
        if self.fixed is not None:
            return [(target, self.fixed_source) for target in self.fixed]
        entries: list[tuple[HostTarget, str]] = []
        seen: set[HostTarget] = set()
        for target in config_targets(self.ssh_config):
            if target not in seen:
                seen.add(target)
                entries.append((target, "ssh_config"))
        for target in self.remembered.targets():
            if target not in seen:
                seen.add(target)
                entries.append((target, "remembered"))
        return entries

    def from_ssh_config(self, target: HostTarget) -> bool:
        if self.fixed is not None:
            return True
        return (
            target.user is None
            and target.port is None
            and target.name in set(list_config_hosts(self.ssh_config))
        )

    def remember(self, target: HostTarget, now: datetime) -> None:
        """A host typed by hand is offered next time (never fails the login)."""
        if not self.from_ssh_config(target):
            with contextlib.suppress(OSError):
                self.remembered.remember(target, now)

    def forget(self, target: HostTarget) -> bool:
        return self.remembered.forget(target)
