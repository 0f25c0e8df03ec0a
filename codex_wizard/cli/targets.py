"""The hosts a command names: HOST arguments, or Ansible host patterns with --inventory.

The inventory's reader loads only when --inventory is given: the wizard's start-up never waits
for it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.ssh.hosts import HostTarget
from ..errors import EXIT_USAGE, UserError, parse_target

if TYPE_CHECKING:
    from ..core.ssh.inventory import Inventory


def add_inventory_options(parser: argparse.ArgumentParser) -> None:
    """--inventory and --limit, as `ansible` takes them."""
    parser.add_argument(
        "--inventory",
        action="append",
        type=Path,
        metavar="PATH",
        help="Ansible inventory (repeatable): HOST arguments are then Ansible host patterns "
        "(all, a group, web*), reached with the inventory's settings (needs codex-wizard[ansible])",
    )
    parser.add_argument(
        "--limit", metavar="PATTERN", help="with --inventory: only hosts also matching this"
    )


async def command_targets(args: argparse.Namespace, names: Sequence[str]) -> list[HostTarget]:
    """The targets of a command: each HOST parsed, or the inventory's hosts the patterns match."""
    inventory = await command_inventory(args, names)
    if inventory is None:
        return [parse_target(name) for name in names]  # typed: a bad one is a usage error
    return list(inventory.targets)


async def command_inventory(args: argparse.Namespace, names: Sequence[str]) -> Inventory | None:
    """With --inventory, the hosts the patterns (default all) match and their groups, as
    Ansible reads them; None without it."""
    from ..core.ssh.inventory import InventoryError, InventoryRequest, read_inventory

    inventories = getattr(args, "inventory", None)
    if not inventories:
        if getattr(args, "limit", None):
            raise UserError("--limit goes with --inventory.", EXIT_USAGE)
        return None

    def skipped(name: str, why: str) -> None:
        print(f"codex-wizard: skipped inventory host {name!r}: {why}", file=sys.stderr)

    request = InventoryRequest(tuple(inventories), tuple(names), args.limit)
    try:
        return await read_inventory(request, skipped)
    except InventoryError as exc:
        raise UserError(str(exc)) from None
