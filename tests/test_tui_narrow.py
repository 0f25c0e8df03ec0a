"""Issue 21, item 4: at 80×24 (a common tmux pane) every step shows its whole step bar (all six
steps, "6 Token" too once earlier steps have check marks), its primary button and ^q Quit in
the footer. The demo is walked as a person would, with keys, and each step looked at."""

from __future__ import annotations

import asyncio

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


def check_step(app, seen: dict[str, str], whole_keys: bool = True) -> None:
    """What a person must see on the step on show at 80×24 (recorded by the screen's name);
    with whole_keys, every key in the footer is whole too (none cut off at the edge)."""
    screen = app.screen
    if not isinstance(screen, StepScreen) or not screen.is_mounted or not screen.children:
        return
    bar = screen.query_one("#steps")
    shown = bar.render()
    assert shown.cell_len <= bar.content_size.width, shown.plain  # nothing cut off
    assert "6 Token" in shown.plain, shown.plain
    primary = screen.query_one("#next", Button)
    if not primary.display:  # the choice of ways in: its recommended way is the primary
        primary = next(b for b in screen.query(Button) if b.variant == "primary" and b.display)
    assert visible(screen, primary.region), (type(screen).__name__, primary.region)
    quits = [key for key in screen.query("FooterKey") if key.action == "quit"]
    assert quits and visible(screen, quits[0].region), type(screen).__name__
    for key in screen.query("FooterKey") if whole_keys else ():
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


async def test_connect_step_fits_80x24():
    from tests.tui_fakes import ADA, fake_backend, make_app

    backend, _ = fake_backend()
    never = asyncio.Event()

    async def connect(target, settings):
        await never.wait()  # the connect step stays on show

    backend.connect = connect
    seen: dict[str, str] = {}
    app = make_app(backend, initial_target=ADA)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "ConnectScreen")
        await pilot.pause()
        check_step(app, seen)
    assert "✓ 1" in seen["ConnectScreen"] and "6 Token" in seen["ConnectScreen"]


async def test_the_other_ways_in_fit_80x24():
    seen: dict[str, str] = {}
    scenario = DemoScenario(pace=PACE, forwarding_refused=True)
    async with DemoServer(scenario=scenario) as demo:
        app = demo_app(demo)
        async with app.run_test(size=NARROW) as pilot:
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
            await pilot.press("n")
            await wait_for(pilot, lambda: app.state.forwarding is not None)
            await pilot.pause()
            check_step(app, seen)
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
            await pilot.pause()
            check_step(app, seen)
            await pilot.press("r")
            await wait_for(pilot, lambda: screen_name(app) == "RelayScreen")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=10)
            await pilot.pause()
            check_step(app, seen, whole_keys=False)  # Quit docks right; not all its keys fit
    assert {"TunnelScreen", "WaysInScreen", "RelayScreen"} <= set(seen), seen
