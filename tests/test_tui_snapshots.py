"""Snapshot tests of the main screens (pytest-textual-snapshot; 110x36, fixed clock and data).

Update after an intended change with: pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

from codex_wizard.core.laptop.ports import PortOwner
from codex_wizard.core.logins.status import THIS_COMPUTER, HostStatus
from codex_wizard.core.progress import LoginMode, LoginPhase
from codex_wizard.core.server.actions import InstallResult
from codex_wizard.core.server.events import (
    CallbackSeen,
    DeviceCodeReady,
    LoginExited,
    LoginSucceeded,
    StateMismatch,
    UrlReady,
)
from codex_wizard.core.server.tunnel import ForwardingCheck, ForwardingState
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.types import ConnectError, HostKeyChanged
from codex_wizard.core.tokens.auth import parse_auth_json
from codex_wizard.core.tokens.state import TokenState
from codex_wizard.tui.state import Step
from tests.tui_fakes import (
    ADA,
    HOST_KEY,
    SIZE,
    URL,
    at_step,
    fake_backend,
    make_app,
    probe,
    record,
    screen_name,
    settled,
    wait_for,
)


class DemoStandIn:
    """Only its presence matters to the screens (DEMO badge, simulate action)."""


def shown_status(table, host: str) -> bool:
    """The host's row shows its check's answer (no longer "checking…")."""
    return "checking" not in str(table.get_cell(host, "token"))


def test_hosts_screen(snap_compare):
    hosts = [ADA, HostTarget("gpu-box"), HostTarget("old-vps"), HostTarget("10.0.0.7", "root")]
    statuses = {
        "ada@build.example.com": HostStatus("ada@build.example.com", TokenState.OK, record()),
        "old-vps": HostStatus("old-vps", TokenState.RENEWS, record(-2 * 86400, tag="old")),
        "root@10.0.0.7": HostStatus("root@10.0.0.7", TokenState.LOGGED_OUT, parse_auth_json(None)),
    }
    backend, calls = fake_backend(statuses=statuses)
    # this computer holds ada's very login (the same refresh token): the list says "shared"
    backend.local_login = lambda: HostStatus(THIS_COMPUTER, TokenState.OK, record())
    app = make_app(backend, hosts=hosts, check_statuses=True)

    async def run_before(pilot):
        await wait_for(pilot, lambda: len(calls.status) == 4)
        table = app.screen.query_one("#hosts")
        answered = ["ada@build.example.com", "old-vps", "root@10.0.0.7"]
        await wait_for(pilot, lambda: all(shown_status(table, host) for host in answered))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_host_key_dialog(snap_compare):
    backend, _ = fake_backend()

    async def connect(target, settings):
        await settings.confirm_host_key(HOST_KEY)
        raise AssertionError("snapshot only")

    backend.connect = connect
    app = make_app(backend, initial_target=ADA)

    async def run_before(pilot):
        await wait_for(pilot, lambda: screen_name(app) == "HostKeyDialog")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_connect_error_screen(snap_compare):
    error = ConnectError("Can't reach ada@build.example.com: No route to host.")
    backend, _ = fake_backend(connect_error=error)
    app = make_app(backend, initial_target=ADA)

    async def run_before(pilot):
        await wait_for(pilot, lambda: screen_name(app) == "ErrorScreen")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_changed_host_key_refusal(snap_compare):
    backend, _ = fake_backend(connect_error=HostKeyChanged(HOST_KEY))
    app = make_app(backend, initial_target=ADA)

    async def run_before(pilot):
        await wait_for(pilot, lambda: screen_name(app) == "HostKeyChangedScreen")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_install_screen_permission_error(snap_compare):
    eacces = InstallResult(
        "npm install -g @openai/codex",
        243,
        ["npm error code EACCES", "npm error Error: EACCES: permission denied, mkdir '/usr/lib'"],
    )
    backend, _ = fake_backend(
        probes=[probe(codex=False)],
        install_results=[eacces],
        install_lines=eacces.output,
    )
    app = make_app(backend)

    async def run_before(pilot):
        app.start_flow(ADA).set_probe(probe(codex=False))
        await at_step(pilot, app, Step.INSTALL)
        await wait_for(pilot, lambda: app.state.probe is not None)
        await pilot.press("i")
        await wait_for(pilot, lambda: app.screen.offer_user_prefix)
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_tunnel_screen_busy_port(snap_compare):
    holder = PortOwner(1455, "127.0.0.1", 4242, "codex")
    backend, _ = fake_backend(local_owners={1455: holder})
    app = make_app(backend)

    async def run_before(pilot):
        await at_step(pilot, app, Step.TUNNEL)
        await wait_for(pilot, lambda: app.state.forwarding is not None)
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def _login_app(*events, demo: bool = False):
    backend, calls = fake_backend()
    app = make_app(backend, demo=DemoStandIn() if demo else None)

    async def run_before(pilot):
        await at_step(pilot, app, Step.TUNNEL)
        await wait_for(pilot, lambda: app.state.forwarding is not None)
        await app.start_login()
        app.goto(Step.LOGIN)
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")
        session = calls.sessions[-1]
        for event in events:
            session.push(event)
        await wait_for(pilot, lambda: app.state.login.phase is not LoginPhase.STARTING)
        if events and isinstance(events[-1], LoginExited):
            await wait_for(pilot, lambda: app.state.login.ended)
        session.tunnel.saw("GET", "/auth/callback", 302 if LoginSucceeded() in events else None)
        app.screen.query_one("#tunnel-live").refresh(layout=True)  # its tick, without waiting
        await settled(pilot, app)

    return app, run_before


def test_login_screen_waiting_demo(snap_compare):
    app, run_before = _login_app(UrlReady(URL, 1455), demo=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_login_screen_state_mismatch(snap_compare):
    app, run_before = _login_app(UrlReady(URL, 1455), StateMismatch())
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_login_screen_success(snap_compare):
    app, run_before = _login_app(
        UrlReady(URL, 1455), CallbackSeen("/auth/callback"), LoginSucceeded(), LoginExited(0)
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_expiry_screen(snap_compare):
    backend, _ = fake_backend(records=[record()])
    app = make_app(backend)

    async def run_before(pilot):
        await at_step(pilot, app, Step.EXPIRY)
        await wait_for(pilot, lambda: app.state.record is not None)
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_expiry_screen_expiring_soon(snap_compare):
    backend, _ = fake_backend(records=[record(access_ttl_s=20 * 3600)])
    app = make_app(backend)

    async def run_before(pilot):
        await at_step(pilot, app, Step.EXPIRY)
        await wait_for(pilot, lambda: app.state.record is not None)
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


REFUSED = ForwardingCheck(
    ForwardingState.REFUSED,
    "the server refuses TCP forwarding (administratively prohibited); its sshd_config "
    "probably says AllowTcpForwarding no",
)


def test_ways_in_when_forwarding_is_refused(snap_compare):
    backend, _ = fake_backend(forwarding=REFUSED)
    app = make_app(backend)

    async def run_before(pilot):
        await at_step(pilot, app, Step.TUNNEL)
        await wait_for(pilot, lambda: app.state.forwarding is not None)
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
        await wait_for(pilot, lambda: app.screen.local is not None)
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_relay_screen_with_a_rejected_address(snap_compare):
    backend, calls = fake_backend(forwarding=REFUSED)
    app = make_app(backend)

    async def run_before(pilot):
        await at_step(pilot, app, Step.TUNNEL)
        app.choose_way(LoginMode.RELAY)
        await wait_for(pilot, lambda: screen_name(app) == "RelayScreen" and calls.sessions)
        calls.sessions[-1].push(UrlReady(URL, 1455))
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
        await pilot.press("a", *"http://127.0.0.1:1457/auth/callback?code=c&state=x", "enter")
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_device_code_screen(snap_compare):
    backend, calls = fake_backend()
    app = make_app(backend)

    async def run_before(pilot):
        await at_step(pilot, app, Step.TUNNEL)
        app.choose_way(LoginMode.DEVICE)
        await wait_for(pilot, lambda: screen_name(app) == "DeviceScreen" and calls.sessions)
        calls.sessions[-1].push(
            DeviceCodeReady("https://auth.openai.com/codex/device", "66FT-Z7YB3")
        )
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_push_screen_after_a_push(snap_compare):
    backend, _ = fake_backend()
    app = make_app(backend)

    async def run_before(pilot):
        await at_step(pilot, app, Step.TUNNEL)
        app.choose_way(LoginMode.PUSH)
        await wait_for(pilot, lambda: screen_name(app) == "PushScreen")
        await wait_for(pilot, lambda: app.screen.local is not None)
        await pilot.press("p")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.state.pushed is not None)
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_connection_lost_screen(snap_compare):
    backend, calls = fake_backend()
    app = make_app(backend)

    async def run_before(pilot):
        await at_step(pilot, app, Step.TUNNEL)
        await app.start_login()
        app.goto(Step.LOGIN)
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")
        calls.sessions[-1].push(UrlReady(URL, 1455))
        calls.sessions[-1].push(
            LoginExited(None, "connection lost: Connection reset by peer", connection_lost=True)
        )
        await wait_for(pilot, lambda: screen_name(app) == "ConnectionLostScreen")
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
