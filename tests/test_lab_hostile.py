"""A hostile server, for real: OpenSSH sshd in the lab with a `codex` of an attacker's making
(tests/lab/hostile_codex.py) and rc files that flood.

Whatever the server writes, the laptop's process stays under 200 MB and its terminal gets a few
KB; only 1455/1457 are ever opened here; no invisible character reaches the terminal; nothing a
probe started stays on the server once we give up or exit; a host key of another type than the
recorded one is named as a mismatch, as OpenSSH refuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from codex_wizard.core.server.events import LoginExited, UrlReady
from codex_wizard.core.server.login import LOGIN_MAX_OUTPUT, LoginSession
from codex_wizard.core.server.probe import ProbeError, ServerEnv, probe_server
from codex_wizard.core.server.remote import MAX_LINE
from codex_wizard.core.ssh.connection import connect
from codex_wizard.core.ssh.hosts import parse_host_arg
from codex_wizard.core.ssh.server import RUN_MAX_OUTPUT
from codex_wizard.core.ssh.types import ConnectSettings
from tests.lab.proc import LabError, wait_until
from tests.lab.sshlab import SshLab

HOSTILE_CODEX = Path(__file__).parent / "lab" / "hostile_codex.py"
CLI = [sys.executable, "-m", "codex_wizard"]
MAX_RSS_MB = 200
MAX_TERMINAL_BYTES = 8 * 1024
INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Co", "Cn"}


def install_hostile_codex(lab: SshLab, mode: str) -> None:
    """The hostile codex first on the lab user's PATH, behaving as `mode`."""
    lab.account.put_bin_on_path("path")
    lab.write_server_file("bin/codex", HOSTILE_CODEX.read_text(), 0o755)
    lab.write_server_file(".hostile-codex", mode + "\n")


@dataclass
class Measured:
    """A CLI run: exit code, all it wrote to the terminal, its peak memory, its listeners."""

    code: int
    output: bytes
    peak_rss_mb: float
    listened: set[int]

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")


