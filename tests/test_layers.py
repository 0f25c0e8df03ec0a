"""The core's parts form layers: each imports only the parts below it (and its own modules).

The layers, bottom up, as codex_wizard/core/__init__.py draws them. A part beside another on the
same layer may not import it either: tokens/ knows nothing of this computer, install/ nothing of
logins/.
"""

from __future__ import annotations

import pytest

from tests.test_structure import MODULES, graph

CORE = "codex_wizard.core"
LAYERS: list[set[str]] = [
    {"sanitize", "files", "tasks", "clock", "sshopts"},
    {"tokens", "laptop"},
    {"ssh"},
    {"server"},
    {"install", "logins"},
    {"flow", "progress", "prompter", "preflight", "doctor", "fleet", "services"},
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
BASE = LAYERS[0] | LAYERS[-1]  # single modules: they may import their own layer's modules


def part_of(module: str) -> str | None:
    """`codex_wizard.core.ssh.hosts` -> `ssh`; the core package itself -> None."""
    rest = module.removeprefix(f"{CORE}.")
    return None if rest == module or module == CORE else rest.split(".")[0]


def offences(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Every import from a part to a part not below it (its own part and package faces aside)."""
    found = []
    for name, deps in edges.items():
        here = part_of(name)
        if here is None:
            continue
        for dep in deps:
            there = part_of(dep)
            if there is None or there == here:
                continue
            same_layer_module = here in BASE and there in BASE and RANK[here] == RANK[there]
            if RANK[there] > RANK[here] or (RANK[there] == RANK[here] and not same_layer_module):
                found.append((name, dep))
    return sorted(found)


def test_every_core_module_belongs_to_a_layer() -> None:
    parts = {part_of(name) for name in MODULES if name.startswith(f"{CORE}.")}
    assert parts <= set(RANK), parts - set(RANK)


def test_no_part_imports_a_part_above_or_beside_it() -> None:
    assert offences(graph()) == []


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        (f"{CORE}.ssh.hosts", f"{CORE}.server.probe"),  # up
        (f"{CORE}.tokens.auth", f"{CORE}.laptop.ports"),  # beside
        (f"{CORE}.install.plan", f"{CORE}.logins.status"),  # beside, higher up
        (f"{CORE}.sanitize", f"{CORE}.flow"),  # the base reaching the top
    ],
)
def test_the_check_sees_a_wrong_import(importer: str, imported: str) -> None:
    edges = {name: set(deps) for name, deps in graph().items()}
    edges[importer].add(imported)
    assert (importer, imported) in offences(edges)
