"""Issue 21, item 4: at 80×24 (a common tmux pane) every step shows its whole step bar (all six
steps, "6 Token" too once earlier steps have check marks), its primary button and ^q Quit in
the footer. The demo is walked as a person would, with keys, and each step looked at: every Tab
stop shows that it has the focus, PageDown scrolls the step with a button focused, and a step
shows one scrollbar, not a list scrolling inside a scrolling body."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from textual.containers import ScrollableContainer
from textual.geometry import Region
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.widget import Widget
from textual.widgets import Button, Log

from codex_wizard.core.progress import LoginPhase
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.tui.app import WizardApp
from codex_wizard.tui.screens.base import StepScreen
from tests.test_tui_demo import PACE, demo_app, to_checked_tunnel, to_login
from tests.tui_fakes import screen_name, settled, wait_for

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


def looks(widget: Widget) -> list:
    """What the widget shows: its lines' text and styles."""
    lines = widget.render_lines(Region(0, 0, *widget.size))
    return [[(segment.text, segment.style) for segment in line] for line in lines]


async def check_tab_stops(pilot, screen: Screen, shown: dict[str, list[str]]) -> None:
    """Each widget Tab stops at on this step looks different while it has the focus (a Tab
    stop that shows nothing leaves a person lost); the focus is given back afterwards."""
    before = screen.focused
    stops = list(screen.focus_chain)
    for widget in stops:
        screen.set_focus(None)
        await pilot.pause()
        unfocused = looks(widget)
        screen.set_focus(widget)
        await pilot.pause()
        assert looks(widget) != unfocused, f"{type(screen).__name__}: {widget} shows no focus"
    screen.set_focus(before)
    await pilot.pause()
    shown[type(screen).__name__] = [str(widget) for widget in stops]


def scrollbars(screen: Screen, vertical_only: bool = False) -> list[str]:
    """The scrollbars on show: each scrolling widget's, vertical and horizontal."""
    bars = []
    for widget in screen.query("*"):
        if isinstance(widget, ScrollView | ScrollableContainer) and widget.display:
            if widget.show_vertical_scrollbar:
                bars.append(f"{widget} vertical")
            if widget.show_horizontal_scrollbar and not vertical_only:
                bars.append(f"{widget} horizontal")
    return bars


async def test_every_step_fits_80x24():
    seen: dict[str, str] = {}
    stops: dict[str, list[str]] = {}

    async def until(pilot, app, condition, timeout: float = 10) -> None:
        def looked() -> bool:
            check_step(app, seen)
            return condition()

        await wait_for(pilot, looked, timeout)
        await pilot.pause()
        check_step(app, seen)
        await check_tab_stops(pilot, app.screen, stops)

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
    assert set(steps) <= set(stops) and all(stops.values()), stops


async def test_page_down_scrolls_the_step_while_a_button_has_the_focus():
    """Waiting for the sign-in at 80×24, a button has the focus and the step (the wrapped URL,
    its buttons, codex's lines) is taller than the screen: PageDown shows what was below (the
    body scrolls), PageUp goes back."""
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=NARROW) as pilot:
            await to_login(pilot, app)
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
            await pilot.press("tab")
            await wait_for(pilot, lambda: isinstance(app.screen.focused, Button))
            await pilot.pause()
            body = app.screen.query_one("#body")
            assert isinstance(app.screen.focused, Button), app.screen.focused
            assert body.max_scroll_y > 0 and body.scroll_y == 0
            history = app.screen.query_one("#login-history")
            assert not visible(app.screen, history.region)  # below the fold
            await pilot.press("pagedown")
            await wait_for(pilot, lambda: body.scroll_y > 0)
            await pilot.pause()
            assert visible(app.screen, history.region) or body.scroll_y == body.max_scroll_y
            assert isinstance(app.screen.focused, Button)
            await pilot.press("pageup")
            await wait_for(pilot, lambda: body.scroll_y == 0)


async def test_one_scrollbar_for_a_long_host_list_and_a_running_install():
    """Thirty hosts at 80×24: the list scrolls, the step around it does not (one scrollbar, the
    list's), and the field to type a host stays in view. Installing codex: npm's lines grow
    inside the step, which follows them; again one vertical scrollbar."""
    scenario = DemoScenario(pace=PACE, codex_installed=False)
    async with DemoServer(scenario=scenario) as demo:
        hosts = [demo.target, *(HostTarget(f"web{n}.example") for n in range(30))]
        app = WizardApp(
            settings=demo.settings, hosts=hosts, local_port_for=demo.local_port_for, demo=demo
        )
        async with app.run_test(size=NARROW) as pilot:
            await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
            await pilot.pause()
            screen = app.screen
            assert scrollbars(screen) == ["DataTable(id='hosts') vertical"], scrollbars(screen)
            assert visible(screen, screen.query_one("#host-input").region)
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
            await pilot.press("i")
            log = app.screen.query_one("#install-log", Log)
            await wait_for(pilot, lambda: "[codex-wizard] done." in "\n".join(log.lines))
            await pilot.pause()
            bars = scrollbars(app.screen, vertical_only=True)
            assert len(bars) <= 1 and "install-log" not in str(bars), bars
            body = app.screen.query_one("#body").region
            assert log.content_region.bottom <= body.bottom  # its last line is in view


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


