"""A fleet's checks spread over worker processes (core/logins/workers.py), against the lab sshd:
the same results in the same order as one process gives, each reported as it comes; a worker
that dies leaves its hosts as errors, and no worker outlives the check."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace

import psutil

from codex_wizard.core.logins.status import HostStatus
from codex_wizard.core.logins.workers import (
    SPREAD_CONCURRENCY,
    CheckJob,
    check_fleet_spread,
    fleet_job,
    processes_for,
)
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.types import ConnectSettings
from codex_wizard.core.tokens.state import TokenState
from tests.lab.fake_tokens import make_auth_json
from tests.lab.sshlab import SshLab
from tests.test_e2e_core import settings_for


def test_many_hosts_use_every_core_a_few_use_one() -> None:
    assert processes_for(10, cores=2) == 1
    assert processes_for(200, cores=2) == 1  # a worker would cost more CPU than it saves
    assert processes_for(400, cores=2) == 2
    assert processes_for(2000, cores=64) == 2000 // 200  # each process has hosts enough


def test_a_big_fleet_keeps_more_checks_open_in_each_process() -> None:
    """A fleet within the bound (32) keeps it; a bigger one opens up to 100 at once, so 200
    hosts at 100 ms go in two waves of round trips, not seven."""
    job = CheckJob(ConnectSettings())
    assert fleet_job(job, 32) == job
    assert fleet_job(job, 200) == replace(job, concurrency=SPREAD_CONCURRENCY)
    assert fleet_job(replace(job, concurrency=500), 2000).concurrency == 500


def test_workers_give_what_one_process_gives(lab: SshLab) -> None:
    lab.write_server_file(".codex/auth.json", make_auth_json(), mode=0o600)
    targets = [HostTarget(name) for name in ["lab", *lab.add_aliases(5)]]
    seen: list[str] = []

    async def both() -> tuple[list[HostStatus], list[HostStatus]]:
        job = CheckJob(settings_for(lab))
        spread = await check_fleet_spread(
            targets, job, on_result=lambda r: seen.append(r.host), processes=3
        )
        return spread, await check_fleet_spread(targets, CheckJob(settings_for(lab)), processes=1)

    spread, alone = asyncio.run(both())
    assert [r.host for r in spread] == [t.name for t in targets]
    assert sorted(seen) == sorted(t.name for t in targets)
    assert [(r.host, r.state, r.login_id) for r in spread] == [
        (r.host, r.state, r.login_id) for r in alone
    ]
    assert {r.state for r in spread} == {TokenState.OK}  # aliases of one file: one login
    assert not workers_of(os.getpid())


def workers_of(pid: int) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(pid).children(recursive=True)
        if "codex_wizard.core.logins.workers" in " ".join(child.cmdline())
    ]


def test_a_worker_that_dies_leaves_its_hosts_as_errors(lab: SshLab, silent_port: int) -> None:
    lab.write_server_file(".codex/auth.json", make_auth_json(), mode=0o600)
    targets = [HostTarget("lab"), HostTarget("127.0.0.1", port=silent_port)]
    job = CheckJob(replace(settings_for(lab), connect_timeout=300), timeout=300)

    async def kill_the_worker_once_it_waits() -> None:
        deadline = time.monotonic() + 60
        while not (found := workers_of(os.getpid())):
            assert time.monotonic() < deadline, "no worker started"
            await asyncio.sleep(0.05)
        found[0].kill()

    async def run() -> list[HostStatus]:
        killer = asyncio.create_task(kill_the_worker_once_it_waits())
        results = await check_fleet_spread(targets, job, processes=2)
        await killer
        return results

    here, there = asyncio.run(run())
    assert here.state is TokenState.OK
    assert there.state is TokenState.ERROR and there.error.startswith("not checked:")
    assert not workers_of(os.getpid())
