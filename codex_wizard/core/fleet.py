"""Many servers in one go: each logged in in turn, each with a login of its own.

`FleetRun` is the order and the record of outcomes that both faces keep: the CLI's
`login web1 web2 web3` walks it and prints its table; the wizard's marked hosts walk it one token
step ("next host") at a time. No I/O here: the login of each host is the one LoginFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .sanitize import printable
from .ssh.hosts import HostTarget
from .tokens.auth import AuthRecord
from .tokens.state import describe_expiry


class Outcome(StrEnum):
    LOGGED_IN = "logged in"
    FAILED = "failed"
    CANCELLED = "cancelled"  # stopped while this host's login was under way
    NOT_RUN = "not run"  # stopped before this host's turn


@dataclass(frozen=True)
class HostOutcome:
    target: HostTarget
    outcome: Outcome
    detail: str = ""

    @classmethod
    def logged_in(cls, target: HostTarget, record: AuthRecord | None) -> HostOutcome:
        return cls(target, Outcome.LOGGED_IN, expiry_detail(record))

    @classmethod
    def failed(cls, target: HostTarget, reason: str) -> HostOutcome:
        return cls(target, Outcome.FAILED, printable(reason))


def expiry_detail(record: AuthRecord | None) -> str:
    """'access token expires in 9 days' (codex renews it from there), or what is unknown."""
    access = record.access if record is not None else None
    if access is None or access.expires_at is None:
        return "expiry not readable"
    return f"access token expires {describe_expiry(access.expires_at)}"


class FleetRun:
    """The hosts in the order given (each once) and what became of each."""

    def __init__(self, targets: Sequence[HostTarget]) -> None:
        self.targets = list(dict.fromkeys(targets))
        self.outcomes: dict[HostTarget, HostOutcome] = {}

    def continued(self, marked: Sequence[HostTarget]) -> FleetRun:
        """Back on the host list mid-run: the hosts done so far keep their outcomes, the
        marked ones (again, if done before) come after them."""
        done = [t for t in self.targets if t in self.outcomes and t not in marked]
        fleet = FleetRun([*done, *marked])
        fleet.outcomes = {t: self.outcomes[t] for t in done}
        return fleet

    def __len__(self) -> int:
        return len(self.targets)

    def position(self, target: HostTarget) -> int:
        """1-based place of target in the run (0 when it is not part of it)."""
        return self.targets.index(target) + 1 if target in self.targets else 0

    def next_after(self, target: HostTarget | None) -> HostTarget | None:
        """The first host after `target` (from the start when None) without an outcome."""
        start = self.position(target) if target is not None else 0
        for later in self.targets[start:]:
            if later not in self.outcomes:
                return later
        return None

    def record(self, outcome: HostOutcome) -> None:
        self.outcomes[outcome.target] = outcome

    def stop(self, current: HostTarget | None) -> None:
        """Stopped (Ctrl-C): the host under way is cancelled, the ones after it not run."""
        for target in self.targets:
            if target not in self.outcomes:
                kind = Outcome.CANCELLED if target == current else Outcome.NOT_RUN
                self.record(HostOutcome(target, kind))

    def results(self) -> list[HostOutcome]:
        """Every host in order; one not reached yet shows as not run."""
        return [self.outcomes.get(t, HostOutcome(t, Outcome.NOT_RUN)) for t in self.targets]

    @property
    def all_logged_in(self) -> bool:
        return all(result.outcome is Outcome.LOGGED_IN for result in self.results())

    def table(self) -> list[str]:
        """The outcomes as aligned lines: host, outcome, detail."""
        results = self.results()
        width = max([len("host"), *(len(r.target.label()) for r in results)])
        lines = [f"{'host':<{width}}  {'outcome':<10} detail"]
        lines += [
            f"{r.target.label():<{width}}  {r.outcome.value:<10} {r.detail}".rstrip()
            for r in results
        ]
        return lines

    def summary(self) -> str:
        """'2 of 3 logged in'."""
        done = sum(r.outcome is Outcome.LOGGED_IN for r in self.results())
        return f"{done} of {len(self)} logged in"

    def report(self) -> list[str]:
        """The summary, then the table indented below it: what the faces print at the end."""
        return [f"{self.summary()}:", *(f"  {line}" for line in self.table())]
