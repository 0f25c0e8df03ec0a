"""The core against real OpenSSH sshd in a network namespace (the lab), with fake and real codex.

Local tunnel ports are ephemeral here (LoginSession's local_port_for) so these tests never need
the laptop's 127.0.0.1:1455; the CLI tests use the real port mapping.
"""

from __future__ import annotations

import asyncio
import http.client
import shutil
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from codex_wizard.core.laptop.ports import port_is_free
from codex_wizard.core.logins.authfile import read_remote_auth
from codex_wizard.core.logins.status import fleet_exit_code
from codex_wizard.core.logins.workers import CheckJob, check_fleet_spread
from codex_wizard.core.server.events import (
    CallbackSeen,
    LoginCancelled,
    LoginEvent,
    LoginExited,
    LoginSucceeded,
    PortsBusy,
    StateMismatch,
    TokenExchangeFailed,
    UrlReady,
)
from codex_wizard.core.server.login import LoginSession, url_state
from codex_wizard.core.server.probe import ServerEnv, probe_server
from codex_wizard.core.server.tunnel import ForwardingState, check_forwarding
from codex_wizard.core.ssh.connection import connect
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.types import (
    ConnectError,
    ConnectSettings,
    HostKeyChanged,
    HostKeyUnknown,
)
from codex_wizard.core.tokens.auth import AuthKind
from codex_wizard.core.tokens.state import TokenState, token_state
from tests.lab.fake_tokens import make_auth_json
from tests.lab.sshlab import SshLab

LAB = HostTarget("lab")


def settings_for(lab: SshLab, **kwargs) -> ConnectSettings:
    return ConnectSettings(ssh_config=lab.ssh_config, connect_timeout=10, **kwargs)


def ephemeral_ports() -> Callable[[int], int]:
    """Map each server port to a free local port, once."""
    chosen: dict[int, int] = {}

    def pick(port: int) -> int:
        if port not in chosen:
            import socket

            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                chosen[port] = sock.getsockname()[1]
        return chosen[port]

    return pick


def http_get(port: int, path: str) -> tuple[int, str]:
    """A browser's GET to the laptop's 127.0.0.1:port, without following redirects."""
    status, _, body = http_get_full(port, path)
    return status, body


def http_get_full(port: int, path: str) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return (
            reply.status,
            reply.getheader("Location") or "",
            reply.read().decode(errors="replace"),
        )
    finally:
        conn.close()


def browser_callback(local_port: int, path: str) -> int:
    """The callback, then codex's redirect to /success, as a browser would (same tunnel)."""
    status, location, _ = http_get_full(local_port, path)
    if status == 302:
        target = urllib.parse.urlsplit(location)
        http_get(local_port, f"{target.path}?{target.query}")
    return status


async def next_event(events, kind: type, timeout: float = 30) -> LoginEvent:
    async with asyncio.timeout(timeout):
        async for event in events:
            if isinstance(event, kind):
                return event
    raise AssertionError(f"no {kind.__name__}")


def no_codex_left(lab: SshLab) -> None:
    for _ in range(50):
        if not lab.server_processes("codex login"):
            return
        import time

        time.sleep(0.1)
    raise AssertionError(f"codex login still running: {lab.server_processes('codex login')}")


# ------------------------------------------------------------------------------ host keys


async def test_known_host_key_connects(lab: SshLab) -> None:
    async with await connect(LAB, settings_for(lab)) as conn:
        result = await conn.run("id -un")
        assert result.stdout.strip() == lab.user


async def test_unknown_host_key_needs_a_yes_then_is_appended(lab: SshLab, tmp_path: Path) -> None:
    known = lab.known_hosts
    original = known.read_text()
    known.write_text("")
    mode = known.stat().st_mode & 0o777
    try:
        with pytest.raises(HostKeyUnknown) as unknown:
            await connect(LAB, settings_for(lab))
        assert unknown.value.key.fingerprint == lab.host_key_fingerprint
        assert known.read_text() == ""

        seen = []

        async def say_no(key):
            seen.append(key.fingerprint)
            return False

        with pytest.raises(HostKeyUnknown):
            await connect(LAB, settings_for(lab, confirm_host_key=say_no))
        assert seen == [lab.host_key_fingerprint] and known.read_text() == ""

        async def say_yes(key):
            return True

        async with await connect(LAB, settings_for(lab, confirm_host_key=say_yes)):
            pass
        line = known.read_text().strip()
        assert line.startswith(f"[127.0.0.1]:{lab.port} ssh-ed25519 ")
        assert known.stat().st_mode & 0o777 == mode  # appended in place, as ssh does
        async with await connect(LAB, settings_for(lab)):  # now known: no prompt
            pass
    finally:
        known.write_text(original)


