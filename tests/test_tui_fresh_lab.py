"""The wizard's fresh login end to end: the lab server refuses forwarding, this computer runs the
fake codex (its private PATH, temporary CODEX_HOME and TMPDIR), the browser signs in on this
computer's 127.0.0.1:1455, and the server gets a login of its own; then Log out names nothing
else holding it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Button

from codex_wizard.core.tokens.auth import parse_auth_json
from tests.fresh_local import LocalSide, kill_leftovers, make_local_side, sign_in
from tests.lab.sshlab import SshLab
from tests.test_e2e_core import no_codex_left
from tests.test_tui_lab import SLOW, lab_app, to_tunnel_step
from tests.tui_fakes import SIZE, screen_name, text_of, wait_for


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalSide]:
    side = make_local_side(tmp_path / "here")
    for name, value in side.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("tempfile.tempdir", None)  # TMPDIR is read again
    yield side
    kill_leftovers(side)


async def test_tui_fresh_login_from_this_computer(
    lab_noforward: SshLab, local: LocalSide, tmp_path: Path
) -> None:
    lab = lab_noforward
    lab.install_codex("fake", "path")
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await to_tunnel_step(pilot, app, lab)
        await pilot.press("enter")  # Next: the other ways in
        await wait_for(pilot, lambda: screen_name(app) == "WaysInScreen")
        push = app.screen.query_one("#way-push", Button)
        await wait_for(pilot, lambda: app.focused is push, timeout=SLOW)  # recommended
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "PushScreen")
        await wait_for(pilot, lambda: not app.screen.busy, timeout=SLOW)
        await pilot.press("f")
        await wait_for(pilot, lambda: app.screen.url is not None, timeout=SLOW)
        assert len(local.leftovers()) == 1 and local.codex_processes()
        assert await asyncio.to_thread(sign_in, app.screen.url) == 302
        await wait_for(pilot, lambda: app.state.pushed is not None, timeout=SLOW)
        server_auth = lab.server_path(".codex/auth.json")
        own = parse_auth_json(local.own_auth.read_bytes()).login_id
        assert parse_auth_json(server_auth.read_bytes()).login_id != own
        assert "shared with nothing" in text_of(app, "#push-note")
        assert local.leftovers() == [] and local.codex_processes() == []
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen")
        await wait_for(pilot, lambda: app.state.record is not None, timeout=SLOW)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog", timeout=SLOW)
        assert "no copy was found in the 1 other place checked" in text_of(app, "#dialog-body")
        await pilot.press("n")
        await pilot.press("ctrl+q")
    no_codex_left(lab)
