"""One clock (core.clock): it answers in UTC, tests can move it, and nothing in the core, the
CLI or the demo reads the wall clock past it."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

from time_machine import TimeMachineFixture

from codex_wizard.core import clock
from codex_wizard.core.tokens.auth import aware
from tests.conftest import clock_shift
from tests.test_structure import PACKAGE

MOMENT = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
WALL_CLOCK_READS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today")}
WALL_CLOCK_READS |= {("time", "time"), ("time", "time_ns"), ("time", "localtime")}
ROUTED_THROUGH_CLOCK = ("core", "cli", "demo", "tui")


def test_now_is_utc_and_moves_with_the_tests_clock(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(MOMENT, tick=False)
    assert clock.now() == MOMENT and clock.now().utcoffset() == timedelta(0)
    assert aware(None) == MOMENT  # "no moment given" means the clock's now


def wall_clock_reads(path: str) -> list[str]:
    """`datetime.now(...)`, `time.time()` and the like called in a source file."""
    found = []
    for node in ast.walk(ast.parse((PACKAGE / path).read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if (name, node.func.attr) in WALL_CLOCK_READS:
                found.append(f"{path}:{node.lineno} {name}.{node.func.attr}()")
    return found


def test_nothing_reads_the_wall_clock_but_the_clock() -> None:
    sources = [
        str(path.relative_to(PACKAGE))
        for part in ROUTED_THROUGH_CLOCK
        for path in sorted((PACKAGE / part).rglob("*.py"))
    ]
    assert "core/clock.py" in sources and len(sources) > 50
    reads = [read for path in sources if path != "core/clock.py" for read in wall_clock_reads(path)]
    assert reads == []


def test_the_scan_sees_a_wall_clock_read() -> None:
    [read] = wall_clock_reads("core/clock.py")
    assert read.startswith("core/clock.py:") and read.endswith(" datetime.now()")


def test_the_tests_clock_is_moved_by_the_shift_days(tmp_path: Path) -> None:
    """The file system stamps files on the machine's own clock, which time-machine leaves
    alone: the gap between the two is CODEX_WIZARD_TEST_SHIFT_DAYS (none when unset)."""
    stamped = tmp_path / "stamped"
    stamped.write_text("")
    machine_now = stamped.stat().st_mtime
    gap = clock.now().timestamp() - machine_now
    assert abs(gap - clock_shift().total_seconds()) < 600
