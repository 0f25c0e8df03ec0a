"""A fleet's status in the formats monitoring tools read: Prometheus text exposition (for
node_exporter's textfile collector), a Nagios/monitoring-plugins check, and JSON lines.

Prometheus: https://prometheus.io/docs/instrumenting/exposition_formats/ (one HELP and TYPE
per metric, label values escaped). Nagios: the monitoring-plugins guidelines (exit 0 OK,
1 WARNING, 2 CRITICAL, 3 UNKNOWN; one status line, `SERVICE STATE - text | perfdata`, where
perfdata is `'label'=value[UOM];[warn];[crit];[min];[max]`, then one line per host to look at).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from ..tokens.state import TokenState
from .status import FINE_STATES, HostStatus

PREFIX = "codex_wizard"


# ---------------------------------------------------------------------------- Prometheus


def _label_value(text: str) -> str:
    """A label value as the exposition format escapes it: backslash, quote, newline."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def _gauge(
    name: str, help_text: str, samples: Sequence[tuple[dict[str, str], float]]
) -> Iterator[str]:
    """One gauge: its HELP and TYPE lines, then a line per labelled sample."""
    yield f"# HELP {PREFIX}_{name} {help_text}"
    yield f"# TYPE {PREFIX}_{name} gauge"
    for labels, value in samples:
        shown = ",".join(f'{key}="{_label_value(text)}"' for key, text in labels.items())
        yield (
            f"{PREFIX}_{name}{{{shown}}} {_number(value)}"
            if shown
            else f"{PREFIX}_{name} {_number(value)}"
        )


def _host_samples(
    results: Sequence[HostStatus], value: Callable[[HostStatus], float | None]
) -> list[tuple[dict[str, str], float]]:
    """{host: ...} and value(result) for each result that has a value."""
    found = ((result, value(result)) for result in results)
    return [({"host": result.host}, number) for result, number in found if number is not None]


def prometheus_text(results: Sequence[HostStatus], now: datetime) -> str:
    """The fleet as Prometheus text exposition, one series per host (and state)."""

    def expires_in(result: HostStatus) -> float | None:
        return result.auth.expires_in_s(now) if result.auth else None

    def since_renewal(result: HostStatus) -> float | None:
        return result.auth.since_refresh_s(now) if result.auth else None

    states = [
        ({"host": result.host, "state": state.value}, float(result.state is state))
        for result in results
        for state in TokenState
    ]
    lines = [
        *_gauge(
            "up",
            "1 when the host's Codex login could be read.",
            _host_samples(results, lambda result: float(result.reachable)),
        ),
        *_gauge("login_state", "1 for the host's login state, 0 for the others.", states),
        *_gauge(
            "access_token_expires_in_seconds",
            "Seconds until the access token expires (negative once past).",
            _host_samples(results, expires_in),
        ),
        *_gauge(
            "last_renewal_age_seconds",
            "Seconds since codex last renewed the tokens (last_refresh).",
            _host_samples(results, since_renewal),
        ),
        *_gauge(
            "login_shared",
            "1 when the same login is in use elsewhere (a copied auth.json).",
            _host_samples(results, lambda result: float(result.state is TokenState.SHARED)),
        ),
        *_gauge(
            "check_duration_seconds",
            "Seconds the check took, connection included.",
            _host_samples(results, lambda result: result.check_s),
        ),
        *_gauge(
            "last_run_timestamp_seconds",
            "When this status was taken (Unix time).",
            [({}, now.timestamp())],
        ),
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- Nagios


class PluginState(enum.IntEnum):
    """The monitoring-plugins return codes."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


WARNING_STATES = frozenset({TokenState.EXPIRING, TokenState.SHARED})
# Which state wins the status line: a login that does not work outranks one not checked.
SEVERITY = (PluginState.CRITICAL, PluginState.UNKNOWN, PluginState.WARNING, PluginState.OK)


def plugin_state(result: HostStatus) -> PluginState:
    """OK: codex works there; WARNING: soon not, or shared; CRITICAL: it needs a new login;
    UNKNOWN: the login could not be read (unreachable, refused, timed out)."""
    if result.state in FINE_STATES:
        return PluginState.OK
    if result.state in WARNING_STATES:
        return PluginState.WARNING
    if result.state is TokenState.ERROR:
        return PluginState.UNKNOWN
    return PluginState.CRITICAL


def _perfdata(results: Sequence[HostStatus]) -> str:
    counts = [f"hosts={len(results)};;;0"]
    for state in TokenState:
        counts.append(f"{state.value}={sum(r.state is state for r in results)};;;0")
    durations = [result.check_s for result in results if result.check_s is not None]
    if durations:
        counts.append(f"slowest_check={max(durations):.3f}s;;;0")
    return " ".join(counts)


def nagios_report(results: Sequence[HostStatus], now: datetime) -> tuple[int, str]:
    """(exit code, output) of a monitoring plugin over the fleet: the status line with
    perfdata, then a line for each host that is not OK."""
    judged = [(plugin_state(result), result) for result in results]
    found = {state for state, _ in judged}
    worst = next((state for state in SEVERITY if state in found), PluginState.UNKNOWN)
    not_ok = [(state, result) for state, result in judged if state is not PluginState.OK]
    summary = (
        f"{len(results) - len(not_ok)} of {len(results)} hosts fine"
        if results
        else "no hosts checked"
    )
    if not_ok:
        summary += ", " + ", ".join(f"{result.host} {result.state.value}" for _, result in not_ok)
    details = [f"{state.name}: {result.host}: {result.describe(now)}" for state, result in not_ok]
    # a '|' in the text would start perfdata: hosts' words never may
    lines = [line.replace("|", "/") for line in (f"CODEX LOGIN {worst.name} - {summary}", *details)]
    lines[0] += f" | {_perfdata(results)}"
    return int(worst), "\n".join(lines)


# ---------------------------------------------------------------------------- JSON lines


def json_line(result: HostStatus, now: datetime) -> str:
    """One host as one line of JSON (the fields of `status --json`)."""
    return json.dumps(result.as_json(now), separators=(",", ":"))
