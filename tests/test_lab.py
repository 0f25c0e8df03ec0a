"""The lab itself, and the fake codex checked against the real Codex CLI (0.169.0 and the newest).

Tests taking `codex_kind` run three times: the fake, the pinned and the newest real binary
(offline, in the lab's namespace, which has no route anywhere). What they pin is what the fake
promises.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import stat
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

import asyncssh
import pytest

from tests.lab import REAL_CODEX_KINDS, REAL_CODEX_VERSION, LoginRun, SshLab
from tests.lab.fake_tokens import make_auth_json
from tests.lab.sshlab import netns_pids

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
TOKEN_ERROR = "error sending request for url (https://auth.openai.com/oauth/token)"


def start_login(lab: SshLab, command: str = "codex login", *, tty: bool = False) -> LoginRun:
    return LoginRun(lab.ssh_popen(command, tty=tty))


def prompt_lines(run: LoginRun, port: int) -> list[str]:
    """The six stderr lines `codex login` prints, with the URL replaced by a marker."""
    return ["URL" if line.startswith("https://") else line for line in run.stderr_lines[:6]]


def expected_prompt(port: int) -> list[str]:
    return [
        f"Starting local login server on http://localhost:{port}.",
        "If your browser did not open, navigate to this URL to authenticate:",
        "",
        "URL",
        "",
        "On a remote or headless machine? Use `codex login --device-auth` instead.",
    ]


def wait_gone(lab: SshLab, pattern: str, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := lab.server_processes(pattern)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


# --- the lab -------------------------------------------------------------------------------------


def test_openssh_reaches_the_lab_user(lab: SshLab) -> None:
    result = lab.ssh("id -un; echo $HOME; id -u")
    assert result.returncode == 0, result.stderr
    user, home, uid = result.stdout.split()
    assert (user, home) == (lab.user, str(lab.home))
    assert int(uid) != 0
    assert lab.host_key_fingerprint.startswith("SHA256:")


def test_host_key_is_pinned(lab: SshLab) -> None:
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-F", f"[127.0.0.1]:{lab.port}", "-f", str(lab.known_hosts)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert lab.host_key_fingerprint in listed
    argv = lab.ssh_argv("true", options=["-o", "UserKnownHostsFile=/dev/null"])
    refused = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert refused.returncode == 255


async def test_asyncssh_connects_with_the_lab_config(lab: SshLab) -> None:
    async with asyncssh.connect(lab.alias, config=[str(lab.ssh_config)]) as conn:
        result = await asyncio.wait_for(conn.run("id -un", check=True), 30)
    assert str(result.stdout).strip() == lab.user


def test_sshd_lives_only_in_the_namespace(lab: SshLab) -> None:
    before = lab.sshd_log.read_text().count("Connection from")
    with socket.socket() as sock:
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", 22))
            sock.recv(64)
        except OSError:
            pass  # nothing on the root namespace's port 22: as expected
    time.sleep(0.2)
    assert lab.sshd_log.read_text().count("Connection from") == before
    assert lab.ns_run(["ss", "-Hltn", "sport = :22"]).stdout.strip()


def test_port_held_in_namespace_is_free_on_the_laptop_side(lab: SshLab) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with lab.hold_port(port) as pid:
        assert lab.port_owner(port) == [("python3", pid)]
        with socket.socket() as mine:
            mine.bind(("127.0.0.1", port))  # no collision with the namespace
            mine.listen()
        assert lab.http(port, "/cancel").status == 404
    assert lab.port_owner(port) == []


def test_reset_gives_a_fresh_home_and_no_processes(lab: SshLab) -> None:
    lab.write_server_file("notes/x.txt", "hello", 0o600)
    assert lab.read_server_file("notes/x.txt") == "hello"
    assert lab.server_path("notes/x.txt").stat().st_uid != 0
    lab.ssh_popen("sleep 300")
    lab.user_popen(["sleep", "301"])
    deadline = time.monotonic() + 10
    while len(lab.server_processes("sleep 30")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(lab.server_processes("sleep 30")) == 2
    lab.reset()
    assert lab.server_processes() == []
    assert not lab.server_path("notes").exists()
    assert lab.server_path(".profile").exists()


def test_codex_on_path_or_only_in_login_shells(lab: SshLab) -> None:
    assert lab.ssh("codex --version").returncode == 127
    lab.install_codex("fake", where="login-shell")
    missing = lab.ssh("codex --version")
    assert missing.returncode == 127
    assert "command not found" in missing.stderr
    assert lab.ssh("bash -lc 'codex --version'").stdout == "codex-cli 0.169.0\n"
    lab.install_codex("fake", where="path")
    assert lab.ssh("codex --version").stdout == "codex-cli 0.169.0\n"
    lab.remove_codex()
    assert lab.ssh("command -v codex").returncode == 1


def test_fake_node_reports_an_old_version(lab: SshLab) -> None:
    lab.fake_node("14.21.3")
    assert lab.ssh("node --version").stdout == "v14.21.3\n"
    assert lab.ssh("bash -lc 'node --version'").stdout == "v14.21.3\n"


def test_aliases_reach_the_same_sshd(lab: SshLab) -> None:
    assert lab.add_aliases(2) == ["lab1", "lab2"]
    assert lab.add_aliases(1) == ["lab3"]
    for alias in ("lab", "lab1", "lab3"):
        assert lab.ssh("id -un", alias=alias).stdout.strip() == lab.user


def test_stop_sshd_simulates_a_dead_server(lab: SshLab) -> None:
    session = lab.ssh_popen("sleep 300")
    deadline = time.monotonic() + 10
    while not lab.server_processes("sleep 300") and time.monotonic() < deadline:
        time.sleep(0.05)
    lab.stop_sshd()
    assert session.wait(10) == 255
    assert lab.ssh("true", timeout=20).returncode == 255
    lab.reset()
    assert lab.ssh("true").returncode == 0


def test_drop_connections_keeps_sshd(lab: SshLab) -> None:
    session = lab.ssh_popen("sleep 300")
    deadline = time.monotonic() + 10
    while not lab.server_processes("sleep 300") and time.monotonic() < deadline:
        time.sleep(0.05)
    lab.drop_connections()
    assert session.wait(10) == 255
    assert lab.ssh("true").returncode == 0


def _stdio_forward(lab: SshLab) -> str:
    proc = lab.ssh_popen("", options=["-W", "127.0.0.1:22"])
    assert proc.stdout is not None
    line = proc.stdout.readline()
    proc.kill()
    proc.wait(5)
    return line


def test_tcp_forwarding_allowed_or_refused(lab: SshLab, lab_noforward: SshLab) -> None:
    assert _stdio_forward(lab).startswith("SSH-2.0-OpenSSH")
    assert _stdio_forward(lab_noforward) == ""


@pytest.mark.usefixtures("lab_prerequisites")
def test_lab_teardown_leaves_nothing() -> None:
    lab = SshLab().start()
    lab.install_codex("fake")
    run = start_login(lab)
    run.wait_for_url()
    netns, user, lab_dir = lab.netns, lab.user, lab.dir
    lab.stop()
    assert (
        netns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    )
    assert subprocess.run(["id", user], capture_output=True).returncode != 0
    assert not lab_dir.exists()
    assert not netns_pids(netns)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(lab_dir) not in ps


# --- fake vs real: simple commands --------------------------------------------------------------


def test_version_on_stdout(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    result = lab.ssh("codex --version")
    version = REAL_CODEX_KINDS.get(codex_kind, REAL_CODEX_VERSION)  # the fake says 0.169.0
    assert (result.returncode, result.stdout, result.stderr) == (0, f"codex-cli {version}\n", "")


def test_login_status_logged_out(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    result = lab.ssh("codex login status")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "Not logged in\n")


def test_login_status_logout_cycle(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    lab.write_server_file(".codex/auth.json", make_auth_json(), 0o600)
    status = lab.ssh("codex login status")
    assert (status.returncode, status.stdout, status.stderr) == (0, "", "Logged in using ChatGPT\n")
    out = lab.ssh("codex logout")
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "Successfully logged out\n")
    assert not lab.server_path(".codex/auth.json").exists()
    again = lab.ssh("codex logout")
    assert (again.returncode, again.stderr) == (0, "Not logged in\n")


def test_login_status_api_key(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    doc = {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"}
    lab.write_server_file(".codex/auth.json", json.dumps(doc), 0o600)
    status = lab.ssh("codex login status")
    assert status.returncode == 0
    assert status.stderr.splitlines() == [
        "API key configured - sk-proj-***56789",
        "Authentication is checked when you send a request.",
    ]


def test_codex_home_must_exist(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    result = lab.ssh("CODEX_HOME=/nonexistent/cx codex login")
    message = 'CODEX_HOME points to "/nonexistent/cx", but that path does not exist'
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"WARNING: proceeding, even though we could not create PATH aliases: {message}",
        f"Error loading configuration: {message}",
    ]


# --- fake vs real: the browser login server -----------------------------------------------------


def test_login_url_lines_and_cancel(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    run = start_login(lab)
    url = run.wait_for_url()
    assert prompt_lines(run, 1455) == expected_prompt(1455)
    assert run.stdout_lines == []
    assert url.params["redirect_uri"] == "http://127.0.0.1:1455/auth/callback"
    assert url.params["client_id"] == CLIENT_ID
    assert url.params["code_challenge_method"] == "S256"
    assert url.params["originator"] == "codex_cli_rs"
    assert url.params["scope"].split()[:4] == ["openid", "profile", "email", "offline_access"]
    assert len(url.state) == 43 and len(url.params["code_challenge"]) == 43
    assert "scope=openid+profile+email+offline_access" in url.url
    assert [name for name, _ in lab.port_owner(1455)] == ["codex"]
    reply = lab.http(1455, "/cancel")
    assert (reply.status, reply.body, reply.headers.get("Connection")) == (
        200,
        "Login cancelled",
        "close",
    )
    assert run.wait() == 1
    assert run.stderr_lines[-1] == "Error logging in: Login cancelled"


def test_state_mismatch_keeps_waiting(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    run = start_login(lab)
    run.wait_for_url()
    for path in ("/auth/callback?code=abc&state=wrong", "/auth/callback?code=abc"):
        reply = lab.http(1455, path)
        assert (reply.status, reply.body) == (400, "State mismatch")
        assert reply.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert (lab.http(1455, "/favicon.ico").status, run.proc.poll()) == (404, None)
    lab.http(1455, "/cancel")
    assert run.wait() == 1


def test_second_login_cancels_the_first(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    first = start_login(lab)
    first.wait_for_url()
    second = start_login(lab)
    assert second.wait_for_url().port == 1455
    assert first.wait() == 1
    assert first.stderr_lines[-1] == "Error logging in: Login cancelled"
    lab.http(1455, "/cancel")
    assert second.wait() == 1


def test_falls_back_to_1457_when_1455_is_held(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    with lab.hold_port(1455):
        started = time.monotonic()
        run = start_login(lab)
        url = run.wait_for_url(timeout=30)
        waited = time.monotonic() - started
        assert url.port == 1457
        assert url.params["redirect_uri"] == "http://127.0.0.1:1457/auth/callback"
        assert prompt_lines(run, 1457) == expected_prompt(1457)
        assert 1.5 < waited < 10  # one /cancel, then 10 binds 200 ms apart
        lab.http(1457, "/cancel")
        assert run.wait() == 1


def test_both_ports_busy(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    with lab.hold_port(1455), lab.hold_port(1457):
        result = lab.ssh("codex login", timeout=60)
    assert result.returncode == 1
    assert (
        result.stderr.splitlines()[-1] == "Error logging in: Port 127.0.0.1:1457 is already in use"
    )
    assert "Starting local login server" not in result.stderr


def test_callback_error_ends_login(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    run = start_login(lab)
    url = run.wait_for_url()
    path = f"/auth/callback?error=access_denied&error_description=nope&state={url.state}"
    reply = lab.http(1455, path)
    assert reply.status == 200 and "<title>Codex Sign-in Error</title>" in reply.body
    assert run.wait() == 1
    assert run.stderr_lines[-2:] == [
        "OAuth callback error: Sign-in failed: nope",
        "Error logging in: Sign-in failed: nope",
    ]


def test_token_exchange_failure(lab: SshLab, codex_kind: str) -> None:
    """Right state: the real one, offline, fails the exchange after ~10 s; the fake on a knob."""
    lab.install_codex(codex_kind)
    lab.set_fake_knobs(exchange="fail")
    run = start_login(lab)
    url = run.wait_for_url()
    reply = lab.http(1455, f"/auth/callback?code=abc&state={url.state}", timeout=40)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>Codex Sign-in Error</title>" in reply.body
    assert f"Token exchange failed: {TOKEN_ERROR}" in reply.body
    assert run.wait(40) == 1
    assert run.stderr_lines[-2:] == [
        f"Token exchange error: {TOKEN_ERROR}",
        f"Error logging in: Token exchange failed: {TOKEN_ERROR}",
    ]
    assert not lab.server_path(".codex/auth.json").exists()


def test_success_page_alone_ends_login_with_success(lab: SshLab, codex_kind: str) -> None:
    """A quirk worth knowing: GET /success exits 0 'Successfully logged in' without tokens."""
    lab.install_codex(codex_kind)
    run = start_login(lab)
    run.wait_for_url()
    reply = lab.http(1455, "/success")
    assert reply.status == 200 and "<title>Sign into Codex</title>" in reply.body
    assert run.wait() == 0
    assert run.stderr_lines[-1] == "Successfully logged in"
    assert lab.ssh("codex login status").stderr == "Not logged in\n"


def test_without_pty_login_survives_the_ssh_client(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    run = start_login(lab)
    run.wait_for_url()
    run.proc.kill()
    run.proc.wait(5)
    time.sleep(1)
    assert lab.server_processes("codex login")
    assert [name for name, _ in lab.port_owner(1455)] == ["codex"]


def test_with_pty_hangup_ends_login(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    run = start_login(lab, tty=True)
    run.wait_for_url()
    assert run.stdout_lines  # a PTY merges stderr into stdout
    run.proc.kill()
    run.proc.wait(5)
    assert wait_gone(lab, "codex login") == []
    assert lab.port_owner(1455) == []


def test_killing_the_launcher_orphans_the_login_server(lab: SshLab, codex_kind: str) -> None:
    """Two processes (npm launcher + native binary on Node 20): SIGKILL on the launcher is not
    enough."""
    lab.install_codex(codex_kind)
    run = start_login(lab)
    run.wait_for_url()
    procs = lab.server_processes("codex login")
    assert len(procs) == 2
    launcher = min(int(line.split()[0]) for line in procs)
    os.kill(launcher, signal.SIGKILL)
    time.sleep(0.5)
    assert len(lab.server_processes("codex login")) == 1
    assert [name for name, _ in lab.port_owner(1455)] == ["codex"]


def test_sigterm_to_the_launcher_ends_both(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    run = start_login(lab)
    run.wait_for_url()
    launcher = min(lab.server_pids("codex login"))
    os.kill(launcher, signal.SIGTERM)
    assert wait_gone(lab, "codex login") == []


# --- the fake only: flows the offline real binary cannot reach ------------------------------------


def test_fake_success_writes_auth_then_waits_for_success_page(lab: SshLab) -> None:
    lab.install_codex("fake")
    run = start_login(lab)
    url = run.wait_for_url()
    reply = lab.http(1455, f"/auth/callback?code=abc&state={url.state}")
    assert reply.status == 302
    location = urlsplit(reply.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "http",
        "localhost:1455",
        "/success",
    )
    assert "id_token" in parse_qs(location.query)
    auth = lab.server_path(".codex/auth.json")
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600
    assert auth.stat().st_uid != 0
    assert json.loads(auth.read_text())["auth_mode"] == "chatgpt"
    time.sleep(0.3)
    assert run.proc.poll() is None  # still waiting for the browser to fetch /success
    assert lab.http(1455, location.path + "?" + location.query).status == 200
    assert run.wait() == 0
    assert lab.ssh("codex login status").returncode == 0


def test_fake_knobs_token_ttl(lab: SshLab) -> None:
    lab.install_codex("fake")
    lab.set_fake_knobs(access_ttl_s=60)
    run = start_login(lab)
    url = run.wait_for_url()
    lab.http(1455, f"/auth/callback?code=abc&state={url.state}")
    lab.http(1455, "/success")
    assert run.wait() == 0
    tokens = json.loads(lab.read_server_file(".codex/auth.json"))["tokens"]
    payload = tokens["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert 0 < claims["exp"] - time.time() <= 61


@pytest.mark.parametrize(
    ("outcome", "code", "last"),
    [
        ("success", 0, "Successfully logged in"),
        ("expired", 1, "Error logging in: Device authorization expired; start sign-in again"),
        (
            "denied",
            1,
            "Error logging in: Device authorization was denied; start sign-in again when ready",
        ),
    ],
)
def test_fake_device_auth(lab: SshLab, outcome: str, code: int, last: str) -> None:
    lab.install_codex("fake")
    lab.set_fake_knobs(device=outcome, device_delay_s=0.2)
    result = lab.ssh("codex login --device-auth")
    assert result.returncode == code
    assert "1. Open this link in your browser and sign in to your account" in result.stdout
    assert "https://auth.openai.com/codex/device" in result.stdout
    assert "66FT-Z7YB3" in result.stdout and "(expires in 15 minutes)" in result.stdout
    assert result.stderr.splitlines()[-1] == last


def test_device_auth_offline_error(lab: SshLab, codex_kind: str) -> None:
    lab.install_codex(codex_kind)
    lab.set_fake_knobs(device="offline")
    result = lab.ssh("codex login --device-auth", timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "Error logging in: error sending request for url "
        "(https://auth.openai.com/api/accounts/deviceauth/usercode)"
    )
