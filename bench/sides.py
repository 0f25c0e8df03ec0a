"""What the benchmark's sections share: how each side is started, checked and timed."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from bench.procs import BenchError, Finished, drain, reap, spawn, stop
from tests.lab import SshLab
from tests.lab.fake_tokens import make_auth_json
from tests.lab.proc import kill_pids

URL_LINE = re.compile(rb"^https://auth\.openai\.com/oauth/authorize\?\S+\r?\n")
CALLBACK_REMOTE_PORT = 18455
HERE = Path(__file__).resolve().parent


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ours_argv() -> list[str]:
    """The installed `codex-wizard` command next to this interpreter (as a user runs it)."""
    script = Path(sys.executable).parent / "codex-wizard"
    return [str(script)] if script.exists() else [sys.executable, "-m", "codex_wizard"]


def ssh_base(config: Path) -> list[str]:
    """OpenSSH as the benchmark runs it, with the lab's (or the delay line's) ssh_config."""
    return ["ssh", "-F", str(config), "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]


def alternate(round_no: int, sides: Sequence[Callable[[], None]]) -> None:
    """Run every side once, rotating who goes first from round to round."""
    shift = round_no % len(sides)
    for side in [*sides[shift:], *sides[:shift]]:
        side()


def wait_port_free(port: int, timeout: float = 120) -> None:
    """Both sides listen on the laptop's 127.0.0.1:port (another test run may hold it)."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError(f"127.0.0.1:{port} stays busy here") from None
        time.sleep(0.2)


def clear_codex_logins(lab: SshLab) -> int:
    """Wait for the server's `codex login` processes to go (5 s), then kill them; how many
    were still there after the client had gone."""
    deadline = time.monotonic() + 5
    pids = lab.server_pids("codex login")
    left = len(pids)
    while pids and time.monotonic() < deadline:
        time.sleep(0.05)
        pids = lab.server_pids("codex login")
    if pids:
        kill_pids(pids, timeout=2)
    if lab.server_pids("codex login"):
        raise BenchError(f"codex login survives: {lab.server_processes('codex login')}")
    return left if pids else 0


def write_auth(lab: SshLab) -> None:
    lab.write_server_file(".codex/auth.json", make_auth_json(), 0o600)
    lab.server_path(".codex").chmod(0o700)


def check_ours(done: Finished, hosts: Sequence[str]) -> None:
    try:
        start = done.output.index("[")
        results = json.loads(done.output[start:])
    except ValueError as exc:
        raise BenchError(f"status output is not JSON ({exc}):\n{done.output[-2000:]}") from None
    bad = [r for r in results if r.get("state") != "ok"]
    if done.exit_code != 0 or len(results) != len(hosts) or bad:
        raise BenchError(f"status exit {done.exit_code}, not ok: {bad[:3]}")


def check_ssh(done: Finished, hosts: Sequence[str]) -> None:
    found = done.output.count('"auth_mode"')
    if done.exit_code != 0 or found != len(hosts):
        raise BenchError(f"ssh read {found}/{len(hosts)} auth.json:\n{done.output[-2000:]}")


def run_xargs(argv: list[str], hosts: Sequence[str]) -> Finished:
    """xargs reading the host names from stdin, timed until it exits."""
    start = time.perf_counter()
    proc = spawn(argv, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write("".join(f"{h}\n" for h in hosts).encode())
    proc.stdin.close()
    out = drain(proc, 300)
    code, rss, cpu = reap(proc)
    return Finished(time.perf_counter() - start, out.decode("utf-8", "replace"), rss, code, cpu)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args!r} exited ({proc.returncode}) before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise BenchError(f"nothing listens on 127.0.0.1:{port}")


REQUEST = b"GET /auth/callback?code=bench&state=bench HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (
    b"User-Agent: codex-wizard-bench\r\nConnection: close\r\n\r\n"
)


def http_get(port: int) -> float:
    """One GET on a new TCP connection, read to the end; seconds."""
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), 10) as sock:
        sock.sendall(REQUEST)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    seconds = time.perf_counter() - start
    if not data.startswith(b"HTTP/1.1 404"):
        raise BenchError(f"unexpected answer through 127.0.0.1:{port}: {data[:200]!r}")
    return seconds


@contextlib.contextmanager
def tunnels(config: Path, alias: str) -> Iterator[tuple[int, int]]:
    """(our Tunnel's port, ssh -N -L's port), both to the namespace's CALLBACK_REMOTE_PORT."""
    ours_port, ssh_port = free_port(), free_port()
    remote = str(CALLBACK_REMOTE_PORT)
    child = [sys.executable, str(HERE / "tunnel_child.py"), str(config), alias]
    ours = spawn([*child, remote, str(ours_port)], stdin=subprocess.PIPE)
    forward = f"{ssh_port}:127.0.0.1:{remote}"
    theirs = spawn(
        [*ssh_base(config), "-N", "-o", "ExitOnForwardFailure=yes", "-L", forward, alias]
    )
    try:
        wait_listening(ours_port, ours)
        wait_listening(ssh_port, theirs)
        yield ours_port, ssh_port
    finally:
        for proc in (ours, theirs):
            stop(proc)
            reap(proc)
