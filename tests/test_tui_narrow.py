"""Issue 21, item 4: at 80×24 (a common tmux pane) every step shows its whole step bar (all six
steps, "6 Token" too once earlier steps have check marks), its primary button and ^q Quit in
the footer. The demo is walked as a person would, with keys, and each step looked at."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.screen import Screen
from textual.widgets import Button

from codex_wizard.core.progress import LoginPhase
from codex_wizard.tui.screens.base import StepScreen
from tests.test_tui_demo import PACE, demo_app
from tests.tui_fakes import screen_name, wait_for

demo_mod = pytest.importorskip("codex_wizard.demo")
DemoScenario, DemoServer = demo_mod.DemoScenario, demo_mod.DemoServer
NARROW = (80, 24)


def visible(screen: Screen, region: Region) -> bool:
    return region.area > 0 and screen.region.contains_region(region)


def check_step(app, seen: dict[str, str]) -> None:
    """What a person must see on the step on show at 80×24 (recorded by the screen's name)."""
    screen = app.screen
    if not isinstance(screen, StepScreen) or not screen.is_mounted or not screen.children:
        return
    bar = screen.query_one("#steps")
    shown = bar.render()
    assert shown.cell_len <= bar.content_size.width, shown.plain  # nothing cut off
    assert "6 Token" in shown.plain, shown.plain
    nxt = screen.query_one("#next", Button)
    assert visible(screen, nxt.region), (type(screen).__name__, nxt.region)
    quits = [key for key in screen.query("FooterKey") if key.action == "quit"]
    assert quits and visible(screen, quits[0].region), type(screen).__name__
    for key in screen.query("FooterKey"):  # every key shown is whole, none cut at the edge
        assert key.region.area == 0 or visible(screen, key.region), key.description
    seen[type(screen).__name__] = shown.plain


async def test_every_step_fits_80x24():
    seen: dict[str, str] = {}

    async def until(pilot, app, condition, timeout: float = 10) -> None:
        def looked() -> bool:
            check_step(app, seen)
            return condition()

        await wait_for(pilot, looked, timeout)
        await pilot.pause()
        check_step(app, seen)

    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=NARROW) as pilot:
            next_ready = lambda: not app.screen.query_one("#next", Button).disabled  # noqa: E731
            await until(pilot, app, lambda: screen_name(app) == "HostScreen")
            await pilot.press("enter")
            await until(pilot, app, lambda: screen_name(app) == "InstallScreen" and next_ready())
            await pilot.press("n")
            await until(pilot, app, lambda: screen_name(app) == "TunnelScreen" and next_ready())
            await pilot.press("n")
            await until(pilot, app, lambda: app.state.login.phase is LoginPhase.WAITING)
            await pilot.press("s")
            await until(pilot, app, lambda: app.state.login.phase is LoginPhase.SUCCEEDED)
            await pilot.press("n")
            await until(pilot, app, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
    steps = ["HostScreen", "InstallScreen", "TunnelScreen", "LoginScreen", "ExpiryScreen"]
    assert set(steps) <= set(seen), seen
    assert "✓ 5" in seen["ExpiryScreen"] and "● 6 Token" in seen["ExpiryScreen"]
