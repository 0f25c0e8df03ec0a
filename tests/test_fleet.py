"""Many servers in one go (issue 11 item 6): `login web1 web2 web3` logs each in turn, prints a
table of outcomes, exits 0 only if all succeeded, and stops cleanly on Ctrl-C. The CLI runs
in-process against the demo server (three ssh_config aliases of it), no root needed."""

from __future__ import annotations

import asyncio

from codex_wizard.cli.login import login_command
from codex_wizard.cli.main import parse_args
from codex_wizard.core.fleet import FleetRun, HostOutcome, Outcome
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.demo import DemoServer
from codex_wizard.demo.scenario import DemoScenario
from codex_wizard.errors import EXIT_ATTENTION, EXIT_INTERRUPTED, EXIT_OK

FAST = 0.02
LIMIT = 30.0
HOSTS = ("web1", "web2", "web3")
URL_PREFIX = "https://auth.openai.com/oauth/authorize?"


# ------------------------------------------------------------------ the core's record


def test_fleet_run_walks_each_host_once_in_order() -> None:
    web1, web2 = HostTarget("web1"), HostTarget("web2")
    fleet = FleetRun([web1, web2, web1])
    assert fleet.targets == [web1, web2] and len(fleet) == 2
    assert fleet.next_after(None) == web1
    fleet.record(HostOutcome.failed(web1, "no route\x1b]52;c;x\x07"))
    assert fleet.next_after(web1) == web2 and fleet.position(web2) == 2
    fleet.record(HostOutcome.logged_in(web2, None))
    assert fleet.next_after(web2) is None
    assert not fleet.all_logged_in and fleet.summary() == "1 of 2 logged in"
    assert "\x1b" not in "\n".join(fleet.table())


def test_stopping_cancels_the_host_under_way_and_skips_the_rest() -> None:
    targets = [HostTarget(name) for name in HOSTS]
    fleet = FleetRun(targets)
    fleet.record(HostOutcome.logged_in(targets[0], None))
    fleet.stop(targets[1])
    assert [r.outcome for r in fleet.results()] == [
        Outcome.LOGGED_IN,
        Outcome.CANCELLED,
        Outcome.NOT_RUN,
    ]


# ------------------------------------------------------------------ the CLI, against the demo


def fleet_config(demo: DemoServer) -> str:
    """The demo's ssh_config with three aliases of its one server."""
    path = demo.settings.ssh_config
    assert path is not None
    text = path.read_text().replace("Host demo\n", f"Host {' '.join(HOSTS)}\n")
    path.write_text(text)
    return str(path)


class Browser:
    """Signs in with each new URL the CLI prints; `stale` hosts' turn gets an old URL's answer."""

    def __init__(self, demo: DemoServer, capsys, *, stale: int | None = None) -> None:
        self.demo, self.capsys, self.stale = demo, capsys, stale
        self.out = ""
        self.answers: list[int] = []

    async def run(self, stop_after: int | None = None) -> None:
        seen = 0
        while stop_after is None or seen < stop_after:
            self.out += self.capsys.readouterr().out
            urls = [line for line in self.out.splitlines() if line.startswith(URL_PREFIX)]
            for url in urls[seen:]:
                seen += 1
                status = await self.demo.simulate_browser(
                    url,
                    local_port=self.demo.local_port_for(1455),
                    wrong_state=seen == self.stale,
                )
                self.answers.append(status)
            await asyncio.sleep(0.02)


async def run_fleet(demo, capsys, *argv: str, stale: int | None = None) -> tuple[int, str]:
    args = parse_args(["login", *HOSTS, "--no-tui", "-F", fleet_config(demo), *argv])
    browser = Browser(demo, capsys, stale=stale)
    user = asyncio.create_task(browser.run())
    try:
        async with asyncio.timeout(LIMIT):
            code = await login_command(args, local_port_for=demo.local_port_for)
    finally:
        user.cancel()
        browser.out += capsys.readouterr().out
        print(browser.out)
    return code, browser.out


def table_rows(out: str) -> dict[str, str]:
    rows = out.split(" logged in:\n", 1)[1].splitlines()[1:]
    return {row.split()[0]: row for row in rows}


async def test_three_hosts_each_logged_in_in_turn(capsys) -> None:
    async with DemoServer(scenario=DemoScenario(pace=FAST, logged_in=False)) as demo:
        code, out = await run_fleet(demo, capsys, "--timeout", "20")
    assert code == EXIT_OK
    assert out.count(URL_PREFIX) == 3  # a URL, so a login of its own, for each host
    assert "[1/3] web1" in out and "[3/3] web3" in out
    assert "3 of 3 logged in:" in out
    assert all("logged in" in row for row in table_rows(out).values())


async def test_one_host_failing_on_a_stale_url_shows_in_the_table(capsys) -> None:
    async with DemoServer(scenario=DemoScenario(pace=FAST, logged_in=False)) as demo:
        code, out = await run_fleet(demo, capsys, "--timeout", "3", stale=2)
        assert not any(holder[0] == "codex" for holder in demo.machine.listeners.values())
    assert code == EXIT_ATTENTION
    rows = table_rows(out)
    assert "2 of 3 logged in:" in out
    assert "logged in" in rows["web1"] and "logged in" in rows["web3"]
    assert "failed" in rows["web2"] and "State mismatch" in rows["web2"]


async def test_ctrl_c_during_a_host_stops_cleanly_and_prints_the_table(capsys) -> None:
    async with DemoServer(scenario=DemoScenario(pace=FAST, logged_in=False)) as demo:
        args = parse_args(["login", *HOSTS, "--no-tui", "-F", fleet_config(demo)])
        browser = Browser(demo, capsys)
        login = asyncio.create_task(login_command(args, local_port_for=demo.local_port_for))
        async with asyncio.timeout(LIMIT):
            await browser.run(stop_after=1)  # web1 signs in; web2 then waits for its browser
            while browser.out.count(URL_PREFIX) < 2:
                browser.out += capsys.readouterr().out
                await asyncio.sleep(0.02)
            login.cancel()  # what asyncio.run does on Ctrl-C
            code = await login
        assert not any(holder[0] == "codex" for holder in demo.machine.listeners.values())
    out = browser.out + capsys.readouterr().out
    assert code == EXIT_INTERRUPTED
    rows = table_rows(out)
    assert "logged in" in rows["web1"]
    assert "cancelled" in rows["web2"] and "not run" in rows["web3"]


def test_several_hosts_parse_and_one_keeps_its_host() -> None:
    args = parse_args(["login", "web1", "web2", "--open"])
    assert args.hosts == ["web1", "web2"] and args.host == "web1" and args.open
    assert parse_args(["login", "web1"]).host == "web1"


def test_a_bad_host_stops_before_any_login(capsys) -> None:
    from codex_wizard.cli.main import main

    code = main(["login", "web1", "bad host;rm", "--no-tui", "-F", "/dev/null"])
    assert code == 2
    assert "Connecting" not in capsys.readouterr().out
