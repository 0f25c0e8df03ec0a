"""Issue 4 in the wizard: the ways in when a tunnel can't work (relay the redirect, device code,
push auth.json), each screen and each event it reacts to, keyboard only (fake backend)."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Button, Input

from codex_wizard.core.logins.push import PushError
from codex_wizard.core.progress import LoginMode, LoginPhase
from codex_wizard.core.server.events import (
    DeviceAuthDisabled,
    DeviceCodeReady,
    LoginError,
    LoginExited,
    LoginSucceeded,
    RelayResult,
    UrlReady,
)
from codex_wizard.core.server.login import DEVICE_AUTH_HELP, url_state
from codex_wizard.core.server.tunnel import ForwardingCheck, ForwardingState
from codex_wizard.tui.state import Step
from tests.tui_fakes import (
    SIZE,
    URL,
    at_step,
    fake_backend,
    make_app,
    screen_name,
    text_of,
    wait_for,
)

REFUSED = ForwardingCheck(
    ForwardingState.REFUSED,
    "the server refuses TCP forwarding (administratively prohibited); its sshd_config "
    "probably says AllowTcpForwarding no",
)
STATE = url_state(URL)
GOOD = f"http://127.0.0.1:1455/auth/callback?code=ac_123&state={STATE}"
DEVICE_URL = "https://auth.openai.com/codex/device"


async def ways_screen(pilot, app, *, refused: bool = False):
    """From the tunnel step to the ways in (Next when refused, w otherwise)."""
    await at_step(pilot, app, Step.TUNNEL)
    await wait_for(pilot, lambda: app.state.forwarding is not None)
    await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
    await pilot.press("n" if refused else "w")
    await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
    await wait_for(pilot, lambda: app.screen.local is not None)
    await pilot.pause()


async def relay_screen(pilot, app, calls, *, url: str = URL):
    await ways_screen(pilot, app, refused=True)
    await pilot.press("r")
    await wait_for(pilot, lambda: screen_name(app) == "RelayScreen" and calls.sessions)
    calls.sessions[-1].push(UrlReady(url, 1455))
    await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
    await pilot.pause()
    return calls.sessions[-1]


async def paste(pilot, app, text: str, *, typed: bool = False) -> None:
    """The user focuses the field (a), pastes (the terminal's bracketed paste) or types the
    address, and presses Enter."""
    field = app.screen.query_one("#paste", Input)
    if not field.has_focus:
        await pilot.press("a")
    field.value = ""
    if typed:
        await pilot.press(*text)
    else:
        field.post_message(events.Paste(text))
        await wait_for(pilot, lambda: field.value == text)
    await pilot.press("enter")
    await pilot.pause()


# ---------------------------------------------------------------------------- the choice


async def test_ways_in_from_the_tunnel_step_lists_four_ways_with_the_local_login():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await ways_screen(pilot, app)
        for way in ("tunnel", "relay", "device", "push"):
            assert not app.screen.query_one(f"#way-{way}", Button).disabled
        assert app.focused is app.screen.query_one("#way-tunnel", Button)
        assert "The tunnel is the usual way" in text_of(app, "#ways-why")
        push = text_of(app, "#way-push-text")
        assert "Fresh: /usr/local/bin/codex." in push
        assert "Copy: ChatGPT sign-in, ad***@example.com, plan plus" in push
        assert "expires in 3 days 2 hours" in push
        await pilot.press("down")  # arrows move between the choices; Enter takes one
        assert app.focused is app.screen.query_one("#way-push", Button)  # a fresh login next
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
        assert not calls.sessions


async def test_refused_forwarding_recommends_a_fresh_login_here_when_codex_is_here():
    backend, _ = fake_backend(forwarding=REFUSED)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await ways_screen(pilot, app, refused=True)
        await wait_for(pilot, lambda: app.screen.codex is not None)
        await wait_for(pilot, lambda: app.focused is app.screen.query_one("#way-push", Button))
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "PushScreen")


async def test_refused_forwarding_without_codex_here_disables_the_tunnel_and_recommends_relay():
    backend, calls = fake_backend(forwarding=REFUSED, local_codex=None)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await ways_screen(pilot, app, refused=True)
        assert app.screen.query_one("#way-tunnel", Button).disabled
        assert "AllowTcpForwarding no" in text_of(app, "#ways-why")
        assert app.focused is app.screen.query_one("#way-relay", Button)
        await pilot.press("t")  # not available: nothing happens
        await pilot.pause()
        assert screen_name(app) == "WaysInScreen" and not calls.sessions
        await pilot.press("enter")  # the focused choice: relay
        await wait_for(pilot, lambda: screen_name(app) == "RelayScreen" and calls.sessions)
        session = calls.sessions[0]
        assert session.forward is False and session.device_auth is False
        assert app.state.mode is LoginMode.RELAY


async def test_no_codex_and_no_local_login_means_no_push_with_the_reasons():
    backend, _ = fake_backend(
        local_auth_error="/home/ada/.codex/auth.json does not exist: log in with codex first.",
        local_codex=None,
    )
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await ways_screen(pilot, app)
        await wait_for(pilot, lambda: app.screen.query_one("#way-push", Button).disabled)
        text = text_of(app, "#way-push-text")
        assert "No copy: /home/ada/.codex/auth.json does not exist" in text
        assert "No fresh login: neither codex nor npx" in text
        await pilot.press("p")
        await pilot.pause()
        assert screen_name(app) == "WaysInScreen"


async def test_tunnel_choice_starts_a_tunnel_login():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await ways_screen(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: screen_name(app) == "LoginScreen" and calls.sessions)
        assert calls.sessions[0].forward is True


# ---------------------------------------------------------------------------- relay


async def test_relay_shows_the_url_and_rejects_bad_addresses_with_core_messages():
    backend, calls = fake_backend(forwarding=REFUSED)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await relay_screen(pilot, app, calls)
        assert text_of(app, "#url") == URL
        assert "Waiting for the address your browser ends on" in text_of(app, "#login-status")
        assert "http://127.0.0.1:1455/auth/callback?code=" in text_of(app, "#paste-help")
        await pilot.press("c")
        assert calls.copied == [URL]
        await paste(pilot, app, "garbage", typed=True)
        assert "not the address the browser ended on" in text_of(app, "#paste-note")
        for text, words in [
            (f"http://127.0.0.1:1457/auth/callback?code=c&state={STATE}", "port 1457"),
            ("http://127.0.0.1:1455/auth/callback?code=c&state=older", "older login"),
            (f"http://127.0.0.1:1455/auth/callback?state={STATE}", "no code"),
            (f"http://example.com:1455/auth/callback?code=c&state={STATE}", "example.com"),
        ]:
            await paste(pilot, app, text)
            assert words in text_of(app, "#paste-note"), text
            assert "✗" in text_of(app, "#paste-note")
        assert calls.relayed == []
        assert app.state.login.phase is LoginPhase.WAITING


async def test_relay_replays_a_good_address_with_the_probes_tools_then_logs_in():
    backend, calls = fake_backend(forwarding=REFUSED)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        session = await relay_screen(pilot, app, calls)
        app.state.probe.tools = frozenset({"wget"})
        await paste(pilot, app, GOOD)
        await wait_for(pilot, lambda: calls.relayed)
        callback, tools = calls.relayed[0]
        assert (callback.port, callback.code, callback.state) == (1455, "ac_123", STATE)
        assert tools == frozenset({"wget"})
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.CALLBACK)
        await pilot.pause()
        assert "Relayed with curl on ada@build.example.com" in text_of(app, "#paste-note")
        assert "finishing the sign-in" in text_of(app, "#login-status")
        assert app.screen.query_one("#paste", Input).disabled
        session.push(LoginSucceeded())
        session.push(LoginExited(0))
        await wait_for(pilot, lambda: app.state.login.exited)
        await pilot.pause()
        assert not app.screen.query_one("#next", Button).disabled
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
        await pilot.press("escape")  # back: the relay screen (not the tunnel step)
        await wait_for(pilot, lambda: screen_name(app) == "RelayScreen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")


@pytest.mark.parametrize(
    ("result", "words"),
    [
        (RelayResult(400, "State mismatch", "curl"), "State mismatch"),
        (RelayResult(None, "curl: (7) Failed to connect", "curl"), "Could not reach codex"),
    ],
)
async def test_relay_answers_that_keep_the_login_waiting(result, words):
    backend, calls = fake_backend(forwarding=REFUSED, relay_results=[result])
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await relay_screen(pilot, app, calls)
        await paste(pilot, app, GOOD)
        await wait_for(pilot, lambda: calls.relayed)
        await wait_for(pilot, lambda: app.state.login.relay_note != "")
        await pilot.pause()
        assert words in text_of(app, "#paste-note")
        assert app.state.login.phase is LoginPhase.WAITING
        assert not app.screen.query_one("#paste", Input).disabled  # paste again


async def test_relay_that_cannot_run_says_so():
    backend, calls = fake_backend(forwarding=REFUSED)

    async def broken(conn, callback, tools, env):
        raise OSError("channel closed")

    backend.relay = broken
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await relay_screen(pilot, app, calls)
        await paste(pilot, app, GOOD)
        await wait_for(pilot, lambda: "channel closed" in text_of(app, "#paste-note"))
        assert app.state.login.phase is LoginPhase.WAITING


async def test_a_paste_anywhere_on_the_relay_screen_lands_in_the_field():
    backend, calls = fake_backend(forwarding=REFUSED)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await relay_screen(pilot, app, calls)
        field = app.screen.query_one("#paste", Input)
        app.screen.query_one("#copy", Button).focus()
        await pilot.pause()
        app.screen.query_one("#copy", Button).post_message(events.Paste(f"  {GOOD}\n"))
        await wait_for(pilot, lambda: field.has_focus)
        assert field.value == GOOD
        await pilot.press("escape")  # leaves the field, not the screen
        await pilot.pause()
        assert screen_name(app) == "RelayScreen" and not field.has_focus
        await pilot.press("a", "enter")
        await wait_for(pilot, lambda: calls.relayed)


async def test_relay_login_failure_offers_fresh_and_other_ways():
    backend, calls = fake_backend(forwarding=REFUSED)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        session = await relay_screen(pilot, app, calls)
        session.push(LoginError("Error logging in: boom"))
        session.push(LoginExited(1))
        await wait_for(pilot, lambda: app.state.login.exited)
        await pilot.pause()
        assert app.screen.query_one("#fresh", Button).display
        assert app.screen.query_one("#ways", Button).display
        assert app.screen.query_one("#paste", Input).disabled
        await pilot.press("f")
        await wait_for(pilot, lambda: len(calls.sessions) == 2)
        assert session.closed and calls.sessions[1].forward is False
        await pilot.press("w")
        await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")


# ---------------------------------------------------------------------------- device code


async def device_screen(pilot, app, calls):
    await ways_screen(pilot, app)
    await pilot.press("d")
    await wait_for(pilot, lambda: screen_name(app) == "DeviceScreen" and calls.sessions)
    return calls.sessions[-1]


async def test_device_code_shows_link_and_code_both_copyable_then_logs_in():
    backend, calls = fake_backend(copy_how="clipboard")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        session = await device_screen(pilot, app, calls)
        assert session.device_auth is True
        assert "--device-auth" in text_of(app, "#login-status")
        assert app.screen.query_one("#copy-code", Button).disabled
        session.push(DeviceCodeReady(DEVICE_URL, "66FT-Z7YB3"))
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
        await pilot.pause()
        assert text_of(app, "#device-url") == DEVICE_URL
        assert text_of(app, "#device-code") == "66FT-Z7YB3"
        assert "enter the code" in text_of(app, "#login-status")
        await pilot.press("c")
        await pilot.press("k")
        assert calls.copied == [DEVICE_URL, "66FT-Z7YB3"]
        assert "one-time code" in text_of(app, "#copy-note")
        await pilot.press("o")
        assert calls.opened == [DEVICE_URL]
        session.push(LoginSucceeded())
        session.push(LoginExited(0))
        await wait_for(pilot, lambda: app.state.login.exited)
        await pilot.pause()
        assert "Logged in" in text_of(app, "#login-status")
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen")


async def test_device_code_not_enabled_explains_the_chatgpt_setting():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        session = await device_screen(pilot, app, calls)
        session.push(DeviceAuthDisabled(DEVICE_AUTH_HELP))
        session.push(LoginExited(1))
        await wait_for(pilot, lambda: app.state.login.exited)
        await pilot.pause()
        message = text_of(app, "#login-message")
        assert "security settings" in message and "device code login" in message
        assert app.screen.query_one("#ways", Button).display
        assert app.screen.query_one("#next", Button).disabled
        await pilot.press("w")
        await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")


# ---------------------------------------------------------------------------- push auth.json


async def push_screen(pilot, app):
    await ways_screen(pilot, app)
    await pilot.press("p")
    await wait_for(pilot, lambda: screen_name(app) == "PushScreen")
    await wait_for(pilot, lambda: app.screen.local is not None)
    await pilot.pause()


async def test_push_asks_first_then_shows_backup_status_and_the_token():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await push_screen(pilot, app)
        fields = text_of(app, "#push-fields")
        assert "/home/ada/.codex/auth.json" in fields
        assert "ad***@example.com" in fields and "expires in 3 days 2 hours" in fields
        assert "ada@build.example.com:~/.codex/auth.json" in fields
        await pilot.press("p")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
        body = text_of(app, "#dialog-body")
        assert "kept as a backup" in body and "share one login" in body
        await pilot.press("n")  # not yet
        await wait_for(pilot, lambda: screen_name(app) == "PushScreen")
        assert calls.pushed == []
        await pilot.press("p")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.state.pushed is not None)
        await pilot.pause()
        assert calls.pushed and b'"auth_mode": "chatgpt"' in calls.pushed[0]
        result = text_of(app, "#push-result")
        assert "~/.codex/auth.json.bak-20261125T120000Z" in result
        assert "Logged in using ChatGPT" in result
        assert "shares this computer's login now" in text_of(app, "#push-note")
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen")
        await pilot.pause()
        assert "in 9 days 4 hours" in text_of(app, "#expiry-fields")
        await pilot.press("escape")  # back to the push screen
        await wait_for(pilot, lambda: screen_name(app) == "PushScreen")


async def test_push_error_is_shown_and_nothing_goes_on():
    backend, _ = fake_backend(
        push_result=PushError("could not write .codex/auth.json on x: Permission denied")
    )
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await push_screen(pilot, app)
        await pilot.press("p")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: "Permission denied" in text_of(app, "#push-note"))
        assert app.state.pushed is None
        assert app.screen.query_one("#next", Button).disabled


async def test_push_screen_refuses_a_file_that_is_not_a_codex_login():
    backend, _ = fake_backend(local_auth_error="/x/auth.json is not a Codex auth file")
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.TUNNEL)
        app.choose_way(LoginMode.PUSH)
        await wait_for(pilot, lambda: screen_name(app) == "PushScreen")
        await wait_for(pilot, lambda: app.screen.local is not None)
        await pilot.pause()
        assert "not a Codex auth file" in text_of(app, "#push-fields")
        assert app.screen.query_one("#push", Button).disabled
