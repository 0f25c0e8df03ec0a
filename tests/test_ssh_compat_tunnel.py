"""The seed guide's own tunnel (issue 19, defect 5): an `ssh -L` already holding this computer's
login port is used when it leads to codex's port on the same server, and named with the fix
when it leads elsewhere; an ssh command line is read as ssh(1) reads it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from codex_wizard.core.flow import FailureKind, FlowError, LoginFlow
from codex_wizard.core.laptop.sshforward import SshForward, parse_ssh_forward
from codex_wizard.core.progress import LoginMode, LoginPhase
from codex_wizard.core.server.login import url_state
from codex_wizard.core.services import Services
from tests.lab.proc import stop_popen, wait_until
from tests.lab.sshlab import SshLab
from tests.test_e2e_core import (
    LAB,
    browser_callback,
    ephemeral_ports,
    no_codex_left,
    settings_for,
)
from tests.test_tui_lab import SLOW, lab_app, to_tunnel_step
from tests.tui_fakes import SIZE, text_of, wait_for


@pytest.mark.parametrize(
    ("argv", "forward"),
    [
        (
            ["ssh", "-L", "1455:localhost:1455", "vps"],
            SshForward(7, "vps", 1455, "localhost", 1455),
        ),
        (
            ["ssh", "-NT", "-F", "cfg", "-p2222", "-l", "u", "-L127.0.0.1:1455:[::1]:1455", "h"],
            SshForward(7, "h", 1455, "::1", 1455, config="cfg", port=2222, user="u"),
        ),
        (["ssh", "-L", "1999:localhost:1455", "vps"], None),  # another port
        (["ssh", "-L", "1455:localhost:1455"], None),  # no destination
        (["ssh", "-D", "1455", "vps"], None),  # SOCKS, not a forward to codex
    ],
)
def test_an_ssh_command_line_is_read_as_ssh_reads_it(
    argv: list[str], forward: SshForward | None
) -> None:
    assert parse_ssh_forward(argv, 7, 1455) == forward


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _users_ssh_forward(lab: SshLab, local: int, server_port: int) -> Iterator[int]:
    """`ssh -N -L local:localhost:server_port lab`, as the seed guide has the user run it."""
    spec = f"{local}:localhost:{server_port}"
    proc = lab.ssh_popen("", options=["-N", "-o", "ExitOnForwardFailure=yes", "-L", spec])
    try:
        wait_until(lambda: _listening(local) or proc.poll() is not None, timeout=15)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        yield proc.pid
    finally:
        stop_popen(proc)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class _NoQuestions:
    """The lab's host key is known and its key works: nothing is asked."""

    confirm_host_key = passphrase = credentials = pasted_address = None

    async def stop_pending_login(self, port: int, owner: object) -> bool:
        raise AssertionError(f"asked to stop the owner of {port}: {owner}")


@contextlib.asynccontextmanager
async def _login_beside_users_forward(
    lab: SshLab, server_port: int
) -> AsyncIterator[tuple[LoginFlow, int, int]]:
    """A connected flow (fake codex) while the user's `ssh -L local:localhost:server_port`
    holds the port the login wants here; yields (flow, ssh's pid, the local port)."""
    lab.install_codex("fake", "path")
    local = _free_port()
    with _users_ssh_forward(lab, local, server_port) as pid:
        flow = LoginFlow(
            LAB,
            settings_for(lab),
            Services(),
            _NoQuestions(),  # type: ignore[arg-type]
            local_port_for=lambda port: local if port == 1455 else _free_port(),
        )
        await flow.connect()
        try:
            yield flow, pid, local
        finally:
            await flow.close()
    no_codex_left(lab)


async def test_the_users_own_ssh_forward_is_the_tunnel(lab: SshLab) -> None:
    async with _login_beside_users_forward(lab, 1455) as (flow, pid, local):
        run = asyncio.create_task(flow.run(LoginMode.TUNNEL, timeout=60))
        async with asyncio.timeout(30):
            while flow.progress.url is None:
                await asyncio.sleep(0.05)
        path = f"/auth/callback?code=c&state={url_state(flow.progress.url)}"
        assert await asyncio.to_thread(browser_callback, local, path) == 302
        progress = await run
    assert progress.succeeded
    assert flow.ssh_forward is not None and flow.ssh_forward.pid == pid


async def test_a_forward_that_leads_elsewhere_is_named_with_the_fix(lab: SshLab) -> None:
    async with _login_beside_users_forward(lab, 2222) as (flow, pid, _local):
        with pytest.raises(FlowError) as busy:
            await flow.run(LoginMode.TUNNEL, timeout=60)
    assert busy.value.kind is FailureKind.PORT_BUSY
    assert f"ssh (pid {pid})" in str(busy.value) and "localhost:2222" in str(busy.value)
    assert f"kill {pid}" in str(busy.value) and "--relay" in str(busy.value)


async def test_the_wizard_uses_the_users_own_ssh_forward_as_its_tunnel(
    lab: SshLab, tmp_path: Path
) -> None:
    """Issue 21, item 1: the user's `ssh -L PORT:localhost:1455 lab` (real OpenSSH) holds the
    login port here. The wizard's tunnel step names it and lets the login start; the login
    opens no tunnel of its own (flow.free_local_port, the CLI's path) and the browser's
    callback through that ssh logs the server in."""
    lab.install_codex("fake", "path")
    local = _free_port()
    others = ephemeral_ports()
    with _users_ssh_forward(lab, local, 1455) as pid:
        app = lab_app(lab, tmp_path)
        app.local_port_for = lambda port: local if port == 1455 else others(port)
        async with app.run_test(size=SIZE) as pilot:
            await to_tunnel_step(pilot, app, lab)
            ports = text_of(app, "#ports")
            assert f"ssh (pid {pid}) forwarding it to localhost:1455" in ports, ports
            assert "the login uses it as its tunnel" in ports, ports
            lead = text_of(app, "#tunnel-lead")  # not "the wizard listens on the same port"
            assert lead.endswith(
                "Your own ssh already forwards this computer's port there: "
                "the login uses it as its tunnel."
            ), lead
            await pilot.press("n")  # Start login, with the focus on it
            await wait_for(pilot, lambda: app.state.login.url is not None, timeout=SLOW)
            flow = app.state.flow
            assert flow.ssh_forward is not None and flow.ssh_forward.pid == pid
            assert app.state.tunnel is None or not app.state.tunnel.listening
            path = f"/auth/callback?code=c&state={url_state(app.state.login.url)}"
            assert await asyncio.to_thread(browser_callback, local, path) == 302
            await wait_for(pilot, lambda: app.state.login.ended, timeout=SLOW)
            assert app.state.login.phase is LoginPhase.SUCCEEDED, app.state.login.message
            await pilot.press("ctrl+q")
    no_codex_left(lab)
