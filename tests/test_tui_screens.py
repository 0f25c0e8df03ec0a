"""Pilot tests for every wizard screen and every event a screen reacts to (fake backend)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.widgets import Button, DataTable, Input, Log

from codex_wizard.core.laptop.ports import PortOwner
from codex_wizard.core.logins.status import HostStatus
from codex_wizard.core.progress import LoginPhase
from codex_wizard.core.server.actions import InstallResult, VerifyResult
from codex_wizard.core.server.events import (
    CallbackSeen,
    ForwardRefused,
    LoginCancelled,
    LoginError,
    LoginExited,
    LoginSucceeded,
    OutputLine,
    PortsBusy,
    StateMismatch,
    TokenExchangeFailed,
    UrlReady,
)
from codex_wizard.core.server.tunnel import ForwardingCheck, ForwardingState
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.remembered import RememberedHosts
from codex_wizard.core.ssh.types import (
    ConnectError,
    ConnectErrorKind,
    HostKeyChanged,
    HostKeyUnknown,
)
from codex_wizard.core.tokens.auth import parse_auth_json
from codex_wizard.core.tokens.state import TokenState
from codex_wizard.tui.state import Step
from tests.tui_fakes import (
    ADA,
    HOST_KEY,
    NOW,
    SIZE,
    URL,
    FakeConn,
    at_step,
    fake_backend,
    make_app,
    probe,
    record,
    screen_name,
    text_of,
    wait_for,
)

# ---------------------------------------------------------------------------- step 1: hosts


async def test_host_list_shows_hosts_and_fills_token_states_as_they_answer():
    other = HostTarget("gpu-box")
    statuses = {
        "ada@build.example.com": HostStatus("ada@build.example.com", TokenState.OK, auth=record()),
    }
    backend, calls = fake_backend(statuses=statuses)
    app = make_app(backend, hosts=[ADA, other], check_statuses=True)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#hosts", DataTable)
        await wait_for(pilot, lambda: len(calls.status) == 2)
        await wait_for(
            pilot, lambda: "expires" in str(table.get_cell("ada@build.example.com", "token"))
        )
        assert "in 9 days 4 hours" in str(table.get_cell("ada@build.example.com", "token"))
        # gpu-box never answers: still "checking…", and the list works regardless
        assert "checking" in str(table.get_cell("gpu-box", "token"))
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: screen_name(app) in ("ConnectScreen", "InstallScreen"))
        assert app.state.target == other


RESOLVE_FAILED = "Can't resolve h: Name or service not known. Check the name or HostName."


def unreached(kind: ConnectErrorKind, error: str) -> HostStatus:
    """check_host's answer for a host whose connection failed this way (core.logins.status)."""
    return HostStatus("h", TokenState.ERROR, error=error, unreached=kind)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (HostStatus("h", TokenState.LOGGED_OUT, auth=parse_auth_json(None)), "not logged in"),
        (unreached(ConnectErrorKind.NETWORK, "Can't reach h: refused"), "unreachable"),
        # a name that does not resolve is "not known" too, but no host key is in question
        (unreached(ConnectErrorKind.NETWORK, RESOLVE_FAILED), "unreachable"),
        (unreached(ConnectErrorKind.HOST_KEY_UNKNOWN, "The host key of h is not known"), "not yet"),
        (unreached(ConnectErrorKind.HOST_KEY_CHANGED, "WARNING: ... has CHANGED"), "CHANGED"),
        (unreached(ConnectErrorKind.TIMEOUT, "no answer within 20 s"), "unreachable"),
        (HostStatus("h", TokenState.RENEWS, auth=record(access_ttl_s=-7200)), "codex renews it"),
    ],
)
async def test_host_list_token_column_words(status, expected):
    backend, _ = fake_backend(statuses={"h": status})
    app = make_app(backend, hosts=[HostTarget("h")], check_statuses=True)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#hosts", DataTable)
        await wait_for(pilot, lambda: expected in str(table.get_cell("h", "token")))


