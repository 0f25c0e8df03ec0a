"""The wizard's fresh login from this computer (push screen, f) and its honest logout (token
step, x): keyboard only, fake backend."""

from __future__ import annotations

from textual.widgets import Button

from codex_wizard.core.logins.fresh import FreshLoginError
from codex_wizard.core.logins.status import HostStatus
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.tokens.state import TokenState
from codex_wizard.tui.state import Step
from tests.test_tui_ways import push_screen
from tests.tui_fakes import (
    ADA,
    SIZE,
    URL,
    at_step,
    fake_backend,
    make_app,
    record,
    screen_name,
    text_of,
    wait_for,
)


async def test_fresh_login_shows_its_url_then_pushes_a_login_of_the_servers_own():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await push_screen(pilot, app)
        await wait_for(pilot, lambda: app.screen.codex is not None)
        assert "/usr/local/bin/codex" in text_of(app, "#push-fields")
        assert app.screen.query_one("#fresh", Button).variant == "primary"
        await pilot.press("f")
        await wait_for(pilot, lambda: URL in text_of(app, "#push-url"))
        assert "Waiting for the sign-in" in text_of(app, "#push-note")
        await pilot.press("o")
        assert calls.opened == [URL]
        assert calls.pushed == []  # nothing goes to the server before the sign-in
        calls.signed_in.set()
        await wait_for(pilot, lambda: app.state.pushed is not None)
        await pilot.pause()
        assert b"rt_FAKEfresh" in calls.pushed[0]  # the new login, not this computer's
        assert "a login of its own now, shared with nothing" in text_of(app, "#push-note")
        assert text_of(app, "#push-url") == ""
        assert "Logged in using ChatGPT" in text_of(app, "#push-result")


async def test_fresh_login_failure_is_said_and_nothing_is_pushed():
    backend, calls = fake_backend(fresh_error=FreshLoginError("codex login exited (1): boom"))
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await push_screen(pilot, app)
        await wait_for(pilot, lambda: app.screen.codex is not None)
        await pilot.press("f")
        await wait_for(pilot, lambda: calls.fresh)
        calls.signed_in.set()
        await wait_for(pilot, lambda: "boom" in text_of(app, "#push-note"))
        assert calls.pushed == [] and app.state.pushed is None
        assert not app.screen.query_one("#fresh", Button).disabled  # try again


async def test_leaving_mid_fresh_login_stops_it_quietly():
    """Esc while the browser sign-in is awaited: the fresh login is cancelled (its clean-up is
    core's), and no error screen comes up about the push screen's widgets being gone."""
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await push_screen(pilot, app)
        await wait_for(pilot, lambda: app.screen.codex is not None)
        await pilot.press("f")
        await wait_for(pilot, lambda: URL in text_of(app, "#push-url"))
        await pilot.press("escape")
        await wait_for(pilot, calls.fresh_cancelled.is_set)
        await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
        assert calls.pushed == []


async def test_without_codex_here_only_the_copy_is_offered():
    backend, _ = fake_backend(local_codex=None)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await push_screen(pilot, app)
        await wait_for(pilot, lambda: app.screen.codex is not None)
        assert app.screen.query_one("#fresh", Button).disabled
        assert not app.screen.query_one("#push", Button).disabled
        assert "neither codex nor npx" in text_of(app, "#push-fields")


async def test_logout_names_the_other_hosts_holding_the_same_login():
    web2 = HostTarget("web2")
    web3 = HostTarget("web3")
    statuses = {
        "web2": HostStatus("web2", TokenState.OK, record(), file_id="web2-file"),
        "web3": HostStatus("web3", TokenState.OK, record(tag="own"), file_id="web3-file"),
    }
    backend, calls = fake_backend(statuses=statuses)
    app = make_app(backend, hosts=[ADA, web2, web3])
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.EXPIRY)
        await wait_for(pilot, lambda: app.state.record is not None)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
        body = text_of(app, "#dialog-body")
        assert "revokes its login at OpenAI" in body
        assert "these hold a copy: web2." in body and "web3" not in body
        assert sorted(calls.status) == ["web2", "web3"]  # the host on show: its own connection
        await pilot.press("y")
        await wait_for(pilot, lambda: calls.logout == 1)
