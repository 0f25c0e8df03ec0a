"""The wizard end to end against real OpenSSH sshd in a network namespace (the lab), fake codex.

Driven with Pilot, keyboard only, from the host list to the token screen. The browser's part is
done over HTTP: the callback with the URL's state through the tunnel's local port, then codex's
redirect to /success on the same port (test_e2e_core.browser_callback). Local tunnel ports are
ephemeral, so these tests never need this computer's 127.0.0.1:1455. Every test ends with no
`codex login` left on the server.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import events
from textual.widgets import Button, DataTable, Input

from codex_wizard.core.progress import LoginMode, LoginPhase
from codex_wizard.core.server.login import url_state
from codex_wizard.core.ssh.remembered import MemoryHosts
from codex_wizard.core.ssh.types import ConnectSettings
from codex_wizard.core.tokens.auth import AuthKind
from codex_wizard.core.tokens.state import TokenState
from codex_wizard.tui.app import WizardApp
from tests.lab.sshlab import SshLab
from tests.test_e2e_core import browser_callback, ephemeral_ports, no_codex_left
from tests.tui_fakes import SIZE, screen_name, text_of, wait_for

SLOW = 30.0  # seconds: a real connection, probe and codex start


def lab_app(lab: SshLab, tmp_path: Path) -> WizardApp:
    """The wizard as `codex-wizard` starts it, with the lab's ssh_config and no real state."""
    return WizardApp(
        settings=ConnectSettings(ssh_config=lab.ssh_config, connect_timeout=10),
        ssh_config=lab.ssh_config,
        remembered=MemoryHosts(),
        local_port_for=ephemeral_ports(),
        local_auth=tmp_path / "no-local-login" / "auth.json",
        check_statuses=True,
    )


async def choose_lab_host(pilot, app: WizardApp, lab: SshLab) -> None:
    """Step 1 with the keyboard: the lab's alias is in the list (from its ssh_config)."""
    await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
    table = app.screen.query_one("#hosts", DataTable)
    labels = [str(table.get_cell_at((row, 0))) for row in range(table.row_count)]
    assert lab.alias in labels
    statuses = app.screen.statuses
    await wait_for(pilot, lambda: lab.alias in statuses, timeout=SLOW)
    assert statuses[lab.alias].state is TokenState.LOGGED_OUT  # a fresh server home
    assert "not logged in" in str(table.get_cell(lab.alias, "token"))
    for _ in range(labels.index(lab.alias)):
        await pilot.press("down")
    await pilot.press("enter")


async def to_tunnel_step(pilot, app: WizardApp, lab: SshLab) -> None:
    await choose_lab_host(pilot, app, lab)
    await wait_for(pilot, lambda: screen_name(app) == "InstallScreen", timeout=SLOW)
    await wait_for(pilot, lambda: app.state.probe is not None, timeout=SLOW)
    await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
    assert "codex 0.169.0" in text_of(app, "#checklist")
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
    await wait_for(pilot, lambda: app.state.forwarding is not None, timeout=SLOW)
    await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)


async def start_tunnel_login(pilot, app: WizardApp) -> str:
    """Next on the tunnel step; returns the login URL once codex printed it."""
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")
    await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=SLOW)
    assert app.state.login.url is not None
    return app.state.login.url


async def browser_signs_in(app: WizardApp, url: str) -> int:
    """The browser comes back through the tunnel's local port, then follows to /success."""
    tunnel = app.state.tunnel
    assert tunnel is not None and tunnel.listening
    path = f"/auth/callback?code=ac_lab&state={url_state(url)}"
    return await asyncio.to_thread(browser_callback, tunnel.local_port, path)


async def expiry_shown(pilot, app: WizardApp, lab: SshLab) -> None:
    """Next from a finished login to the token screen, with the new token's expiry."""
    await wait_for(pilot, lambda: app.state.login.ended, timeout=SLOW)  # codex and the check
    assert app.state.login.phase is LoginPhase.SUCCEEDED, app.state.login.message
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen", timeout=SLOW)
    await wait_for(pilot, lambda: app.state.record is not None, timeout=SLOW)
    await pilot.pause()
    record = app.state.record
    assert record.kind is AuthKind.CHATGPT and record.access.expires_at is not None
    headline = text_of(app, "#expiry-headline")
    assert "Logged in. The access token expires in 9 days" in headline
    fields = text_of(app, "#expiry-fields")
    assert record.access.expires_at.strftime("%Y-%m-%d %H:%M UTC") in fields
    assert "~/.codex/auth.json  mode 0600" in fields
    assert lab.server_path(".codex/auth.json").stat().st_mode & 0o777 == 0o600


async def test_tui_tunnel_login_end_to_end(lab: SshLab, tmp_path: Path) -> None:
    lab.install_codex("fake", "path")
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await to_tunnel_step(pilot, app, lab)
        assert "allowed by the server" in text_of(app, "#ports")
        url = await start_tunnel_login(pilot, app)
        assert lab.server_processes("codex login")
        assert await browser_signs_in(app, url) == 302
        await wait_for(pilot, lambda: "GET /success" in text_of(app, "#tunnel-live"))
        await expiry_shown(pilot, app, lab)
        await pilot.press("v")  # codex login status on the server
        await wait_for(pilot, lambda: "Logged in" in text_of(app, "#expiry-note"), timeout=SLOW)
        await pilot.press("ctrl+q")
    no_codex_left(lab)


