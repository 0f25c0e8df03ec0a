"""Done-criterion of the standalone install, in the wizard, against the real-sshd lab: from a
server whose shell finds no working node (nothing installed), with and without a path from the
server to the registry, Pilot key presses go from the install step to the login URL and on to a
signed-in token whose test prompt (the fake codex's `exec`) answers. The lab pieces (registry
stand-ins, the no-node user, the upload path) are tests/test_standalone_lab.py's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, DataTable

from codex_wizard.core.progress import LoginPhase
from codex_wizard.tui.app import WizardApp
from tests.lab.fake_tokens import make_auth_json
from tests.lab.registry import build_package
from tests.lab.sshlab import SshLab
from tests.test_e2e_core import no_codex_left
from tests.test_standalone_lab import (  # noqa: F401 - the fixtures, shared
    installed_dirs,
    laptop_registry,
    server_registry,
)
from tests.test_tui_lab import SLOW, browser_signs_in, choose_lab_host, expiry_shown, lab_app
from tests.tui_fakes import SIZE, screen_name, text_of, wait_for

pytestmark = pytest.mark.lab


async def pick_the_lab(pilot, app: WizardApp, lab: SshLab) -> None:
    """Step 1 with the keyboard, whatever the lab's token status says."""
    await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
    table = app.screen.query_one("#hosts", DataTable)
    labels = [str(table.get_cell_at((row, 0))) for row in range(table.row_count)]
    for _ in range(labels.index(lab.alias)):
        await pilot.press("down")
    await pilot.press("enter")


def standalone_status(app: WizardApp) -> str:
    return text_of(app, "#standalone-status")


async def install_standalone_with_keys(pilot, app: WizardApp, lab: SshLab) -> None:
    """Host list -> install step -> `s` -> re-probed, and Next is ready."""
    await choose_lab_host(pilot, app, lab)
    await wait_for(pilot, lambda: screen_name(app) == "InstallScreen", timeout=SLOW)
    await wait_for(pilot, lambda: app.state.probe is not None, timeout=SLOW)
    await pilot.pause()
    assert not app.state.probe.codex.found
    assert "because node on the server does not run" in text_of(app, "#standalone-offer")
    assert app.screen.query_one("#next", Button).disabled
    await pilot.press("s")
    await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled, SLOW * 2)


async def tunnel_login_and_test_prompt(pilot, app: WizardApp, lab: SshLab) -> None:
    """Next, Next: the login URL; the browser signs in; the token step's test prompt answers."""
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
    await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled, SLOW)
    await pilot.press("n")
    await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=SLOW)
    url = app.state.login.url
    assert url.startswith("https://auth.openai.com/oauth/authorize?")
    assert any(".local/bin/codex login" in p for p in lab.server_processes("codex login"))
    assert await browser_signs_in(app, url) == 302
    await expiry_shown(pilot, app, lab)
    await pilot.press("p")
    await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
    await pilot.press("y")
    await wait_for(pilot, lambda: "codex answered: OK" in text_of(app, "#live-note"), SLOW * 3)
    assert lab.server_processes("codex exec") == []


@pytest.mark.parametrize(
    ("registry", "how"),
    [
        ("server_registry", "downloaded by the server"),
        ("laptop_registry", "uploaded from here"),
    ],
)
async def test_wizard_installs_standalone_then_logs_in_and_answers(
    lab: SshLab, tmp_path: Path, request: pytest.FixtureRequest, registry: str, how: str
) -> None:
    request.getfixturevalue(registry)
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await install_standalone_with_keys(pilot, app, lab)
        status = standalone_status(app)
        assert f"codex 0.169.0 installed ({how})" in status, status
        assert ".local/lib/codex-standalone/0.169.0-linux-x64/bin/codex" in status
        assert "add to ~/.bashrc" in status  # the lab user's plain PATH lacks ~/.local/bin
        assert "not needed" in text_of(app, "#checklist")  # node: codex runs without it
        await tunnel_login_and_test_prompt(pilot, app, lab)
        await pilot.press("ctrl+q")
    assert installed_dirs(lab) == ["0.169.0-linux-x64"]
    no_codex_left(lab)


async def test_wizard_cancel_mid_download_leaves_nothing(
    lab: SshLab, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    root = request.getfixturevalue("server_registry")
    build_package(root, "0.171.0", pad=2_000_000)
    (root / "slow").write_text("")
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_lab_host(pilot, app, lab)
        await wait_for(pilot, lambda: app.state.probe is not None, timeout=SLOW)
        await pilot.press("s")
        await wait_for(pilot, lambda: "of " in standalone_status(app), timeout=SLOW)
        assert "downloading on the server" in standalone_status(app)
        await pilot.press("c")
        await wait_for(pilot, lambda: "Cancelled" in standalone_status(app), timeout=SLOW)
        assert not app.screen.query_one("#standalone", Button).disabled
        await pilot.press("ctrl+q")
    assert installed_dirs(lab) == []
    assert not lab.server_path(".local/bin/codex").exists()
    assert lab.server_processes("curl") == []


async def test_wizard_refuses_a_corrupted_tarball_and_installs_nothing(
    lab: SshLab, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    build_package(request.getfixturevalue("server_registry"), "0.169.0", corrupt=True)
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await choose_lab_host(pilot, app, lab)
        await wait_for(pilot, lambda: app.state.probe is not None, timeout=SLOW)
        await pilot.press("s")
        await wait_for(pilot, lambda: "✗" in standalone_status(app), timeout=SLOW)
        assert "does not match the registry's sha512" in standalone_status(app)
        assert app.screen.query_one("#next", Button).disabled
        await pilot.press("ctrl+q")
    assert installed_dirs(lab) == []
    assert not lab.server_path(".local/bin/codex").exists()


async def test_wizard_test_prompt_with_a_used_refresh_token_says_log_in_again(
    lab: SshLab, tmp_path: Path
) -> None:
    lab.install_codex("fake", "path")
    lab.write_server_file(".codex/auth.json", make_auth_json(), 0o600)
    lab.set_fake_knobs(exec="refresh_used")
    app = lab_app(lab, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pick_the_lab(pilot, app, lab)
        await wait_for(pilot, lambda: app.state.probe is not None, timeout=SLOW)
        await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
        await pilot.press("t")
        await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
        await pilot.press("p")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmDialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: "✗" in text_of(app, "#live-note"), timeout=SLOW * 2)
        note = text_of(app, "#live-note")
        assert "refresh token was already used" in note and "Press l to log in again" in note
        await pilot.press("ctrl+q")
    assert lab.server_processes("codex exec") == []
