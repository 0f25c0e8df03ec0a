"""The fleet-size section (`bench/run.py --only hosts`): 1, 20 and 200 hosts at 100 ms round
trip, three tools side by side in one run.

- `codex-wizard status HOSTS --json`;
- `xargs -P 50 ssh HOST cat .codex/auth.json` (one OpenSSH client per host, 50 at a time);
- `ansible all -i INV -m raw -a 'cat .codex/auth.json' -f 50`: what a fleet owner would run
  instead (OpenSSH underneath, with the same ssh_config, no ControlMaster: one connection each).

All three go through one delay line (bench/delayline.py) in front of the lab's sshd, to `Host`
aliases of it in the same ssh_config. Within a round the three run back to back, the order
rotating from round to round. Peak RSS is ru_maxrss of the measured child's process tree
(wait4): the largest single process, not the sum (xargs runs 50 ssh, ansible forks 50). CPU is
user + sys of the whole tree (wait4 again: workers, ssh and ansible's forks included), which a
machine loaded by others cannot inflate as it does wall time; the 1-minute load average at the
start of each run stands beside every wall time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.delayline import DelayLine
from bench.procs import BenchError, Finished, run_to_exit
from bench.rtt import delayed_config
from bench.sides import (
    alternate,
    check_ours,
    log,
    ours_argv,
    run_xargs,
    ssh_base,
    write_auth,
)
from bench.stats import median
from tests.lab import SshLab

SIZES = (1, 20, 200)
RTT_MS = 100
PARALLEL = 50
CAT = "cat .codex/auth.json"
GOALS = {20: "<= 1.0x xargs", 200: "<= 3 s"}


@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)  # 1-minute load average as each run began

    def add(self, done: Finished, load: float) -> None:
        self.seconds.append(done.seconds)
        self.rss_kib.append(done.max_rss_kib)
        self.cpu.append(done.cpu_seconds)
        self.load.append(load)


def ansible_argv(config: Path, inventory: Path, home: Path) -> list[str]:
    """ansible over OpenSSH with the benchmark's ssh_config, as a fleet owner runs it."""
    env = [
        f"ANSIBLE_SSH_ARGS=-F {config} -o BatchMode=yes -o LogLevel=ERROR",
        f"ANSIBLE_HOME={home}",
        f"ANSIBLE_LOCAL_TEMP={home}/tmp",
        "ANSIBLE_HOST_KEY_CHECKING=True",
        "PYTHONWARNINGS=ignore",
    ]
    ansible = Path(ours_argv()[0]).parent / "ansible"
    argv = [str(ansible), "all", "-i", str(inventory), "-m", "raw", "-a", CAT]
    return ["env", *env, *argv, "-f", str(PARALLEL), "-o"]


class HostsBench:
    """The three tools at each fleet size, at RTT_MS through one delay line."""

    def __init__(self, lab: SshLab, aliases: Sequence[str], rounds: int) -> None:
        self.lab = lab
        self.aliases = list(aliases)
        self.rounds = rounds
        self.samples: dict[tuple[int, str], Sample] = {}

    def run(self) -> None:
        write_auth(self.lab)
        with DelayLine(self.lab.port, RTT_MS / 1000) as line:
            config = delayed_config(self.lab, line)
            for size in SIZES:
                log(f"fleet of {size} at {RTT_MS} ms")
                self.measure(config, self.aliases[:size])

    def measure(self, config: Path, hosts: list[str]) -> None:
        inventory = self.lab.dir / f"inventory.{len(hosts)}.ini"
        inventory.write_text("".join(f"{host}\n" for host in hosts))
        xargs = ["xargs", "-P", str(PARALLEL), "-I{}", *ssh_base(config), "{}", CAT]
        ansible = ansible_argv(config, inventory, self.lab.dir / "ansible-home")
        ours = [*ours_argv(), "status", *hosts, "--json", "-F", str(config)]

        def side(name: str, once: Callable[[], Finished]) -> Callable[[], None]:
            sample = self.samples.setdefault((len(hosts), name), Sample())

            def measured() -> None:
                load = os.getloadavg()[0]
                sample.add(once(), load)

            return measured

        sides = [
            side("codex-wizard", lambda: checked(run_to_exit(ours, timeout=600), hosts, ours=True)),
            side("xargs", lambda: checked(run_xargs(xargs, hosts), hosts)),
            side("ansible", lambda: checked(run_to_exit(ansible, timeout=600), hosts)),
        ]
        for n in range(self.rounds):
            alternate(n, sides)
        for name in ("codex-wizard", "xargs", "ansible"):
            sample = self.samples[len(hosts), name]
            log(
                f"  {name}: {median(sample.seconds):.2f} s, CPU {median(sample.cpu):.2f} s, "
                f"load {min(sample.load):.1f}-{max(sample.load):.1f}"
            )

    def table(self) -> str:
        head = (
            "| hosts | codex-wizard | xargs -P 50 ssh | ansible -f 50 "
            "| ours / xargs (wall, CPU) | ours / ansible (wall, CPU) | load | goal |"
        )
        lines = [head, "|---|---|---|---|---|---|---|---|"]
        for size in SIZES:
            names = ("codex-wizard", "xargs", "ansible")
            cells = [self._cell(size, name) for name in names]
            ours, xargs, ansible = (self.samples[size, name] for name in names)
            loads = [load for name in names for load in self.samples[size, name].load]
            lines.append(
                f"| {size} | {' | '.join(cells)} | {_ratios(ours, xargs)} | "
                f"{_ratios(ours, ansible)} | {min(loads):.1f}–{max(loads):.1f} | "
                f"{GOALS.get(size, '')} |"
            )
        return "\n".join(lines)

    def _cell(self, size: int, name: str) -> str:
        sample = self.samples[size, name]
        return (
            f"{median(sample.seconds):.2f} s, CPU {median(sample.cpu):.2f} s, "
            f"{max(sample.rss_kib) / 1024:.0f} MiB"
        )


def _ratios(ours: Sample, other: Sample) -> str:
    wall = median(ours.seconds) / median(other.seconds)
    cpu = median(ours.cpu) / median(other.cpu)
    return f"{wall:.2f}x, {cpu:.2f}x"


def checked(done: Finished, hosts: Sequence[str], *, ours: bool = False) -> Finished:
    """The run read every host's auth.json (ours: and found each login ok), else BenchError."""
    if ours:
        check_ours(done, hosts)
        return done
    found = done.output.count("auth_mode")
    if done.exit_code != 0 or found != len(hosts):
        raise BenchError(
            f"exit {done.exit_code}, read {found}/{len(hosts)}:\n{done.output[-2000:]}"
        )
    return done
