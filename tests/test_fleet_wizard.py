"""Several hosts in the wizard (issue 11 item 6): the host list marks them (space), Connect logs
the first in, the token step's Next goes on to the next marked host, and the last one's Finish
ends with every host's outcome. Driven with Pilot key presses against the demo server."""

from __future__ import annotations

from textual.widgets import Button

from codex_wizard.core.fleet import Outcome
from codex_wizard.core.progress import LoginPhase
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.demo import DemoServer
from codex_wizard.demo.scenario import DemoScenario
from codex_wizard.tui.app import WizardApp
from tests.test_fleet import fleet_config
from tests.tui_fakes import SIZE, screen_name, text_of, wait_for

PACE = 0.02
MARKED = [HostTarget("web1"), HostTarget("web3")]


async def next_when_ready(pilot, app: WizardApp, screen: str) -> None:
    await wait_for(pilot, lambda: screen_name(app) == screen)
    await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
    await pilot.press("n")


async def sign_in_to_token_step(pilot, app: WizardApp) -> None:
    """From the host's connection to its token step (Next on install and tunnel, then sign in)."""
    await next_when_ready(pilot, app, "InstallScreen")
    await next_when_ready(pilot, app, "TunnelScreen")
    await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=10)
    await pilot.press("s")  # the demo's browser signs in
    await wait_for(pilot, lambda: app.state.login.ended, timeout=10)
    assert app.state.login.phase is LoginPhase.SUCCEEDED
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)


def fleet_app(demo: DemoServer) -> WizardApp:
    """The wizard on three ssh_config aliases of the demo server: web1, web2, web3."""
    fleet_config(demo)
    return WizardApp(
        settings=demo.settings,
        hosts=[HostTarget(name) for name in ("web1", "web2", "web3")],
        local_port_for=demo.local_port_for,
        demo=demo,
        check_statuses=False,
    )


async def test_marked_hosts_are_logged_in_one_after_another() -> None:
    async with DemoServer(scenario=DemoScenario(pace=PACE, logged_in=False)) as demo:
        app = fleet_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("space", "down", "down", "space")  # mark web1 and web3
            assert app.screen.marked == set(MARKED)
            assert "2 marked" in text_of(app, "#nav-note")
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.state.target == MARKED[0])
            await sign_in_to_token_step(pilot, app)
            assert "Next host: web3" in str(app.screen.query_one("#next", Button).label)
            assert "host 1 of 2" in text_of(app, "#nav-note")
            await pilot.press("n")  # on to web3: a login of its own
            await wait_for(pilot, lambda: app.state.target == MARKED[1])
            await sign_in_to_token_step(pilot, app)
            assert "Finish" in str(app.screen.query_one("#next", Button).label)
            fleet = app.state.fleet
            await pilot.press("n")
            await wait_for(pilot, lambda: app.return_code is not None)
    assert fleet is not None
    assert [r.outcome for r in fleet.results()] == [Outcome.LOGGED_IN, Outcome.LOGGED_IN]
    assert fleet.report()[0] == "2 of 2 logged in:"


async def test_one_host_chosen_is_no_fleet() -> None:
    async with DemoServer(scenario=DemoScenario(pace=PACE, logged_in=False)) as demo:
        app = WizardApp(
            settings=demo.settings,
            hosts=[demo.target],
            local_port_for=demo.local_port_for,
            demo=demo,
            check_statuses=False,
        )
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("space", "space")  # marked, then unmarked
            assert not app.screen.marked
            await pilot.press("enter")
            await sign_in_to_token_step(pilot, app)
            assert app.state.fleet is None
            assert "Finish" in str(app.screen.query_one("#next", Button).label)


async def test_back_to_the_list_mid_run_keeps_the_rest_marked_and_the_outcomes() -> None:
    """web1 is logged in already (its token step, then Next host); web2 is left at its install
    step (Back: skipped); the list still marks web3, and the end counts all three."""
    async with DemoServer(scenario=DemoScenario(pace=PACE)) as demo:
        app = fleet_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("space", "down", "space", "down", "space", "enter")
            await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
            await pilot.press("t")  # logged in already: straight to its token
            await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
            await pilot.press("n")  # Next host: web2
            await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
            assert app.state.target == HostTarget("web2")
            await pilot.press("escape")  # back to the list
            await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
            await pilot.pause()
            assert app.screen.marked == {HostTarget("web3")}
            assert "1 marked" in text_of(app, "#nav-note")
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.state.target == HostTarget("web3"))
            await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
            await pilot.press("t")
            await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
            assert "Finish" in str(app.screen.query_one("#next", Button).label)
            fleet = app.state.fleet
            await pilot.press("n")
            await wait_for(pilot, lambda: app.return_code is not None)
    assert fleet is not None
    outcomes = {r.target.name: (r.outcome, r.detail) for r in fleet.results()}
    assert outcomes["web1"][0] is Outcome.LOGGED_IN
    assert outcomes["web2"] == (Outcome.NOT_RUN, "skipped")
    assert outcomes["web3"][0] is Outcome.LOGGED_IN
    assert fleet.report()[0] == "2 of 3 logged in:"