async def test_typed_host_is_parsed_and_bad_input_is_explained(tmp_path):
    backend, _calls = fake_backend()
    remembered = RememberedHosts(tmp_path / "state.json")
    app = make_app(backend, hosts=None, remembered=remembered, ssh_config=tmp_path / "none")
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.query_one("#host-input", Input).has_focus  # no hosts: input first
        await pilot.press(*"bad host", "enter")
        assert "spaces" in text_of(app, "#host-error")
        app.screen.query_one("#host-input", Input).value = ""
        await pilot.press(*"ada@build.example.com:2222", "enter")
        await wait_for(pilot, lambda: screen_name(app) == "InstallScreen")
        assert app.state.target == HostTarget("build.example.com", user="ada", port=2222)
    # a typed host that connected is remembered
    assert remembered.targets() == [HostTarget("build.example.com", user="ada", port=2222)]


async def test_remembered_and_config_hosts_are_listed_and_forgettable(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text("Host web\n  HostName 192.0.2.10\nHost *.internal\n")
    remembered = RememberedHosts(tmp_path / "state.json")
    remembered.remember(HostTarget("old.example.com", user="bob"))
    backend, _ = fake_backend()
    app = make_app(backend, hosts=None, remembered=remembered, ssh_config=config)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#hosts", DataTable)
        assert [str(table.get_cell_at((row, 0))) for row in range(table.row_count)] == [
            "web",
            "bob@old.example.com",
        ]
        assert str(table.get_cell_at((1, 1))) == "remembered"
        await pilot.press("x")  # "web" comes from ssh_config: not forgettable here
        assert table.row_count == 2
        await pilot.press("down", "x")
        await pilot.pause()
        assert table.row_count == 1
    assert remembered.targets() == []


# ---------------------------------------------------------------------------- step 2: connect


async def test_connect_asks_about_an_unknown_host_key_and_continues_on_yes():
    backend, _calls = fake_backend()
    answers: list[bool] = []
    inner = backend.connect

    async def connect(target, settings):
        answers.append(await settings.confirm_host_key(HOST_KEY))
        return await inner(target, settings)

    backend.connect = connect
    app = make_app(backend, initial_target=ADA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "HostKeyDialog")
        body = text_of(app, "#dialog-body")
        assert HOST_KEY.fingerprint in body
        assert "ssh-ed25519" in body
        await pilot.press("y")
        await wait_for(pilot, lambda: screen_name(app) == "InstallScreen")
    assert answers == [True]


async def test_connect_unknown_host_key_refused_lands_on_error_screen():
    backend, _ = fake_backend()

    async def connect(target, settings):
        if not await settings.confirm_host_key(HOST_KEY):
            raise HostKeyUnknown(HOST_KEY)
        raise AssertionError("should not connect")

    backend.connect = connect
    app = make_app(backend, initial_target=ADA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "HostKeyDialog")
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "ErrorScreen")
        assert "not trusted" in text_of(app, "#problem-title")
        await pilot.press("escape")  # Back: to the connect screen, which offers Retry
        await wait_for(pilot, lambda: screen_name(app) == "ConnectScreen")
        assert "Retry" in str(app.screen.query_one("#next", Button).label)


async def test_changed_host_key_is_refused_with_the_risk_explained():
    backend, _ = fake_backend(connect_error=HostKeyChanged(HOST_KEY))
    app = make_app(backend, initial_target=ADA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "HostKeyChangedScreen")
        what = text_of(app, "#problem-what")
        assert "man-in-the-middle" in what
        assert HOST_KEY.fingerprint in what
        assert "ssh-keygen -R 'build.example.com'" in text_of(app, "#problem-todo")
        assert app.screen.query_one("#back", Button).disabled
        await pilot.press("h")
        await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
        assert app.state.conn is None


async def test_connect_error_says_what_happened_and_what_to_do():
    error = ConnectError("Can't resolve nowhere.invalid: Name or service not known.")
    backend, _ = fake_backend(connect_error=error)
    app = make_app(backend, initial_target=ADA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "ErrorScreen")
        assert "Can't resolve" in text_of(app, "#problem-what")
        assert "host name" in text_of(app, "#problem-todo")


async def test_refused_keys_ask_for_a_password_and_retry_with_it():
    refused = ConnectError("x refused our SSH keys.", ConnectErrorKind.AUTH_REFUSED)
    backend, calls = fake_backend(connect_error=[refused, None])
    app = make_app(backend, initial_target=ADA)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "CredentialsDialog")
        await pilot.press(*"s3cret", "enter")
        await wait_for(pilot, lambda: screen_name(app) == "InstallScreen")
    assert calls.connect[-1].extra_options == {"password": "s3cret"}
    assert "password" not in calls.connect[0].extra_options


