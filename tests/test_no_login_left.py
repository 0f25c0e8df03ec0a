"""No `codex login` is left running on the server when the CLI's login ends, even a codex that
outlives the hang-up of its terminal (nohup'd, a wrapper's trap): closing the connection alone
would leave that one running, so only the flow's stop of the login (a process-group kill)
ends it. Against the lab's sshd; LoginSession.close() itself: test_e2e_core."""

from __future__ import annotations

from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import run_cli
from tests.test_e2e_core import no_codex_left


def test_a_login_that_times_out_leaves_no_codex_that_outlives_the_hangup(lab: SshLab) -> None:
    """The CLI's device-code login ends (no sign-in within --timeout), its connection closes:
    the flow stopped codex first, or this codex would still be waiting on the server.
    (Device code, not the tunnel: it needs no port on this computer.)"""
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(ignores_hangup=True)
    result = run_cli(lab, "login", "lab", "--device-auth", "--no-tui", "--timeout", "4")
    assert result.returncode != 0 and "no login within 4 s" in result.stderr, result.stderr
    no_codex_left(lab)
