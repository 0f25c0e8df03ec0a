"""The login's progress comes down to the screens as the app's reactive `login`: a sign-in
screen under a modal keeps up (no catching up on resume), and a burst of codex's lines is
published once (coalesced), not once per line."""

from __future__ import annotations

from codex_wizard.core.progress import LoginPhase
from codex_wizard.core.server.events import OutputLine, UrlReady
from codex_wizard.tui.screens.dialogs import ConfirmDialog
from codex_wizard.tui.state import Step
from tests.tui_fakes import SIZE, URL, at_step, fake_backend, make_app, screen_name, wait_for

BURST = 30


async def signing_in(pilot, app) -> None:
    """A tunnel login started, its sign-in screen on show."""
    await at_step(pilot, app, Step.TUNNEL)
    await app.start_login()
    app.goto(Step.LOGIN)
    await wait_for(pilot, lambda: screen_name(app) == "LoginScreen")


async def test_a_sign_in_screen_under_a_modal_shows_the_login_as_it_changes():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signing_in(pilot, app)
        login_screen = app.screen
        app.push_screen(ConfirmDialog("A question", "on top of the sign-in"))
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
        calls.sessions[-1].push(UrlReady(URL, 1455))
        await wait_for(pilot, lambda: login_screen.login.phase is LoginPhase.WAITING)
        url = login_screen.query_one("#url")
        assert URL in str(url.render())  # rendered while the dialog is still on top
        assert screen_name(app) == "ConfirmDialog"


async def test_a_burst_of_codex_lines_is_published_once():
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await signing_in(pilot, app)
        await wait_for(pilot, lambda: app.login.phase is LoginPhase.STARTING)
        seen = []
        app.screen.watch(app, "login", lambda login: seen.append(login), init=False)
        session = calls.sessions[-1]
        for number in range(BURST):
            session.push(OutputLine(f"codex line {number}"))
        session.push(UrlReady(URL, 1455))
        await wait_for(pilot, lambda: app.login.phase is LoginPhase.WAITING)
        assert app.login.lines_seen == BURST  # every line arrived...
        assert len(seen) == 1  # ...in one publication
