"""Fewest round trips (issue 12 §2): status is one exec after connect, `--debug` counts the
round trips, a paste during the login's probe shares that probe, auth starts with the keys."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from codex_wizard.core.flow import LoginFlow
from codex_wizard.core.server.probe import ProbeResult
from codex_wizard.core.ssh.hosts import parse_host_arg
from codex_wizard.core.ssh.server import RoundTrips, offer_keys_first
from codex_wizard.core.ssh.types import ConnectSettings
from tests.lab.fake_tokens import make_auth_json
from tests.lab.sshlab import SshLab

CLI = [sys.executable, "-m", "codex_wizard"]
SUMMARY = re.compile(r"^codex-wizard: (\S+): (\d+) round trips: (\d+) to connect(?: and .*)?$")


def run_cli(*argv: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CODEX_HOME": str(home)}  # this computer's login: none
    return subprocess.run(
        [*CLI, *argv], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def summaries(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if SUMMARY.match(line)]


def test_status_is_one_exec_after_connect_and_debug_says_so(lab: SshLab, tmp_path: Path) -> None:
    lab.write_server_file(".codex/auth.json", make_auth_json(), 0o600)
    result = run_cli("status", lab.alias, "--debug", "-F", str(lab.ssh_config), home=tmp_path)
    assert result.returncode == 0, result.stderr
    [line] = summaries(result.stderr)
    assert line.endswith(" for 1 process"), line  # auth.json, CODEX_HOME and its place at once
    _, total, connect = SUMMARY.match(line).groups()  # type: ignore[union-attr]
    assert int(total) - int(connect) <= 3  # channel open, exec (+ a window adjust at most)


def test_debug_counts_doctors_round_trips(lab: SshLab, tmp_path: Path) -> None:
    result = run_cli("doctor", lab.alias, "--debug", "-F", str(lab.ssh_config), home=tmp_path)
    assert "Traceback" not in result.stderr
    [line] = summaries(result.stderr)
    assert line.startswith(f"codex-wizard: {lab.alias}: ") and "process" in line


def test_without_debug_no_round_trips_are_shown(lab: SshLab, tmp_path: Path) -> None:
    result = run_cli("status", lab.alias, "-F", str(lab.ssh_config), home=tmp_path)
    assert not summaries(result.stderr) and "round trips" not in result.stderr


def test_the_summary_names_what_was_asked() -> None:
    tally = RoundTrips("srv", turns=9, at_login=6)
    assert tally.summary() == "srv: 9 round trips: 6 to connect"
    tally.requests.update(exec=1, channel=2)
    assert tally.summary() == "srv: 9 round trips: 6 to connect and 3 for 1 exec, 2 channel"


def test_auth_starts_with_the_keys_and_falls_back_to_none() -> None:
    conn = SimpleNamespace(_preferred_auth=[b"publickey", b"password"], _auth_methods=[b"none"])
    offer_keys_first(conn)  # type: ignore[arg-type]
    assert conn._auth_methods == [b"publickey", b"none"]
    no_keys = SimpleNamespace(_preferred_auth=[b"password"], _auth_methods=[b"none"])
    offer_keys_first(no_keys)  # type: ignore[arg-type]
    assert no_keys._auth_methods == [b"none"]


def probing_flow(probe) -> LoginFlow:
    """A flow whose only service is `probe` (no connection: run_probe needs none here)."""
    return LoginFlow(
        parse_host_arg("srv"),
        ConnectSettings(),
        SimpleNamespace(probe=probe),  # type: ignore[arg-type]
        SimpleNamespace(),  # type: ignore[arg-type]
    )


async def test_a_second_probe_while_one_runs_shares_it() -> None:
    """paste() asks for the probe; during the login's own probe it must not start another."""
    started, release = [], asyncio.Event()

    async def probe(_conn: object) -> ProbeResult:
        started.append(1)
        await release.wait()
        return ProbeResult(os="Linux", tools=frozenset({"curl"}))

    flow = probing_flow(probe)
    first = asyncio.create_task(flow.run_probe())
    second = asyncio.create_task(flow.run_probe())
    await asyncio.sleep(0.01)
    release.set()
    assert (await first).tools == (await second).tools == frozenset({"curl"})
    assert len(started) == 1
    await flow.run_probe()  # a later call probes again: the server may have changed
    assert len(started) == 2


async def test_a_cancelled_caller_leaves_the_shared_probe_running() -> None:
    release = asyncio.Event()

    async def probe(_conn: object) -> ProbeResult:
        await release.wait()
        return ProbeResult(os="Linux")

    flow = probing_flow(probe)
    first = asyncio.create_task(flow.run_probe())
    second = asyncio.create_task(flow.run_probe())
    await asyncio.sleep(0.01)
    first.cancel()
    release.set()
    assert (await second).os == "Linux"


async def test_a_failed_probe_nobody_waits_for_is_not_logged_as_unretrieved() -> None:
    """Ctrl-C cancels the login's probe; the shared one may still fail on the closed connection."""
    errors: list[dict] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
    release = asyncio.Event()

    async def probe(_conn: object) -> ProbeResult:
        await release.wait()
        raise RuntimeError("the connection closed")

    flow = probing_flow(probe)
    caller = asyncio.create_task(flow.run_probe())
    await asyncio.sleep(0.01)
    caller.cancel()
    release.set()
    await asyncio.sleep(0.01)
    flow._probing = None
    gc.collect()
    assert not errors
