"""Token states as codex renews them, shared logins, keyring storage (core.tokens.state,
core.logins.status).

Fake JWTs only (tests.lab.fake_tokens). A host check runs against a stand-in connection whose
commands run here, in a temporary directory, so the place script is tested for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from time_machine import TimeMachineFixture

from codex_wizard.core.logins import status as status_mod
from codex_wizard.core.logins.status import (
    THIS_COMPUTER,
    HostStatus,
    credentials_store,
    fleet_exit_code,
    group_by_login,
    local_login,
    mark_shared,
)
from codex_wizard.core.server.actions import VerifyResult
from codex_wizard.core.tokens.auth import AuthKind, AuthRecord, login_fingerprint, parse_auth_json
from codex_wizard.core.tokens.state import Storage, TokenState, describe_state, token_state
from tests.lab.fake_tokens import make_auth_json, secrets_in

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
DAY = 86400


@pytest.fixture(autouse=True)
def _clock_at_now(time_machine: TimeMachineFixture) -> None:
    """The fixtures are made at NOW, and the host check reads the one clock: it reads NOW too,
    on any day the suite runs."""
    time_machine.move_to(NOW, tick=False)


def auth_text(tag: str = "t", *, refresh: bool = True, **kwargs: Any) -> str:
    text = make_auth_json(now=NOW.timestamp(), tag=tag, **kwargs)
    if refresh:
        return text
    doc = json.loads(text)
    del doc["tokens"]["refresh_token"]
    return json.dumps(doc)


def rec(tag: str = "t", **kwargs: Any) -> AuthRecord:
    return parse_auth_json(auth_text(tag, **kwargs).encode(), file_mode=0o600)


def host(name: str, record: AuthRecord | None, file_id: str | None = None) -> HostStatus:
    state = token_state(record, NOW) if record else TokenState.ERROR
    return HostStatus(name, state, record, file_id=file_id)


# ---------------------------------------------------------------------------- words


class TestDescribe:
    def test_renews_says_codex_renews_and_when_it_last_did(self) -> None:
        record = rec(access_ttl_s=-2 * DAY, last_refresh="2026-11-13T12:00:00Z")
        assert token_state(record, NOW) is TokenState.RENEWS
        assert describe_state(TokenState.RENEWS, record, NOW) == (
            "expired 2 days ago, codex renews it on next use (last renewed 12 days ago)"
        )
        brief = describe_state(TokenState.RENEWS, record, NOW, brief=True)
        assert brief == "expired 2 days ago, codex renews it on next use"

    def test_ok_and_no_refresh_token(self) -> None:
        assert describe_state(TokenState.OK, rec(), NOW) == "expires in 10 days"
        expired = rec(refresh=False, access_ttl_s=-3600)
        assert token_state(expired, NOW) is TokenState.EXPIRED
        assert describe_state(TokenState.EXPIRED, expired, NOW) == (
            "expired 1 hour ago, no refresh token: log in again"
        )

    def test_shared_names_the_others_and_the_fix(self) -> None:
        text = describe_state(TokenState.SHARED, rec(), NOW, shared_with=("web2", THIS_COMPUTER))
        assert text.startswith("shared with web2, this computer: log each in on its own")
        assert "the first to renew logs the others out" in text

    def test_keyring(self) -> None:
        missing = parse_auth_json(None)
        ok = describe_state(TokenState.OK, missing, NOW, storage=Storage.KEYRING)
        assert ok == "logged in (OS keyring); expiry not readable"
        out = describe_state(TokenState.LOGGED_OUT, missing, NOW, storage=Storage.KEYRING)
        assert out == "not logged in (OS keyring)"

    def test_errors_and_api_key(self) -> None:
        assert describe_state(TokenState.ERROR, error="no answer within 5 s") == (
            "no answer within 5 s"
        )
        assert "not valid JSON" in describe_state(TokenState.ERROR, parse_auth_json(b"{"))
        api = AuthRecord(AuthKind.API_KEY, api_key_masked="sk-…AbCd")
        assert describe_state(TokenState.API_KEY, api) == "API key sk-…AbCd (not a ChatGPT login)"


# ---------------------------------------------------------------------------- login_id


def test_login_id_is_a_short_fingerprint_of_the_refresh_token() -> None:
    text = auth_text("abc")
    refresh = json.loads(text)["tokens"]["refresh_token"]
    record = parse_auth_json(text.encode())
    assert record.login_id == hashlib.sha256(refresh.encode()).hexdigest()[:12]
    assert record.login_id == login_fingerprint(refresh)
    assert refresh not in repr(record)
    assert rec(refresh=False).login_id is None
    assert parse_auth_json(None).login_id is None
    assert rec("abc").login_id != rec("abd").login_id


# ---------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    ("states", "code"),
    [
        ([TokenState.OK, TokenState.RENEWS, TokenState.API_KEY], 0),
        ([TokenState.OK, TokenState.SHARED], 1),
        ([TokenState.OK, TokenState.EXPIRING], 1),
        ([TokenState.EXPIRED], 1),
        ([TokenState.LOGGED_OUT], 1),
    ],
)
def test_exit_codes(states: list[TokenState], code: int) -> None:
    results = [HostStatus(f"h{i}", s, parse_auth_json(None)) for i, s in enumerate(states)]
    assert fleet_exit_code(results) == code


def test_unchecked_host_is_exit_2_and_unreadable_file_is_1() -> None:
    unchecked = HostStatus("down", TokenState.ERROR, error="refused")
    assert fleet_exit_code([host("a", rec()), unchecked]) == 2
    assert fleet_exit_code([HostStatus("a", TokenState.ERROR, parse_auth_json(b"{"))]) == 1


def test_json_adds_the_new_fields_and_keeps_the_old() -> None:
    result = HostStatus(
        "web1",
        TokenState.SHARED,
        rec(access_ttl_s=-DAY),
        codex_home="/home/ada/.codex",
        shared_with=("web2",),
    )
    row = result.as_json(NOW)
    assert row["state"] == "shared" and row["renews_on_use"] is True
    assert row["login_id"] == result.auth.login_id and row["shared_with"] == ["web2"]
    assert row["codex_home"] == "/home/ada/.codex" and row["storage"] == "file"
    assert {"host", "auth_mode", "expires_at", "expires_in_s", "last_refresh", "plan"} <= set(row)
    assert HostStatus("x", TokenState.OK, rec()).as_json(NOW)["renews_on_use"] is False


# ---------------------------------------------------------------------------- shared


class TestShared:
    def test_one_login_on_two_machines_is_shared_both_ways(self) -> None:
        a, b = host("web1", rec(), "m1/1:2"), host("web2", rec(), "m2/1:2")
        other = host("web3", rec("other"), "m3/1:2")
        marked = mark_shared([a, b, other])
        assert [m.state for m in marked] == [TokenState.SHARED, TokenState.SHARED, TokenState.OK]
        assert marked[0].shared_with == ("web2",) and marked[1].shared_with == ("web1",)
        assert marked[2].shared_with == ()

    def test_aliases_of_one_file_are_one_login(self) -> None:
        a, b = host("lab", rec(), "m1/1:2"), host("lab-alias", rec(), "m1/1:2")
        assert [m.state for m in mark_shared([a, b])] == [TokenState.OK, TokenState.OK]

    def test_two_users_of_one_server_are_two_files(self) -> None:
        a, b = host("ada@s", rec(), "m1/1:2"), host("bob@s", rec(), "m1/1:3")
        assert {m.state for m in mark_shared([a, b])} == {TokenState.SHARED}

    def test_this_computer_counts_and_aliases_are_all_named(self) -> None:
        local = host(THIS_COMPUTER, rec(), "here/5:6")
        a, b = host("lab", rec(), "m1/1:2"), host("lab1", rec(), "m1/1:2")
        marked = mark_shared([a, b], local)
        assert len(marked) == 2
        assert marked[0].shared_with == (THIS_COMPUTER,)
        groups = group_by_login([a, b, local])
        assert [s.host for s in groups[a.login_id]] == ["lab", "lab1", THIS_COMPUTER]

    def test_unknown_place_is_told_apart_by_name(self) -> None:
        marked = mark_shared([host("a", rec()), host("b", rec())])
        assert [m.shared_with for m in marked] == [("b",), ("a",)]

    def test_renewing_host_that_is_shared_is_shared(self) -> None:
        a = host("a", rec(access_ttl_s=-DAY), "m1/1:2")
        b = host("b", rec(), "m2/1:2")
        assert a.state is TokenState.RENEWS
        assert mark_shared([a, b])[0].state is TokenState.SHARED
        assert mark_shared([a, b])[0].at(NOW).state is TokenState.SHARED  # kept when re-judged


# ---------------------------------------------------------------------------- this computer


def test_local_login_reads_codex_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path))
    assert local_login(NOW).state is TokenState.LOGGED_OUT
    (tmp_path / "auth.json").write_text(auth_text())
    found = local_login(NOW)
    info = (tmp_path / "auth.json").stat()
    assert found.host == THIS_COMPUTER and found.state is TokenState.OK
    assert found.file_id and found.file_id.endswith(f"/{info.st_dev}:{info.st_ino}")
    assert found.login_id == rec().login_id


# ---------------------------------------------------------------------------- config.toml


@pytest.mark.parametrize(
    ("text", "store"),
    [
        ("", "file"),
        ('cli_auth_credentials_store = "keyring"\n', "keyring"),
        ('model = "o3"\ncli_auth_credentials_store = "auto"\n', "auto"),
        ("cli_auth_credentials_store = 3\n", "file"),
        ("not [toml", "file"),
        ('[profiles.x]\ncli_auth_credentials_store = "keyring"\n', "file"),
    ],
)
def test_credentials_store(text: str, store: str) -> None:
    assert credentials_store(text) == store


# ---------------------------------------------------------------------------- one host


class LocalConn:
    """A stand-in ServerConnection whose commands run here, from `home` (the login dir)."""

    label = "fake"

    def __init__(self, home: Path) -> None:
        self.home = home
        self.commands: list[str] = []

    def host_key(self) -> SimpleNamespace:
        return SimpleNamespace(get_fingerprint=lambda _kind: "SHA256:fakekey")

    async def run(
        self,
        command: str,
        *,
        input: str | bytes | None = None,
        timeout: float = 30.0,
        binary: bool = False,
    ) -> SimpleNamespace:
        self.commands.append(command)
        env = self._env()
        done = subprocess.run(
            command,
            shell=True,
            cwd=self.home,
            input=input,
            capture_output=True,
            text=not binary,
            env=env,
            timeout=timeout,
        )
        return SimpleNamespace(stdout=done.stdout, stderr=done.stderr, exit_status=done.returncode)

    async def start_process(self, command: str, *, pty: bool, binary: bool = False) -> LocalProcess:
        """ServerConnection.start_process, here: stderr into stdout, bytes, stdin left open."""
        assert binary and not pty, "the token reads run bounded, in bytes, without a PTY"
        self.commands.append(command)
        process = await asyncio.create_subprocess_shell(
            command,
            cwd=self.home,
            env=self._env(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return LocalProcess(process)

    def is_closed(self) -> bool:
        return False

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "HOME": str(self.home), "SHELL": "/bin/sh"}
        env.pop("CODEX_HOME", None)
        return env


class LocalProcess:
    """The part of asyncssh's SSHClientProcess that GroupProcess uses, over a local process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self.stdin = process.stdin
        self.stdout = process.stdout
        self.exit_signal = None

    @property
    def exit_status(self) -> int | None:
        return self._process.returncode

    async def wait_closed(self) -> None:
        await self._process.wait()

    def close(self) -> None:
        """The channel closes: stdin ends (the guarded run's lifeline) and the process goes."""
        if self.stdin is not None and not self.stdin.is_closing():
            self.stdin.close()
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalConn:
    """A 'server' home in tmp_path, read by the real scripts run here by sh."""
    conn = LocalConn(tmp_path)
    (tmp_path / ".codex").mkdir()
    return conn