async def test_changed_host_key_is_refused_and_never_written(lab: SshLab) -> None:
    original = lab.known_hosts.read_text()
    other = "AAAAC3NzaC1lZDI1NTE5AAAAIBy0cMD4M2bmV5ZWXBXlFVc2e3k3XGJXdYtjiIxH2kS3"
    lab.known_hosts.write_text(f"[127.0.0.1]:{lab.port} ssh-ed25519 {other}\n")
    try:

        async def say_yes(key):
            return True

        for accept in (False, True):
            with pytest.raises(HostKeyChanged) as changed:
                await connect(
                    LAB,
                    settings_for(lab, accept_new_host_key=accept, confirm_host_key=say_yes),
                )
            assert "CHANGED" in str(changed.value)
            assert lab.host_key_fingerprint in str(changed.value)
        assert lab.known_hosts.read_text() == f"[127.0.0.1]:{lab.port} ssh-ed25519 {other}\n"
    finally:
        lab.known_hosts.write_text(original)


async def test_unreachable_host_is_a_clear_error(lab: SshLab) -> None:
    with pytest.raises(ConnectError, match=r"refused the connection|Can't reach"):
        await connect(HostTarget("127.0.0.1", port=1), ConnectSettings(connect_timeout=5))


# ------------------------------------------------------------------------------ probe


