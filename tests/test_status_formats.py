"""status's monitoring formats (core/logins/formats.py): the Prometheus exposition read back
with prometheus_client's own parser; the Nagios output checked against the monitoring-plugins
convention (exit 0-3, one status line `SERVICE STATE - text | perfdata`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from codex_wizard.core.logins.formats import PluginState, nagios_report, prometheus_text
from codex_wizard.core.logins.status import HostStatus
from codex_wizard.core.tokens.auth import parse_auth_json
from codex_wizard.core.tokens.state import TokenState
from tests.lab.fake_tokens import make_auth_json

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RENEWED = NOW - timedelta(days=2)


def host(name: str, state: TokenState, *, ttl_days: float = 9, **extra: object) -> HostStatus:
    doc = make_auth_json(
        now=NOW.timestamp(),
        access_ttl_s=ttl_days * 86400,
        last_refresh=RENEWED.isoformat().replace("+00:00", "Z"),
    )
    return HostStatus(name, state, auth=parse_auth_json(doc.encode()), check_s=0.25, **extra)


def unreachable(name: str) -> HostStatus:
    error = "web3 refused the connection | port 22"
    return HostStatus(name, TokenState.ERROR, error=error, check_s=3.0)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as prometheus_client's parser reads it, keyed by name and labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge"
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_prometheus_exposition_parses_with_one_series_per_host() -> None:
    odd = 'we"b\\2\nx'  # a label value that needs each of the format's escapes
    results = [
        host("web1", TokenState.OK),
        host(odd, TokenState.SHARED, shared_with=("web1",)),
        unreachable("web3"),
    ]
    got = samples(prometheus_text(results, NOW))
    assert got["codex_wizard_up", (("host", "web1"),)] == 1
    assert got["codex_wizard_up", (("host", odd),)] == 1
    assert got["codex_wizard_up", (("host", "web3"),)] == 0
    expires = got["codex_wizard_access_token_expires_in_seconds", (("host", "web1"),)]
    assert expires == 9 * 86400
    renewed = got["codex_wizard_last_renewal_age_seconds", (("host", "web1"),)]
    assert renewed == 2 * 86400
    assert got["codex_wizard_login_shared", (("host", odd),)] == 1
    assert got["codex_wizard_login_shared", (("host", "web1"),)] == 0
    assert got["codex_wizard_check_duration_seconds", (("host", "web3"),)] == 3.0
    states = {
        labels: value for (name, labels), value in got.items() if name.endswith("login_state")
    }
    assert states[("host", "web1"), ("state", "ok")] == 1
    assert sum(v for (h, _), v in states.items() if h == ("host", "web1")) == 1  # one state
    assert states[("host", "web3"), ("state", "error")] == 1
    assert ("codex_wizard_access_token_expires_in_seconds", (("host", "web3"),)) not in got
    assert got["codex_wizard_last_run_timestamp_seconds", ()] == NOW.timestamp()


# ---------------------------------------------------------------------------- Nagios

PERFDATA = re.compile(r"'?[^'=\s]+'?=-?[0-9.]+[a-zA-Z%]*(;[0-9.~:@-]*){0,4}")
STATUS_LINE = re.compile(r"CODEX LOGIN (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]+) \| (.+)")


def check_convention(code: int, output: str) -> str:
    """The monitoring-plugins rules; returns the state word of the status line."""
    first, *rest = output.split("\n")
    line = STATUS_LINE.fullmatch(first)
    assert line, first
    assert all(PERFDATA.fullmatch(item) for item in line.group(3).split()), line.group(3)
    assert PluginState[line.group(1)] == code
    assert all("|" not in more for more in rest)  # later text would be read as perfdata
    return line.group(1)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([host("a", TokenState.OK), host("b", TokenState.RENEWS)], PluginState.OK),
        ([host("a", TokenState.OK), host("b", TokenState.EXPIRING)], PluginState.WARNING),
        ([host("a", TokenState.SHARED, shared_with=("b",))], PluginState.WARNING),
        ([host("a", TokenState.EXPIRING), host("b", TokenState.EXPIRED)], PluginState.CRITICAL),
        ([host("a", TokenState.LOGGED_OUT), unreachable("c")], PluginState.CRITICAL),
        ([host("a", TokenState.EXPIRING), unreachable("c")], PluginState.UNKNOWN),
        ([], PluginState.UNKNOWN),
    ],
)
def test_nagios_output_follows_the_plugin_convention(
    results: list[HostStatus], expected: PluginState
) -> None:
    code, output = nagios_report(results, NOW)
    assert code == expected
    check_convention(code, output)
    not_ok = [result.host for result in results if result.state not in FINE]
    assert len(output.split("\n")) == 1 + len(not_ok)  # a line per host to look at


FINE = {TokenState.OK, TokenState.RENEWS, TokenState.API_KEY}


def test_nagios_perfdata_counts_the_states() -> None:
    results = [host("a", TokenState.OK), host("b", TokenState.OK), unreachable("c")]
    _, output = nagios_report(results, NOW)
    perfdata = dict(item.split("=", 1) for item in output.split(" | ", 1)[1].split("\n")[0].split())
    assert perfdata["hosts"].split(";")[0] == "3"
    assert perfdata["ok"].split(";")[0] == "2"
    assert perfdata["error"].split(";")[0] == "1"
