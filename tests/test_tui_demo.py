"""The wizard end to end against the in-process DemoServer (real core, simulated codex)."""

from __future__ import annotations

import pytest
from textual.widgets import Button, DataTable

from codex_wizard.core.progress import LoginPhase
from codex_wizard.tui.app import WizardApp
from tests.tui_fakes import SIZE, screen_name, text_of, wait_for

demo_mod = pytest.importorskip("codex_wizard.demo")
DemoScenario, DemoServer = demo_mod.DemoScenario, demo_mod.DemoServer
PACE = 0.02


def demo_app(demo) -> WizardApp:
    return WizardApp(
        settings=demo.settings,
        hosts=[demo.target],
        local_port_for=demo.local_port_for,
        demo=demo,
        check_statuses=True,
    )


def codex_login_running(demo) -> bool:
    return any(holder[0] == "codex" for holder in demo.machine.listeners.values())


async def to_login(pilot, app) -> None:
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
    await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
    await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")
    await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=10)


async def to_checked_tunnel(pilot, app) -> None:
    """From the host list to the tunnel step, once its forwarding check has answered."""
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
    await pilot.press("n")
    await wait_for(pilot, lambda: app.state.forwarding is not None)
    await pilot.pause()


async def test_demo_full_login_to_expiry_and_clean_quit():
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            assert "DEMO" in str(app.screen.query_one("#topbar").render())
            table = app.screen.query_one("#hosts", DataTable)
            token = lambda: str(table.get_cell("demo", "token"))  # noqa: E731
            await wait_for(pilot, lambda: "expires" in token(), timeout=10)
            assert "in 9 days" in token()
            await to_login(pilot, app)
            assert codex_login_running(demo)
            assert app.state.login.url.startswith("https://auth.openai.com/oauth/authorize?")
            await pilot.press("s")  # simulate the browser coming back
            await wait_for(pilot, lambda: app.state.login.ended, timeout=10)
            assert app.state.login.phase is LoginPhase.SUCCEEDED
            assert "GET" in text_of(app, "#tunnel-live")
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
            await pilot.pause()
            assert "in 9 days 23 hours" in text_of(app, "#expiry-fields")
            await pilot.press("v")
            await wait_for(pilot, lambda: "Logged in" in text_of(app, "#expiry-note"))
            conn = app.state.conn
            await pilot.press("ctrl+q")
        assert conn.ssh.is_closed()
        assert not codex_login_running(demo)


async def test_demo_quit_while_waiting_stops_codex_login_on_the_server():
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await to_login(pilot, app)
            assert codex_login_running(demo)
        # left through run_test's exit (not ctrl+q): on_unmount cleaned up
        assert not codex_login_running(demo)
        assert not demo.connections


async def test_demo_state_mismatch_then_sign_in():
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await to_login(pilot, app)
            await pilot.press("m")  # a browser tab from an older URL
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.MISMATCH)
            assert app.screen.query_one("#fresh", Button).display
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.SUCCEEDED)


async def test_demo_token_exchange_failure_then_fresh_login():
    scenario = DemoScenario(pace=PACE, token_exchange_fails=True)
    async with DemoServer(scenario=scenario) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await to_login(pilot, app)
            first = app.state.login.url
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.login.ended, timeout=10)
            assert app.state.login.phase is LoginPhase.EXCHANGE_FAILED
            assert "error sending request" in text_of(app, "#login-message")
            await pilot.press("f")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
            assert app.state.login.url != first


async def test_demo_install_when_codex_is_missing():
    scenario = DemoScenario(pace=PACE, codex_installed=False, logged_in=False)
    async with DemoServer(scenario=scenario) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
            await pilot.pause()
            assert "codex not found on any PATH" in text_of(app, "#checklist")
            await pilot.press("i")
            await wait_for(pilot, lambda: app.state.probe.codex.works, timeout=10)
            await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
            await pilot.press("t")  # token status straight away: not logged in yet
            await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
            await pilot.pause()
            assert "not logged in" in text_of(app, "#expiry-headline")


async def test_demo_forwarding_refused_offers_the_other_ways_and_relays():
    scenario = DemoScenario(pace=PACE, forwarding_refused=True)
    async with DemoServer(scenario=scenario) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await to_checked_tunnel(pilot, app)
            assert "refuses TCP forwarding" in text_of(app, "#ports")
            assert "Other ways in" in str(app.screen.query_one("#next", Button).label)
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
            assert app.screen.query_one("#way-tunnel", Button).disabled
            await pilot.press("r")
            await wait_for(pilot, lambda: screen_name(app) == "RelayScreen")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=10)
            assert codex_login_running(demo)
            await pilot.press("s")  # the demo types in where the browser ended
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.state.login.ended, timeout=10)
            assert app.state.login.phase is LoginPhase.SUCCEEDED
            assert "Relayed with curl" in text_of(app, "#paste-note")
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
        assert not codex_login_running(demo)


async def test_demo_busy_server_port_falls_back_to_1457():
    scenario = DemoScenario(pace=PACE, port_1455_busy=True)
    async with DemoServer(scenario=scenario) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await to_checked_tunnel(pilot, app)
            assert "python3 (pid 2211)" in text_of(app, "#ports")
            await pilot.press("n")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=10)
            assert app.state.login.port == 1457
            await wait_for(pilot, lambda: "127.0.0.1:1457" in text_of(app, "#tunnel-live"))
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.SUCCEEDED)


async def test_demo_device_code_login():
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
            await pilot.press("w")
            await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
            await pilot.press("d")
            await wait_for(pilot, lambda: app.state.login.device_code is not None, timeout=10)
            assert app.state.login.device_code == "DEMO-7KQ4"
            assert app.state.login.device_url == "https://auth.openai.com/codex/device"
            await wait_for(pilot, lambda: app.state.login.ended, timeout=10)
            assert app.state.login.phase is LoginPhase.SUCCEEDED
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)


async def test_demo_push_auth_keeps_a_backup_and_verifies():
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        before = demo.auth_json_path.read_text()
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
            await pilot.press("w")
            await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
            await wait_for(pilot, lambda: app.screen.local is not None)
            await pilot.press("p")
            await wait_for(pilot, lambda: screen_name(app) == "PushScreen" and app.screen.local)
            await pilot.press("p")
            await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
            await pilot.press("y")
            await wait_for(pilot, lambda: app.state.pushed is not None, timeout=10)
            pushed = app.state.pushed
            assert pushed.login_status == "Logged in using ChatGPT"
            assert pushed.backup_path and "auth.json.bak-" in pushed.backup_path
        assert demo.auth_json_path.read_text() == demo.laptop_auth_path.read_text()
        assert demo.auth_json_path.stat().st_mode & 0o777 == 0o600
        backups = list(demo.auth_json_path.parent.glob("auth.json.bak-*"))
        assert [backup.read_text() for backup in backups] == [before]


async def test_demo_dropped_connection_reconnects_with_a_fresh_login():
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await to_login(pilot, app)
            first = app.state.login.url
            for conn in list(demo.connections):
                conn.abort()  # the server side goes away
            await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen")
            await wait_for(pilot, lambda: not codex_login_running(demo))
            await pilot.press("r")
            await wait_for(pilot, lambda: screen_name(app) == "LoginScreen", timeout=10)
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=10)
            assert app.state.login.url != first
            assert app.state.tunnel is not None and app.state.tunnel.listening
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.SUCCEEDED)
        assert not codex_login_running(demo)
