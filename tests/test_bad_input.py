"""Bad input, each a clear message and no traceback: auth.json in every broken shape read
through `status --json` and `doctor` against the lab, unusual ssh_configs, a host typed as
garbage in every subcommand, odd `codex login` output, and pasted addresses that are not this
login's callback."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codex_wizard.core.server.relay import PastedAddressError, validate_pasted_callback
from tests.lab.fake_tokens import make_auth_json, make_jwt, make_tokens
from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import CLI, URL_LINE, cli, run_cli, state_of
from tests.test_e2e_core import browser_callback, no_codex_left
from tests.test_faults_more import laptop_login_port_free  # noqa: F401  (autouse)


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text
        assert "unexpected error" not in text


# ------------------------------------------------------------------------------ auth.json


def tokens_doc(**token_overrides: object) -> bytes:
    """A fresh login's auth.json (renewed just now: an unreadable exp is then an error, as codex
    would not renew it before 8 days) with some tokens replaced."""
    renewed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    doc = json.loads(make_auth_json(last_refresh=renewed))
    doc["tokens"].update(token_overrides)
    return json.dumps(doc).encode()


@dataclass(frozen=True)
class AuthCase:
    name: str
    content: bytes | None  # None: no file
    state: str  # what status --json says
    error: str | None  # a fragment of status's error, None when there is none
    doctor: str  # a fragment of doctor's "auth file" or "token" line
    doctor_exit: int


def _jwt_without_exp() -> str:
    return make_jwt({"iat": 1700000000, "email": "ada@example.com"})


AUTH_CASES = [
    AuthCase("missing", None, "logged_out", None, "no auth.json", 0),
    AuthCase("empty", b"", "error", "auth.json is empty", "auth.json is empty", 1),
    AuthCase(
        "not JSON", b"{'tokens': nope", "error", "auth.json is not valid JSON", "not valid", 1
    ),
    AuthCase(
        "over 1 MB",
        b'{"pad": "' + b"a" * 1_200_000 + b'"}',
        "error",
        "larger than 1 MB",
        "larger than 1 MB",
        1,
    ),
    AuthCase(
        "not UTF-8",
        b'\xff\xfe{"tokens": null}\x80',
        "error",
        "auth.json is not UTF-8 text",
        "not UTF-8",
        1,
    ),
    AuthCase(
        "JWT with bad base64",
        tokens_doc(access_token="eyJhbGciOiJSUzI1NiJ9.%%%not*base64%%%.c2ln"),
        "error",
        "access token: payload is not valid base64url",
        "payload is not valid base64url",
        1,
    ),
    AuthCase(
        "JWT without exp",
        tokens_doc(access_token=_jwt_without_exp()),
        "error",
        "access token: no exp claim",
        "no exp claim",
        1,
    ),
    AuthCase(
        "exp as a string",
        tokens_doc(access_token=make_jwt({"exp": "2026-12-01T00:00:00Z"})),
        "error",
        "access token: exp is not a number",
        "exp is not a number",
        1,
    ),
    AuthCase(
        "tokens null",
        json.dumps({"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "tokens": None}).encode(),
        "error",
        "tokens is null",
        "tokens is null",
        1,
    ),
    AuthCase(
        "unknown fields",
        json.dumps(
            {
                **json.loads(make_auth_json()),
                "future_setting": {"nested": [1, 2, 3]},
                "agent_identity": None,
            }
        ).encode(),
        "ok",
        None,
        "access token expires in 9 days",
        0,
    ),
    AuthCase(
        "API-key mode",
        json.dumps(
            {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-proj-" + "Q" * 40 + "WXYZ"}
        ).encode(),
        "api_key",
        None,
        "API-key mode (sk-…WXYZ)",
        0,
    ),
]


@pytest.mark.parametrize("case", AUTH_CASES, ids=[case.name for case in AUTH_CASES])
def test_auth_json_through_status_and_doctor(lab: SshLab, case: AuthCase) -> None:
    lab.install_codex("fake", "path")
    if case.content is not None:
        path = lab.write_server_file(".codex/auth.json", "", mode=0o600)
        path.write_bytes(case.content)
    status = run_cli(lab, "status", "lab", "--json")
    assert_clean(status.stdout, status.stderr)
    [row] = json.loads(status.stdout)
    assert row["state"] == case.state, row
    if case.error is None:
        assert row["error"] is None
    else:
        assert case.error in row["error"]
        assert len(row["error"]) < 300  # a message, not the file
    assert status.returncode == (0 if case.state in ("ok", "api_key") else 1)
    assert "QQQQQQQQ" not in status.stdout  # the API key is masked

    doctor = run_cli(lab, "doctor", "lab")
    assert_clean(doctor.stdout, doctor.stderr)
    assert case.doctor in doctor.stdout, doctor.stdout
    assert doctor.returncode == case.doctor_exit, doctor.stdout
    assert "QQQQQQQQ" not in doctor.stdout


NOT_A_FILE = {
    "directory": ".codex/auth.json is a directory, not a regular file",
    "unreadable": "can't read .codex/auth.json: permission denied",
    "fifo": ".codex/auth.json is a named pipe (FIFO), not a regular file",
    "device": ".codex/auth.json is a device, not a regular file",
}


@pytest.mark.parametrize("kind", list(NOT_A_FILE))
def test_auth_json_that_is_not_a_readable_file(lab: SshLab, kind: str) -> None:
    """A FIFO would block the SFTP open forever (status would time out, doctor hang)."""
    lab.install_codex("fake", "path")
    lab.account.mkdir(".codex")
    path = lab.server_path(".codex/auth.json")
    if kind == "directory":
        lab.account.mkdir(".codex/auth.json")
    elif kind == "unreadable":
        lab.write_server_file(".codex/auth.json", make_auth_json(), mode=0o000)
    elif kind == "fifo":
        os.mkfifo(path, 0o600)
        os.chown(path, lab.account.uid, lab.account.gid)
    else:
        lab.account.symlink(".codex/auth.json", Path("/dev/zero"))
    status = run_cli(lab, "status", "lab", "--json", "--timeout", "20")
    assert_clean(status.stdout, status.stderr)
    [row] = json.loads(status.stdout)
    assert row["state"] == "error" and status.returncode == 1
    assert row["error"] == NOT_A_FILE[kind]
    doctor = run_cli(lab, "doctor", "lab", timeout=60)
    assert_clean(doctor.stdout, doctor.stderr)
    assert doctor.returncode == 1
    assert f"[FAIL] auth file    {NOT_A_FILE[kind]}" in doctor.stdout, doctor.stdout


# ------------------------------------------------------------------------------ ssh_config


def lab_block(lab: SshLab, alias: str) -> str:
    return lab._host_block(alias)


def test_ssh_config_with_include_match_wildcards_and_unknown_directives(
    lab: SshLab, tmp_path: Path
) -> None:
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "10-lab.conf").write_text(lab_block(lab, "lab-included"))
    (conf_d / "20-junk.conf").write_text("# ünïcödé comment\nSomeFutureOption yes\n")
    config = tmp_path / "ssh_config"
    config.write_text(
        "# a config like people have\n"
        "IgnoreUnknown UseKeychain,AddKeysToAgent\n"
        "UseKeychain yes\n"
        "FutureDirective=with-equals\n"
        f"Include {conf_d}/*.conf\n"
        "\n"
        "Host *.internal !bastion.internal web?\n"
        "  ServerAliveInterval 30\n"
        "\n"
        f"Match host lab* user {lab.user}\n"
        "  ServerAliveCountMax 4\n"
        "\n" + lab_block(lab, "lab").replace("  HostName", '  "HostName"') + "\n"
        "Host *\n"
        "  UnknownToEveryone whatever\n"
        "  ConnectTimeout 10\n"
    )
    status = subprocess.run(
        [*CLI, "status", "--json", "-F", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_clean(status.stdout, status.stderr)
    rows = json.loads(status.stdout)
    # the concrete names only: no patterns, no negations, no Match
    assert [row["host"] for row in rows] == ["lab-included", "lab"]
    assert {row["state"] for row in rows} == {"logged_out"}, rows
    assert status.returncode == 1

    lab.install_codex("fake", "path")
    doctor = subprocess.run(
        [*CLI, "doctor", "lab-included", "-F", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_clean(doctor.stdout, doctor.stderr)
    assert "[ok  ] ssh" in doctor.stdout and "[ok  ] codex" in doctor.stdout
    login = subprocess.Popen(
        [*CLI, "login", "lab", "--no-tui", "--timeout", "5", "-F", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    out, _ = login.communicate(timeout=120)
    assert login.returncode == 1
    assert any(URL_LINE.match(line) for line in out.splitlines()), out
    assert "no login within 5 s" in out
    assert_clean(out)
    no_codex_left(lab)


def test_status_skips_ssh_config_names_that_are_not_hosts(lab: SshLab, tmp_path: Path) -> None:
    """One odd Host line must not stop `status` (no names) for every other host."""
    config = tmp_path / "ssh_config"
    config.write_text('Host "two words" semi;colon\n  User x\n\n' + lab_block(lab, "lab"))
    status = subprocess.run(
        [*CLI, "status", "--json", "-F", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_clean(status.stdout, status.stderr)
    rows = json.loads(status.stdout)
    assert [row["host"] for row in rows] == ["lab"]
    assert "two words" in status.stderr and "skipped" in status.stderr
    assert status.returncode == 1  # reachable, logged out


BAD_CONFIG_VALUES = [
    pytest.param("  Port not-a-port\n", True, id="bad-port"),
    pytest.param("Match tagged work\n  User nobody\n", False, id="match-tagged"),  # OpenSSH 9.4+
    pytest.param("# caf\udce9 (Latin-1, not UTF-8)\n", True, id="not-utf8"),
]


@pytest.mark.parametrize(("extra", "rejected"), BAD_CONFIG_VALUES)
def test_ssh_config_values_asyncssh_rejects(
    lab: SshLab, tmp_path: Path, extra: str, rejected: bool
) -> None:
    """A value asyncssh can't use is named with the file; one it tolerates just works."""
    config = tmp_path / "ssh_config"
    text = lab_block(lab, "lab") + extra + "\n" + lab_block(lab, "lab2")
    config.write_bytes(text.encode("utf-8", "surrogateescape"))
    for argv in (["status", "lab", "lab2", "--json"], ["doctor", "lab"]):
        result = subprocess.run(
            [*CLI, *argv, "-F", str(config)], capture_output=True, text=True, timeout=120
        )
        assert_clean(result.stdout, result.stderr)
        assert (str(config) in result.stdout + result.stderr) is rejected


