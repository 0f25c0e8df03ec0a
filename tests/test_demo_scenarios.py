"""`codex-wizard --demo SCENARIO` as a person uses it, in a real terminal (tmux): `--demo list`
names every situation the README's screenshots show, each name opens the wizard on it, and a
wrong name says which exist. scripts/screenshots.py takes its servers from the same table."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_wizard.demo.scenarios import SCENARIOS
from tests.test_e2e_cli import CLI
from tests.test_tmux import Tmux, back_at_the_shell, tmux_pane
from tests.test_tmux import pytestmark as tmux_marks

README_SITUATIONS = {  # issue 21: what a person must be able to reach with --demo
    "host-key",
    "missing-install",
    "state-mismatch",
    "forwarding-refused",
    "port-busy",
    "expired",
    "shared",
    "relay",
    "device-code",
    "standalone",
}


def test_demo_list_names_every_situation() -> None:
    shown = subprocess.run(
        [*CLI, "--demo", "list"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    names = [line.split()[0] for line in shown.splitlines()]
    assert set(names) >= README_SITUATIONS
    assert names == list(SCENARIOS)


def test_a_wrong_name_is_a_usage_error_that_lists_the_names() -> None:
    done = subprocess.run([*CLI, "--demo", "nosuch"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "no demo scenario 'nosuch'" in done.stderr and "host-key" in done.stderr


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Tmux]:
    if tmux_marks[0].args[0] or tmux_marks[1].args[0]:  # the tmux tests' own skip conditions
        pytest.skip("needs tmux and the installed codex-wizard")
    with tmux_pane(tmp_path, width=120, height=40) as term:
        yield term


@pytest.mark.parametrize(
    ("name", "keys", "expected"),
    [
        ("healthy", (), "expires in 9 days"),
        ("expired", (), "no refresh token"),
        ("renews", (), "codex renews it on next use"),
        ("shared", (), "shared with"),
        ("host-key", ("Enter",), "can't be established"),
        ("missing-install", ("Enter",), "npm install -g @openai/codex"),
        ("standalone", ("Enter",), "standalone"),
    ],
)
def test_each_scenario_opens_on_its_situation(
    pane: Tmux, name: str, keys: tuple[str, ...], expected: str
) -> None:
    pane.run(f"codex-wizard --demo {name}")
    pane.wait_text("Which server should Codex be logged in on?")
    if keys:
        pane.wait_for(lambda s: "checking" not in s, "the host's state")
        pane.keys(*keys)
    pane.wait_text(expected, joined=True)
    pane.keys("C-q")
    back_at_the_shell(pane)