@contextlib.asynccontextmanager
async def at_refused_tunnel() -> AsyncIterator[tuple[Any, WizardApp]]:
    """The demo at 80×24, walked to the tunnel step of a server that refuses forwarding."""
    async with DemoServer(scenario=DemoScenario(pace=PACE, forwarding_refused=True)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=NARROW) as pilot:
            await to_checked_tunnel(pilot, app)
            yield pilot, app


async def test_the_other_ways_in_fit_80x24():
    seen: dict[str, str] = {}
    async with at_refused_tunnel() as (pilot, app):
        check_step(app, seen)
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
        await pilot.pause()
        check_step(app, seen)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen_name(app) == "RelayScreen")
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=10)
        await wait_for(pilot, lambda: not app.screen.query_one("#paste").disabled)
        await pilot.pause()
        check_step(app, seen)
        screen = app.screen
        assert visible(screen, screen.query_one("#paste").region)  # where to paste
        assert "Paste address" in footer_text(screen), footer_text(screen)
        await pilot.press("c")  # what became of copying the URL: in view, not under the box
        note, box = screen.query_one("#copy-note"), screen.query_one("#paste-area")
        await wait_for(pilot, lambda: in_body_above(screen, note, box))
        assert "the login URL" in str(note.render())
        await pilot.press("s")  # the demo types in where the browser ended
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.SUCCEEDED)
        await pilot.pause()
        check_step(app, seen)
        status, history = screen.query_one("#login-status"), screen.query_one("#login-history")
        assert "Logged in" in str(status.render()) and visible(screen, status.region)
        assert "✓ The server holds the new ChatGPT login." in str(history.render())
        assert visible(screen, history.region), history.region
        assert visible(screen, screen.query_one("#paste-note").region)
        assert "Relayed" in str(screen.query_one("#paste-note").render())
    assert {"TunnelScreen", "WaysInScreen", "RelayScreen"} <= set(seen), seen


def in_body_above(screen: Screen, widget: Widget, docked: Widget) -> bool:
    """widget is in view in the step's body, not under the widget docked at its foot."""
    body = screen.query_one("#body").region
    return body.contains_region(widget.region) and not widget.region.overlaps(docked.region)


def footer_text(screen: Screen) -> str:
    """The footer's keys a person sees: those on show, left to right."""
    keys = [key for key in screen.query("FooterKey") if key.region.area and key.display]
    return "  ".join(f"{key.key_display} {key.description}" for key in sorted(keys, key=_x))


def _x(widget: Widget) -> int:
    return widget.region.x


@pytest.mark.parametrize(("key", "name"), [("d", "DeviceScreen"), ("p", "PushScreen")])
async def test_device_code_and_push_fit_80x24(key: str, name: str):
    """The two other ways in at 80×24: step bar, primary button and every footer key whole
    (the push step's 'w Other ways in' lay under ^q Quit)."""
    seen: dict[str, str] = {}
    async with at_refused_tunnel() as (pilot, app):
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
        await pilot.press(key)
        await wait_for(pilot, lambda: screen_name(app) == name)
        await settled(pilot, app)
        check_step(app, seen)
        assert "Other ways in" in footer_text(app.screen), footer_text(app.screen)
    assert name in seen


async def test_page_down_scrolls_a_problem_screen_with_its_button_focused():
    """The changed host key refusal at 80×24 is taller than the screen, and 'Choose another
    host' has the focus: PageDown shows the rest of what to do."""
    from tests.test_tui_snapshots import HOST_KEY, HostKeyChanged
    from tests.tui_fakes import ADA, fake_backend, make_app

    backend, _ = fake_backend(connect_error=HostKeyChanged(HOST_KEY))
    app = make_app(backend, initial_target=ADA)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "HostKeyChangedScreen")
        await pilot.pause()
        text = app.screen.query_one("#problem")
        assert isinstance(app.screen.focused, Button) and text.max_scroll_y > 0
        assert not text.focusable  # no Tab stop that shows nothing
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: text.scroll_y == text.max_scroll_y)


async def test_a_verified_login_shows_its_outcome_and_expiry_at_once_not_the_spent_url():
    """Issue 21, item 2: once the sign-in is verified the tunnel's step says so with the access
    token's expiry, in view at 80×24 with no key pressed, and the spent URL, its buttons and
    their keys are gone."""
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=NARROW) as pilot:
            await to_login(pilot, app)
            screen = app.screen
            assert screen.query_one("#url").display and "c" in footer_text(screen)
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.SUCCEEDED)
            await pilot.pause()
            status = screen.query_one("#login-status")
            said = str(status.render())
            assert said.startswith("✓ Logged in on ") and "Access token expires" in said, said
            assert visible(screen, status.region)
            for part in ("#url-label", "#url", "#url-actions"):
                assert not screen.query_one(part).display, part
            assert "Copy" not in footer_text(screen), footer_text(screen)
