"""The wizard's host list with --inventory (issue 23): the inventory's hosts and its groups, as
real Ansible reads them; choosing a group marks exactly its hosts (children and host ranges as
Ansible counts them), space changes the marked set host by host, and the fleet's actions (r
re-checks, Connect logs in) take exactly the marked set. Driven with Pilot key presses, at
80x24 and on a large terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from codex_wizard.cli.main import _plain_login_instead, parse_args
from codex_wizard.core.fleet import Outcome
from codex_wizard.core.logins.status import HostStatus
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.inventory import Inventory, InventoryRequest, read_inventory
from codex_wizard.core.tokens.state import TokenState
from codex_wizard.demo import DemoServer
from codex_wizard.demo.scenario import DemoScenario
from codex_wizard.tui.app import WizardApp
from codex_wizard.tui.run import wizard_for
from tests.test_fleet import fleet_config
from tests.test_fleet_wizard import PACE, sign_in_to_token_step
from tests.tui_fakes import fake_backend, make_app, record, screen_name, text_of, wait_for

SIZES = [(80, 24), (160, 50)]


def write_inventory(tmp: Path) -> Path:
    """web1..web3 in groups: `prod` has web and db as children, `edge` is a host range, `lab`
    holds only a host not reached over SSH (so it is no group to mark)."""
    inventory = tmp / "inv.ini"
    inventory.write_text(
        "[web]\nweb1\nweb2\n"
        "[db]\nweb3\n"
        "[prod:children]\nweb\ndb\n"
        "[edge]\nweb[2:3]\n"
        "[lab]\nhere ansible_connection=local\n"
    )
    return inventory


async def inventory_of(path: Path) -> Inventory:
    return await read_inventory(InventoryRequest((path,)), lambda name, why: None)


def labelled(target: HostTarget | None) -> str | None:
    return target.label() if target is not None else None


def names(targets) -> set[str]:
    return {target.label() for target in targets}


def row_names(app: WizardApp) -> list[str]:
    """The host list's rows: `[group]` for a group, then the hosts' labels."""
    return [f"[{row}]" if isinstance(row, str) else row.label() for row in app.screen.rows]


async def choose_row(pilot, app: WizardApp, row: str, key: str) -> None:
    """Move the cursor to a row (`[group]` or a host) with the arrow keys, then press key."""
    table = app.screen.query_one("#hosts", DataTable)
    down = row_names(app).index(row)
    await pilot.press(*["up"] * table.cursor_row, *["down"] * down, key)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
async def test_a_group_marks_exactly_its_hosts_and_recheck_takes_them(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    inventory = await inventory_of(write_inventory(tmp_path))
    statuses = {name: HostStatus(name, TokenState.OK, record()) for name in HOSTS}
    backend, calls = fake_backend(statuses=statuses)
    app = make_app(backend, hosts=None, inventory=inventory, check_statuses=True)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
        screen = app.screen
        rows = row_names(app)  # the groups, then the hosts in Ansible's order
        assert rows[:4] == ["[web]", "[db]", "[prod]", "[edge]"]
        assert sorted(rows[4:]) == list(HOSTS)
        table = screen.query_one("#hosts", DataTable)
        assert str(table.get_cell("group prod", "token")) == "3 hosts"
        await wait_for(pilot, lambda: sorted(calls.status) == sorted(HOSTS))

        for group, hosts in [
            ("prod", HOSTS),
            ("web", ("web1", "web2")),
            ("edge", ("web2", "web3")),
        ]:
            await choose_row(pilot, app, f"[{group}]", "enter")
            assert names(screen.marked) == set(hosts), group
            assert str(table.get_cell(f"group {group}", "host")) == f"✓ [{group}]"
            assert f"{len(hosts)} marked" in text_of(app, "#nav-note")
        await choose_row(pilot, app, "web2", "space")  # edge less web2 is db: it shows so
        assert names(screen.marked) == {"web3"}
        assert str(table.get_cell("group db", "host")) == "✓ [db]"
        await choose_row(pilot, app, "web1", "space")
        assert names(screen.marked) == {"web1", "web3"}
        assert str(table.get_cell("group db", "host")) == "[db]"

        checked = len(calls.status)
        await pilot.press("r")  # re-checks the marked hosts, and only them
        await wait_for(pilot, lambda: not any(w.is_running for w in screen.workers))
        assert sorted(calls.status[checked:]) == ["web1", "web3"]

        await choose_row(pilot, app, "[prod]", "n")  # Connect: the marked hosts, not the group
        await wait_for(pilot, lambda: app.state.fleet is not None)
        in_order = [host for host in rows[4:] if host in ("web1", "web3")]  # the list's order
        assert [target.label() for target in app.state.fleet.targets] == in_order
        assert labelled(app.state.target) == in_order[0]


async def test_the_marked_group_is_logged_in_host_after_host(tmp_path: Path) -> None:
    """The demo server under web1..web3 (ssh_config aliases): group web marked, Connect logs in
    exactly web1 and web2, each with a login of its own."""
    inventory = await inventory_of(write_inventory(tmp_path))
    async with DemoServer(scenario=DemoScenario(pace=PACE, logged_in=False)) as demo:
        fleet_config(demo)
        app = WizardApp(
            settings=demo.settings,
            inventory=inventory,
            local_port_for=demo.local_port_for,
            demo=demo,
            check_statuses=False,
        )
        async with app.run_test(size=SIZES[0]) as pilot:
            await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
            await choose_row(pilot, app, "[web]", "enter")
            first, second = [host for host in row_names(app) if host in ("web1", "web2")]
            await pilot.press("n")  # Connect
            await wait_for(pilot, lambda: labelled(app.state.target) == first)
            await sign_in_to_token_step(pilot, app)
            await pilot.press("n")  # next host
            await wait_for(pilot, lambda: labelled(app.state.target) == second)
            await sign_in_to_token_step(pilot, app)
            fleet = app.state.fleet
            await pilot.press("n")  # Finish
            await wait_for(pilot, lambda: app.return_code is not None)
    assert fleet is not None
    assert [(r.target.label(), r.outcome) for r in fleet.results()] == [
        (first, Outcome.LOGGED_IN),
        (second, Outcome.LOGGED_IN),
    ]


HOSTS = ("web1", "web2", "web3")


def test_the_wizard_lists_the_hosts_of_its_pattern(tmp_path: Path) -> None:
    """`codex-wizard --inventory INV edge --limit '!web2'`: the list holds the hosts Ansible
    chooses, with the groups they are in, and no host is connected to at start."""
    args = parse_args(["--inventory", str(write_inventory(tmp_path)), "edge", "--limit", "!web2"])
    app = wizard_for(args)
    assert app.initial_target is None
    assert names(target for target, _ in app.host_list.entries()) == {"web3"}
    groups = {name: names(hosts) for name, hosts in app.host_list.groups()}
    assert groups == {"db": {"web3"}, "prod": {"web3"}, "edge": {"web3"}}


def test_a_dumb_terminal_logs_the_patterns_hosts_in_on_the_plain_terminal(tmp_path: Path) -> None:
    """TERM=dumb: no wizard; `codex-wizard --inventory INV web` becomes `login --inventory INV
    web --no-tui`, the pattern's hosts, never a host named `web`."""
    inventory = str(write_inventory(tmp_path))
    plain = _plain_login_instead(parse_args(["--inventory", inventory, "web", "--limit", "web1"]))
    assert (plain.command, plain.no_tui, plain.hosts) == ("login", True, ["web"])
    assert (plain.inventory, plain.limit) == ([Path(inventory)], "web1")
