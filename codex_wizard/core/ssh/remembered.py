"""Hosts the user typed before, kept in a small JSON state file in the user's config dir.

The file holds host labels (``user@host:port``) and when each was last used, most recent first;
nothing secret. It is written atomically with mode 0600 (its folder 0700). A missing, corrupt or
unreadable file never raises: it reads as no remembered hosts, and the next save replaces it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import platformdirs

from .. import clock
from ..files import atomic_write
from .hosts import HostArgError, HostTarget, parse_host_arg

APP_NAME = "codex-wizard"
STATE_FILE = "state.json"
STATE_VERSION = 1
DEFAULT_LIMIT = 20
_MAX_STATE_BYTES = 256 * 1024


def default_state_path() -> Path:
    """``state.json`` in platformdirs.user_config_dir("codex-wizard")."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / STATE_FILE


@dataclass(frozen=True)
class RememberedHost:
    target: HostTarget
    last_used: datetime | None = None


class RememberedHosts:
    """Load, add and forget remembered hosts. ``path=None`` means the default state file."""

    def __init__(self, path: Path | None = None, *, limit: int = DEFAULT_LIMIT) -> None:
        self.path = path if path is not None else default_state_path()
        self.limit = max(1, limit)

    def entries(self) -> list[RememberedHost]:
        """Remembered hosts, most recently used first; entries that no longer parse are skipped."""
        found: list[RememberedHost] = []
        seen: set[HostTarget] = set()
        for item in self._load_document().get("hosts", []):
            entry = _entry_from_json(item)
            if entry is not None and entry.target not in seen:
                seen.add(entry.target)
                found.append(entry)
        return found[: self.limit]

    def targets(self) -> list[HostTarget]:
        return [entry.target for entry in self.entries()]

    def remember(self, target: HostTarget, now: datetime | None = None) -> None:
        """Put target first (moving it up if it was there), keeping at most `limit` entries."""
        entry = RememberedHost(target, now or clock.now())
        others = [old for old in self.entries() if old.target != target]
        self._save([entry, *others][: self.limit])

    def forget(self, target: HostTarget) -> bool:
        """Remove target; True when it was remembered."""
        entries = self.entries()
        kept = [entry for entry in entries if entry.target != target]
        if len(kept) == len(entries):
            return False
        self._save(kept)
        return True

    def _load_document(self) -> dict:
        try:
            with self.path.open("rb") as handle:
                data = handle.read(_MAX_STATE_BYTES + 1)
        except (OSError, ValueError):
            return {}
        if len(data) > _MAX_STATE_BYTES:
            return {}
        try:
            doc = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError):
            return {}
        if not isinstance(doc, dict) or not isinstance(doc.get("hosts"), list):
            return {}
        return doc

    def _save(self, entries: list[RememberedHost]) -> None:
        doc = self._load_document()
        doc["version"] = STATE_VERSION
        doc["hosts"] = [_entry_to_json(entry) for entry in entries]
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = (json.dumps(doc, indent=2) + "\n").encode()
        atomic_write(self.path, data, mode=0o600)


class MemoryHosts(RememberedHosts):
    """Remembered hosts that live only as long as the object (demo mode, tests)."""

    def __init__(self, *, limit: int = DEFAULT_LIMIT) -> None:
        super().__init__(Path(os.devnull), limit=limit)
        self._entries: list[RememberedHost] = []

    def entries(self) -> list[RememberedHost]:
        return list(self._entries[: self.limit])

    def _save(self, entries: list[RememberedHost]) -> None:
        self._entries = list(entries)


def _entry_to_json(entry: RememberedHost) -> dict[str, str | None]:
    return {
        "host": entry.target.label(),
        "last_used": entry.last_used.isoformat() if entry.last_used else None,
    }


def _entry_from_json(item: object) -> RememberedHost | None:
    if not isinstance(item, dict) or not isinstance(item.get("host"), str):
        return None
    try:
        target = parse_host_arg(item["host"])
    except HostArgError:
        return None
    return RememberedHost(target, _parse_time(item.get("last_used")))


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
