"""The round-trip section (`bench/run.py --only rtt`): both sides through one delay line.

At each round trip time (0, 50 and 100 ms by default) a bench/delayline.py proxy sits in front
of the lab's bridge, and a copy of the lab's ssh_config points every `Host` at it, so
codex-wizard and OpenSSH cross the same delay. Each comparison runs side by side in every round;
the table shows, beside the medians, the round trips each side spent: (time - time at 0 ms) / RTT.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.delayline import DelayLine
from bench.procs import BenchError, Finished, run_to_event, run_to_exit
from bench.sides import (
    CALLBACK_REMOTE_PORT,
    URL_LINE,
    alternate,
    check_ours,
    check_ssh,
    clear_codex_logins,
    http_get,
    log,
    ours_argv,
    run_xargs,
    ssh_base,
    tunnels,
    wait_port_free,
    write_auth,
)
from bench.stats import Row, fmt, median
from tests.lab import SshLab

DEFAULT_RTTS = (0, 50, 100)
FLEET = 20
GETS = 10
BAR_RTT = 100
CAT = ["cat", ".codex/auth.json"]
DOCTOR_SSH = 'bash -lc "node --version; npm --version; codex --version"; cat .codex/auth.json'


@dataclass
class Comparison:
    """One comparison at every RTT: samples by RTT (ms), and the bar it must meet at BAR_RTT."""

    name: str
    ref_name: str
    bar: float | None = None
    unit: str = "s"
    ours: dict[int, list[float]] = field(default_factory=dict)
    ref: dict[int, list[float]] = field(default_factory=dict)

    def row(self, rtt: int) -> Row:
        bar = self.bar if rtt == BAR_RTT else None
        ours, ref = self.ours.get(rtt, []), self.ref.get(rtt, [])
        return Row(self.name, ours, ref, self.ref_name, bar=bar, unit=self.unit)

    def round_trips(self, side: dict[int, list[float]], rtt: int) -> str:
        if rtt == 0 or not side.get(rtt) or not side.get(0):
            return ""
        return f"{(median(side[rtt]) - median(side[0])) / (rtt / 1000):.1f}"


def delayed_config(lab: SshLab, line: DelayLine) -> Path:
    """The lab's ssh_config with every Host sent through `line` (and its own known_hosts)."""
    known = lab.dir / f"known_hosts.{line.port}"
    known.write_text(lab.known_hosts.read_text().replace(f"]:{lab.port} ", f"]:{line.port} "))
    config = lab.dir / f"ssh_config.{line.port}"
    text = lab.ssh_config.read_text().replace(f"  Port {lab.port}\n", f"  Port {line.port}\n")
    config.write_text(text.replace(str(lab.known_hosts) + "\n", f"{known}\n"))
    return config


