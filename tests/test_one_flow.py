"""One login flow, two faces: the CLI commands run in-process against the demo server (no root
needed), and a login codex only claims fails the same way in the CLI and in the wizard."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from codex_wizard.cli.commands import push_auth_command
from codex_wizard.cli.login import login_command
from codex_wizard.cli.main import parse_args
from codex_wizard.core.progress import LoginPhase, LoginProgress
from codex_wizard.demo import DemoServer
from codex_wizard.demo.scenario import DemoScenario
from codex_wizard.errors import UserError
from codex_wizard.tui.app import WizardApp
from codex_wizard.tui.state import Step
from tests.tui_fakes import wait_for

FAST = 0.02
LIMIT = 30.0


def cli_args(demo: DemoServer, *argv: str):
    return parse_args([*argv, "-F", str(demo.settings.ssh_config)])


class Browser:
    """Plays the user's browser: signs in with the URL the CLI printed (stdout)."""

    def __init__(self, demo: DemoServer, capsys: pytest.CaptureFixture[str]) -> None:
        self.demo = demo
        self.capsys = capsys
        self.out = ""

    async def url(self) -> str:
        async with asyncio.timeout(LIMIT):
            while True:
                self.out += self.capsys.readouterr().out
                for line in self.out.splitlines():
                    if line.startswith("https://auth.openai.com/oauth/authorize?"):
                        return line
                await asyncio.sleep(0.02)

    async def sign_in(self) -> int:
        url = await self.url()
        return await self.demo.simulate_browser(url, local_port=self.demo.local_port_for(1455))


class Pastes:
    """A relay user: pastes the address the browser ended on (once)."""

    def __init__(self, demo: DemoServer) -> None:
        self.demo = demo
        self.problems: list[str | None] = []

    async def pasted_address(self, progress: LoginProgress, problem: str | None) -> str | None:
        self.problems.append(problem)
        if len(self.problems) == 1:
            return "http://127.0.0.1:1455/auth/callback?code=x&state=not-this-login"
        assert progress.url is not None
        return self.demo.callback_address(progress.url)

    async def confirm_host_key(self, key) -> bool:
        return False

    async def passphrase(self, key_path: str) -> str | None:
        return None

    async def credentials(self, label: str, *, retry: bool):
        return None

    async def stop_pending_login(self, port: int, owner) -> bool:
        return False


async def run_login(
    demo: DemoServer, capsys, *argv: str, browser: bool = True, prompter=None
) -> tuple[int, str]:
    """The exit code of `login demo --no-tui ARGV` and everything it printed."""
    args = cli_args(demo, "login", "demo", "--no-tui", "--timeout", "30", *argv)
    login = asyncio.create_task(
        login_command(args, prompter=prompter, local_port_for=demo.local_port_for)
    )
    user = Browser(demo, capsys)
    try:
        if browser:
            assert await user.sign_in() == 302
        async with asyncio.timeout(LIMIT):
            code = await login
    finally:
        user.out += capsys.readouterr().out
        print(user.out, end="")  # for a failing test's report, and raises' callers
    return code, user.out


async def test_cli_login_through_the_tunnel(capsys) -> None:
    async with DemoServer(scenario=DemoScenario(pace=FAST, logged_in=False)) as demo:
        code, out = await run_login(demo, capsys)
    assert code == 0
    assert "Logged in on demo. Access token expires" in out
    assert "Server: Linux x86_64" in out


async def test_a_login_codex_only_claims_fails_in_the_cli(capsys) -> None:
    scenario = DemoScenario(pace=FAST, logged_in=False, saves_no_login=True)
    async with DemoServer(scenario=scenario) as demo:
        with pytest.raises(UserError, match="holds no ChatGPT login"):
            await run_login(demo, capsys)
        assert not demo.auth_json_path.exists()
    assert "Logged in on" not in capsys.readouterr().out


async def test_a_login_codex_only_claims_never_says_logged_in_in_the_wizard() -> None:
    scenario = DemoScenario(pace=FAST, logged_in=False, saves_no_login=True)
    async with DemoServer(scenario=scenario) as demo:
        app = WizardApp(
            settings=demo.settings,
            hosts=[demo.target],
            local_port_for=demo.local_port_for,
            demo=demo,
            check_statuses=False,
        )
        async with app.run_test(size=(110, 36)) as pilot:
            await pilot.press("enter")  # host list → connect → install
            await wait_for(pilot, lambda: app.step is Step.INSTALL and app.state.probe, LIMIT)
            await pilot.press("enter")  # codex is ready: Next has the focus
            await wait_for(pilot, lambda: app.state.forwarding is not None, LIMIT)
            await pilot.press("enter")  # the tunnel is fine: start the login
            await wait_for(pilot, lambda: app.state.login.url is not None, LIMIT)
            await pilot.press("s")  # the demo's simulated browser signs in
            await wait_for(pilot, lambda: app.state.login.ended, LIMIT)
            login = app.state.login
            assert login.phase is LoginPhase.FAILED and not login.succeeded
            assert "holds no ChatGPT login" in login.message
            shown = app.screen.query_one("#login-status").render()
            assert "Logged in" not in str(shown)
            assert app.screen.query_one("#next").disabled


async def test_cli_relay_rejects_an_address_from_another_login_then_relays(capsys) -> None:
    scenario = DemoScenario(pace=FAST, logged_in=False, forwarding_refused=True)
    async with DemoServer(scenario=scenario) as demo:
        pastes = Pastes(demo)
        code, out = await run_login(demo, capsys, "--relay", browser=False, prompter=pastes)
    assert code == 0
    assert pastes.problems[0] is None
    assert pastes.problems[1] and "older login" in pastes.problems[1]
    assert "Relayed with" in out and "Logged in on demo" in out


async def test_cli_device_code_login(capsys) -> None:
    async with DemoServer(scenario=DemoScenario(pace=FAST, logged_in=False)) as demo:
        code, out = await run_login(demo, capsys, "--device-auth", browser=False)
    assert code == 0
    assert "https://auth.openai.com/codex/device" in out and "DEMO-7KQ4" in out
    assert "Logged in on demo" in out


async def test_cli_forwarding_refused_points_to_the_other_ways(capsys) -> None:
    scenario = DemoScenario(pace=FAST, logged_in=False, forwarding_refused=True)
    async with DemoServer(scenario=scenario) as demo:
        with pytest.raises(UserError, match="--relay"):
            await run_login(demo, capsys, browser=False)


async def test_cli_push_auth_copies_this_computers_login(capsys, tmp_path: Path) -> None:
    async with DemoServer(scenario=DemoScenario(pace=FAST, logged_in=False)) as demo:
        args = cli_args(demo, "push-auth", "demo", "--from", str(demo.laptop_auth_path))
        assert await push_auth_command(args) == 0
        assert demo.auth_json_path.stat().st_mode & 0o777 == 0o600
    out = capsys.readouterr().out
    assert "Copied" in out and "(mode 0600)" in out
