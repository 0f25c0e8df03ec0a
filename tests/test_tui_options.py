"""Every option of `codex-wizard [HOST]` and `login HOST` reaches the wizard: the connection's
(built by the one function both faces use), `--open` and `--timeout`."""

from __future__ import annotations

from dataclasses import replace

from codex_wizard.cli.main import parse_args
from codex_wizard.cli.terminal import connect_settings as cli_settings
from codex_wizard.core.progress import LoginPhase
from codex_wizard.core.server.events import UrlReady
from codex_wizard.settings import LoginOptions
from codex_wizard.tui.run import wizard_for
from codex_wizard.tui.state import Step
from tests.tui_fakes import SIZE, URL, at_step, fake_backend, make_app, wait_for

LOGIN_ARGS = ["login", "ada@build.example.com", "--open", "--timeout", "7"]
CONNECTION_ARGS = ["--connect-timeout", "3", "-F", "/tmp/cfg", "--accept-new-host-key"]


def test_login_options_reach_the_wizard() -> None:
    for argv in (LOGIN_ARGS + CONNECTION_ARGS, CONNECTION_ARGS + LOGIN_ARGS):
        args = parse_args(argv)
        app = wizard_for(args)
        assert app.login_options == LoginOptions(open_url=True, timeout=7.0)
        terminal_only = {"answer_prompt": None, "on_note": None}  # ssh's questions, on a tty
        assert app.settings == replace(cli_settings(args, interactive=False), **terminal_only)
        assert app.settings.connect_timeout == 3.0
        assert str(app.settings.ssh_config) == "/tmp/cfg" and app.settings.accept_new_host_key
        assert app.initial_target is not None and app.initial_target.label() == (
            "ada@build.example.com"
        )


def test_the_bare_wizard_takes_the_connection_options_and_no_login_deadline() -> None:
    app = wizard_for(parse_args(["build", "--connect-timeout", "4.5"]))
    assert app.settings.connect_timeout == 4.5
    assert app.login_options == LoginOptions()


async def test_open_sends_each_url_to_the_browser_once_and_timeout_stops_the_login():
    backend, calls = fake_backend()
    app = make_app(backend, login_options=LoginOptions(open_url=True, timeout=1.0))
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, Step.TUNNEL)
        await app.start_login()  # the deadline runs from here
        session = calls.sessions[-1]
        session.push(UrlReady(URL, 1455))
        await wait_for(pilot, lambda: calls.opened)
        assert calls.opened == [URL]
        await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.FAILED)
        assert app.state.login.message == "no login within 1 s; stopped codex login."
        assert session.closed  # codex login stopped on the server
        assert calls.opened == [URL]
