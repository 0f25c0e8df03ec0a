"""More faults, beyond tests/test_faults.py: the lab's link cut mid-login, `npm install` failing
or hanging, and Ctrl-C / SIGTERM at every step of `login`. Each ends in a clear message, an exit
code, and a server with no `codex login` (or npm) left running."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_wizard.core.laptop.ports import port_is_free
from codex_wizard.core.server.actions import install_codex
from codex_wizard.core.server.probe import ServerEnv, probe_server
from codex_wizard.core.ssh.connection import connect
from tests.conftest import skip_or_fail
from tests.lab.account import SYSTEM_PATH
from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import CLI, URL_LINE, Running, cli, run_cli, state_of
from tests.test_e2e_core import LAB, browser_callback, settings_for
from tests.test_faults import SilentServer, assert_clean


@pytest.fixture(autouse=True)
def laptop_login_port_free(request: pytest.FixtureRequest) -> None:
    """Lab tests run the CLI, whose login binds this computer's 127.0.0.1:1455 as a user's
    would: wait (bounded) until another test run on the machine has let go of it."""
    if {"lab", "lab_noforward"} & set(request.fixturenames):
        wait_laptop_port_free()


def wait_laptop_port_free(timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not port_is_free(1455) and time.monotonic() < deadline:
        time.sleep(0.2)


def wait_for_server(lab: SshLab, pattern: str, *, gone: bool, timeout: float = 60) -> list[str]:
    """Poll the lab user's processes until `pattern` is (gone=False) or is not (gone=True) there.

    A bounded wait for the server to settle, not a timing assertion: returns what is left.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = lab.server_processes(pattern)
        if bool(found) != gone or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def no_codex_login(lab: SshLab, timeout: float = 30) -> None:
    left = wait_for_server(lab, "codex login", gone=True, timeout=timeout)
    assert not left, f"codex login still running on the server: {left}"


@pytest.fixture
def link(lab: SshLab) -> Iterator[SshLab]:
    """The lab, with its namespace's loopback link brought back up whatever the test does."""
    try:
        yield lab
    finally:
        lab.ns_run(["ip", "link", "set", "lo", "up"])


def cut_link(lab: SshLab) -> None:
    """Take the namespace's only link (lo) down: sshd's side of every connection goes silent."""
    result = lab.ns_run(["ip", "link", "set", "lo", "down"])
    assert result.returncode == 0, result.stderr


def restore_link(lab: SshLab) -> None:
    result = lab.ns_run(["ip", "link", "set", "lo", "up"])
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------------------ link cut


def test_link_cut_mid_login_is_detected_by_keepalive(link: SshLab) -> None:
    """Nothing answers any more: keepalives notice (about a minute), the user is told."""
    lab = link
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "250") as run:
        run.wait_for("Waiting for the browser")
        cut_link(lab)
        code, out = run.finish(timeout=200)
    assert code == 1
    assert "login failed: connection lost" in out and "keepalive" in out
    assert_clean(out)
    # While the link is down nobody can reach the server; once it is back, sshd sees the
    # connection end and hangs codex login up (it runs under a PTY).
    restore_link(lab)
    no_codex_login(lab, timeout=90)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_link_cut_then_user_gives_up(link: SshLab, sig: signal.Signals) -> None:
    """The user stops waiting on a dead link: a prompt exit, not a hang, and no traceback."""
    lab = link
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "250") as run:
        run.wait_for("Waiting for the browser")
        cut_link(lab)
        run.proc.send_signal(sig)
        code, out = run.finish(timeout=60)
    assert code == 130 and "codex-wizard: cancelled." in out
    assert_clean(out)
    restore_link(lab)
    no_codex_login(lab, timeout=90)


# ------------------------------------------------------------------------------ local port


def test_local_port_held_by_another_program_without_a_terminal(lab: SshLab) -> None:
    """The browser's port is taken here and there is no terminal to ask about stopping it."""
    lab.install_codex("fake", "path")
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 1455))
    holder.listen()
    try:
        result = run_cli(lab, "login", "lab", "--no-tui")
    finally:
        holder.close()
    assert result.returncode == 1
    assert f"Port 1455 on this computer is held by python (pid {os.getpid()})" in result.stdout
    assert result.stderr.strip() == (
        f"codex-wizard: port 1455 is busy here: stop python (pid {os.getpid()}) on "
        "127.0.0.1:1455 and try again."
    )
    assert_clean(result.stdout + result.stderr)
    assert not lab.server_processes("codex")  # checked before codex login is started


