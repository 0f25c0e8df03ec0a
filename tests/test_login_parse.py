"""Reading `codex login` output: the lines of the real 0.169.0 CLI, PTY noise, and garbage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codex_wizard.core.server.events import (
    DeviceCodeReady,
    LoginCancelled,
    LoginError,
    LoginSucceeded,
    PortsBusy,
    SuspiciousUrl,
    TokenExchangeFailed,
    UrlReady,
)
from codex_wizard.core.server.login import (
    DeviceCodeReader,
    login_command,
    login_url_port,
    parse_login_line,
    redirect_port,
    url_state,
)
from codex_wizard.core.server.probe import ServerEnv
from codex_wizard.core.server.remote import clean_line

URL_1455 = (
    "https://auth.openai.com/oauth/authorize?response_type=code&client_id=app_EMoamEEZ73f0CkXaXp7hrann"
    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback&code_challenge=abc"
    "&code_challenge_method=S256&state=s7a7e&scope=openid%20profile&originator=codex_cli_rs"
)


def test_url_line_gives_port_from_redirect_uri() -> None:
    event = parse_login_line(URL_1455)
    assert event == UrlReady(URL_1455, 1455)
    fallback = URL_1455.replace("%3A1455", "%3A1457")
    assert parse_login_line(fallback) == UrlReady(fallback, 1457)
    assert url_state(URL_1455) == "s7a7e"


def test_url_without_loopback_redirect_is_only_a_warning() -> None:
    other = URL_1455.replace("127.0.0.1", "evil.example")
    assert redirect_port(other) is None
    assert parse_login_line(other) == SuspiciousUrl(other)


CALLBACK = "redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback"


@pytest.mark.parametrize(
    "url",
    [
        "https://auth.openai.com.evil.com/oauth/authorize?" + CALLBACK,
        "https://evil.example/?x=https://auth.openai.com/oauth/authorize?" + CALLBACK,
        "https://evil.example/oauth/authorize?" + CALLBACK,
        "https://auth.openai.com@evil.com/oauth/authorize?" + CALLBACK,
        "https://user:pw@auth.openai.com/oauth/authorize?" + CALLBACK,
        "https://auth.openai.com:8443/oauth/authorize?" + CALLBACK,
        "http://auth.openai.com/oauth/authorize?" + CALLBACK,
        "https://auth.openai.com/oauth/authorize/../../evil?" + CALLBACK,
        "https://auth.openai.com\\@evil.com/oauth/authorize?" + CALLBACK,
        "https://AUTH.OPENAI.COM/oauth/authorize?" + CALLBACK,
        "https://auth.openai.com/oauth/authorize?redirect_uri=http://evil.com:1455/auth/callback",
        "https://auth.openai.com/oauth/authorize?redirect_uri=https://127.0.0.1:1455/auth/callback",
        "https://auth.openai.com/oauth/authorize?redirect_uri=http://127.0.0.1/auth/callback",
        "https://auth.openai.com/oauth/authorize?redirect_uri=http://127.0.0.1:1455/elsewhere",
        "https://auth.openai.com/oauth/authorize?redirect_uri=http://x@127.0.0.1:1455/auth/callback",
        "https://auth.openai.com/oauth/authorize?redirect_uri=http://127.0.0.1.evil:1455/auth/callback",
        "https://auth.openai.com/oauth/authorize?redirect_uri=http://127.0.0.1:99999/auth/callback",
        # only codex's ports: the tunnel opens the redirect_uri's port on this computer
        "https://auth.openai.com/oauth/authorize?redirect_uri=http://127.0.0.1:8080/auth/callback",
        "https://auth.openai.com/oauth/authorize?redirect_uri=http://localhost:22/auth/callback",
        URL_1455.replace("%3A1455", "%3A1456"),
        "https://auth.openai.com/oauth/authorize?" + CALLBACK + "&redirect_uri=http://evil:1/",
        "https://auth.openai.com/oauth/authorize?response_type=code",
        "https://auth.openai.com/oauth/authorize?x=\u202e&" + CALLBACK,
        "https://auth.openai.com/oauth/authorize?x=<script>&" + CALLBACK,
    ],
)
def test_hostile_login_urls_are_never_ready(url: str) -> None:
    assert login_url_port(url) is None
    assert parse_login_line(url) == SuspiciousUrl(url)
    shown = SuspiciousUrl(url).warning.rsplit("forwarded: ", 1)[1]
    assert "://" not in shown  # defanged: no terminal makes it a link


@pytest.mark.parametrize(
    "url",
    [
        URL_1455,
        URL_1455.replace("%3A1455", "%3A1457"),
        "https://auth.openai.com/oauth/authorize?redirect_uri=http://localhost:1455/cb&state=s",
    ],
)
def test_codex_login_urls_are_allowed(url: str) -> None:
    assert login_url_port(url) in (1455, 1457)
    assert isinstance(parse_login_line(url), UrlReady)


@pytest.mark.parametrize(
    "raw",
    [
        "\x1b]52;c;cHduZWQ=\x1b\\" + URL_1455,  # OSC 52 before the URL, ended by ST
        "\x1b]0;owned\x07" + URL_1455 + "\x1b]0;\x07",  # OSC 0 around it
        "\x1bP+q544e\x1b\\" + URL_1455,  # DCS
        URL_1455.replace("&state", "\x9b31m&state"),  # 8-bit CSI inside the URL
        "\x1b]8;;https://evil.example/\x1b\\" + URL_1455 + "\x1b]8;;\x1b\\",  # hyperlink
    ],
)
def test_escapes_in_the_url_line_are_stripped_before_parsing(raw: str) -> None:
    line = clean_line(raw)
    assert line == URL_1455
    assert parse_login_line(line) == UrlReady(URL_1455, 1455)


def test_escapes_cannot_smuggle_another_host() -> None:
    raw = "https://auth.openai.com\x1b[0m.evil.com/oauth/authorize?" + CALLBACK
    assert isinstance(parse_login_line(clean_line(raw)), SuspiciousUrl)


def test_device_link_only_on_auth_openai_com() -> None:
    reader = DeviceCodeReader()
    assert reader.feed("   https://evil.example/codex/device") == SuspiciousUrl(
        "https://evil.example/codex/device"
    )
    assert reader.feed("   https://auth.openai.com.evil.com/codex/device") == SuspiciousUrl(
        "https://auth.openai.com.evil.com/codex/device"
    )
    assert reader.feed("2. Enter this one-time code after you are signed in") is None
    assert reader.feed("   DEMO-7KQ4") is None  # a code alone is not enough: no trusted link
    assert reader.feed("   https://auth.openai.com/codex/device") == DeviceCodeReady(
        "https://auth.openai.com/codex/device", "DEMO-7KQ4"
    )


def test_outcome_lines() -> None:
    assert parse_login_line("Successfully logged in") == LoginSucceeded()
    assert parse_login_line("Error logging in: Login cancelled") == LoginCancelled()
    failed = parse_login_line(
        "Error logging in: Token exchange failed: error sending request for url"
    )
    assert failed == TokenExchangeFailed("error sending request for url")
    busy = parse_login_line("Error logging in: Port 127.0.0.1:1457 is already in use")
    assert busy == PortsBusy("Port 127.0.0.1:1457 is already in use")
    config = parse_login_line(
        'Error loading configuration: CODEX_HOME points to "/x", but that path does not exist'
    )
    assert isinstance(config, LoginError)
    for quiet in ("Starting local login server on http://localhost:1455.", "", "WARNING: x"):
        assert parse_login_line(quiet) is None


def test_clean_line_strips_pty_noise() -> None:
    assert clean_line("\x1b[1mSuccessfully logged in\x1b[0m\r\n") == "Successfully logged in"
    assert clean_line("\x1b]0;title\x07text\r") == "text"


@given(st.text())
def test_parse_never_raises(line: str) -> None:
    parse_login_line(clean_line(line))


@given(st.text())
def test_redirect_port_never_raises(text: str) -> None:
    redirect_port("https://auth.openai.com/oauth/authorize?" + text)


def test_login_command_prints_pid_then_execs_codex(tmp_path: Path) -> None:
    codex = tmp_path / "codex"
    codex.write_text('#!/bin/sh\necho "codex pid=$$ args=$*"\n')
    codex.chmod(0o755)
    env = ServerEnv(login_path=f"{tmp_path}:/usr/bin:/bin")
    out = subprocess.run(
        ["sh", "-c", login_command(env)], capture_output=True, text=True, timeout=10
    ).stdout.splitlines()
    assert out[0].startswith("@@cwpid ")
    pid = out[0].split()[1]
    assert out[1] == f"codex pid={pid} args=login"  # exec: codex is the process we will kill


def test_codex_missing_from_path_is_an_error() -> None:
    event = parse_login_line("sh: 1: exec: codex: not found")
    assert isinstance(event, LoginError) and "npm install -g @openai/codex" in event.message
