"""Child processes for the benchmark: start, read until a line appears, stop, and peak memory."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass


class BenchError(RuntimeError):
    """A measured command did not do what the benchmark expects (with its output)."""


@dataclass
class Finished:
    """A measured child: seconds from spawn to the event, its output, its peak RSS (KiB) and
    the CPU seconds (user + sys) of it and the children it waited for."""

    seconds: float
    output: str
    max_rss_kib: int
    exit_code: int
    cpu_seconds: float = 0.0


def spawn(argv: Sequence[str], *, stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen:
    """Start argv in its own session, stdout and stderr merged into one pipe (bytes)."""
    return subprocess.Popen(
        list(argv),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def read_until(proc: subprocess.Popen, pattern: re.Pattern[bytes], timeout: float) -> bytes:
    """Read proc's output until pattern matches a complete line; BenchError otherwise."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BenchError(f"timed out waiting for {pattern.pattern!r}:\n{_text(buf)}")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            raise BenchError(f"output ended before {pattern.pattern!r}:\n{_text(buf)}")
        buf += chunk
        for line in buf.splitlines(keepends=True):
            if line.endswith((b"\n", b"\r")) and pattern.search(line):
                return buf


def drain(proc: subprocess.Popen, timeout: float) -> bytes:
    """Everything proc still writes until it exits (BenchError after timeout)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BenchError(f"{proc.args!r} did not finish in {timeout:g} s:\n{_text(buf)}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return buf
            buf += chunk


def reap(proc: subprocess.Popen, timeout: float = 15.0) -> tuple[int, int, float]:
    """Wait for proc (SIGKILL after timeout); (exit code, peak RSS in KiB, CPU seconds of its
    tree) from wait4."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.stdout is not None:
                proc.stdout.close()
            return proc.returncode, usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            stop(proc, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.01)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal proc's whole session (it was started with start_new_session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def run_to_event(
    argv: Sequence[str],
    pattern: re.Pattern[bytes],
    *,
    timeout: float,
    stop_signal: int = signal.SIGTERM,
) -> Finished:
    """Seconds from spawn until pattern is printed; then stop the command and reap it."""
    start = time.perf_counter()
    proc = spawn(argv)
    try:
        out = read_until(proc, pattern, timeout)
        seconds = time.perf_counter() - start
    finally:
        stop(proc, stop_signal)
    with contextlib.suppress(BenchError):
        out += drain(proc, 10)
    code, rss, cpu = reap(proc)
    return Finished(seconds, _text(out), rss, code, cpu)


def run_to_exit(argv: Sequence[str], *, timeout: float) -> Finished:
    """Seconds from spawn until the command exits by itself."""
    start = time.perf_counter()
    proc = spawn(argv)
    try:
        out = drain(proc, timeout)
    except BenchError:
        stop(proc, signal.SIGKILL)
        reap(proc)
        raise
    code, rss, cpu = reap(proc)
    return Finished(time.perf_counter() - start, _text(out), rss, code, cpu)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")
