"""The demo server, driven by the REAL core: connect, probe, forwarding, login, status, doctor.

Everything runs in-process on 127.0.0.1 ephemeral ports; nothing touches 1455/1457 here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from codex_wizard.core.doctor import Verdict, run_doctor
from codex_wizard.core.logins.authfile import read_remote_auth
from codex_wizard.core.logins.status import check_host
from codex_wizard.core.server import actions, relay
from codex_wizard.core.server.events import (
    DeviceCodeReady,
    ForwardRefused,
    LoginCancelled,
    LoginEvent,
    LoginExited,
    LoginSucceeded,
    StateMismatch,
    TokenExchangeFailed,
    UrlReady,
)
from codex_wizard.core.server.login import LoginSession, login_command, url_state
from codex_wizard.core.server.probe import ServerEnv, probe_server
from codex_wizard.core.server.relay import PastedCallback
from codex_wizard.core.server.remote import group_command
from codex_wizard.core.server.tunnel import ForwardingState, check_forwarding
from codex_wizard.core.ssh.connection import connect
from codex_wizard.core.ssh.server import ServerConnection
from codex_wizard.core.tokens.auth import AuthKind
from codex_wizard.core.tokens.state import TokenState, token_state
from codex_wizard.demo import DemoScenario, DemoServer
from codex_wizard.demo.machine import parse_command
from codex_wizard.demo.scenario import LOGIN_PATH

FAST = 0.02  # DemoScenario.pace for tests: every simulated delay 50x shorter
LIMIT = 20.0


def scenario(**knobs: object) -> DemoScenario:
    return DemoScenario(pace=FAST, **knobs)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def demo_conn(**knobs: object) -> AsyncIterator[tuple[DemoServer, ServerConnection]]:
    """A started DemoServer and a real core connection to it."""
    async with (
        DemoServer(scenario=scenario(**knobs)) as demo,
        await connect(demo.target, demo.settings) as conn,
    ):
        yield demo, conn


async def next_event(session: LoginSession, kind: type, seen: list[LoginEvent]) -> LoginEvent:
    """Events until one of `kind` (all of them kept in `seen`)."""
    async with asyncio.timeout(LIMIT):
        async for event in session.events():
            seen.append(event)
            if isinstance(event, kind):
                return event
    raise AssertionError(f"no {kind.__name__}; saw {seen}")


def local_port(session: LoginSession) -> int:
    assert session.tunnel is not None
    return session.tunnel.local_port


# --------------------------------------------------------------------------- connection


async def test_connects_with_known_host_key_and_no_prompt() -> None:
    async with DemoServer(scenario=scenario()) as demo:
        assert demo.settings.confirm_host_key is None
        assert not demo.settings.accept_new_host_key
        async with await connect(demo.target, demo.settings) as conn:
            assert conn.label == "demo"
            result = await conn.run("codex --version")
            assert result.exit_status == 0
            assert result.stdout.strip() == "codex-cli 0.169.0"


async def test_own_workdir_is_kept_and_temporary_one_removed(tmp_path: Path) -> None:
    async with DemoServer(workdir=tmp_path, scenario=scenario()) as demo:
        assert demo.auth_json_path.is_relative_to(tmp_path)
        assert demo.auth_json_path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "laptop" / "ssh_config").is_file()
    async with DemoServer(scenario=scenario()) as demo:
        temporary = demo.workdir
    assert not temporary.exists()


def test_local_port_before_start_is_any_free_port() -> None:
    demo = DemoServer()
    assert demo.local_port_for(1455) == 0


async def test_local_port_mapping_when_started() -> None:
    async with DemoServer(scenario=scenario()) as demo:
        ports = {demo.local_port_for(1455), demo.local_port_for(1457)}
        assert len(ports) == 2
        assert not ports & {1455, 1457}


# --------------------------------------------------------------------------- probe


async def test_probe_reports_the_scenario() -> None:
    async with demo_conn(node_version="20.18.1") as (_, conn):
        probe = await probe_server(conn)
    assert (probe.os, probe.arch, probe.home) == ("Linux", "x86_64", "/home/demo")
    assert probe.node.version == "20.18.1"
    assert probe.npm.version == "10.9.0"
    assert probe.codex.version == "0.169.0"
    assert probe.codex.path == "/usr/local/bin/codex"
    assert not probe.needs_login_path and probe.login_path is None
    assert probe.port_source == "ss"
    assert probe.port_owners == {1455: None, 1457: None}


async def test_probe_finds_codex_on_the_login_path_only() -> None:
    async with demo_conn(codex_on_login_path_only=True) as (_, conn):
        probe = await probe_server(conn)
    assert probe.codex.via_login_shell
    assert probe.codex.path == "/home/demo/.npm-global/bin/codex"
    assert probe.login_path == LOGIN_PATH
    assert ServerEnv.from_probe(probe).login_path == LOGIN_PATH


async def test_probe_without_codex_or_node() -> None:
    async with demo_conn(codex_installed=False) as (_, conn):
        probe = await probe_server(conn)
    assert not probe.codex.found and probe.node.works
    async with demo_conn(node_version="") as (_, conn):
        probe = await probe_server(conn)
    assert not probe.node.found and not probe.npm.found
    assert probe.codex.found and not probe.codex.works


async def test_probe_shows_who_holds_a_busy_port() -> None:
    async with demo_conn(port_1455_busy=True) as (_, conn):
        probe = await probe_server(conn)
    owner = probe.port_owners[1455]
    assert owner is not None and (owner.process, owner.pid) == ("python3", 2211)
    assert probe.port_owners[1457] is None


# --------------------------------------------------------------------------- forwarding


@pytest.mark.parametrize(
    ("refused", "state"), [(False, ForwardingState.ALLOWED), (True, ForwardingState.REFUSED)]
)
async def test_check_forwarding(refused: bool, state: ForwardingState) -> None:
    async with demo_conn(forwarding_refused=refused) as (_, conn):
        assert (await check_forwarding(conn, 1455)).state is state


# --------------------------------------------------------------------------- login


async def test_login_wrong_state_then_success() -> None:
    async with demo_conn(logged_in=False) as (demo, conn):
        assert (await read_remote_auth(conn, ".codex/auth.json")).kind is AuthKind.MISSING
        seen: list[LoginEvent] = []
        async with LoginSession(conn, ServerEnv(), local_port_for=demo.local_port_for) as session:
            ready = await next_event(session, UrlReady, seen)
            assert isinstance(ready, UrlReady) and ready.port == 1455
            assert local_port(session) == demo.local_port_for(1455)
            status = await demo.simulate_browser(
                ready.url, local_port=local_port(session), wrong_state=True
            )
            assert status == 400
            await next_event(session, StateMismatch, seen)
            assert await demo.simulate_browser(ready.url, local_port=local_port(session)) == 302
            exited = await next_event(session, LoginExited, seen)
        assert any(isinstance(event, LoginSucceeded) for event in seen)
        assert exited == LoginExited(0, "")
        record = await read_remote_auth(conn, ".codex/auth.json")
    assert record.kind is AuthKind.CHATGPT
    assert (record.plan, record.email_masked, record.file_mode) == (
        "plus",
        "ad***@example.com",
        0o600,
    )
    assert token_state(record) is TokenState.OK


async def test_login_falls_back_to_1457_when_1455_is_busy() -> None:
    async with demo_conn(port_1455_busy=True) as (demo, conn):
        seen: list[LoginEvent] = []
        async with LoginSession(conn, ServerEnv(), local_port_for=demo.local_port_for) as session:
            ready = await next_event(session, UrlReady, seen)
            assert isinstance(ready, UrlReady) and ready.port == 1457
            assert "127.0.0.1%3A1457" in ready.url
            assert local_port(session) == demo.local_port_for(1457)
            assert await demo.simulate_browser(ready.url, local_port=local_port(session)) == 302
            assert await next_event(session, LoginExited, seen) == LoginExited(0, "")


async def test_token_exchange_failure() -> None:
    async with demo_conn(token_exchange_fails=True, logged_in=False) as (demo, conn):
        seen: list[LoginEvent] = []
        async with LoginSession(conn, ServerEnv(), local_port_for=demo.local_port_for) as session:
            ready = await next_event(session, UrlReady, seen)
            assert isinstance(ready, UrlReady)
            assert await demo.simulate_browser(ready.url, local_port=local_port(session)) == 200
            failed = await next_event(session, TokenExchangeFailed, seen)
            assert isinstance(failed, TokenExchangeFailed)
            assert "auth.openai.com/oauth/token" in failed.message
            exited = await next_event(session, LoginExited, seen)
        assert isinstance(exited, LoginExited) and exited.exit_code == 1
        assert not any(isinstance(event, LoginSucceeded) for event in seen)
        assert (await read_remote_auth(conn, ".codex/auth.json")).kind is AuthKind.MISSING


async def test_forwarding_refused_reaches_the_session() -> None:
    async with demo_conn(forwarding_refused=True) as (demo, conn):
        seen: list[LoginEvent] = []
        async with LoginSession(conn, ServerEnv(), local_port_for=demo.local_port_for) as session:
            ready = await next_event(session, UrlReady, seen)
            assert isinstance(ready, UrlReady)
            assert await demo.simulate_browser(ready.url, local_port=local_port(session)) == 502
            await next_event(session, ForwardRefused, seen)


async def test_closing_the_session_stops_the_remote_login() -> None:
    async with demo_conn() as (demo, conn):
        seen: list[LoginEvent] = []
        async with LoginSession(conn, ServerEnv(), local_port_for=demo.local_port_for) as session:
            await next_event(session, UrlReady, seen)
            assert (await probe_server(conn)).port_owners[1455] is not None
        probe = await probe_server(conn)
        assert probe.port_owners == {1455: None, 1457: None}
        assert (await check_forwarding(conn, 1455)).detail == "allowed by the server"


async def test_hangup_alone_ends_the_login() -> None:
    async with demo_conn() as (_, conn):
        process = await conn.ssh.create_process(login_command(ServerEnv()), term_type="dumb")
        async with asyncio.timeout(LIMIT):
            while "oauth/authorize" not in await process.stdout.readline():
                pass
            process.close()
            await process.wait_closed()
            while (await probe_server(conn)).port_owners[1455] is not None:
                await asyncio.sleep(0.02)


async def test_a_new_login_cancels_the_pending_one() -> None:
    async with demo_conn() as (demo, conn):
        old = await conn.ssh.create_process(login_command(ServerEnv()), term_type="dumb")
        async with asyncio.timeout(LIMIT):
            while "oauth/authorize" not in await old.stdout.readline():
                pass
        seen: list[LoginEvent] = []
        async with LoginSession(conn, ServerEnv(), local_port_for=demo.local_port_for) as session:
            ready = await next_event(session, UrlReady, seen)
            assert isinstance(ready, UrlReady) and ready.port == 1455
            async with asyncio.timeout(LIMIT):
                rest = await old.stdout.read()
                await old.wait_closed()
            assert "Error logging in: Login cancelled" in rest
            assert old.exit_status == 1
            assert await demo.simulate_browser(ready.url, local_port=local_port(session)) == 302
            await next_event(session, LoginExited, seen)


async def test_cancel_endpoint() -> None:
    async with demo_conn() as (demo, conn):
        seen: list[LoginEvent] = []
        async with LoginSession(conn, ServerEnv(), local_port_for=demo.local_port_for) as session:
            await next_event(session, UrlReady, seen)
            reader, writer = await asyncio.open_connection("127.0.0.1", local_port(session))
            writer.write(b"GET /cancel HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
            writer.close()
            await next_event(session, LoginCancelled, seen)
            exited = await next_event(session, LoginExited, seen)
        assert isinstance(exited, LoginExited) and exited.exit_code == 1


async def test_login_needs_the_login_path_when_codex_is_only_there() -> None:
    async with demo_conn(codex_on_login_path_only=True) as (demo, conn):
        seen: list[LoginEvent] = []
        async with LoginSession(conn, ServerEnv(), local_port_for=demo.local_port_for) as session:
            exited = await next_event(session, LoginExited, seen)
        assert isinstance(exited, LoginExited) and exited.exit_code == 127
        assert "sh: 1: exec: codex: not found" in session.output
        for env in (ServerEnv(auto_path=True), ServerEnv(login_path=LOGIN_PATH)):
            async with LoginSession(conn, env, local_port_for=demo.local_port_for) as session:
                ready = await next_event(session, UrlReady, [])
                assert isinstance(ready, UrlReady) and ready.port == 1455


async def test_device_auth_session() -> None:
    async with demo_conn(logged_in=False) as (_, conn):
        seen: list[LoginEvent] = []
        async with LoginSession(conn, ServerEnv(), device_auth=True) as session:
            ready = await next_event(session, DeviceCodeReady, seen)
            assert ready == DeviceCodeReady("https://auth.openai.com/codex/device", "DEMO-7KQ4")
            exited = await next_event(session, LoginExited, seen)
        assert exited == LoginExited(0, "")
        assert any(isinstance(event, LoginSucceeded) for event in seen)
        assert session.tunnel is None


async def test_device_auth_command() -> None:
    async with demo_conn(logged_in=False) as (_, conn):
        result = await conn.run(login_command(ServerEnv(), "login --device-auth"))
        assert result.exit_status == 0
        assert "Enter this one-time code" in result.stderr
        assert "Successfully logged in" in result.stderr
        assert (await read_remote_auth(conn, ".codex/auth.json")).kind is AuthKind.CHATGPT


# --------------------------------------------------------------------------- other commands


async def test_status_logout_and_install() -> None:
    async with demo_conn(codex_installed=False) as (demo, conn):
        env = ServerEnv()
        assert (await conn.run(env.command("codex login status"))).exit_status == 127
        install = await conn.run(env.command("npm install -g @openai/codex"))
        assert install.exit_status == 0 and "added 2 packages" in install.stdout
        status = await conn.run(env.command("codex login status"))
        assert (status.exit_status, status.stderr.strip()) == (0, "Logged in using ChatGPT")
        assert (await conn.run(env.command("codex logout"))).exit_status == 0
        assert not demo.auth_json_path.exists()
        status = await conn.run(env.command("codex login status"))
        assert (status.exit_status, status.stderr.strip()) == (1, "Not logged in")
        assert (await probe_server(conn)).codex.works


async def test_wizard_actions_install_verify_logout() -> None:
    async with demo_conn(codex_installed=False) as (demo, conn):
        env = ServerEnv(auto_path=True)
        lines: list[str] = []
        installed = await actions.install_codex(conn, env, on_line=lines.append)
        assert installed.ok and "added 2 packages in 1s" in lines
        assert any(line.startswith("npm http fetch") for line in lines)
        assert (await actions.verify_login(conn, env)).logged_in is True
        assert (await actions.logout(conn, env)).ok
        assert (await actions.verify_login(conn, env)).logged_in is False
        assert not demo.auth_json_path.exists()


async def test_user_prefix_install_puts_codex_in_local_bin() -> None:
    async with demo_conn(codex_installed=False) as (_, conn):
        probe = await probe_server(conn)
        result = await actions.install_codex(conn, ServerEnv(), user_prefix=True)
        assert result.ok
        env = actions.with_user_prefix(probe, ServerEnv())
        assert (await actions.verify_login(conn, env)).logged_in is True
        after = await probe_server(conn)
    assert after.codex.path == "/home/demo/.local/bin/codex" and after.codex.via_login_shell


@pytest.mark.parametrize("tools", [frozenset({"curl"}), frozenset({"python3"}), frozenset()])
async def test_pasted_callback_relay_when_forwarding_is_refused(tools: frozenset[str]) -> None:
    async with demo_conn(forwarding_refused=True, logged_in=False) as (demo, conn):
        seen: list[LoginEvent] = []
        async with LoginSession(conn, ServerEnv(), forward=False) as session:
            ready = await next_event(session, UrlReady, seen)
            assert isinstance(ready, UrlReady)
            state = url_state(ready.url) or ""
            wrong = PastedCallback(ready.port, "ac_x", "not-" + state)
            mismatch = await relay.replay_on_server(conn, wrong, tools, ServerEnv())
            assert (mismatch.status, mismatch.body) == (400, "State mismatch")
            right = PastedCallback(ready.port, "ac_x", state)
            answer = await relay.replay_on_server(conn, right, tools, ServerEnv())
            assert answer.status == 302
            assert await next_event(session, LoginExited, seen) == LoginExited(0, "")
        assert demo.auth_json_path.is_file()


async def test_relay_with_no_login_running() -> None:
    async with demo_conn() as (_, conn):
        callback = PastedCallback(1455, "ac_x", "s")
        result = await relay.replay_on_server(conn, callback, frozenset({"curl"}), ServerEnv())
    assert result.status is None


async def test_codex_home_must_exist() -> None:
    async with demo_conn() as (_, conn):
        result = await conn.run(ServerEnv(codex_home="/srv/nowhere").command("codex login status"))
    assert result.exit_status == 1
    assert "CODEX_HOME points to" in result.stderr


async def test_unknown_commands_are_refused() -> None:
    async with demo_conn() as (_, conn):
        result = await conn.run("rm -rf /")
    assert result.exit_status == 127


@pytest.mark.parametrize(
    ("command", "path", "auto_path", "codex_home"),
    [
        (ServerEnv().command("codex login status"), None, False, None),
        (login_command(ServerEnv()), None, False, None),
        (login_command(ServerEnv(auto_path=True)), None, True, None),
        (login_command(ServerEnv("/a b:/c", "/it's")), "/a b:/c", False, "/it's"),
        (group_command(ServerEnv(LOGIN_PATH), "codex logout"), LOGIN_PATH, False, None),
    ],
)
def test_parse_command_reads_what_the_core_writes(
    command: str, path: str | None, auto_path: bool, codex_home: str | None
) -> None:
    parsed = parse_command(command)
    assert parsed.words[0] == "codex"
    assert (parsed.path, parsed.auto_path, parsed.codex_home) == (path, auto_path, codex_home)


def test_parse_command_redirections() -> None:
    parsed = parse_command(ServerEnv().command("codex login status 2>&1"))
    assert (parsed.words, parsed.stderr) == (("codex", "login", "status"), "stdout")


# --------------------------------------------------------------------------- status & doctor


async def test_check_host() -> None:
    async with DemoServer(scenario=scenario()) as demo:
        status = await check_host(demo.target, demo.settings)
    assert status.state is TokenState.OK
    assert status.host == "demo"
    row = status.as_json()
    assert (row["plan"], row["email"], row["file_mode"]) == ("plus", "ad***@example.com", "0600")
    assert 9 * 86400 < row["expires_in_s"] < 10 * 86400  # type: ignore[operator]
    json.dumps(row)
    async with DemoServer(scenario=scenario(logged_in=False)) as demo:
        assert (await check_host(demo.target, demo.settings)).state is TokenState.LOGGED_OUT


async def test_run_doctor() -> None:
    async with DemoServer(scenario=scenario()) as demo:
        report = await run_doctor(demo.target, demo.settings)
    verdicts = {check.name: check.verdict for check in report.checks}
    for name in ("ssh", "host key", "node", "npm", "codex", "PATH", "server port", "forwarding"):
        assert verdicts[name] is Verdict.PASS, report.checks
    assert verdicts["auth file"] is Verdict.PASS and verdicts["token"] is Verdict.PASS


async def test_run_doctor_on_a_troubled_server() -> None:
    knobs = {"forwarding_refused": True, "port_1455_busy": True, "codex_on_login_path_only": True}
    async with DemoServer(scenario=scenario(**knobs)) as demo:
        report = await run_doctor(demo.target, demo.settings)
    verdicts = {check.name: check.verdict for check in report.checks}
    assert verdicts["forwarding"] is Verdict.FAIL
    assert verdicts["server port"] is Verdict.WARN
    assert verdicts["PATH"] is Verdict.WARN
    assert not report.ok
