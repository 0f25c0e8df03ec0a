"""Where a fleet run's CPU goes: commands against the lab's 200 aliases at 100 ms, each with its
wall time, the CPU of its process tree, the lab sshd's and socat bridge's CPU (they stand for
the servers but share this machine's cores), the delay line's, all the machine's, and the load
average before and after (docs/benchmarks.md, "Fleet sizes").

    sudo .venv/bin/python bench/fleet_cpu.py COMMANDS_FILE

COMMANDS_FILE has one `label|shell command` a line; `{ours}`, `{config}`, `{h1}`, `{h20}`,
`{h200}` (the aliases, space-separated) and `{f20}`-style files (one alias a line) are filled
in, e.g. `ours 200|{ours} status {h200} --json -F {config}`. Wrap a command in
`python -m cProfile -o ...` to see where its own CPU goes.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.delayline import DelayLine
from bench.rtt import delayed_config
from bench.sides import ours_argv, write_auth
from tests.lab import SshLab

TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of pid and the children it has reaped (utime, stime, cutime, cstime)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / TICK


def servers_cpu(lab: SshLab) -> float:
    """The lab's sshd and its in-namespace socat: every connection's server side."""
    procs = [lab._sshd, lab._ns_socat]  # the lab's own processes
    return sum(tree_cpu(proc.pid) for proc in procs if proc is not None)


def machine_busy() -> float:
    """CPU seconds the whole machine has spent not idle."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split()[1:11]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICK


def usage() -> tuple[resource.struct_rusage, resource.struct_rusage]:
    """This process's children's usage (the measured commands), and its own (the delay line)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)


def measure(label: str, command: str, lab: SshLab) -> str:
    load = os.getloadavg()[0]
    children, me = usage()
    servers, busy, start = servers_cpu(lab), machine_busy(), time.monotonic()
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    children_after, me_after = usage()
    cpu = (children_after.ru_utime - children.ru_utime) + (
        children_after.ru_stime - children.ru_stime
    )
    line = (me_after.ru_utime - me.ru_utime) + (me_after.ru_stime - me.ru_stime)
    return (
        f"{label}: wall {wall:.2f} s, CPU {cpu:.2f} s, servers {servers_cpu(lab) - servers:.2f} s, "
        f"delay line {line:.2f} s, machine busy {machine_busy() - busy:.1f} s, "
        f"load {load:.1f} -> {os.getloadavg()[0]:.1f}, exit {done.returncode}"
    )


def main() -> None:
    commands = [
        line.split("|", 1)
        for line in Path(sys.argv[1]).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    with SshLab() as lab:
        aliases = lab.add_aliases(200)
        write_auth(lab)
        with DelayLine(lab.port, 0.1) as line:
            values = {"config": str(delayed_config(lab, line)), "ours": " ".join(ours_argv())}
            for size in (1, 20, 200):
                values[f"h{size}"] = " ".join(aliases[:size])
                listed = lab.dir / f"hosts.{size}"
                listed.write_text("\n".join(aliases[:size]) + "\n")
                values[f"f{size}"] = str(listed)
            for label, command in commands:
                print(measure(label, command.format(**values), lab), flush=True)


if __name__ == "__main__":
    main()
