"""The installed command, as a user runs it, against the real-sshd lab.

These use the laptop's real 127.0.0.1:1455 (the browser's port), like a user would.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.lab.fake_tokens import make_auth_json, secrets_in
from tests.lab.sshlab import SshLab
from tests.test_e2e_core import browser_callback, no_codex_left

CLI = [sys.executable, "-m", "codex_wizard"]
URL_LINE = re.compile(r"^https://auth\.openai\.com/oauth/authorize\?\S+$")


def run_cli(lab: SshLab, *args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args, "-F", str(lab.ssh_config)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


class Running:
    """A CLI process whose output we read line by line while it runs."""

    def __init__(self, argv: list[str], stdin: bool = False) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if regex.search(line):
                    return line
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.lines))

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code, "\n".join(self.lines)


@contextmanager
def cli(lab: SshLab, *args: str, stdin: bool = False) -> Iterator[Running]:
    running = Running([*CLI, *args, "-F", str(lab.ssh_config)], stdin=stdin)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait(10)


def assert_no_secrets(text: str, lab: SshLab) -> None:
    auth = lab.server_path(".codex/auth.json")
    if auth.exists():
        for secret in secrets_in(auth.read_text()):
            assert secret not in text
    assert "Traceback" not in text


def state_of(url: str) -> str:
    found = re.search(r"[?&]state=([^&]+)", url)
    assert found
    return found.group(1)


# ------------------------------------------------------------------------------ login --no-tui


def test_login_no_tui_completes(lab: SshLab) -> None:
    lab.install_codex("fake", "login-shell")
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "60") as run:
        url = run.wait_for(URL_LINE.pattern)
        run.wait_for("Waiting for the browser")
        path = f"/auth/callback?code=c0de&state={state_of(url)}"
        assert browser_callback(1455, path) == 302
        code, out = run.finish()
    assert code == 0, out
    assert "Logged in on lab" in out and "in 9 days" in out
    assert "found in the login shell" in out
    assert_no_secrets(out, lab)
    no_codex_left(lab)


def test_login_stale_url_then_success(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "60") as run:
        url = run.wait_for(URL_LINE.pattern)
        assert browser_callback(1455, "/auth/callback?code=c&state=old") == 400
        run.wait_for("State mismatch")
        assert browser_callback(1455, f"/auth/callback?code=c&state={state_of(url)}") == 302
        code, out = run.finish()
    assert code == 0, out


def test_login_without_codex_says_how_to_install(lab: SshLab) -> None:
    result = run_cli(lab, "login", "lab", "--no-tui")
    assert result.returncode == 1
    assert "codex not found on any PATH" in result.stderr
    assert "npm install -g @openai/codex" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    no_codex_left(lab)


def test_login_old_node_is_refused(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    lab.fake_node("v14.21.3")
    result = run_cli(lab, "login", "lab", "--no-tui")
    assert result.returncode == 1
    assert "too old" in result.stderr
    no_codex_left(lab)


def test_login_token_exchange_failure_is_reported(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(exchange="fail")
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "60") as run:
        url = run.wait_for(URL_LINE.pattern)
        browser_callback(1455, f"/auth/callback?code=c&state={state_of(url)}")
        code, out = run.finish()
    assert code == 1
    assert "could not exchange the code for tokens" in out
    no_codex_left(lab)


def test_ctrl_c_stops_the_remote_login(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--no-tui") as run:
        run.wait_for("Waiting for the browser")
        assert lab.server_processes("codex login")
        run.proc.send_signal(signal.SIGINT)
        code, out = run.finish()
    assert code == 130 and "cancelled" in out
    assert "Traceback" not in out
    no_codex_left(lab)


def test_timeout_stops_the_remote_login(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    result = run_cli(lab, "login", "lab", "--no-tui", "--timeout", "3")
    assert result.returncode == 1
    assert "no login within 3 s" in result.stderr
    no_codex_left(lab)


def test_forwarding_refused_suggests_relay(lab_noforward: SshLab) -> None:
    lab_noforward.install_codex("fake", "path")
    result = run_cli(lab_noforward, "login", "lab", "--no-tui")
    assert result.returncode == 1
    assert "AllowTcpForwarding" in result.stderr and "--relay" in result.stderr
    no_codex_left(lab_noforward)


# ------------------------------------------------------------------------------ host keys


def test_unknown_host_key_without_terminal_is_refused(lab: SshLab, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        lab.ssh_config.read_text().replace(str(lab.known_hosts), str(tmp_path / "known"))
    )
    result = subprocess.run(
        [*CLI, "doctor", "lab", "-F", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert lab.host_key_fingerprint in result.stdout
    assert "--accept-new-host-key" in result.stdout
    assert not (tmp_path / "known").exists()
    accepted = subprocess.run(
        [*CLI, "status", "lab", "--accept-new-host-key", "-F", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert accepted.returncode == 1  # reachable, logged out
    assert "logged_out" in accepted.stdout
    assert (tmp_path / "known").read_text().startswith(f"[127.0.0.1]:{lab.port} ssh-ed25519")


# ------------------------------------------------------------------------------ status, doctor


def test_status_json_and_exit_codes(lab: SshLab) -> None:
    result = run_cli(lab, "status", "lab", "--json")
    assert result.returncode == 1
    [row] = json.loads(result.stdout)
    assert row["host"] == "lab" and row["state"] == "logged_out"
    lab.write_server_file(".codex/auth.json", make_auth_json(), mode=0o600)
    result = run_cli(lab, "status", "--json")  # every concrete Host of the ssh_config
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(result.stdout)
    assert {row["state"] for row in rows} == {"ok"}
    row = rows[0]
    assert set(row) >= {
        "host",
        "state",
        "auth_mode",
        "expires_at",
        "expires_in_s",
        "last_refresh",
        "error",
    }
    assert row["auth_mode"] == "chatgpt" and 9 * 86400 < row["expires_in_s"] <= 10 * 86400
    assert_no_secrets(result.stdout, lab)
    renewable = run_cli(lab, "status", "lab", "--warn-days", "11")
    assert renewable.returncode == 0 and " ok " in renewable.stdout  # codex renews it
    doc = json.loads(make_auth_json())
    del doc["tokens"]["refresh_token"]
    lab.write_server_file(".codex/auth.json", json.dumps(doc), mode=0o600)
    expiring = run_cli(lab, "status", "lab", "--warn-days", "11")
    assert expiring.returncode == 1 and "expiring" in expiring.stdout


def test_status_unreachable_host_exit_2(lab: SshLab) -> None:
    result = run_cli(lab, "status", "lab", "nobody@127.0.0.1:1", "--json", "--timeout", "5")
    assert result.returncode == 2
    rows = json.loads(result.stdout)
    assert rows[1]["state"] == "error" and rows[1]["error"]


def test_doctor_json(lab: SshLab) -> None:
    lab.install_codex("fake", "login-shell")
    result = run_cli(lab, "doctor", "lab", "--json")
    report = json.loads(result.stdout)
    verdicts = {check["name"]: check["verdict"] for check in report["checks"]}
    assert list(verdicts) == [
        "ssh",
        "host key",
        "node",
        "npm",
        "codex",
        "PATH",
        "local port",
        "server port",
        "forwarding",
        "CODEX_HOME",
        "shell",
        "login file",
        "codex config",
        "auth server",
        "other logins",
        "auth file",
        "token",
    ]
    assert verdicts["codex"] == "pass" and verdicts["PATH"] == "warn"
    assert verdicts["forwarding"] == "pass"
    preflight = ("shell", "login file", "codex config", "auth server", "other logins")
    assert {verdicts[name] for name in preflight} == {"pass"}


def test_garbage_host_is_a_usage_error(lab: SshLab) -> None:
    result = run_cli(lab, "status", "rm -rf /;")
    assert result.returncode == 2
    assert "codex-wizard:" in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------------------ fallbacks


def test_relay_login_without_forwarding(lab_noforward: SshLab) -> None:
    lab = lab_noforward
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--relay", "--timeout", "60", stdin=True) as run:
        url = run.wait_for(URL_LINE.pattern)
        run.wait_for("paste it here")
        run.send("not an address")
        run.wait_for("not the address the browser ended on")
        run.send(f"http://127.0.0.1:1457/auth/callback?code=c&state={state_of(url)}")
        run.wait_for("port 1457, but this login listens on 1455")
        run.send("http://127.0.0.1:1455/auth/callback?code=c&state=older")
        run.wait_for("older login")
        run.send(f"http://127.0.0.1:1455/auth/callback?code=c&state={state_of(url)}")
        code, out = run.finish()
    assert code == 0, out
    assert "Logged in on lab" in out
    no_codex_left(lab)


def test_device_auth_shows_code(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(device="success", device_delay_s=1.0)
    result = run_cli(lab, "login", "lab", "--device-auth")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "https://auth.openai.com/codex/device" in result.stdout
    assert "66FT-Z7YB3" in result.stdout


def test_device_auth_not_enabled_explains(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(device="disabled")
    result = run_cli(lab, "login", "lab", "--device-auth")
    assert result.returncode == 1
    assert "security settings" in result.stderr


def test_push_auth_keeps_backup_and_modes(lab: SshLab, tmp_path: Path) -> None:
    lab.install_codex("fake", "path")
    lab.write_server_file(".codex/auth.json", '{"old": true}', mode=0o644)
    source = tmp_path / "auth.json"
    source.write_text(make_auth_json(tag="pushed"))
    result = run_cli(lab, "push-auth", "lab", "--from", str(source))
    assert result.returncode == 0, result.stdout + result.stderr
    pushed = lab.server_path(".codex/auth.json")
    assert pushed.read_text() == source.read_text()
    assert pushed.stat().st_mode & 0o777 == 0o600
    assert lab.server_path(".codex").stat().st_mode & 0o777 == 0o700
    backups = list(lab.server_path(".codex").glob("auth.json.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == '{"old": true}'
    assert backups[0].stat().st_mode & 0o777 == 0o600
    assert "Logged in using ChatGPT" in result.stdout
    assert not list(lab.server_path(".codex").glob(".auth.json.cw-*"))
    assert_no_secrets(result.stdout + result.stderr, lab)


def test_push_auth_refuses_garbage(lab: SshLab, tmp_path: Path) -> None:
    source = tmp_path / "auth.json"
    source.write_text("not json")
    result = run_cli(lab, "push-auth", "lab", "--from", str(source))
    assert result.returncode == 1
    assert "not a Codex auth file" in result.stderr
    assert not lab.server_path(".codex/auth.json").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="lab")
def test_real_codex_device_auth_offline(lab: SshLab, real_codex_available: bool) -> None:
    lab.install_codex("real", "path")
    result = run_cli(lab, "login", "lab", "--device-auth", timeout=120)
    assert result.returncode == 1
    assert "error sending request" in result.stderr


def test_success_line_without_auth_file_is_not_trusted(lab: SshLab) -> None:
    """Real codex prints "Successfully logged in" when only /success is fetched."""
    lab.install_codex("fake", "path")
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "60") as run:
        run.wait_for(URL_LINE.pattern)
        run.wait_for("Waiting for the browser")
        browser_callback(1455, "/success")
        code, out = run.finish()
    assert code == 1
    assert "holds no ChatGPT login" in out


def test_doctor_recommends_relay_without_forwarding(lab_noforward: SshLab) -> None:
    lab_noforward.install_codex("fake", "path")
    result = run_cli(lab_noforward, "doctor", "lab")
    assert result.returncode == 1
    assert "Next: No tunnel (the server refuses forwarding)" in result.stdout
    assert "--relay" in result.stdout
