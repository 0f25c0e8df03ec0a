#!/usr/bin/env python3
"""Helpers of `scripts/test --latest` (the standard library only, but for `packaging` in drift).

`python3 scripts/lockinfo.py names`: every dependency of pyproject.toml (runtime, the test extra,
the build backend) by name, without its range, one a line.

`python scripts/lockinfo.py drift LOCK`, run by a venv's Python: the versions installed there that
differ from LOCK's pins, and those outside pyproject.toml's ranges.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "codex-wizard"
NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*([^;]*)(;.*)?$")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements() -> list[str]:
    """pyproject.toml's requirements: runtime, the test extra, the build backend."""
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = doc["project"]
    return [
        *project["dependencies"],
        *project["optional-dependencies"]["test"],
        *doc["build-system"]["requires"],
    ]


def names() -> list[str]:
    """Each requirement without its version range (extras and markers kept), once."""
    seen: dict[str, str] = {}
    for requirement in requirements():
        match = NAME.match(requirement)
        if match is None:
            raise SystemExit(f"lockinfo: cannot read the requirement {requirement!r}")
        name, extras, _, marker = match.groups()
        if canonical(name) != PROJECT:
            seen.setdefault(canonical(name), f"{name}{extras or ''}{marker or ''}")
    return list(seen.values())


def locked(lock: Path) -> dict[str, set[str]]:
    """name -> the versions the lock pins it to (more than one where markers fork it)."""
    pins: dict[str, set[str]] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins.setdefault(canonical(match[1]), set()).add(match[2])
    return pins


def drift(lock: Path) -> list[str]:
    from packaging.requirements import Requirement
    from packaging.version import Version

    pins = locked(lock)
    installed = {
        canonical(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }
    ranges = {canonical(r.name): r for r in map(Requirement, requirements())}
    lines = []
    for name, version in sorted(installed.items()):
        if name in (PROJECT, "pip"):
            continue
        want = pins.get(name)
        if want is None:
            note = f"  {name} {version} (not in the lock)"
        elif version in want:
            continue
        else:
            note = f"  {name} {' / '.join(sorted(want))} -> {version}"
            if all(Version(version) < Version(pin) for pin in want):
                note += "  (older: another package's range holds it back)"
        requirement = ranges.get(name)
        if requirement is not None and not requirement.specifier.contains(version, True):
            note += f"  (outside pyproject.toml's {requirement})"
        lines.append(note)
    return lines


def main(argv: list[str]) -> int:
    if argv[1:] == ["names"]:
        print("\n".join(names()))
        return 0
    if len(argv) == 3 and argv[1] == "drift":
        lock = Path(argv[2])
        differences = drift(lock)
        if differences:
            print(f"scripts/test --latest: versions that differ from {lock}:")
            print("\n".join(differences))
        else:
            print(f"scripts/test --latest: the same versions as {lock}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
