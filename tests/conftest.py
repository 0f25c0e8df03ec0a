"""Shared fixtures. The lab (sshd in a network namespace) is session-scoped and reset per test.

Lab tests skip when the machine cannot host the lab (not root, tools missing, no netns) and the
pinned real Codex tests skip when it is not installed, except under CI=true, where both fail.

CODEX_WIZARD_TEST_SHIFT_DAYS=N runs every test but the lab's and real Codex's N days from today
(negative: back), so a test that quietly depends on today's date fails today (tests/test_any_day).
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from codex_wizard.core.server.preflight import AUTH_ADDRESS_VARIABLE
from tests.lab import (
    REAL_CODEX_KINDS,
    LabUnavailable,
    SshLab,
    lab_unavailable_reason,
    real_codex_problem,
)
from tests.lab.sshlab import AUTH_STAND_IN_PORT

IN_CI = os.environ.get("CI", "").lower() == "true"
SHIFT_DAYS_VARIABLE = "CODEX_WIZARD_TEST_SHIFT_DAYS"


def clock_shift() -> timedelta:
    """How far CODEX_WIZARD_TEST_SHIFT_DAYS moves the tests' clock (none when unset)."""
    value = os.environ.get(SHIFT_DAYS_VARIABLE, "").strip()
    try:
        return timedelta(days=float(value or 0))
    except ValueError:
        raise pytest.UsageError(
            f"{SHIFT_DAYS_VARIABLE}={value!r} is not a number of days"
        ) from None


def pytest_configure(config: pytest.Config) -> None:
    """A suite started in the background of a shell (`cmd &`) inherits SIGINT ignored, and so
    would every CLI the tests start: their Ctrl-C cases would test nothing. Ctrl-C as a user's
    terminal delivers it, for pytest and its children."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # The lab is offline: the login's reach test goes to each lab's stand-in listener, and
    # nothing in the suite ever tries auth.openai.com (the CLIs the tests start inherit it).
    os.environ[AUTH_ADDRESS_VARIABLE] = f"127.0.0.1:{AUTH_STAND_IN_PORT}"
    clock_shift()  # a bad value stops the run before any test


def pytest_report_header() -> str | None:
    shift = clock_shift()
    return f"clock: moved {shift.days:+d} days for all but lab/realcodex tests" if shift else None


@pytest.fixture(autouse=True)
def _shifted_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    """Move the clock by CODEX_WIZARD_TEST_SHIFT_DAYS for the test; it keeps ticking. Lab and
    real Codex tests are left in real time: sshd, its certificates and codex run outside this
    process, on the machine's clock."""
    shift = clock_shift()
    node = request.node
    if not shift or node.get_closest_marker("lab") or node.get_closest_marker("realcodex"):
        yield
        return
    with time_machine.travel(datetime.now(UTC) + shift, tick=True):
        yield


@pytest.fixture(autouse=True)
def at_the_computer_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as if the user sat at this computer, even when the suite is started over SSH
    (core.laptop.seat would otherwise add its "your browser is elsewhere" note to every
    login). Tests of that case set SSH_CONNECTION themselves."""
    monkeypatch.delenv("SSH_CONNECTION", raising=False)


def skip_or_fail(reason: str) -> None:
    """Skip locally; under CI=true the lab must run, so fail loudly instead."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


class _LabPool:
    """Starts each lab flavour at most once per session, on first use."""

    def __init__(self) -> None:
        self.labs: dict[bool, SshLab] = {}
        self.failures: dict[bool, str] = {}

    def get(self, *, forwarding: bool) -> SshLab:
        if forwarding in self.failures:
            skip_or_fail(self.failures[forwarding])
        if forwarding not in self.labs:
            self.labs[forwarding] = self._start(forwarding)
        return self.labs[forwarding]

    def _start(self, forwarding: bool) -> SshLab:
        reason = lab_unavailable_reason()
        if reason is None:
            try:
                return SshLab(allow_tcp_forwarding=forwarding).start()
            except LabUnavailable as err:
                reason = str(err)
        self.failures[forwarding] = reason
        skip_or_fail(reason)
        raise AssertionError("unreachable")

    def stop_all(self) -> None:
        for lab in self.labs.values():
            lab.stop()


@pytest.fixture(scope="session")
def _lab_pool() -> Iterator[_LabPool]:
    pool = _LabPool()
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session")
def ssh_lab(_lab_pool: _LabPool) -> SshLab:
    """The session's lab with AllowTcpForwarding yes (use `lab` for a clean state per test)."""
    return _lab_pool.get(forwarding=True)


@pytest.fixture(scope="session")
def ssh_lab_noforward(_lab_pool: _LabPool) -> SshLab:
    """A second lab whose sshd has AllowTcpForwarding no, started only when a test asks."""
    return _lab_pool.get(forwarding=False)


@pytest.fixture
def lab(ssh_lab: SshLab) -> Iterator[SshLab]:
    """The session lab, reset: fresh server home, no codex, no server-user processes."""
    ssh_lab.reset()
    yield ssh_lab
    ssh_lab.reset()


@pytest.fixture
def lab_noforward(ssh_lab_noforward: SshLab) -> Iterator[SshLab]:
    """Like `lab`, on the sshd that refuses TCP forwarding."""
    ssh_lab_noforward.reset()
    yield ssh_lab_noforward
    ssh_lab_noforward.reset()


@pytest.fixture(scope="session")
def lab_prerequisites() -> None:
    """For tests that build their own SshLab: skip (fail under CI) when the lab cannot run."""
    reason = lab_unavailable_reason()
    if reason:
        skip_or_fail(reason)


@pytest.fixture(scope="session")
def real_codex_available() -> bool:
    """True when the pinned real Codex is installed; skips (fails under CI) otherwise."""
    problem = real_codex_problem()
    if problem:
        skip_or_fail(problem)
    return True


@pytest.fixture(params=["fake", *REAL_CODEX_KINDS])
def codex_kind(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over the fake, the pinned real Codex and the newest (real may skip)."""
    if request.param in REAL_CODEX_KINDS:
        problem = real_codex_problem(REAL_CODEX_KINDS[request.param])
        if problem:
            skip_or_fail(problem)
    return str(request.param)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests using the lab `lab`, and real-Codex ones `realcodex`, for -m selection."""
    lab_fixtures = {"lab", "ssh_lab", "ssh_lab_noforward", "lab_noforward", "lab_prerequisites"}
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & lab_fixtures:
            item.add_marker(pytest.mark.lab)
        callspec = getattr(item, "callspec", None)
        if "real_codex_available" in names or (
            callspec and callspec.params.get("codex_kind") in REAL_CODEX_KINDS
        ):
            item.add_marker(pytest.mark.realcodex)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections and never says a word (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]