# The CLI is started by this small launcher, which reports the CLI's peak RSS. wait4 straight
# from the test would not do: Linux counts a forked child's peak from the parent's memory at
# the fork (exec records the old mm's high-water mark), so a pytest grown to 300 MB by the
# rest of the suite made every CLI look 300 MB big. The launcher forwards Ctrl-C and friends.
_LAUNCHER = """
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, lambda number, _frame: os.kill(pid, number))
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(lab: SshLab, *args: str, timeout: float = 120, on_start=None) -> Measured:
    """Run the CLI as a user would; its peak RSS (through _LAUNCHER), the ports it listened
    on from psutil while it ran."""
    handle, name = tempfile.mkstemp(prefix="peak-rss-")
    os.close(handle)
    peak_file = Path(name)
    argv = [sys.executable, "-c", _LAUNCHER, str(peak_file), *CLI, *args]
    argv += ["-F", str(lab.ssh_config)]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(proc.stdout.read1, b"")))
    reader.start()
    listened: set[int] = set()
    watcher = threading.Thread(target=_watch_listeners, args=(proc.pid, listened), daemon=True)
    watcher.start()
    if on_start is not None:
        on_start(proc)
    killer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    killer.start()
    proc.wait()
    killer.cancel()
    reader.join(10)
    peak_kb = float(peak_file.read_text() or "inf")  # no report: never a pass
    peak_file.unlink()
    return Measured(proc.returncode, b"".join(chunks), peak_kb / 1024, listened)


def _watch_listeners(pid: int, listened: set[int]) -> None:
    try:
        launcher = psutil.Process(pid)
        while launcher.is_running() and launcher.status() != psutil.STATUS_ZOMBIE:
            for process in [launcher, *launcher.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    for conn in process.net_connections(kind="tcp"):
                        if conn.status == psutil.CONN_LISTEN:
                            listened.add(conn.laddr.port)
            time.sleep(0.05)
    except psutil.Error:
        return


def settings_for(lab: SshLab) -> ConnectSettings:
    return ConnectSettings(ssh_config=lab.ssh_config)


def assert_bounded(run: Measured) -> None:
    assert run.peak_rss_mb < MAX_RSS_MB, f"peak RSS {run.peak_rss_mb:.0f} MB"
    assert len(run.output) <= MAX_TERMINAL_BYTES, f"{len(run.output)} bytes: {run.output[:500]!r}"
    assert "Traceback" not in run.text


def temp_entries(lab: SshLab) -> set[str]:
    """The lab user's entries in /tmp (its uid may be an earlier lab user's: compare)."""
    return {str(p) for p in Path("/tmp").iterdir() if _owned_by(p, lab.account.uid)}


def _owned_by(path: Path, uid: int) -> bool:
    try:
        return path.lstat().st_uid == uid
    except OSError:
        return False


def leftovers(lab: SshLab, before: set[str], *, but_sshd: bool = False) -> list[str]:
    """The lab user's processes (but sshd's session ones) and its new /tmp entries."""
    processes = lab.server_processes()
    if but_sshd:
        processes = [p for p in processes if not p.split(None, 1)[1].startswith("sshd")]
    return processes + sorted(temp_entries(lab) - before)


def assert_nothing_left(lab: SshLab, before: set[str], *, but_sshd: bool = False) -> None:
    """Poll for a while (the group kill is TERM, then KILL a second later), then say what is
    left, if anything."""
    with contextlib.suppress(LabError):
        wait_until(lambda: not leftovers(lab, before, but_sshd=but_sshd), timeout=10)
    assert leftovers(lab, before, but_sshd=but_sshd) == []


# ------------------------------------------------------------------ 1. endless output


@pytest.mark.parametrize("mode", ["login-flood", "login-lines", "login-warnings"])
def test_endless_login_output_is_stopped_and_bounded(lab: SshLab, mode: str) -> None:
    install_hostile_codex(lab, mode)
    before = temp_entries(lab)
    run = run_measured(lab, "login", "lab", "--no-tui", "--relay", "--timeout", "90")
    assert run.code != 0
    stopped = f"codex login: it wrote more than {LOGIN_MAX_OUTPUT // 1024} KB of output, so it was"
    assert stopped in run.text
    assert_bounded(run)
    assert_nothing_left(lab, before)


async def test_real_codex_login_says_far_less_than_the_bounds(lab: SshLab, codex_kind: str) -> None:
    """The bounds leave real codex room: its whole output up to the URL, and its longest line
    (the URL), are a small part of what would be stopped or cut."""
    lab.install_codex(codex_kind)
    connecting = connect(parse_host_arg(lab.alias), settings_for(lab))
    async with await connecting as conn, LoginSession(conn, ServerEnv(), forward=False) as session:
        async for event in session.events():
            if isinstance(event, UrlReady | LoginExited):
                break
    assert isinstance(event, UrlReady), list(session.output)
    said = list(session.output)
    assert sum(len(line) + 1 for line in said) < LOGIN_MAX_OUTPUT // 16, said
    assert max(len(line) for line in said) < MAX_LINE // 2, said


def test_an_rc_file_flooding_the_probe_is_bounded(lab: SshLab) -> None:
    install_hostile_codex(lab, "plain")
    flood = "head -c 100000000 /dev/zero | tr '\\0' x\n"
    lab.write_server_file(".bashrc", flood + (lab.home / ".bashrc").read_text())
    run = run_measured(lab, "doctor", "lab")
    assert "The probe on lab wrote too much" in run.text
    assert_bounded(run)


# ------------------------------------------------------------------ 2. a flood of a version


def test_a_100_mb_version_without_newline_is_bounded(lab: SshLab) -> None:
    install_hostile_codex(lab, "version-flood")
    run = run_measured(lab, "doctor", "lab")
    assert "9" * 100 in run.text  # shown, but only what the server let through
    assert "wrote too much" not in run.text  # cut on the server: the rest of the probe holds
    assert_bounded(run)


# ------------------------------------------------------------------ 3. only codex's ports


def test_a_url_naming_another_port_opens_nothing_here(lab: SshLab) -> None:
    install_hostile_codex(lab, "port-8080")
    run = run_measured(lab, "login", "lab", "--no-tui", "--timeout", "20")
    assert "not codex's own" in run.text
    assert run.listened <= {1455, 1457}, run.listened
    assert 8080 not in run.listened
    assert_bounded(run)


# ------------------------------------------------------------------ 4. invisible characters


@pytest.mark.parametrize(
    "command", [("doctor", "lab"), ("login", "lab", "--no-tui", "--relay", "--timeout", "60")]
)
def test_no_invisible_character_reaches_the_terminal(lab: SshLab, command: tuple) -> None:
    install_hostile_codex(lab, "invisible")
    run = run_measured(lab, *command)
    hidden = [
        f"U+{ord(c):04X}"
        for c in run.text
        if c not in "\n\t\r" and unicodedata.category(c) in INVISIBLE_CATEGORIES
    ]
    assert hidden == [], run.text
    expected = "codex 0.169.0" if command[0] == "doctor" else "account  ada@example.com"
    assert expected in run.text  # the words are there, without what hid in them
    assert_bounded(run)


# ------------------------------------------------------------ 4b. every other exec bounded


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
async def test_a_plain_exec_that_floods_is_given_up_not_read_on(lab: SshLab, stream: str) -> None:
    """ServerConnection.run (the .npmrc read, push's `codex login status`, the relay, the
    cleanups) keeps at most RUN_MAX_OUTPUT of an endless writer and returns, well before its
    timeout, instead of reading on until memory or the timeout runs out."""
    redirect = " >&2" if stream == "stderr" else ""
    async with await connect(parse_host_arg(lab.alias), settings_for(lab)) as conn:
        result = await conn.run(f"yes flood{redirect}", timeout=60)
        assert result.flooded
        assert result.exit_status is None
        kept = getattr(result, stream)
        assert RUN_MAX_OUTPUT - 65536 < len(kept) <= RUN_MAX_OUTPUT
        assert (await conn.run("echo still here")).stdout == "still here\n"


# ------------------------------------------------------------------ 5. nothing left behind


async def test_a_probe_given_up_leaves_nothing_on_the_server(lab: SshLab) -> None:
    install_hostile_codex(lab, "version-hang")  # and deaf to SIGTERM
    before = temp_entries(lab)
    async with await connect(parse_host_arg(lab.alias), settings_for(lab)) as conn:
        probing = asyncio.create_task(probe_server(conn))
        await asyncio.to_thread(
            wait_until, lambda: lab.server_pids("codex --version"), timeout=20, what="hung"
        )
        hung = leftovers(lab, before, but_sshd=True)
        assert any(entry.startswith("/tmp/tmp.") for entry in hung), hung  # its folder
        assert len([p for p in hung if " sh -c " in p]) >= 2, hung  # the script, its subshells
        probing.cancel()  # we give up, the connection stays
        with pytest.raises((asyncio.CancelledError, ProbeError)):
            await probing
        await asyncio.to_thread(assert_nothing_left, lab, before, but_sshd=True)
    assert_nothing_left(lab, before)


def test_exiting_during_a_hung_probe_leaves_nothing(lab: SshLab) -> None:
    install_hostile_codex(lab, "version-hang")
    before = temp_entries(lab)

    def interrupt_once_hung(proc: subprocess.Popen) -> None:
        wait_until(lambda: lab.server_pids("codex --version"), timeout=30, what="hung")
        proc.send_signal(signal.SIGINT)  # the user gives up: Ctrl-C

    run = run_measured(lab, "login", "lab", "--no-tui", on_start=interrupt_once_hung)
    assert "Traceback" not in run.text
    assert_nothing_left(lab, before)


# ------------------------------------------------------------------ 6. a key of another type


def test_a_host_key_of_another_type_is_named_a_mismatch(lab: SshLab, tmp_path: Path) -> None:
    other = tmp_path / "other_ecdsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(other)], check=True)
    key_type, key = other.with_suffix(".pub").read_text().split()[:2]
    lab.known_hosts.write_text(f"[127.0.0.1]:{lab.port} {key_type} {key}\n")
    try:
        openssh = lab.ssh("true")
        run = run_measured(lab, "status", "lab")
    finally:
        lab._write_known_hosts()
    assert openssh.returncode == 255 and "Host key verification failed" in openssh.stderr
    assert "IDENTIFICATION HAS CHANGED" in openssh.stderr
    assert run.code != 0
    assert "the host's key does not match what known_hosts records" in run.text
    assert lab.host_key_fingerprint in run.text  # the key the server has, as ssh names it
    assert "Connection lost" not in run.text