# ---------------------------------------------------------------------------- step 3: install


async def test_install_checklist_and_streamed_install_then_recheck():
    missing = probe(codex=False)
    backend, calls = fake_backend(
        probes=[missing, probe()],
        install_lines=["npm http fetch GET 200 codex.tgz", "added 2 packages in 1s"],
    )
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        app.start_flow(ADA).conn = FakeConn()
        app.goto(Step.INSTALL)
        await wait_for(
            pilot, lambda: app.state.probe is not None and screen_name(app) == "InstallScreen"
        )
        await pilot.pause()
        checklist = text_of(app, "#checklist")
        assert "codex not found on any PATH" in checklist
        assert "fix: Install it: npm install -g @openai/codex" in checklist
        assert app.screen.query_one("#next", Button).disabled
        await pilot.press("n")  # disabled: stays
        assert screen_name(app) == "InstallScreen"
        await pilot.press("i")
        await wait_for(pilot, lambda: app.state.probe.codex.works)
        await pilot.pause()
        log = app.screen.query_one("#install-log", Log)
        assert "added 2 packages in 1s" in "\n".join(log.lines)
        assert calls.install == [False]
        assert "codex 0.169.0" in text_of(app, "#checklist")
        assert not app.screen.query_one("#next", Button).disabled
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")


async def test_permission_error_offers_the_user_prefix_install():
    eacces = InstallResult(
        "npm install -g @openai/codex",
        243,
        ["npm error code EACCES", "npm error syscall mkdir"],
    )
    ok = InstallResult("npm install -g --prefix ~/.local @openai/codex", 0, ["added"], None, True)
    backend, calls = fake_backend(
        probes=[probe(codex=False), probe(codex=False)], install_results=[eacces, ok]
    )
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.INSTALL)
        app.state.flow.set_probe(probe(codex=False))
        app.screen.render_probe()
        user_button = app.screen.query_one("#install-user", Button)
        assert not user_button.display
        await pilot.press("i")
        await wait_for(pilot, lambda: user_button.display)
        assert "EACCES" in text_of(app, "#install-note")
        assert "~/.local" in text_of(app, "#install-note")
        await pilot.press("u")
        await wait_for(pilot, lambda: app.state.user_prefix and app.state.probe is not None)
        await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
        assert calls.install == [False, True]
        assert app.state.env.login_path.startswith("/home/ada/.local/bin:")
        assert "not on the server's PATH" in text_of(app, "#checklist")


async def test_install_without_npm_is_disabled_with_the_fix():
    backend, _ = fake_backend(probes=[probe(codex=False, npm=False, node=None)])
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        app.start_flow(ADA).conn = FakeConn()
        app.goto(Step.INSTALL)
        await wait_for(pilot, lambda: app.state.probe is not None)
        await pilot.pause()
        assert app.screen.query_one("#install", Button).disabled
        assert "Install Node.js 22+" in text_of(app, "#checklist")


async def test_probe_failure_lands_on_the_error_screen_not_a_traceback():
    backend, _ = fake_backend()

    async def broken(conn):
        raise RuntimeError("the server hung up")

    backend.probe = broken
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        app.start_flow(ADA).conn = FakeConn()
        app.goto(Step.INSTALL)
        await wait_for(pilot, lambda: screen_name(app) == "ErrorScreen")
        assert "the server hung up" in text_of(app, "#problem-what")


# ---------------------------------------------------------------------------- step 4: tunnel


async def test_tunnel_shows_owners_and_frees_a_pending_local_login_on_yes():
    holder = PortOwner(1455, "127.0.0.1", 4242, "codex")
    server_holder = PortOwner(1455, "127.0.0.1", 999, "codex")
    backend, calls = fake_backend(local_owners={1455: holder})
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        app.start_flow(ADA).set_probe(probe(port_owners={1455: server_holder, 1457: None}))
        await at_step(pilot, app, Step.TUNNEL)
        await wait_for(pilot, lambda: app.state.forwarding is not None)
        await pilot.pause()
        ports = text_of(app, "#ports")
        assert "held by codex (pid 4242) on 127.0.0.1:1455" in ports
        assert "held by codex (pid 999)" in ports
        assert "allowed by the server" in ports
        assert app.screen.query_one("#next", Button).disabled
        await pilot.press("f")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
        assert "codex (pid 4242)" in text_of(app, "#dialog-body")
        await pilot.press("y")
        await wait_for(pilot, lambda: calls.cancel == [1455])
        await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
        assert "127.0.0.1:1455 is free" in text_of(app, "#ports")


