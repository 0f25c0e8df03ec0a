"""The time-sensitive tests pass on any day, not only the one they were written on.

Each run of the suite re-runs them in a pytest of their own with the clock moved 45 days ahead
and 20 days back (CODEX_WIZARD_TEST_SHIFT_DAYS, tests/conftest.py), so a test that builds its
fixtures from a fixed date while the code reads the clock fails the day it is written.
The files are those whose tests make tokens, logins or remembered hosts and then let the code
judge them against the clock; lab tests stay in real time and are left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SHIFT_DAYS_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
SHIFTS_DAYS = (45, -20)
TIME_SENSITIVE = [
    "tests/test_clock.py",
    "tests/test_token_states.py",
    "tests/test_auth.py",
    "tests/test_remembered.py",
    "tests/test_doctor.py",
    "tests/test_fleet.py",
    "tests/test_demo.py",
]
SLOW_AND_CLOCK_FREE = "not TestProperties"  # test_auth's fuzzing: no clock in it, most of the time


def start_shifted(days: int) -> subprocess.Popen[str]:
    env = {**os.environ, SHIFT_DAYS_VARIABLE: str(days)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-m", "not lab and not realcodex", "-k", SLOW_AND_CLOCK_FREE, *TIME_SENSITIVE]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_the_time_sensitive_tests_pass_45_days_ahead_and_20_back() -> None:
    runs = {days: start_shifted(days) for days in SHIFTS_DAYS}  # side by side: half the wait
    for days, run in runs.items():
        output, _ = run.communicate(timeout=240)
        summary = output.strip().splitlines()[-1] if output.strip() else ""
        assert run.returncode == 0, f"at {days:+d} days:\n{output[-6000:]}"
        assert " passed" in summary and "failed" not in summary, summary