# ------------------------------------------------------------------------------ npm install

SYSTEM_NPM = shutil.which("npm", path=SYSTEM_PATH)
NPM_EACCES = """#!/bin/sh
# npm as on a server whose global prefix belongs to root; the real npm for --prefix installs.
case " $* " in
  *" --prefix "*) exec @SYSTEM_NPM@ "$@" ;;
esac
cat >&2 <<'EOF'
npm error code EACCES
npm error syscall mkdir
npm error path /usr/lib/node_modules/@openai
npm error errno -13
npm error Error: EACCES: permission denied, mkdir '/usr/lib/node_modules/@openai'
npm error
npm error The operation was rejected by your operating system.
npm error It is likely you do not have the permissions to access this file as the current user
npm error A complete log of this run can be found in: /home/x/.npm/_logs/debug-0.log
EOF
exit 243
"""

NPM_HANGS = """#!/bin/sh
# npm stuck on a registry that never answers.
echo "npm http fetch GET https://registry.npmjs.org/@openai%2fcodex (waiting)" >&2
sleep 600
"""


def offline_npm(lab: SshLab) -> None:
    """The real npm, with no network in the lab's namespace: one try, no retries."""
    lab.write_server_file(".npmrc", "fetch-retries=0\nfetch-timeout=5000\nupdate-notifier=false\n")


def nothing_installed(lab: SshLab) -> None:
    for rel in (".local/bin/codex", ".local/lib/node_modules/@openai/codex", "bin/codex"):
        assert not lab.server_path(rel).exists(), f"{rel} left behind"


async def test_npm_permission_denied_then_no_network(lab: SshLab) -> None:
    """EACCES on the global prefix is recognised (the user-prefix install is offered); that
    install then fails for want of network. Clear messages; nothing half-installed."""
    if SYSTEM_NPM is None:
        skip_or_fail(f"no npm on {SYSTEM_PATH} (scripts/lab-deps.sh installs nodejs and npm)")
    lab.write_server_file("bin/npm", NPM_EACCES.replace("@SYSTEM_NPM@", SYSTEM_NPM), mode=0o755)
    lab.account.put_bin_on_path("path")
    offline_npm(lab)
    async with await connect(LAB, settings_for(lab)) as conn:
        env = ServerEnv()
        global_install = await install_codex(conn, env, timeout=120)
        assert not global_install.ok and global_install.exit_code == 243
        assert global_install.permission_error
        assert "EACCES" in global_install.summary()
        assert "~/.local" in global_install.summary()

        lines: list[str] = []
        user_install = await install_codex(
            conn, env, user_prefix=True, on_line=lines.append, timeout=120
        )
        assert not user_install.ok and user_install.exit_code not in (0, None)
        assert not user_install.permission_error
        assert user_install.network_error
        summary = user_install.summary()
        assert "can't reach the npm registry" in summary and "registry.npmjs.org" in summary
        assert "A complete log of this run" not in user_install.last_line()
        assert lines == user_install.output  # streamed as it came

        probe = await probe_server(conn)
        assert not probe.codex.found
    nothing_installed(lab)
    assert not wait_for_server(lab, "npm", gone=True)


@pytest.mark.parametrize("how", ["timeout", "cancelled"])
async def test_npm_install_stopped_midway_leaves_no_npm(lab: SshLab, how: str) -> None:
    """An install that hangs is stopped on the server too, on a timeout or a cancel (the
    wizard quitting mid-install), not just abandoned with its channel."""
    lab.write_server_file("bin/npm", NPM_HANGS, mode=0o755)
    lab.account.put_bin_on_path("path")
    async with await connect(LAB, settings_for(lab)) as conn:
        lines: list[str] = []
        if how == "timeout":
            result = await install_codex(conn, ServerEnv(), on_line=lines.append, timeout=3)
            assert result.error == "stopped after 3 s without finishing"
            assert not result.ok and result.summary().startswith("stopped after 3 s")
        else:
            task = asyncio.create_task(install_codex(conn, ServerEnv(), on_line=lines.append))
            for _ in range(200):
                if lines:
                    break
                await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert any("registry.npmjs.org" in line for line in lines)
        assert not any(line.startswith("@@cwpid") for line in lines)
        left = wait_for_server(lab, "sleep 600", gone=True, timeout=10)
        assert not left, f"npm install still running on the server: {left}"
        assert not conn.ssh.is_closed()  # the connection is still usable afterwards
        assert (await conn.run("echo ok")).stdout.strip() == "ok"
    nothing_installed(lab)


