"""The host list the wizard offers: ssh_config's Host aliases, then the hosts typed before."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from .hosts import HostTarget, config_targets, list_config_hosts
from .remembered import RememberedHosts


class HostList:
    """`fixed` hosts (the demo's, a test's) replace ssh_config and remembered ones."""

    def __init__(
        self,
        ssh_config: Path | None,
        remembered: RememberedHosts,
        fixed: Sequence[HostTarget] | None = None,
        fixed_source: str = "given",
    ) -> None:
        self.ssh_config = ssh_config
        self.remembered = remembered
        self.fixed = list(fixed) if fixed is not None else None
        self.fixed_source = fixed_source

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
