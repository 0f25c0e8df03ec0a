"""`q` quits the wizard, except where a person is typing: in the relay's paste box a q is a
letter of the address (Pilot at 80x24)."""

from __future__ import annotations

from textual.widgets import Input

from tests.test_tui_reconnect import _relay_typing, reconnectable
from tests.tui_fakes import fake_backend, make_app, wait_for


async def test_q_in_the_paste_box_is_typed_and_q_elsewhere_quits() -> None:
    backend, calls = fake_backend()
    reconnectable(backend, calls)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await _relay_typing(pilot, app, calls)
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running
        assert app.screen.query_one("#paste", Input).value.endswith("q")
        app.screen.set_focus(None)  # out of the box: q is the key to quit again
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_code == 1  # quit before logging in
    assert all(session.closed for session in calls.sessions)