async def test_tui_quit_mid_login_leaves_no_codex(lab: SshLab, tmp_path: Path) -> None:
    lab.install_codex("fake", "path")
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await to_tunnel_step(pilot, app, lab)
        await start_tunnel_login(pilot, app)
        assert lab.server_processes("codex login")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not app.is_running, timeout=SLOW)
    no_codex_left(lab)


async def test_tui_relay_login_without_forwarding(lab_noforward: SshLab, tmp_path: Path) -> None:
    lab = lab_noforward
    lab.install_codex("fake", "path")
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await to_tunnel_step(pilot, app, lab)
        assert "AllowTcpForwarding" in text_of(app, "#ports")
        assert "Other ways in" in str(app.screen.query_one("#next", Button).label)
        await pilot.press("enter")  # Next has the focus: the other ways in
        await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
        assert app.screen.query_one("#way-tunnel", Button).disabled
        await pilot.press("r")  # (with codex on this computer, a fresh login here is focused)
        await wait_for(pilot, lambda: screen_name(app) == "RelayScreen")
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=SLOW)
        assert app.state.mode is LoginMode.RELAY and app.state.tunnel is None
        url = app.state.login.url
        await pilot.press("a", *"127.0.0.1:1455/nope", "enter")
        await wait_for(pilot, lambda: "✗" in text_of(app, "#paste-note"))
        assert "not the address the browser ended on" in text_of(app, "#paste-note")
        field = app.screen.query_one("#paste", Input)
        field.value = ""
        # The browser's address bar, pasted into the terminal (bracketed paste).
        landed = f"http://127.0.0.1:1455/auth/callback?code=ac_lab&state={url_state(url)}"
        field.post_message(events.Paste(landed))
        await wait_for(pilot, lambda: field.value == landed)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.login.relay_ok, timeout=SLOW)
        assert "Relayed with" in text_of(app, "#paste-note")
        await expiry_shown(pilot, app, lab)
        await pilot.press("ctrl+q")
    no_codex_left(lab)


async def test_tui_reconnect_after_dropped_connections(lab: SshLab, tmp_path: Path) -> None:
    lab.install_codex("fake", "path")
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await to_tunnel_step(pilot, app, lab)
        first_url = await start_tunnel_login(pilot, app)
        first_port = app.state.tunnel.local_port
        lab.drop_connections()
        await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen", timeout=SLOW)
        assert "lost during the sign-in" in text_of(app, "#problem-what")
        no_codex_left(lab)  # the server hung up codex login with the connection
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen", timeout=SLOW)
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=SLOW)
        url = app.state.login.url
        assert url != first_url
        assert app.state.tunnel.local_port == first_port  # forwarded again
        assert await browser_signs_in(app, url) == 302
        await expiry_shown(pilot, app, lab)
        await pilot.press("ctrl+q")
    no_codex_left(lab)


async def test_tui_reconnect_after_sshd_restart(lab: SshLab, tmp_path: Path) -> None:
    lab.install_codex("fake", "path")
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await to_tunnel_step(pilot, app, lab)
        await start_tunnel_login(pilot, app)
        lab.stop_sshd()
        await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen", timeout=SLOW)
        no_codex_left(lab)
        await pilot.press("r")  # sshd is still down: a clear error, not a traceback
        await wait_for(pilot, lambda: screen_name(app) == "ErrorScreen", timeout=SLOW)
        assert "Could not connect" in text_of(app, "#problem-title")
        lab.start_sshd()
        await pilot.press("escape")  # back on the connect step, whose Next is Retry
        await wait_for(pilot, lambda: screen_name(app) == "ConnectScreen")
        await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen", timeout=SLOW)
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=SLOW)
        assert await browser_signs_in(app, app.state.login.url) == 302
        await expiry_shown(pilot, app, lab)
        await pilot.press("ctrl+q")
    no_codex_left(lab)


async def device_code_shown(pilot, app: WizardApp, lab: SshLab) -> None:
    await to_tunnel_step(pilot, app, lab)
    await pilot.press("w")
    await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
    await pilot.press("d")
    await wait_for(pilot, lambda: screen_name(app) == "DeviceScreen")
    await wait_for(pilot, lambda: app.state.login.device_code is not None, timeout=SLOW)
    assert text_of(app, "#device-code") == "66FT-Z7YB3"
    assert text_of(app, "#device-url").startswith("https://auth.openai.com/codex/device")


async def test_tui_device_code_login(lab: SshLab, tmp_path: Path) -> None:
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(device="success", device_delay_s=1.0)
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await device_code_shown(pilot, app, lab)
        await expiry_shown(pilot, app, lab)
        await pilot.press("ctrl+q")
    no_codex_left(lab)


async def test_tui_ctrl_c_while_the_device_code_waits(lab: SshLab, tmp_path: Path) -> None:
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(device="wait")
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await device_code_shown(pilot, app, lab)
        assert lab.server_processes("codex login")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not app.is_running, timeout=SLOW)
    no_codex_left(lab)
