"""Fleet login against the real-sshd lab (issue 11 item 6): the installed command logs three
hosts in turn; the second's browser answers with an older URL (State mismatch) and times out;
the table shows it, the exit code is 1, nothing is left running, each login is its own."""

from __future__ import annotations

import re
import signal
import time

from tests.lab.fake_tokens import secrets_in
from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import URL_LINE, assert_no_secrets, cli, state_of
from tests.test_e2e_core import browser_callback, no_codex_left


def refresh_token(lab: SshLab) -> str:
    found = re.search(r'"refresh_token":\s*"([^"]+)"', lab.read_server_file(".codex/auth.json"))
    assert found
    return found.group(1)


def waiting_for_browser(run, count: int, timeout: float = 60) -> None:
    """Until the `count`-th host's login waits for its browser (its tunnel is up)."""
    deadline = time.monotonic() + timeout
    while sum("Waiting for the browser" in line for line in run.lines) < count:
        assert time.monotonic() < deadline, "\n".join(run.lines)
        time.sleep(0.05)


def test_three_hosts_one_stale_url_in_the_table(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    hosts = ["lab", *lab.add_aliases(2)]
    with cli(lab, "login", *hosts, "--no-tui", "--timeout", "8") as run:
        url = run.wait_for(URL_LINE.pattern)
        assert browser_callback(1455, f"/auth/callback?code=c1&state={state_of(url)}") == 302
        run.wait_for("Logged in on lab\\.")
        first = refresh_token(lab)
        waiting_for_browser(run, 2)
        assert browser_callback(1455, "/auth/callback?code=c2&state=an-older-url") == 400
        run.wait_for(r"\[3/3\] lab2", timeout=30)
        waiting_for_browser(run, 3)
        urls = [line for line in run.lines if URL_LINE.match(line)]
        path = f"/auth/callback?code=c3&state={state_of(urls[-1])}"
        assert browser_callback(1455, path) == 302
        code, out = run.finish()
    assert code == 1, out
    assert len(urls) == 3 and len({state_of(u) for u in urls}) == 3
    assert "2 of 3 logged in:" in out
    rows = {line.split()[0]: line for line in out.split("logged in:\n", 1)[1].splitlines()[1:]}
    assert "logged in" in rows["lab"] and "logged in" in rows["lab2"]
    assert "failed" in rows["lab1"] and "State mismatch" in rows["lab1"]
    assert refresh_token(lab) != first  # the third login is a new one, not a copy
    for secret in secrets_in(lab.read_server_file(".codex/auth.json")):
        assert secret not in out
    assert_no_secrets(out, lab)
    no_codex_left(lab)


def test_ctrl_c_mid_fleet_leaves_nothing_running(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    hosts = ["lab", *lab.add_aliases(1)]
    with cli(lab, "login", *hosts, "--no-tui", "--timeout", "60") as run:
        run.wait_for("Waiting for the browser")
        run.proc.send_signal(signal.SIGINT)
        code, out = run.finish()
    assert code == 130, out
    assert "0 of 2 logged in:" in out
    rows = {line.split()[0]: line for line in out.split("logged in:\n", 1)[1].splitlines()[1:]}
    assert "cancelled" in rows["lab"] and "not run" in rows["lab1"]
    assert "Traceback" not in out
    no_codex_left(lab)
