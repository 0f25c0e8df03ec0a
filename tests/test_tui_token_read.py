"""The token step after a verified login shows the record the verification read: no second
read of auth.json (one round trip less for a user far away, issue 12)."""

from __future__ import annotations

from codex_wizard.core.progress import LoginPhase
from codex_wizard.demo import DemoScenario, DemoServer
from tests.test_tui_demo import demo_app, to_login
from tests.tui_fakes import SIZE, screen_name, text_of, wait_for


async def test_token_step_reuses_the_verified_record() -> None:
    async with DemoServer(scenario=DemoScenario(pace=0.02, logged_in=False)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            reads: list[str] = []
            read_auth = app.backend.read_auth

            async def counted(conn, path):
                reads.append(path)
                return await read_auth(conn, path)

            app.backend.read_auth = counted
            await to_login(pilot, app)
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.login.ended, timeout=10)
            assert app.state.login.phase is LoginPhase.SUCCEEDED
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
            await pilot.pause()
            assert "in 9 days" in text_of(app, "#expiry-fields")
            assert app.state.record is app.state.login.record
            assert reads == []