async def test_tunnel_says_not_seen_where_the_server_shows_no_listeners():
    """A server with no ss, lsof or /proc (a chroot): its ports are "not seen", as doctor and
    the login say, never "free"."""
    backend, _ = fake_backend()
    app = make_app(backend)
    unseen = replace(probe(), port_source="none")
    async with app.run_test(size=SIZE) as pilot:
        app.start_flow(ADA).set_probe(unseen)
        await at_step(pilot, app, Step.TUNNEL)
        await wait_for(pilot, lambda: app.state.forwarding is not None)
        await pilot.pause()
        ports = text_of(app, "#ports")
        assert "Server ports" in ports and "not seen" in ports, ports
        assert "Server :1455" not in ports, ports  # no "127.0.0.1:1455 is free" for the server


async def test_tunnel_busy_port_kept_when_the_user_says_no():
    holder = PortOwner(1455, "127.0.0.1", 4242, "python3")
    backend, calls = fake_backend(local_owners={1455: holder})
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.TUNNEL)
        await wait_for(pilot, lambda: app.state.forwarding is not None)
        await pilot.press("f")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
        await pilot.press("n")
        await wait_for(pilot, lambda: not app.screen.working("free-port"))  # its answer acted on
        assert calls.cancel == []
        assert "close that program" in text_of(app, "#tunnel-note")


async def test_tunnel_refused_forwarding_leads_to_the_other_ways_in():
    refused = ForwardingCheck(ForwardingState.REFUSED, "the server refuses TCP forwarding")
    backend, calls = fake_backend(forwarding=refused)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.TUNNEL)
        await wait_for(pilot, lambda: app.state.forwarding is not None)
        await pilot.pause()
        assert "AllowTcpForwarding" in text_of(app, "#ports")
        assert "Other ways in" in str(app.screen.query_one("#next", Button).label)
        assert "no tunnel can work" in text_of(app, "#tunnel-note")
        assert app.focused is app.screen.query_one("#next", Button)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
        assert not calls.sessions  # no tunnel login was started


async def test_tunnel_next_starts_the_login_and_shows_live_state():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.TUNNEL)
        await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen" and calls.sessions)
        session = calls.sessions[0]
        assert session.started
        session.tunnel.saw("GET", "/auth/callback", 302)
        await pilot.press("escape")  # back to the tunnel screen: live state
        await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
        await wait_for(pilot, lambda: "GET /auth/callback → 302" in text_of(app, "#tunnel-live"))
        assert "listening" in text_of(app, "#tunnel-live")
        assert "Show login" in str(app.screen.query_one("#next", Button).label)


# ---------------------------------------------------------------------------- step 5: login URL


async def login_screen(pilot, app, calls):
    await at_step(pilot, app, Step.TUNNEL)
    await app.start_login()
    app.goto(Step.LOGIN)
    await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")
    return calls.sessions[-1]


async def test_login_url_copy_and_open():
    backend, calls = fake_backend(copy_how="clipboard")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        session = await login_screen(pilot, app, calls)
        assert app.screen.query_one("#copy", Button).disabled
        session.push(UrlReady(URL, 1455))
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
        await pilot.pause()
        assert text_of(app, "#url") == URL  # in full
        assert "Waiting for you to sign in" in text_of(app, "#login-status")
        await pilot.press("c")
        assert calls.copied == [URL]
        assert app.clipboard == URL  # OSC 52 through Textual as well
        assert "Copied to the clipboard" in text_of(app, "#copy-note")
        await pilot.press("o")
        assert calls.opened == [URL]
        assert "Opened in your browser" in text_of(app, "#copy-note")


async def test_copy_without_a_clipboard_uses_osc52_and_says_so():
    backend, calls = fake_backend(copy_how="", browser=False)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        session = await login_screen(pilot, app, calls)
        session.push(UrlReady(URL, 1455))
        await wait_for(pilot, lambda: app.state.login.url is not None)
        await pilot.press("c")
        assert "OSC 52" in text_of(app, "#copy-note")
        await pilot.press("o")
        assert "No browser can be opened" in text_of(app, "#copy-note")


