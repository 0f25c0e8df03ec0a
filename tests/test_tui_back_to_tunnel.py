"""Issue 21, item 3: back from the token step to the tunnel step after a login, the wizard's own
tunnel still holds this computer's login port. It must be recognised as ours (not "a Codex
login that was never finished: press f"), and Start login must lead to a new login URL."""

from __future__ import annotations

import pytest
from textual.widgets import Button

from codex_wizard.core.progress import LoginPhase
from tests.test_tui_demo import PACE, demo_app, to_login
from tests.tui_fakes import SIZE, screen_name, text_of, wait_for

demo_mod = pytest.importorskip("codex_wizard.demo")
DemoScenario, DemoServer = demo_mod.DemoScenario, demo_mod.DemoServer


async def test_back_from_token_step_to_tunnel_then_a_new_login():
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await to_login(pilot, app)
            first = app.state.login.url
            await pilot.press("s")  # the browser comes back: signed in
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.SUCCEEDED, 10)
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
            await pilot.press("escape")  # token step → sign-in step
            await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")
            await pilot.press("escape")  # sign-in step → tunnel step
            await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
            next_button = lambda: app.screen.query_one("#next", Button)  # noqa: E731
            await wait_for(pilot, lambda: not next_button().disabled and app.state.local_owners)
            await pilot.pause()
            ports = text_of(app, "#ports")
            assert "never finished" not in text_of(app, "#tunnel-note")
            assert "this wizard" in ports, ports
            assert not app.screen.query_one("#free-port", Button).display
            await pilot.press("n")  # Start login
            await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")
            await wait_for(
                pilot,
                lambda: app.state.login.phase is LoginPhase.WAITING and app.state.login.url,
                timeout=10,
            )
            assert app.state.login.url != first
            await pilot.press("s")  # and the new login's tunnel works
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.SUCCEEDED, 10)