async def test_npm_install_connection_dropped(lab: SshLab) -> None:
    lab.write_server_file("bin/npm", NPM_HANGS, mode=0o755)
    lab.account.put_bin_on_path("path")
    async with await connect(LAB, settings_for(lab)) as conn:
        lines: list[str] = []
        task = asyncio.create_task(install_codex(conn, ServerEnv(), on_line=lines.append))
        for _ in range(200):
            if lines:
                break
            await asyncio.sleep(0.05)
        lab.drop_connections()
        result = await asyncio.wait_for(task, 60)
    assert not result.ok and result.exit_code is None
    assert result.error is not None and "connection" in result.error
    assert result.summary() == result.error
    nothing_installed(lab)


# ------------------------------------------------------------------------------ signals

SIGNALS = pytest.mark.parametrize(
    "sig",
    [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
    ids=["ctrl-c", "sigterm", "sighup"],  # SIGHUP: the terminal was closed
)


def interrupted(run: Running, sig: signal.Signals, *, clean: bool = True) -> str:
    run.proc.send_signal(sig)
    code, out = run.finish(timeout=60)
    assert code == 130, out
    assert out.rstrip().endswith("codex-wizard: cancelled."), out
    if clean:
        assert_clean(out)
    return out


@SIGNALS
def test_signal_while_connecting(sig: signal.Signals, tmp_path: Path) -> None:
    """The handshake never comes (a port that accepts TCP and says nothing)."""
    silent = SilentServer()
    config = tmp_path / "ssh_config"
    config.write_text("")
    try:
        argv = [*CLI, "login", f"127.0.0.1:{silent.port}", "--no-tui", "-F", str(config)]
        run = Running(argv)
        try:
            run.wait_for("Connecting to")
            for _ in range(100):  # until the TCP connection is in
                if silent.accepted:
                    break
                time.sleep(0.05)
            interrupted(run, sig)
        finally:
            if run.proc.poll() is None:
                run.proc.kill()
    finally:
        silent.close()


@SIGNALS
def test_signal_while_waiting_for_the_url(lab: SshLab, sig: signal.Signals) -> None:
    """codex login has started (and the probe runs) but has not printed its URL yet."""
    lab.install_codex("fake", "path")
    # Only the login is slow: the probe and its preflight (`codex --version`, `codex login
    # status`) answer first, as they must before any login starts.
    lab.set_fake_knobs(login_delay_s=60)
    with cli(lab, "login", "lab", "--no-tui") as run:
        run.wait_for("Connecting to lab")
        assert wait_for_server(lab, "codex login", gone=False, timeout=30), run.lines
        interrupted(run, sig)
        assert not any(URL_LINE.match(line) for line in run.lines)
    no_codex_login(lab)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
def test_background_job_still_cleans_up(lab: SshLab, sig: signal.Signals) -> None:
    """`codex-wizard login … &` runs with SIGINT ignored (POSIX, for background jobs): SIGTERM
    and SIGHUP must still stop it cleanly, though they cannot go through SIGINT."""
    lab.install_codex("fake", "path")
    argv = [*CLI, "login", "lab", "--no-tui", "-F", str(lab.ssh_config)]
    run = Running(["sh", "-c", 'trap "" INT; exec "$@"', "sh", *argv])
    try:
        run.wait_for("Waiting for the browser")
        interrupted(run, sig)
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    no_codex_login(lab)


SLOW_NODE = """#!/bin/sh
case "$1" in
  --version|-v) sleep 30; echo v22.11.0 ;;
  *) exec /usr/bin/node "$@" ;;
esac
"""


@SIGNALS
def test_signal_while_probing(lab: SshLab, sig: signal.Signals) -> None:
    """The install probe (and its preflight) is still running on the server: since the
    preflight, it runs before codex login starts, so no URL is out yet."""
    lab.install_codex("fake", "path")
    lab.write_server_file("bin/node", SLOW_NODE, mode=0o755)
    with cli(lab, "login", "lab", "--no-tui") as run:
        run.wait_for("Connecting to lab")
        assert wait_for_server(lab, "sleep 30", gone=False, timeout=30)  # the probe's node
        assert not any(URL_LINE.match(line) for line in run.lines)
        interrupted(run, sig)
    no_codex_login(lab)


def test_sigterm_while_waiting_for_the_browser(lab: SshLab) -> None:
    """(Ctrl-C here is tests/test_e2e_cli.py::test_ctrl_c_stops_the_remote_login.)"""
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--no-tui") as run:
        run.wait_for("Waiting for the browser")
        assert lab.server_processes("codex login")
        interrupted(run, signal.SIGTERM)
    no_codex_login(lab)


@SIGNALS
def test_signal_at_the_relay_prompt(lab_noforward: SshLab, sig: signal.Signals) -> None:
    """--relay, waiting for the pasted address (a thread blocked reading the terminal)."""
    lab = lab_noforward
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--relay", stdin=True) as run:
        run.wait_for(URL_LINE.pattern)
        run.wait_for("paste it here")
        run.send("not an address")
        run.wait_for("not the address the browser ended on")
        interrupted(run, sig)
    no_codex_login(lab)


def start_exchange(lab: SshLab, run: Running) -> None:
    """Sign in: the browser comes back and codex takes its time exchanging the code."""
    url = run.wait_for(URL_LINE.pattern)
    run.wait_for("Waiting for the browser")
    threading_callback(f"/auth/callback?code=c0de&state={state_of(url)}")
    run.wait_for("The browser reached codex through the tunnel")


@SIGNALS
def test_signal_while_codex_finishes_the_login(lab: SshLab, sig: signal.Signals) -> None:
    """The browser came back; codex is exchanging the code (slow network) when the user quits."""
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(exchange_delay_s=60)
    with cli(lab, "login", "lab", "--no-tui") as run:
        start_exchange(lab, run)
        interrupted(run, sig)
    no_codex_login(lab)
    assert not lab.server_path(".codex/auth.json").exists()


def test_sigterm_with_a_browser_connection_open_prints_no_traceback(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(exchange_delay_s=60)
    with cli(lab, "login", "lab", "--no-tui") as run:
        start_exchange(lab, run)
        out = interrupted(run, signal.SIGTERM, clean=False)
    no_codex_login(lab)
    assert_clean(out)


def threading_callback(path: str) -> None:
    """The browser's callback, in the background (codex answers it only after the exchange)."""

    def go() -> None:
        with contextlib.suppress(OSError):  # the tunnel goes away when the CLI is stopped
            browser_callback(1455, path)

    threading.Thread(target=go, daemon=True).start()


NPM_OUTPUTS = [
    pytest.param(
        ["npm ERR! code ENOTFOUND", "npm ERR! network request to https://r.example/x failed"],
        "can't reach the npm registry (r.example)",
        id="npm6-enotfound",
    ),
    pytest.param(
        ["npm error code ETIMEDOUT", "npm error network read ETIMEDOUT"],
        "can't reach the npm registry (the registry)",
        id="timeout",
    ),
    pytest.param(
        ["npm error code SELF_SIGNED_CERT_IN_CHAIN", "npm error request to https://a/b failed"],
        "can't reach the npm registry (a)",
        id="tls-proxy",
    ),
    pytest.param(
        ["npm WARN checkPermissions Missing write access to /usr/lib/node_modules"],
        "may not write to its global folder (npm WARN checkPermissions Missing write access",
        id="npm6-eacces",
    ),
    pytest.param(
        ["npm error code ENOSPC", "npm error nospc no space left on device"],
        "npm error nospc no space left on device",
        id="other",
    ),
    pytest.param([], "exit code 1", id="silent"),
]


@pytest.mark.parametrize(("output", "fragment"), NPM_OUTPUTS)
def test_install_failure_summary(output: list[str], fragment: str) -> None:
    from codex_wizard.core.server.actions import InstallResult

    summary = InstallResult("npm install -g @openai/codex", 1, output).summary()
    assert fragment in summary
    assert InstallResult("npm install -g @openai/codex", 0, output).summary() == ""