async def test_login_events_callback_and_success_enable_next():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        session = await login_screen(pilot, app, calls)
        session.push(UrlReady(URL, 1455))
        session.push(CallbackSeen("/auth/callback"))
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.CALLBACK)
        await pilot.pause()
        assert "codex is finishing" in text_of(app, "#login-status")
        assert app.screen.query_one("#next", Button).disabled
        session.push(OutputLine("Successfully logged in"))
        session.push(LoginSucceeded())
        session.push(LoginExited(0))
        await wait_for(pilot, lambda: app.state.login.ended)
        await pilot.pause()
        assert "Logged in" in text_of(app, "#login-status")
        assert not app.screen.query_one("#next", Button).disabled
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen")


async def test_state_mismatch_offers_a_fresh_login():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        session = await login_screen(pilot, app, calls)
        session.push(UrlReady(URL, 1455))
        session.push(StateMismatch())
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.MISMATCH)
        await pilot.pause()
        assert "old URL" in text_of(app, "#login-status")
        assert app.screen.query_one("#fresh", Button).display
        await pilot.press("f")
        await wait_for(pilot, lambda: len(calls.sessions) == 2)
        assert session.closed  # the old login was stopped before the new one
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.STARTING)
        calls.sessions[-1].push(UrlReady(URL + "x", 1455))
        await wait_for(pilot, lambda: app.state.login.url == URL + "x")


@pytest.mark.parametrize(
    ("events", "phase", "shown"),
    [
        (
            [
                TokenExchangeFailed("error sending request for url (https://auth.openai.com)"),
                LoginExited(1),
            ],
            LoginPhase.EXCHANGE_FAILED,
            "error sending request for url",
        ),
        ([LoginCancelled(), LoginExited(1)], LoginPhase.CANCELLED, "cancelled"),
        (
            [PortsBusy("Port 127.0.0.1:1457 is already in use"), LoginExited(1)],
            LoginPhase.FAILED,
            "1457 is already in use",
        ),
        (
            [ForwardRefused("the server refuses TCP forwarding")],
            LoginPhase.FAILED,
            "refuses TCP forwarding",
        ),
        (
            [LoginError("Error logging in: boom"), LoginExited(1)],
            LoginPhase.FAILED,
            "boom",
        ),
        (
            [OutputLine("Error loading configuration: x"), LoginExited(1, "")],
            LoginPhase.FAILED,
            "Error loading configuration",
        ),
        ([LoginExited(None, "codex was stopped (SIGKILL)")], LoginPhase.EXITED, "stopped"),
    ],
)
async def test_login_failures_show_codex_message_and_offer_fresh(events, phase, shown):
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        session = await login_screen(pilot, app, calls)
        session.push(UrlReady(URL, 1455))
        for event in events:
            if isinstance(event, OutputLine):
                # codex's own line arrives with its parsed meaning, as LoginSession sends it
                session.push(event)
                session.push(LoginError(event.text))
            else:
                session.push(event)
        await wait_for(pilot, lambda: app.state.login.phase is phase)
        await pilot.pause()
        assert shown in text_of(app, "#login-message")
        assert app.screen.query_one("#fresh", Button).display
        assert app.screen.query_one("#next", Button).disabled


async def test_session_start_failure_is_reported_on_the_url_screen():
    backend, _calls = fake_backend()
    app = make_app(backend)

    class Broken:
        tunnel = None

        def __init__(self, *args, **kwargs):
            pass

        async def start(self):
            raise OSError("channel open failed")

        async def close(self):
            pass

    backend.login_session = Broken
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.TUNNEL)
        await app.start_login()
        app.goto(Step.LOGIN)
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")
        await pilot.pause()
        assert "channel open failed" in text_of(app, "#login-message")


# ---------------------------------------------------------------------------- step 6: expiry


async def test_expiry_shows_the_record_with_urgency_and_the_api_key_note():
    backend, _ = fake_backend(records=[record()])
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.EXPIRY)
        await wait_for(pilot, lambda: app.state.record is not None)
        await pilot.pause()
        fields = text_of(app, "#expiry-fields")
        assert "2026-12-04 16:30 UTC  (in 9 days 4 hours)" in fields
        assert "ad***@example.com" in fields
        assert "plus" in fields
        assert "~/.codex/auth.json  mode 0600" in fields
        assert "2026-11-24 09:30 UTC  (1 day 2 hours ago)" in fields
        assert "ada.lovelace" not in fields  # masked
        assert "not an OpenAI API key" in text_of(app, "#api-key-note")
        assert "expires in 9 days 4 hours" in text_of(app, "#expiry-headline")


