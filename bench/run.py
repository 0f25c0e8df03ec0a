"""codex-wizard against the manual OpenSSH route, side by side in one run (see docs/benchmarks.md).

    sudo .venv/bin/python bench/run.py [--rounds N] [--only url,fleet,callback,tui,memory]

Builds the end-to-end lab (OpenSSH sshd in a network namespace, tests/lab), installs the pinned
real Codex CLI on the server's login-shell PATH, and times each comparison over several rounds.
Within a round the two sides run back to back, in alternating order from round to round, so slow
drift of a noisy machine lands on both. Prints medians, ratios and each bar. Needs root (the lab).
Nothing leaves loopback and the lab's namespace.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.hosts import SIZES as HOSTS_SIZES  # noqa: E402
from bench.hosts import HostsBench  # noqa: E402
from bench.procs import (  # noqa: E402
    BenchError,
    Finished,
    run_to_event,
    run_to_exit,
)
from bench.rtt import DEFAULT_RTTS, RttBench, rtt_table  # noqa: E402
from bench.sides import (  # noqa: E402
    CALLBACK_REMOTE_PORT,
    HERE,
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
from bench.stats import Row, median, table  # noqa: E402
from codex_wizard.core.server.preflight import AUTH_ADDRESS_VARIABLE  # noqa: E402
from tests.lab import SshLab, lab_unavailable_reason, real_codex_problem  # noqa: E402
from tests.lab.sshlab import AUTH_STAND_IN_PORT  # noqa: E402

SECTIONS = ("url", "fleet", "callback", "tui", "memory", "rtt", "hosts")
FLEET_SIZES = (1, 10, 50)


# ---------------------------------------------------------------------------- 1. URL


def bench_url(lab: SshLab, rounds: int, rows: dict[str, Row], memory: dict[str, list]) -> None:
    cfg = str(lab.ssh_config)
    ours = [*ours_argv(), "login", lab.alias, "--no-tui", "-F", cfg]
    theirs = [
        *ssh_base(lab.ssh_config),
        "-L",
        "1455:127.0.0.1:1455",
        lab.alias,
        'bash -lc "codex login"',
    ]
    row = rows["url"] = Row(
        "1. command to URL (real codex 0.169.0)", ref_name="ssh -L ... 'bash -lc \"codex login\"'"
    )
    row.bar = 1.3
    survivors = {"ours": 0, "ssh": 0}

    def one(argv: list[str], side: str, sig: int) -> Finished:
        wait_port_free(1455)
        done = run_to_event(argv, URL_LINE, timeout=60, stop_signal=sig)
        # ssh leaves the remote codex login running (docs/codex-cli.md); ours must not.
        survivors[side] += 1 if clear_codex_logins(lab) else 0
        return done

    log("warm-up: command to URL")
    one(ours, "ours", signal.SIGINT)
    one(theirs, "ssh", signal.SIGTERM)
    survivors.update(ours=0, ssh=0)  # the first runs after an install are slow (codex-cli.md)
    for n in range(rounds):

        def a() -> None:
            done = one(ours, "ours", signal.SIGINT)  # Ctrl-C: the user gives up
            row.ours.append(done.seconds)
            memory["login"].append(done.max_rss_kib)

        def b() -> None:
            done = one(theirs, "ssh", signal.SIGTERM)
            row.ref.append(done.seconds)
            memory["ssh"].append(done.max_rss_kib)

        alternate(n, [a, b])
        log(f"  round {n + 1}: ours {row.ours[-1]:.3f} s, ssh {row.ref[-1]:.3f} s")
    row.note = (
        f"a `codex login` was still running on the server after the client was stopped in "
        f"{survivors['ours']}/{rounds} of our runs (Ctrl-C) and {survivors['ssh']}/{rounds} "
        "of ssh's (killed); the benchmark kills leftovers between runs"
    )


# ---------------------------------------------------------------------------- 2. fleet


def bench_fleet(
    lab: SshLab, aliases: Sequence[str], rounds: int, rows: dict[str, Row], memory: dict
) -> None:
    cfg = str(lab.ssh_config)
    cat = ["cat", ".codex/auth.json"]
    write_auth(lab)  # after the logins: a started `codex login` removes an auth.json
    for size in FLEET_SIZES:
        hosts = list(aliases[:size])
        ours = [*ours_argv(), "status", *hosts, "--json", "-F", cfg]
        loop = ["sh", "-c", 'for h in "$@"; do ' + " ".join(ssh_base(lab.ssh_config)) + ' "$h" cat '
                '.codex/auth.json || exit 1; done', "loop", *hosts]  # fmt: skip
        xargs = ["xargs", "-P", "50", "-I{}", *ssh_base(lab.ssh_config), "{}", *cat]
        seq = Row(f"2. status, {size} host(s) vs sequential ssh loop", ref_name="for h; ssh")
        par = Row(f"2. status, {size} host(s) vs parallel ssh", ref_name="xargs -P 50 ssh")
        seq.speedup = True
        if size == 50:
            seq.bar, par.bar = 3.0, 1.0
        rows[f"fleet-seq-{size}"], rows[f"fleet-par-{size}"] = seq, par
        shared: list[float] = []

        def a(hosts: list[str] = hosts, ours: list[str] = ours, shared: list = shared) -> None:
            done = run_to_exit(ours, timeout=180)
            check_ours(done, hosts)
            shared.append(done.seconds)
            if len(hosts) == 50:
                memory["status50"].append(done.max_rss_kib)

        def b(hosts: list[str] = hosts, loop: list[str] = loop, seq: Row = seq) -> None:
            done = run_to_exit(loop, timeout=300)
            check_ssh(done, hosts)
            seq.ref.append(done.seconds)

        def c(hosts: list[str] = hosts, xargs: list[str] = xargs, par: Row = par) -> None:
            done = run_xargs(xargs, hosts)
            check_ssh(done, hosts)
            par.ref.append(done.seconds)

        log(f"warm-up: status over {size} host(s)")
        a(), shared.clear(), memory["status50"].clear()
        for n in range(rounds):
            alternate(n, [a, b, c])
            log(
                f"  round {n + 1}: ours {shared[-1]:.3f} s, loop {seq.ref[-1]:.3f} s, "
                f"xargs {par.ref[-1]:.3f} s"
            )
        seq.ours = par.ours = shared


# ---------------------------------------------------------------------------- 3. callback


def bench_callback(lab: SshLab, rounds: int, gets: int, rows: dict[str, Row]) -> None:
    row = rows["callback"] = Row(
        f"3. callback round trip (HTTP GET, new TCP connection; {gets} per round)",
        ref_name="ssh -N -L",
        bar=1.5,
        unit="ms",
    )
    with (
        lab.hold_port(CALLBACK_REMOTE_PORT, mode="http"),
        tunnels(lab.ssh_config, lab.alias) as (ours, theirs),
    ):
        log("warm-up: callback round trip")
        for _ in range(10):
            http_get(ours), http_get(theirs)
        for n in range(rounds):
            per_round: dict[int, list[float]] = {ours: [], theirs: []}

            def batch(port: int, per_round: dict = per_round) -> Callable[[], None]:
                return lambda: per_round[port].extend(http_get(port) for _ in range(gets))

            alternate(n, [batch(ours), batch(theirs)])
            row.ours.append(median(per_round[ours]))
            row.ref.append(median(per_round[theirs]))
            log(
                f"  round {n + 1}: ours {row.ours[-1] * 1000:.2f} ms, "
                f"ssh {row.ref[-1] * 1000:.2f} ms"
            )
    row.note = "medians of each round's per-GET medians"


# ---------------------------------------------------------------------------- 4. TUI


def tui_importable() -> str | None:
    """None when the wizard can be imported, else why not."""
    probe = [sys.executable, "-c", "import codex_wizard.tui.app as a; a.WizardApp"]
    result = subprocess.run(probe, capture_output=True, text=True, check=False, timeout=60)
    if result.returncode:
        return (result.stderr.strip().splitlines() or ["import failed"])[-1]
    return None


def first_frame(kind: str, lab: SshLab) -> float:
    argv = [sys.executable, str(HERE / "tui_child.py"), kind, str(lab.ssh_config)]
    start = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    try:
        frame = json.loads(result.stdout.strip().splitlines()[-1])["frame"]
    except (ValueError, IndexError, KeyError):
        raise BenchError(f"{kind} TUI child failed:\n{result.stdout}\n{result.stderr}") from None
    return float(frame) - start


def bench_tui(lab: SshLab, rounds: int, rows: dict[str, Row]) -> None:
    row = rows["tui"] = Row(
        "4. TUI first frame (headless, from process start)", ref_name="minimal Textual app"
    )
    row.bar = 1.3
    problem = tui_importable()
    if problem:
        row.note = f"skipped: codex_wizard.tui.app is not importable yet ({problem})"
        log(f"  {row.note}")
        return
    log("warm-up: TUI first frame")
    first_frame("wizard", lab), first_frame("minimal", lab)
    for n in range(rounds):

        def a() -> None:
            row.ours.append(first_frame("wizard", lab))

        def b() -> None:
            row.ref.append(first_frame("minimal", lab))

        alternate(n, [a, b])
        log(f"  round {n + 1}: wizard {row.ours[-1]:.3f} s, minimal {row.ref[-1]:.3f} s")
    row.note = (
        f"the wizard as `codex-wizard -F <lab config>` builds it ({len(lab_hosts(lab))} hosts, "
        "status checks on); the minimal app draws the same host list with nothing behind it"
    )


def lab_hosts(lab: SshLab) -> list[str]:
    return [
        line.split()[1]
        for line in lab.ssh_config.read_text().splitlines()
        if line.startswith("Host ")
    ]


# ---------------------------------------------------------------------------- 5. memory


def memory_rows(memory: dict[str, list[int]], rows: dict[str, Row]) -> None:
    mib = {key: [kib / 1024 for kib in values] for key, values in memory.items()}
    if mib["login"]:
        rows["mem-login"] = Row(
            "5. peak RSS, login --no-tui (to the URL)",
            mib["login"],
            mib["ssh"],
            "one ssh",
            unit="MiB",
        )
    if mib["status50"]:
        rows["mem-status"] = Row(
            "5. peak RSS, status over 50 hosts", mib["status50"], mib["ssh"], "one ssh", unit="MiB"
        )
        rows["mem-status"].note = "ru_maxrss of the measured child (wait4); xargs runs 50 such ssh"


# ---------------------------------------------------------------------------- main


def machine() -> list[str]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False).stderr.strip()
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("asyncssh", "textual", "cryptography")
    )
    return [
        f"nproc {os.cpu_count()}, CPU {cpu or platform.processor()}",
        f"kernel {platform.release()} ({platform.machine()}), Python {platform.python_version()}",
        f"{ssh}; {versions}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds per comparison (7)")
    parser.add_argument("--gets", type=int, default=50, help="GETs per round in 3. (50)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--json", type=Path, help="also write the samples here")
    parser.add_argument(
        "--rtt",
        default=",".join(map(str, DEFAULT_RTTS)),
        help="round trip times (ms) of the rtt section, 0 first (0,50,100)",
    )
    args = parser.parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    if unknown := only - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    rtts = sorted({int(part) for part in args.rtt.split(",") if part.strip()} | {0})
    # The lab is offline: the login's reach test goes to each lab's stand-in, as in the suite.
    os.environ.setdefault(AUTH_ADDRESS_VARIABLE, f"127.0.0.1:{AUTH_STAND_IN_PORT}")
    for reason in (lab_unavailable_reason(), real_codex_problem()):
        if reason:
            log(f"bench: {reason}")
            return 2
    rows: dict[str, Row] = {}
    memory: dict[str, list[int]] = {"login": [], "ssh": [], "status50": []}
    started = time.monotonic()
    with SshLab() as lab:
        lab.install_codex("real", "login-shell")
        aliases = lab.add_aliases(max(FLEET_SIZES + (HOSTS_SIZES if "hosts" in only else ())))
        if only & {"url", "memory"}:
            bench_url(lab, args.rounds, rows, memory)
        if only & {"fleet", "memory"}:
            bench_fleet(lab, aliases, args.rounds, rows, memory)
        if "callback" in only:
            bench_callback(lab, args.rounds, args.gets, rows)
        if "tui" in only:
            bench_tui(lab, args.rounds, rows)
        memory_rows(memory, rows)
        if "rtt" in only:
            far = RttBench(lab, aliases, args.rounds)
            far.run(rtts)
        if "hosts" in only:
            fleet_sizes = HostsBench(lab, aliases, args.rounds)
            fleet_sizes.run()
    print("\n".join(f"- {line}" for line in machine()))
    print(f"- {args.rounds} rounds, {time.monotonic() - started:.0f} s in all\n")
    if rows:
        print(table(list(rows.values())))
    if "rtt" in only:
        text, barred = rtt_table(far, rtts)
        print(f"\nRound trips through the delay line (RTs: (time - time at 0 ms) / RTT)\n\n{text}")
        rows.update({f"rtt-{n}": row for n, row in enumerate(barred)})
    if "hosts" in only:
        print(
            f"\nFleet sizes at 100 ms (median of {args.rounds}; peak RSS)\n\n{fleet_sizes.table()}"
        )
    if args.json:
        samples = {key: {"ours": row.ours, "ref": row.ref} for key, row in rows.items()}
        args.json.write_text(json.dumps({"machine": machine(), "samples": samples}, indent=2))
    return 1 if any(row.verdict == "MISS" for row in rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