# ------------------------------------------------------------------------------ hosts

GARBAGE_HOSTS = [
    "rm -rf /;",
    "$(touch PWNED)",
    "`touch PWNED`",
    "a@b@c",
    "host:99999",
    "host:",
    "[::1",
    "ü-server",
    "\x1b[31mred",
    "user@",
    "@host",
    "x" * 300,
]


def garbage_argv(command: str, host: str, source: Path) -> list[str]:
    return {
        "wizard": [host],
        "login": ["login", host],
        "login --no-tui": ["login", host, "--no-tui"],
        "login --relay": ["login", host, "--relay"],
        "status": ["status", "--json", "ok-host", host],
        "doctor": ["doctor", host],
        "push-auth": ["push-auth", host, "--from", str(source)],
    }[command]


@pytest.mark.parametrize(
    "command",
    ["wizard", "login", "login --no-tui", "login --relay", "status", "doctor", "push-auth"],
)
def test_garbage_host_in_every_subcommand(command: str, tmp_path: Path) -> None:
    """A usage error (exit 2) naming the problem, before anything connects or runs."""
    source = tmp_path / "auth.json"
    source.write_text(make_auth_json())
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "TERM": "dumb"}
    for host in GARBAGE_HOSTS:
        result = subprocess.run(
            [*CLI, *garbage_argv(command, host, source)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 2, (host, result.stdout, result.stderr)
        assert result.stderr.startswith("codex-wizard: "), (host, result.stderr)
        assert "\x1b" not in result.stderr  # an escape sequence is shown, not played
        assert_clean(result.stdout, result.stderr)
        assert len(result.stderr) < 700
    assert not list(tmp_path.rglob("PWNED"))
    assert not (tmp_path / ".ssh").exists()  # nothing connected, nothing written


def test_option_looking_host_never_reaches_ssh(tmp_path: Path) -> None:
    marker = tmp_path / "proxy-ran"
    for argv in (
        ["login", "--no-tui", "--", f"-oProxyCommand=touch {marker}"],
        ["doctor", "--", f"-oProxyCommand=touch {marker}"],
        ["status", "--", f"-oProxyCommand=touch {marker}"],
        ["login", "--no-tui", f"-oProxyCommand=touch {marker}"],
    ):
        result = subprocess.run(
            [*CLI, *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 2, (argv, result.stderr)
        assert_clean(result.stdout, result.stderr)
    assert not marker.exists()


# ------------------------------------------------------------------------------ codex output

NOISY_CODEX = """#!/bin/sh
# Before codex login's own output: a 5 MB line with no newline, then bytes that are not UTF-8
# and colours, on both streams; then the real (fake) codex.
if [ "$1" = login ] && [ $# -eq 1 ]; then
  head -c 5000000 /dev/zero | tr '\\0' 'x' >&2
  printf '\\377\\376\\033[31m not utf-8 \\033[0m\\r\\n' >&2
  head -c 3000000 /dev/zero | tr '\\0' 'y'
  printf '\\n\\300\\301 https://auth.openai.com/oauth/authorize?redirect_uri=http%%3A%%2F%%2F' >&2
  printf 'evil.example%%3A1455%%2Fauth%%2Fcallback&state=x\\n' >&2
fi
exec "$HOME/.local/share/fake-codex/codex" "$@"
"""


def test_huge_lines_and_bytes_that_are_not_utf8_before_the_url(lab: SshLab) -> None:
    """Megabytes without a newline, bad bytes and a URL for another host do not derail the
    login: the real URL is found and the login completes."""
    lab.install_codex("fake", "path")
    lab.server_path("bin/codex").unlink()
    lab.write_server_file("bin/codex", NOISY_CODEX, mode=0o755)
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "120") as run:
        url = run.wait_for(URL_LINE.pattern, timeout=120)
        assert "evil.example" not in url
        run.wait_for("Waiting for the browser")
        assert browser_callback(1455, f"/auth/callback?code=c&state={state_of(url)}") == 302
        code, out = run.finish(timeout=120)
    assert code == 0, out[-2000:]
    assert "Logged in on lab" in out
    assert max(len(line) for line in out.splitlines()) < 2000  # the noise is not echoed
    assert_clean(out)
    no_codex_left(lab)


LONG_NO_URL_CODEX = """#!/bin/sh
case "$1" in
  --version) echo "codex-cli 0.169.0" ;;
  *) head -c 6000000 /dev/urandom >&2; exit 1 ;;
esac
"""


def test_megabytes_of_binary_output_and_no_url(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    lab.server_path("bin/codex").unlink()
    lab.write_server_file("bin/codex", LONG_NO_URL_CODEX, mode=0o755)
    result = run_cli(lab, "login", "lab", "--no-tui")
    assert result.returncode == 1
    assert "codex login ended (exit 1) before the login finished" in result.stderr
    assert len(result.stderr) < 2000
    assert_clean(result.stdout, result.stderr)
    no_codex_left(lab)


# ------------------------------------------------------------------------------ pasted address

STATE = "s7Kd93LmQpX2vB8nR4tY6wZ1aC5eF0gH"
GOOD = f"http://127.0.0.1:1455/auth/callback?code=ac_123&state={STATE}"

BAD_PASTES = [
    ("", "not the address the browser ended on"),
    ("   ", "not the address the browser ended on"),
    ("ac_123", "not the address the browser ended on"),
    ("javascript:alert(1)", "not the address the browser ended on"),
    ("file:///etc/passwd", "not the address the browser ended on"),
    (GOOD.replace("127.0.0.1", "evil.example"), "points at evil.example"),
    (GOOD.replace("127.0.0.1", "127.0.0.1@evil.example"), "points at evil.example"),
    (GOOD.replace("127.0.0.1", "[::1]"), "points at ::1"),
    (GOOD.replace(":1455", ":99999"), "not a web address"),
    (GOOD.replace(":1455", ":1457"), "this login listens on 1455"),
    (GOOD.replace(":1455", ""), "port 80"),
    (GOOD.replace("/auth/callback", "/success"), "not /auth/callback"),
    (GOOD.replace("/auth/callback", "/auth/callback/../cancel"), "not /auth/callback"),
    (GOOD.replace("code=ac_123&", ""), "no code or no state"),
    (GOOD.replace(f"&state={STATE}", ""), "no code or no state"),
    (GOOD.replace(STATE, "older"), "older login"),
    ("https://auth.openai.com/oauth/authorize?state=" + STATE, "points at auth.openai.com"),
    ("http://127.0.0.1:1455/auth/callback?code=x&state=" + STATE[:-1], "older login"),
]


@pytest.mark.parametrize(("text", "message"), BAD_PASTES)
def test_pasted_address_that_is_not_the_callback(text: str, message: str) -> None:
    with pytest.raises(PastedAddressError) as error:
        validate_pasted_callback(text, state=STATE, port=1455)
    assert message in str(error.value)
    assert "ac_123" not in str(error.value)  # the code is not echoed back


def test_pasted_address_with_surrounding_noise_is_accepted() -> None:
    for text in (f"  {GOOD}\n", f"{GOOD}#fragment", GOOD.replace("127.0.0.1", "localhost")):
        callback = validate_pasted_callback(text, state=STATE, port=1455)
        assert callback.url() == GOOD


@given(
    code=st.text(min_size=1, max_size=200),
    host=st.sampled_from(["127.0.0.1", "localhost", "a@127.0.0.1", "LOCALHOST"]),
    extra=st.text(max_size=50),
)
def test_accepted_pastes_are_rebuilt_from_their_parts(code: str, host: str, extra: str) -> None:
    """Whatever was pasted, what is replayed on the server is a fresh, fully encoded
    http://127.0.0.1:1455/auth/callback?code=..&state=.. (nothing for a shell or curl to read)."""
    from urllib.parse import urlencode

    text = f"http://{host}:1455/auth/callback?{urlencode({'code': code, 'state': STATE})}&{extra}"
    try:
        callback = validate_pasted_callback(text, state=STATE, port=1455)
    except PastedAddressError:
        return
    url = callback.url()
    assert url.startswith("http://127.0.0.1:1455/auth/callback?code=")
    assert not any(ch in url for ch in " \t\r\n\"'\\$`;")
    assert parse_qs(urlsplit(url).query)["state"] == [STATE]


def test_relayed_code_with_shell_and_curl_syntax_runs_nothing(lab_noforward: SshLab) -> None:
    """A pasted code full of shell and curl-config syntax is only ever data on the server."""
    lab = lab_noforward
    lab.install_codex("fake", "path")
    marker = lab.server_path("PWNED")
    code = f'$(touch {marker})`touch {marker}`";touch {marker};"\nurl = "file:///etc/passwd'
    with cli(lab, "login", "lab", "--relay", "--timeout", "60", stdin=True) as run:
        url = run.wait_for(URL_LINE.pattern)
        run.wait_for("paste it here")
        from urllib.parse import quote

        run.send(f"http://127.0.0.1:1455/auth/callback?code={quote(code)}&state={state_of(url)}")
        code_, out = run.finish()
    assert code_ == 0, out
    assert "Logged in on lab" in out
    assert not marker.exists()
    assert "root:x:0:0" not in out
    no_codex_left(lab)


def test_tokens_never_in_messages_of_a_bad_auth_file(lab: SshLab) -> None:
    """A malformed file that still holds real-looking tokens: the problem is named, the tokens
    are not shown."""
    tokens = make_tokens(tag="leak")
    doc = {"tokens": {**tokens, "access_token": tokens["access_token"] + "!!"}}
    path = lab.write_server_file(".codex/auth.json", json.dumps(doc), mode=0o600)
    assert path.exists()
    for argv in (["status", "lab", "--json"], ["status", "lab"], ["doctor", "lab"]):
        result = run_cli(lab, *argv)
        for secret in (tokens["access_token"][:40], tokens["refresh_token"], tokens["id_token"]):
            assert secret not in result.stdout + result.stderr
        assert_clean(result.stdout, result.stderr)
