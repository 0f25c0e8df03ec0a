"""Issue 5 in the wizard: a dropped connection says what happened and offers Reconnect, which
opens a new connection, re-probes if needed, starts a fresh login and forwards the port again;
Ctrl+C / quit at every step closes the login and the connection (fake backend)."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Button, Input

from codex_wizard.core.progress import LoginMode, LoginPhase
from codex_wizard.core.server.events import LoginExited, LoginSucceeded, UrlReady
from codex_wizard.core.ssh.types import ConnectError
from codex_wizard.tui.state import Step
from tests.tui_fakes import (
    HOST_KEY,
    SIZE,
    URL,
    FakeConn,
    at_step,
    fake_backend,
    make_app,
    probe,
    screen_name,
    text_of,
    wait_for,
)


def reconnectable(backend, calls, *, fail: list[Exception] | None = None) -> list[FakeConn]:
    """Each connect gives a new FakeConn (or raises the next of `fail`); returns them all."""
    conns: list[FakeConn] = []
    failures = list(fail or [])

    async def connect(target, settings):
        calls.connect.append(settings)
        if failures:
            raise failures.pop(0)
        conns.append(FakeConn(target))
        return conns[-1]

    backend.connect = connect
    return conns


async def walk_to_login(pilot, app, calls) -> None:
    """Host list -> connect -> install -> tunnel -> login, keyboard only."""
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
    await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "LoginScreen" and calls.sessions)
    calls.sessions[-1].push(UrlReady(URL, 1455))
    await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)


async def test_a_drop_mid_login_offers_reconnect_which_starts_a_fresh_login():
    backend, calls = fake_backend()
    conns = reconnectable(backend, calls)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_login(pilot, app, calls)
        first = calls.sessions[-1]
        conns[0].ssh.drop()  # the network goes away
        first.push(LoginExited(None, "the SSH connection was closed", connection_lost=True))
        await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen")
        what = text_of(app, "#problem-what")
        assert "lost during the sign-in" in what and "no longer works" in what
        assert "fresh login" in text_of(app, "#problem-todo")
        assert app.focused is app.screen.query_one("#reconnect", Button)
        await wait_for(pilot, lambda: app.state.login.ended)
        assert app.state.login.phase is LoginPhase.DISCONNECTED
        await pilot.press("r")
        await wait_for(pilot, lambda: len(calls.sessions) == 2)
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")
        assert first.closed and conns[0].close_calls == 1
        second = calls.sessions[1]
        assert second.server is conns[1] and second.started and second.forward
        assert app.state.conn is conns[1] and app.state.lost is None
        assert len(calls.connect) == 2
        second.push(UrlReady(URL + "2", 1455))
        await wait_for(pilot, lambda: app.state.login.url == URL + "2")
        second.push(LoginSucceeded())
        second.push(LoginExited(0))
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.SUCCEEDED)
        await pilot.press("ctrl+c")
    assert second.closed and conns[1].close_calls == 1


async def test_a_connection_lost_exit_alone_is_enough_to_offer_reconnect():
    backend, calls = fake_backend()
    reconnectable(backend, calls)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_login(pilot, app, calls)
        calls.sessions[-1].push(
            LoginExited(None, "connection lost: Connection reset by peer", connection_lost=True)
        )
        await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen")
        assert "Connection reset by peer" in text_of(app, "#problem-what")


async def test_a_drop_on_the_install_step_reconnects_there_and_probes_again():
    backend, calls = fake_backend()
    conns = reconnectable(backend, calls)
    probes: list[object] = []
    inner = backend.probe

    async def counting_probe(conn):
        probes.append(conn)
        return await inner(conn)

    backend.probe = counting_probe
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
        conns[0].ssh.drop()
        await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen")
        assert "during the sign-in" not in text_of(app, "#problem-what")
        app.state.flow.probe = None  # as if the probe never finished
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
        assert probes == [conns[0], conns[1]]
        assert not calls.sessions


async def test_reconnect_reprobes_before_the_fresh_login_when_there_is_no_probe():
    backend, calls = fake_backend()
    conns = reconnectable(backend, calls)
    probed: list[object] = []

    async def probe_server(conn):
        probed.append(conn)
        return probe()

    backend.probe = probe_server
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_login(pilot, app, calls)
        app.state.flow.probe = None
        conns[0].ssh.drop()
        await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen")
        await pilot.press("r")
        await wait_for(pilot, lambda: len(calls.sessions) == 2)
        assert probed[-1] is conns[1] and app.state.probe is not None


async def test_a_failed_reconnect_is_explained_and_retry_goes_on_with_the_login():
    backend, calls = fake_backend()
    error = ConnectError("lab refused the connection: is sshd running, and is the port right?")
    conns = reconnectable(backend, calls)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_login(pilot, app, calls)
        conns[0].ssh.drop()
        await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen")
        reconnectable_fail = reconnectable(backend, calls, fail=[error])
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "ErrorScreen")
        assert "is sshd running" in text_of(app, "#problem-what")
        await pilot.press("escape")  # Back: the connect step, whose Next is Retry
        await wait_for(pilot, lambda: screen_name(app) == "ConnectScreen")
        assert "Reconnecting" in text_of(app, "#connect-progress")
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")
        await wait_for(pilot, lambda: len(calls.sessions) == 2)
        assert calls.sessions[1].server is reconnectable_fail[0]


async def test_a_relay_login_reconnects_as_a_relay_login():
    backend, calls = fake_backend()
    conns = reconnectable(backend, calls)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
        await pilot.press("w")
        await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "RelayScreen" and calls.sessions)
        conns[0].ssh.drop()
        await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen")
        await pilot.press("r")
        await wait_for(pilot, lambda: len(calls.sessions) == 2)
        await wait_for(pilot, lambda: screen_name(app) == "RelayScreen")
        assert calls.sessions[1].forward is False
        assert calls.sessions[1].server is conns[1]


async def test_a_drop_after_success_goes_on_at_the_token_not_a_new_login():
    backend, calls = fake_backend()
    conns = reconnectable(backend, calls)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_login(pilot, app, calls)
        calls.sessions[-1].push(LoginSucceeded())
        calls.sessions[-1].push(LoginExited(0))
        await wait_for(pilot, lambda: app.state.login.ended)
        conns[0].ssh.drop()
        await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen")
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
        assert len(calls.sessions) == 1


async def test_choose_another_host_from_the_lost_screen_forgets_the_server():
    backend, calls = fake_backend()
    conns = reconnectable(backend, calls)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_login(pilot, app, calls)
        conns[0].ssh.drop()
        await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen")
        await pilot.press("h")
        await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
        assert app.state.conn is None and app.state.lost is None
        assert calls.sessions[0].closed


async def test_closing_the_connection_ourselves_is_not_a_lost_connection():
    backend, calls = fake_backend()
    conns = reconnectable(backend, calls)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
        await pilot.press("escape")  # back to the hosts: we close it
        await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
        await pilot.pause(0.2)
        assert conns[0].close_calls == 1
        assert screen_name(app) == "HostScreen" and app.state.lost is None


# ---------------------------------------------------------------------------- Ctrl+C everywhere


async def _at_host(pilot, app, calls):
    await wait_for(pilot, lambda: screen_name(app) == "HostScreen")


async def _at_host_key(pilot, app, calls):
    async def connect(target, settings):
        await settings.confirm_host_key(HOST_KEY)
        await asyncio.Event().wait()

    app.backend.connect = connect
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "HostKeyDialog")


async def _connecting(pilot, app, calls):
    async def connect(target, settings):
        await asyncio.Event().wait()

    app.backend.connect = connect
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "ConnectScreen")


async def _login(pilot, app, calls):
    await walk_to_login(pilot, app, calls)


async def _ways(pilot, app, calls):
    await at_step(pilot, app, Step.TUNNEL)
    await pilot.press("w")
    await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")


async def _relay_typing(pilot, app, calls):
    await at_step(pilot, app, Step.TUNNEL)
    app.choose_way(LoginMode.RELAY)
    await wait_for(pilot, lambda: screen_name(app) == "RelayScreen" and calls.sessions)
    calls.sessions[-1].push(UrlReady(URL, 1455))
    await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
    await pilot.press("a", "h", "t")
    assert app.screen.query_one("#paste", Input).has_focus


async def _device(pilot, app, calls):
    await at_step(pilot, app, Step.TUNNEL)
    app.choose_way(LoginMode.DEVICE)
    await wait_for(pilot, lambda: screen_name(app) == "DeviceScreen" and calls.sessions)


async def _push_confirm(pilot, app, calls):
    await at_step(pilot, app, Step.TUNNEL)
    app.choose_way(LoginMode.PUSH)
    await wait_for(pilot, lambda: screen_name(app) == "PushScreen")
    await wait_for(pilot, lambda: app.screen.local is not None)
    await pilot.press("p")
    await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")


async def _lost(pilot, app, calls):
    await walk_to_login(pilot, app, calls)
    app.state.conn.ssh.drop()
    await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen")


async def _expiry(pilot, app, calls):
    await at_step(pilot, app, Step.EXPIRY)


async def _install(pilot, app, calls):
    await at_step(pilot, app, Step.INSTALL)


async def _tunnel(pilot, app, calls):
    await at_step(pilot, app, Step.TUNNEL)


STEPS = {
    "hosts": _at_host,
    "connecting": _connecting,
    "host-key": _at_host_key,
    "install": _install,
    "tunnel": _tunnel,
    "ways": _ways,
    "login": _login,
    "relay-typing": _relay_typing,
    "device": _device,
    "push-confirm": _push_confirm,
    "expiry": _expiry,
    "lost": _lost,
}


@pytest.mark.parametrize("where", list(STEPS))
@pytest.mark.parametrize("key", ["ctrl+c", "ctrl+q"])
async def test_ctrl_c_and_quit_at_every_step_stop_the_login_and_close(where, key):
    backend, calls = fake_backend()
    conns = reconnectable(backend, calls)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await STEPS[where](pilot, app, calls)
        conn = app.state.conn
        await pilot.press(key)
        await wait_for(pilot, lambda: not app.is_running)
    logged_in = where == "expiry"  # the token step shows the verified login
    assert app.return_code == (130 if key == "ctrl+c" else 0 if logged_in else 1)
    assert all(session.closed for session in calls.sessions)
    assert all(c.close_calls == 1 for c in [*conns, conn] if c is not None)
    if where in ("login", "relay-typing", "device"):
        assert calls.sessions
