"""A big fleet's checks spread over processes, so the handshakes' crypto uses every core.

One Python process does all its SSH handshakes on one core: at several hundred hosts
`status` waits on its own CPU. From SPREAD_FROM (400) hosts on, this process checks one share
of the hosts and worker processes (`python -m codex_wizard.core.logins.workers`, one per other
core) check the others, each with its own bound on connections, each sending every result back
the moment it has it (so --format jsonl still streams). Shares are interleaved: slow hosts
early in the list land on every process. A worker that dies leaves its unfinished hosts as
errors, never a hang; workers are ended with this process (Ctrl-C included).

Results travel as pickles over the worker's stdout: HostStatus is a plain frozen dataclass,
and the bytes come only from the worker this process started, never from a server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ..sanitize import printable
from ..ssh.hosts import HostTarget
from ..ssh.types import ConnectSettings
from ..tasks import gather_bounded
from ..tokens.state import TokenState
from .status import DEFAULT_CONCURRENCY, DEFAULT_HOST_TIMEOUT, HostStatus, check_host, mark_shared

# Below this, one process's spare CPU outweighs a worker's start-up. A check costs ~6 ms of
# CPU since the ssh_config is split once per file and AES-GCM is preferred (12 ms before), and
# a worker ~0.65 s (its interpreter, its imports, its own parse of the config): on 2 cores
# 200 hosts in one process took 1.6-1.7 s of CPU against 2.3 s spread over two, and no more
# wall time (docs/benchmarks.md). Each process has SPREAD_FROM / 2 hosts at least.
SPREAD_FROM = 400
# Checks a big fleet keeps open at once in each process: at 100 ms a check waits ~6 round
# trips, so 32 at once made 200 hosts four waves (~2.4 s of waiting alone); at 100, two.
# Each host is its own server, so no sshd sees more than one of ours.
SPREAD_CONCURRENCY = 100
FRAME_HEADER = 4
Record = Callable[[int, HostStatus], None]


@dataclass(frozen=True)
class CheckJob:
    """How every process checks a host: check_host's settings, and its bound on connections."""

    settings: ConnectSettings
    codex_home: str | None = None
    warn_days: float = 3.0
    timeout: float = DEFAULT_HOST_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY

    async def check(self, target: HostTarget) -> HostStatus:
        return await check_host(
            target,
            self.settings,
            codex_home=self.codex_home,
            warn_days=self.warn_days,
            timeout=self.timeout,
        )

    async def check_share(self, targets: Sequence[tuple[int, HostTarget]], record: Record) -> None:
        """Each (index, target) checked, at most `concurrency` at once, recorded as it ends."""

        async def one(item: tuple[int, HostTarget]) -> None:
            index, target = item
            record(index, await self.check(target))

        await gather_bounded(targets, one, self.concurrency)


def usable_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def processes_for(hosts: int, cores: int | None = None) -> int:
    """How many processes check `hosts` hosts: one below SPREAD_FROM, else one per core,
    each with SPREAD_FROM / 2 hosts at least."""
    if hosts < SPREAD_FROM:
        return 1
    return max(1, min(cores or usable_cores(), hosts // (SPREAD_FROM // 2)))


async def check_fleet_spread(
    targets: Sequence[HostTarget],
    job: CheckJob,
    *,
    on_result: Callable[[HostStatus], None] | None = None,
    local: HostStatus | None = None,
    processes: int | None = None,
) -> list[HostStatus]:
    """check_host for every target (each with its own timeout, so a dead host holds no other
    up), results in the targets' order with shared logins marked (mark_shared, `local` too),
    checked over `processes` processes (processes_for by default); on_result sees each as it
    comes."""
    count = processes or processes_for(len(targets))
    job = fleet_job(job, len(targets))
    items = list(enumerate(targets))
    shares = [items[first::count] for first in range(count)]
    results: dict[int, HostStatus] = {}

    def record(index: int, result: HostStatus) -> None:
        results[index] = result
        if on_result:
            on_result(result)

    await asyncio.gather(
        job.check_share(shares[0], record),
        *(_check_in_worker(share, job, record) for share in shares[1:]),
    )
    return mark_shared([results[index] for index in range(len(targets))], local)


def fleet_job(job: CheckJob, hosts: int) -> CheckJob:
    """The job each process runs for a fleet of `hosts`: more hosts than the job's bound,
    up to SPREAD_CONCURRENCY checks open at once."""
    if hosts <= job.concurrency or job.concurrency >= SPREAD_CONCURRENCY:
        return job
    return replace(job, concurrency=SPREAD_CONCURRENCY)


# ---------------------------------------------------------------------------- the worker


def _frame(payload: object) -> bytes:
    data = pickle.dumps(payload)
    return len(data).to_bytes(FRAME_HEADER, "big") + data


async def _check_in_worker(
    share: list[tuple[int, HostTarget]], job: CheckJob, record: Record
) -> None:
    """A worker process checks `share`; what it could not finish becomes an error each."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # Ctrl-C reaches us; we end it
    )
    assert proc.stdin and proc.stdout and proc.stderr
    said_task = asyncio.ensure_future(proc.stderr.read())  # read along: a full pipe would stall it
    left = dict(share)
    try:
        proc.stdin.write(_frame((share, job)))
        await proc.stdin.drain()
        proc.stdin.close()
        while left:
            try:
                header = await proc.stdout.readexactly(FRAME_HEADER)
                index, result = pickle.loads(
                    await proc.stdout.readexactly(int.from_bytes(header, "big"))
                )
            except asyncio.IncompleteReadError:
                break
            left.pop(index, None)
            record(index, result)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        said = (await said_task).decode(errors="replace").strip()
        await proc.wait()
    why = printable(said.splitlines()[-1] if said else f"exit code {proc.returncode}")
    for index, target in left.items():
        record(index, HostStatus(target.label(), TokenState.ERROR, error=f"not checked: {why}"))


async def _serve(share: list[tuple[int, HostTarget]], job: CheckJob) -> None:
    out = sys.stdout.buffer

    def send(index: int, result: HostStatus) -> None:
        out.write(_frame((index, result)))
        out.flush()

    await job.check_share(share, send)


def main() -> None:
    """The worker: one framed (share, job) on stdin, a framed (index, HostStatus) per host out."""
    source = sys.stdin.buffer
    size = int.from_bytes(source.read(FRAME_HEADER), "big")
    share, job = pickle.loads(source.read(size))
    asyncio.run(_serve(share, job))


if __name__ == "__main__":
    main()