async def test_probe_codex_on_path(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    async with await connect(LAB, settings_for(lab)) as conn:
        probe = await probe_server(conn)
    assert probe.os == "Linux"
    assert probe.codex.version == "0.169.0" and not probe.codex.via_login_shell
    assert probe.node.version is not None
    assert probe.port_owners == {1455: None, 1457: None}


async def test_probe_codex_only_on_login_shell_path(lab: SshLab) -> None:
    lab.install_codex("fake", "login-shell")
    async with await connect(LAB, settings_for(lab)) as conn:
        probe = await probe_server(conn)
        assert probe.codex.via_login_shell and probe.codex.version == "0.169.0"
        env = ServerEnv.from_probe(probe)
        result = await conn.run(env.command("codex --version"))
        assert result.stdout.strip() == "codex-cli 0.169.0"


async def test_probe_no_codex_and_old_node(lab: SshLab) -> None:
    lab.fake_node("v14.21.3")
    async with await connect(LAB, settings_for(lab)) as conn:
        probe = await probe_server(conn)
    assert not probe.codex.found
    assert probe.node.version == "14.21.3"


async def test_probe_sees_server_port_owner(lab: SshLab) -> None:
    with lab.hold_port(1455, as_user=True):
        truth = lab.port_owner(1455)
        async with await connect(LAB, settings_for(lab)) as conn:
            probe = await probe_server(conn)
    owner = probe.port_owners[1455]
    assert owner is not None and [(owner.process, owner.pid)] == truth


# ------------------------------------------------------------------------------ forwarding


async def test_forwarding_allowed(lab: SshLab) -> None:
    async with await connect(LAB, settings_for(lab)) as conn:
        check = await check_forwarding(conn, 1455)
    assert check.state is ForwardingState.ALLOWED


async def test_forwarding_refused(lab_noforward: SshLab) -> None:
    async with await connect(LAB, settings_for(lab_noforward)) as conn:
        check = await check_forwarding(conn, 1455)
    assert check.state is ForwardingState.REFUSED
    assert "AllowTcpForwarding" in check.detail


# ------------------------------------------------------------------------------ login (fake)


async def test_fake_login_completes_through_tunnel(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    ports = ephemeral_ports()
    async with (
        await connect(LAB, settings_for(lab)) as conn,
        LoginSession(conn, ServerEnv(auto_path=True), local_port_for=ports) as login,
    ):
        events = login.events()
        ready = await next_event(events, UrlReady)
        assert ready.port == 1455
        local = ports(1455)
        status, body = await asyncio.to_thread(http_get, local, "/auth/callback?code=c&state=stale")
        assert (status, body) == (400, "State mismatch")
        await next_event(events, StateMismatch)
        state = url_state(ready.url)
        status = await asyncio.to_thread(
            browser_callback, local, f"/auth/callback?code=c&state={state}"
        )
        assert status == 302  # codex sends the browser on to /success
        await next_event(events, CallbackSeen)
        await next_event(events, LoginSucceeded)
        exited = await next_event(events, LoginExited)
        assert exited.exit_code == 0 and not exited.connection_lost
        assert login.tunnel is not None and login.tunnel.stats.connections >= 2
        record = await read_remote_auth(conn, ".codex/auth.json")
    assert record.kind is AuthKind.CHATGPT
    assert token_state(record) is TokenState.OK
    assert record.file_mode == 0o600
    no_codex_left(lab)


@pytest.mark.parametrize("ignores_hangup", [False, True], ids=["dies-on-hangup", "outlives-it"])
async def test_closing_mid_login_leaves_no_codex(lab: SshLab, ignores_hangup: bool) -> None:
    """Checked with the connection still open; a codex that outlives the hang-up of its
    channel (nohup'd, a wrapper's trap) is stopped only by the kill of its process group."""
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(ignores_hangup=ignores_hangup)
    async with await connect(LAB, settings_for(lab)) as conn:
        login = LoginSession(conn, ServerEnv(), local_port_for=ephemeral_ports())
        await login.start()
        await next_event(login.events(), UrlReady)
        assert lab.server_processes("codex login")
        await login.close()
        assert all(port_is_free(t.local_port) for t in [login.tunnel] if t)
        no_codex_left(lab)


async def test_dropped_connection_leaves_no_codex(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    conn = await connect(LAB, settings_for(lab))
    login = LoginSession(conn, ServerEnv(), local_port_for=ephemeral_ports())
    await login.start()
    events = login.events()
    await next_event(events, UrlReady)
    conn.ssh.abort()  # the laptop vanishes: no kill request reaches the server
    exited = await next_event(events, LoginExited)
    assert exited.exit_code is None and exited.connection_lost
    await login.close()
    no_codex_left(lab)


async def test_cancelled_by_another_login(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    async with await connect(LAB, settings_for(lab)) as conn:
        first = LoginSession(conn, ServerEnv(), local_port_for=ephemeral_ports())
        await first.start()
        first_events = first.events()
        await next_event(first_events, UrlReady)
        async with LoginSession(conn, ServerEnv(), local_port_for=ephemeral_ports()) as second:
            ready = await next_event(second.events(), UrlReady)
            await next_event(first_events, LoginCancelled)
            assert ready.port == 1455  # the stale one let go of 1455
        await first.close()
    no_codex_left(lab)


# ------------------------------------------------------------------------------ login (real)


@pytest.fixture
def real_codex(lab: SshLab, real_codex_available: bool) -> SshLab:
    lab.install_codex("real", "path")
    return lab


async def test_real_codex_url_and_state_mismatch(real_codex: SshLab) -> None:
    ports = ephemeral_ports()
    async with (
        await connect(LAB, settings_for(real_codex)) as conn,
        LoginSession(conn, ServerEnv(), local_port_for=ports) as login,
    ):
        events = login.events()
        ready = await next_event(events, UrlReady, timeout=60)
        assert ready.url.startswith("https://auth.openai.com/oauth/authorize?")
        assert ready.port == 1455
        status, body = await asyncio.to_thread(
            http_get, ports(1455), "/auth/callback?code=c&state=stale"
        )
        assert (status, body) == (400, "State mismatch")
        await next_event(events, StateMismatch)
    no_codex_left(real_codex)


async def test_real_codex_falls_back_to_1457(real_codex: SshLab) -> None:
    with real_codex.hold_port(1455):
        ports = ephemeral_ports()
        async with (
            await connect(LAB, settings_for(real_codex)) as conn,
            LoginSession(conn, ServerEnv(), local_port_for=ports) as login,
        ):
            ready = await next_event(login.events(), UrlReady, timeout=60)
            assert ready.port == 1457
            assert "127.0.0.1%3A1457" in ready.url
            status, _ = await asyncio.to_thread(
                http_get, ports(1457), "/auth/callback?code=c&state=stale"
            )
            assert status == 400
    no_codex_left(real_codex)


async def test_real_codex_both_ports_busy(real_codex: SshLab) -> None:
    with real_codex.hold_port(1455), real_codex.hold_port(1457):
        async with (
            await connect(LAB, settings_for(real_codex)) as conn,
            LoginSession(conn, ServerEnv(), local_port_for=ephemeral_ports()) as login,
        ):
            busy = await next_event(login.events(), PortsBusy, timeout=90)
            assert "1457" in busy.message
    no_codex_left(real_codex)


async def test_real_codex_token_exchange_fails_offline(real_codex: SshLab) -> None:
    ports = ephemeral_ports()
    async with (
        await connect(LAB, settings_for(real_codex)) as conn,
        LoginSession(conn, ServerEnv(), local_port_for=ports) as login,
    ):
        events = login.events()
        ready = await next_event(events, UrlReady, timeout=60)
        path = f"/auth/callback?code=c&state={url_state(ready.url)}"
        fetch = asyncio.create_task(asyncio.to_thread(http_get, ports(1455), path))
        failed = await next_event(events, TokenExchangeFailed, timeout=90)
        assert "auth.openai.com" in failed.message or failed.message
        exited = await next_event(events, LoginExited, timeout=30)
        assert exited.exit_code == 1
        await fetch
    no_codex_left(real_codex)


# ------------------------------------------------------------------------------ status


async def test_fleet_status_concurrently(lab: SshLab) -> None:
    aliases = lab.add_aliases(5)
    lab.write_server_file(".codex/auth.json", make_auth_json(), mode=0o600)
    lab.server_path(".codex").chmod(0o700)
    targets = [HostTarget(name) for name in aliases] + [HostTarget("127.0.0.1", port=1)]
    results = await check_fleet_spread(targets, CheckJob(settings_for(lab), timeout=15))
    assert [r.state for r in results[:-1]] == [TokenState.OK] * 5
    assert results[-1].state is TokenState.ERROR and results[-1].error
    assert fleet_exit_code(results) == 2
    assert fleet_exit_code(results[:-1]) == 0


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")
def test_lab_host_answers_plain_ssh(lab: SshLab) -> None:
    assert lab.ssh("true").returncode == 0