@pytest.mark.parametrize(
    ("ttl", "style"),
    [(9 * 86400, "green"), (2 * 86400, "yellow"), (3600, "red"), (-3600, "red")],
)
async def test_expiry_colour_follows_urgency(ttl, style):
    from codex_wizard.tui.screens.expiry import record_fields

    fields = record_fields(record(access_ttl_s=ttl), NOW, ".codex/auth.json")
    access = next(field for field in fields if field[0] == "Access token")
    expected = {"green": "ok", "yellow": "warn", "red": "bad"}[style]
    assert access[2] == expected


async def test_expiry_verify_logout_and_login_again():
    logged_out = parse_auth_json(None)
    backend, calls = fake_backend(
        records=[record(), logged_out],
        verify_result=VerifyResult("codex login status", 0, ["Logged in using ChatGPT"]),
    )
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.EXPIRY)
        await wait_for(pilot, lambda: app.state.record is not None)
        await pilot.press("v")
        await wait_for(pilot, lambda: "Logged in using ChatGPT" in text_of(app, "#expiry-note"))
        assert calls.verify == 1
        await pilot.press("x")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: calls.logout == 1)
        await wait_for(pilot, lambda: "not logged in" in text_of(app, "#expiry-headline"))
        assert "codex logout" in text_of(app, "#expiry-note")
        await pilot.press("l")
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen" and calls.sessions)


async def test_expiry_verify_not_logged_in_is_shown_as_a_failure():
    backend, _calls = fake_backend(
        verify_result=VerifyResult("codex login status", 1, ["Not logged in"])
    )
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.EXPIRY)
        await wait_for(pilot, lambda: app.state.record is not None)
        await pilot.press("v")
        await wait_for(pilot, lambda: "Not logged in" in text_of(app, "#expiry-note"))
        assert "✗" in text_of(app, "#expiry-note")


# ---------------------------------------------------------------------------- quitting


async def test_quit_closes_the_login_and_the_connection():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        session = await login_screen(pilot, app, calls)
        conn = app.state.conn
        session.push(UrlReady(URL, 1455))
        await pilot.press("ctrl+q")
    assert session.closed
    assert conn.close_calls == 1


async def test_leaving_any_other_way_still_cleans_up():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        session = await login_screen(pilot, app, calls)
        conn = app.state.conn
        app.exit()  # not through action_quit: on_unmount still closes everything
    assert session.closed
    assert conn.close_calls == 1


async def test_back_to_hosts_closes_the_server_connection():
    backend, _calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.INSTALL)
        await wait_for(pilot, lambda: app.state.probe is not None)
        conn = app.state.conn
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
        assert conn.close_calls == 1
        assert app.state.conn is None


async def test_friendly_errors_turn_an_unexpected_exception_into_the_error_screen():
    backend, _ = fake_backend()
    app = make_app(backend, friendly_errors=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app._handle_exception(ValueError("surprise"))
        await wait_for(pilot, lambda: screen_name(app) == "ErrorScreen")
        assert "surprise" in text_of(app, "#problem-what")


# ---------------------------------------------------------------------------- keyboard only


async def test_keyboard_only_walk_through_every_step():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")  # the host list has focus: Enter connects
        await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
        await pilot.pause()
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
        await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
        # Tab reaches the buttons; Enter presses the focused one
        for _ in range(10):
            await pilot.press("tab")
            if app.focused is not None and app.focused.id == "next":
                break
        assert app.focused.id == "next"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen" and calls.sessions)
        calls.sessions[0].push(UrlReady(URL, 1455))
        calls.sessions[0].push(LoginSucceeded())
        calls.sessions[0].push(LoginExited(0))
        await wait_for(pilot, lambda: app.state.login.ended)
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "InstallScreen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
        await pilot.press("ctrl+q")
    assert calls.sessions[0].closed


async def test_expired_record_headline_mentions_refresh():
    from codex_wizard.tui.screens.expiry import headline

    text = headline(record(access_ttl_s=-3 * 3600), NOW, 3.0).plain
    assert "expired 3 hours ago" in text
    assert "codex renews it on next use" in text
