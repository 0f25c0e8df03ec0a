"""No `codex login` is left running on the server once a login is closed, even by a codex that
outlives the hang-up of its terminal: closing the channel alone would leave that one running,
so only the kill of its process group (core.server.remote) stops it. Against the lab's sshd."""

from __future__ import annotations

import time

from codex_wizard.core.server.events import UrlReady
from codex_wizard.core.server.login import LoginSession
from codex_wizard.core.server.probe import ServerEnv
from codex_wizard.core.ssh.connection import connect
from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import run_cli
from tests.test_e2e_core import LAB, ephemeral_ports, next_event, settings_for


def codex_logins_after(lab: SshLab, timeout: float) -> list[str]:
    """The server's `codex login` processes once they are gone, or at `timeout` (a bounded
    wait for a SIGKILLed process to be reaped, not a pause before looking)."""
    deadline = time.monotonic() + timeout
    while (left := lab.server_processes("codex login")) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


async def test_closing_stops_a_codex_that_outlives_the_hangup(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(ignores_hangup=True)
    async with await connect(LAB, settings_for(lab)) as conn:
        login = LoginSession(conn, ServerEnv(), local_port_for=ephemeral_ports())
        await login.start()
        await next_event(login.events(), UrlReady)
        assert lab.server_processes("codex login")
        await login.close()
        assert codex_logins_after(lab, timeout=5) == []  # the connection is still open


def test_a_login_that_times_out_leaves_no_codex_that_outlives_the_hangup(lab: SshLab) -> None:
    """The CLI's device-code login ends (no sign-in within --timeout), its connection closes: the
    flow stopped codex first, or this codex would still be waiting on the server."""
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(ignores_hangup=True)
    result = run_cli(lab, "login", "lab", "--device-auth", "--no-tui", "--timeout", "4")
    assert result.returncode != 0 and "no login within 4 s" in result.stderr, result.stderr
    assert codex_logins_after(lab, timeout=5) == []