class RttBench:
    """The comparisons, measured at one RTT at a time over `config` (a delayed ssh_config)."""

    def __init__(self, lab: SshLab, aliases: Sequence[str], rounds: int) -> None:
        self.lab = lab
        self.hosts = list(aliases[:FLEET])
        self.rounds = rounds
        self.url = Comparison("command to URL", "ssh -L ... 'bash -lc \"codex login\"'", 1.2)
        self.status1 = Comparison("status, 1 host", "ssh lab cat .codex/auth.json", 1.1)
        self.status20 = Comparison(f"status, {FLEET} hosts", f"xargs -P {FLEET} ssh ... cat", 1.0)
        self.doctor = Comparison("doctor", "ssh lab 'bash -lc \"node/npm/codex --version\"; cat'")
        self.callback = Comparison(
            f"callback GET through the tunnel ({GETS} per round)", "ssh -N -L", unit="ms"
        )

    @property
    def comparisons(self) -> list[Comparison]:
        return [self.url, self.status1, self.status20, self.doctor, self.callback]

    def run(self, rtts: Sequence[int]) -> None:
        for rtt in rtts:
            with DelayLine(self.lab.port, rtt / 1000) as line:
                config = delayed_config(self.lab, line)
                log(f"round trip {rtt} ms (delay line on 127.0.0.1:{line.port})")
                self.measure_url(config, rtt)
                write_auth(self.lab)  # after the logins: a started `codex login` removes it
                self.measure_status(config, rtt)
                self.measure_doctor(config, rtt)
                self.measure_callback(config, rtt)

    def _rounds(self, comparison: Comparison, rtt: int, ours: Callable, ref: Callable) -> None:
        mine, theirs = comparison.ours.setdefault(rtt, []), comparison.ref.setdefault(rtt, [])
        for n in range(self.rounds):
            alternate(n, [lambda: mine.append(ours()), lambda: theirs.append(ref())])
        log(
            f"  {comparison.name}: ours {fmt(median(mine), comparison.unit)}, "
            f"ref {fmt(median(theirs), comparison.unit)}"
        )

    def measure_url(self, config: Path, rtt: int) -> None:
        ours = [*ours_argv(), "login", self.lab.alias, "--no-tui", "-F", str(config)]
        theirs = [*ssh_base(config), "-L", "1455:127.0.0.1:1455", self.lab.alias]
        theirs.append('bash -lc "codex login"')

        def one(argv: list[str], sig: int) -> float:
            wait_port_free(1455)
            done = run_to_event(argv, URL_LINE, timeout=60, stop_signal=sig)
            clear_codex_logins(self.lab)
            return done.seconds

        one(ours, signal.SIGINT), one(theirs, signal.SIGTERM)  # warm-up (codex-cli.md: the first
        # runs after an install are slow), and at every RTT: one slow outlier weighs on 3 rounds
        self._rounds(
            self.url, rtt, lambda: one(ours, signal.SIGINT), lambda: one(theirs, signal.SIGTERM)
        )

    def measure_status(self, config: Path, rtt: int) -> None:
        for comparison, hosts in ((self.status1, self.hosts[:1]), (self.status20, self.hosts)):
            ours = [*ours_argv(), "status", *hosts, "--json", "-F", str(config)]
            xargs = ["xargs", "-P", str(len(hosts)), "-I{}", *ssh_base(config), "{}", *CAT]

            def a(hosts: list[str] = hosts, ours: list[str] = ours) -> float:
                done = run_to_exit(ours, timeout=180)
                check_ours(done, hosts)
                return done.seconds

            def b(hosts: list[str] = hosts, xargs: list[str] = xargs) -> float:
                if len(hosts) == 1:
                    done = run_to_exit([*ssh_base(config), hosts[0], *CAT], timeout=60)
                else:
                    done = run_xargs(xargs, hosts)
                check_ssh(done, hosts)
                return done.seconds

            self._rounds(comparison, rtt, a, b)

    def measure_doctor(self, config: Path, rtt: int) -> None:
        ours = [*ours_argv(), "doctor", self.lab.alias, "--json", "-F", str(config)]
        theirs = [*ssh_base(config), self.lab.alias, DOCTOR_SSH]

        def a() -> float:
            done = run_to_exit(ours, timeout=120)
            _check_doctor(done)
            return done.seconds

        def b() -> float:
            done = run_to_exit(theirs, timeout=120)
            check_ssh(done, ["lab"])
            return done.seconds

        self._rounds(self.doctor, rtt, a, b)

    def measure_callback(self, config: Path, rtt: int) -> None:
        with (
            self.lab.hold_port(CALLBACK_REMOTE_PORT, mode="http"),
            tunnels(config, self.lab.alias) as (ours, theirs),
        ):
            http_get(ours), http_get(theirs)

            def gets(port: int) -> Callable[[], float]:
                return lambda: median([http_get(port) for _ in range(GETS)])

            self._rounds(self.callback, rtt, gets(ours), gets(theirs))


def _check_doctor(done: Finished) -> None:
    try:
        report = json.loads(done.output[done.output.index("{") :])
    except ValueError:
        raise BenchError(f"doctor output is not JSON:\n{done.output[-2000:]}") from None
    if not report.get("checks"):
        raise BenchError(f"doctor reported no checks:\n{done.output[-2000:]}")


def rtt_table(bench: RttBench, rtts: Sequence[int]) -> tuple[str, list[Row]]:
    """The Markdown table, and the rows that carry a bar (at BAR_RTT)."""
    head = ["comparison", "RTT", "codex-wizard", "RTs", "reference", "RTs", "ratio", "bar", ""]
    lines, barred = [head], []
    for comparison in bench.comparisons:
        for rtt in rtts:
            row = comparison.row(rtt)
            if row.bar is not None:
                barred.append(row)
            lines.append(
                [
                    comparison.name,
                    f"{rtt} ms",
                    fmt(median(row.ours), comparison.unit),
                    comparison.round_trips(comparison.ours, rtt),
                    f"{fmt(median(row.ref), comparison.unit)} ({comparison.ref_name})",
                    comparison.round_trips(comparison.ref, rtt),
                    row.ratio_text(),
                    row.bar_text(),
                    row.verdict,
                ]
            )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
           for line in lines]  # fmt: skip
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out), barred
