"""The wizard's standalone install and test prompt against the in-process DemoServer (the real
core; the server's scripts and `codex exec` simulated). Fast, no root: the lab twins are in
tests/test_standalone_wizard.py."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from textual.widgets import Button

from codex_wizard.core.progress import LoginPhase
from codex_wizard.core.sanitize import printable
from tests.test_tui_demo import PACE, demo_app
from tests.tui_fakes import SIZE, screen_name, text_of, wait_for

demo_mod = pytest.importorskip("codex_wizard.demo")
DemoScenario, DemoServer = demo_mod.DemoScenario, demo_mod.DemoServer
NO_NODE = DemoScenario(pace=PACE, codex_installed=False, node_version="", logged_in=False)


async def at_install(pilot, app) -> None:
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
    await pilot.pause()


async def at_test_prompt_question(pilot, app) -> None:
    """From the host list to the token step, p pressed: the quota question on show."""
    await at_install(pilot, app)
    await pilot.press("t")
    await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
    await pilot.press("p")
    await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")


async def test_no_node_offers_standalone_installs_it_and_reaches_the_login_url():
    async with DemoServer(scenario=NO_NODE) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await at_install(pilot, app)
            assert "because Node.js is not installed" in text_of(app, "#standalone-offer")
            assert app.screen.query_one("#install", Button).disabled  # no npm
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.probe.codex.works, timeout=10)
            await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
            status = text_of(app, "#standalone-status")
            assert "codex 0.169.0 installed (downloaded by the server)" in status
            assert "/home/demo/.local/lib/codex-standalone/0.169.0-linux-x64/bin/codex" in status
            assert "add to ~/.bashrc" in status  # ~/.local/bin is not on the plain PATH
            checklist = text_of(app, "#checklist")
            assert "not needed" in checklist and "codex 0.169.0" in checklist
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
            await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
            await pilot.press("n")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=10)
            assert app.state.login.url.startswith("https://auth.openai.com/oauth/authorize?")


async def test_standalone_cancel_leaves_nothing_and_can_start_again():
    async with DemoServer(scenario=replace(NO_NODE, pace=0.5)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await at_install(pilot, app)
            await pilot.press("s")
            await wait_for(pilot, lambda: "downloading on the server:" in status_of(app), 10)
            assert app.screen.query_one("#standalone-cancel", Button).display
            await pilot.press("c")
            await wait_for(pilot, lambda: "Cancelled: nothing was installed" in status_of(app))
            assert not demo.machine.codex_installed
            assert not app.screen.query_one("#standalone-cancel", Button).display
            assert not app.screen.query_one("#standalone", Button).disabled
            await wait_for(pilot, lambda: no_script_runs(demo))  # killed on the server
            assert not demo.machine.codex_installed


def status_of(app) -> str:
    return text_of(app, "#standalone-status")


def no_script_runs(demo) -> bool:
    """The simulated server runs no process any more: the install script was killed (a killed
    script never finishes its install), not left to run on."""
    return not demo._procs


async def test_standalone_is_offered_on_request_when_npm_works():
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await at_install(pilot, app)
            assert "Or install the standalone codex (s)" in text_of(app, "#standalone-offer")


@pytest.mark.parametrize(
    ("knob", "words"),
    [
        ("reply", "✓ codex answered: OK"),
        ("refresh_used", "Press l to log in again here."),
        ("usage_limit", "usage limit is reached"),
    ],
)
async def test_test_prompt_says_quota_first_then_the_outcome(knob: str, words: str):
    async with DemoServer(scenario=DemoScenario(pace=PACE, live_check=knob)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await at_test_prompt_question(pilot, app)
            first = app.state.record  # read on the token step; read again after the check
            assert "uses a little of the plan's quota" in printable(
                str(app.screen.query_one("#dialog-body").render())
            )
            await pilot.press("y")
            await wait_for(pilot, lambda: words in text_of(app, "#live-note"), timeout=10)
            # auth.json is read again afterwards (codex may have renewed the token)
            await wait_for(pilot, lambda: app.state.record is not first and app.state.record)


async def test_test_prompt_declined_sends_nothing():
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await at_test_prompt_question(pilot, app)
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen")
            await pilot.pause()
            assert text_of(app, "#live-note") == ""
            assert not app.screen.query_one("#live-check", Button).disabled


async def test_test_prompt_from_a_hostile_server_is_shown_printable():
    async with DemoServer(scenario=DemoScenario(pace=PACE, hostile=True)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await at_test_prompt_question(pilot, app)
            await pilot.press("y")
            await wait_for(pilot, lambda: "codex answered: OK" in text_of(app, "#live-note"), 10)
            note = text_of(app, "#live-note")
            assert not any(ch in note for ch in "\x1b\x07\x9b\x9d\u202e")


async def test_back_mid_install_stops_it_on_the_server():
    async with DemoServer(scenario=replace(NO_NODE, pace=0.5)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await at_install(pilot, app)
            await pilot.press("s")
            await wait_for(pilot, lambda: "downloading on the server:" in status_of(app), 10)
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
            await wait_for(pilot, lambda: no_script_runs(demo))  # killed on the server
            assert not demo.machine.codex_installed


async def test_leaving_the_token_step_mid_test_prompt_is_quiet():
    """Esc while codex exec runs: the check is cancelled with the screen, and no error screen
    comes up about the panel's widgets being gone."""
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = demo_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            started, cancelled = asyncio.Event(), asyncio.Event()

            async def never_answers(conn, env):
                started.set()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    cancelled.set()
                    raise

            app.backend.live_check = never_answers
            await at_test_prompt_question(pilot, app)
            await pilot.press("y")
            await wait_for(pilot, started.is_set)
            await pilot.press("escape")
            await wait_for(pilot, cancelled.is_set)
            await wait_for(pilot, lambda: screen_name(app) != "ExpiryScreen")
            assert screen_name(app) not in ("ErrorScreen", "ExpiryScreen")