def said(code: int, line: str) -> Any:
    async def verify_login(_conn: Any, _env: Any) -> VerifyResult:
        return VerifyResult("codex login status", code, [line])

    return verify_login


async def check(conn: LocalConn, codex_home: str | None = None) -> HostStatus:
    return await status_mod._check_on(conn, "srv", codex_home, 3.0)


async def test_host_check_reads_the_place_beside_the_file(server: LocalConn) -> None:
    (server.home / ".codex/auth.json").write_text(auth_text(access_ttl_s=-2 * DAY))
    result = await check(server)
    assert result.state is TokenState.RENEWS and result.storage is Storage.FILE
    assert result.codex_home == str((server.home / ".codex").resolve())
    info = (server.home / ".codex/auth.json").stat()
    assert result.file_id and result.file_id.endswith(f"/{info.st_dev}:{info.st_ino}")
    assert len(server.commands) == 1  # the file and its place in one exec; no codex login status


async def test_same_file_as_this_computer_is_not_shared(
    server: LocalConn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ssh to this very computer reaches this computer's own auth.json: one login."""
    (server.home / ".codex/auth.json").write_text(auth_text())
    monkeypatch.setenv("CODEX_HOME", str(server.home / ".codex"))
    result, local = await check(server), local_login(NOW)
    assert result.file_id == local.file_id
    assert mark_shared([result], local)[0].state is TokenState.OK
    copy = server.home / "copy"
    copy.mkdir()
    (copy / "auth.json").write_text((server.home / ".codex/auth.json").read_text())
    monkeypatch.setenv("CODEX_HOME", str(copy))
    [marked] = mark_shared([result], local_login(NOW))
    assert marked.state is TokenState.SHARED and marked.shared_with == (THIS_COMPUTER,)


@pytest.mark.parametrize("store", ["keyring", "auto"])
async def test_keyring_login_asks_codex(
    server: LocalConn, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    (server.home / ".codex/config.toml").write_text(f'cli_auth_credentials_store = "{store}"\n')
    monkeypatch.setattr(status_mod, "verify_login", said(0, "Logged in using ChatGPT"))
    result = await check(server)
    assert (result.state, result.storage) == (TokenState.OK, Storage.KEYRING)
    assert result.describe(NOW) == "logged in (OS keyring); expiry not readable"
    assert result.as_json(NOW)["storage"] == "keyring"
    monkeypatch.setattr(status_mod, "verify_login", said(1, "Not logged in"))
    assert (await check(server)).state is TokenState.LOGGED_OUT
    monkeypatch.setattr(status_mod, "verify_login", said(127, "sh: codex: not found"))
    broken = await check(server)
    assert broken.state is TokenState.ERROR and "codex: not found" in (broken.error or "")
    assert fleet_exit_code([broken]) == 1


async def test_keyring_config_is_ignored_when_auth_json_exists(
    server: LocalConn, monkeypatch: pytest.MonkeyPatch
) -> None:
    (server.home / ".codex/config.toml").write_text('cli_auth_credentials_store = "keyring"\n')
    (server.home / ".codex/auth.json").write_text(auth_text())
    monkeypatch.setattr(status_mod, "verify_login", None)  # must not be called
    result = await check(server)
    assert (result.state, result.storage) == (TokenState.OK, Storage.FILE)


async def test_no_codex_home_dir_still_answers(server: LocalConn) -> None:
    result = await check(server, "/nonexistent/codex")
    assert result.state is TokenState.LOGGED_OUT and result.codex_home == "/nonexistent/codex"


async def test_config_fifo_does_not_hang(server: LocalConn) -> None:
    os.mkfifo(server.home / ".codex/config.toml")
    assert (await check(server)).state is TokenState.LOGGED_OUT


# ---------------------------------------------------------------------------- no leaks


def test_no_token_in_any_output() -> None:
    texts = [auth_text("a", access_ttl_s=-DAY), auth_text("b"), auth_text("c", refresh=False)]
    results = mark_shared(
        [host(f"h{i}", parse_auth_json(t.encode()), f"m{i}/1:1") for i, t in enumerate(texts)],
        host(THIS_COMPUTER, parse_auth_json(texts[0].encode()), "here/1:1"),
    )
    outputs = [json.dumps([r.as_json(NOW) for r in results])]
    outputs += [r.describe(NOW) for r in results] + [r.describe(NOW, brief=True) for r in results]
    outputs += [repr(r) for r in results]
    for secret in (s for t in texts for s in secrets_in(t)):
        assert all(secret not in out for out in outputs)
    assert results[0].state is TokenState.SHARED
