"""The wizard's entry points: `codex-wizard [HOST]`, `codex-wizard login HOST`, `--demo`."""

from __future__ import annotations

import argparse
import asyncio

from ..cli.targets import command_inventory
from ..core import clock
from ..core.fleet import FleetRun
from ..errors import parse_target
from ..settings import connect_settings, login_options
from ..startup import import_asyncssh_quickly
from .app import WizardApp


async def _run(app: WizardApp) -> int:
    try:
        await app.run_async()
    finally:
        await app.close_all()
    _print_fleet(app.state.fleet)
    if app.ending.line:
        print(app.ending.line)
    return app.ending.exit_code if app.return_code is None else app.return_code


def _print_fleet(fleet: FleetRun | None) -> None:
    """After marked hosts were logged in, their table stays on the terminal."""
    if fleet is not None and fleet.outcomes:
        print("\n".join(fleet.report()))


async def _run_demo(args: argparse.Namespace) -> int:
    import_asyncssh_quickly()  # the demo server runs on asyncssh
    from ..demo import DemoServer
    from ..demo.scenarios import DEFAULT, scenario_named

    named = scenario_named(args.demo if isinstance(args.demo, str) else DEFAULT)
    async with DemoServer(scenario=named.scenario) as demo:
        app = WizardApp(
            settings=named.set_up(demo, clock.now().timestamp()),
            hosts=[demo.target],
            local_port_for=demo.local_port_for,
            demo=demo,
            codex_home=getattr(args, "codex_home", None),
            friendly_errors=not getattr(args, "debug", False),
        )
        return await _run(app)


def run_wizard(args: argparse.Namespace) -> int:
    """`codex-wizard`, `codex-wizard HOST`, `codex-wizard login HOST`, `codex-wizard --demo`."""
    if getattr(args, "demo", False):
        return asyncio.run(_run_demo(args))
    app = wizard_for(args)
    return asyncio.run(_run(app))


def wizard_for(args: argparse.Namespace) -> WizardApp:
    """The wizard with every option of `codex-wizard [HOST]` and `login HOST` given to it."""
    host = getattr(args, "host", None)
    settings = connect_settings(args)
    inventory = None
    if getattr(args, "inventory", None):  # the host is a pattern: the list shows its hosts
        inventory = asyncio.run(command_inventory(args, [host] if host else []))
        host = None
    return WizardApp(
        settings=settings,
        login_options=login_options(args),
        inventory=inventory,
        initial_target=parse_target(host) if host else None,
        ssh_config=settings.ssh_config,
        codex_home=getattr(args, "codex_home", None),
        friendly_errors=not getattr(args, "debug", False),
    )
