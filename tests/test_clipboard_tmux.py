"""Copying inside a real tmux, as a person runs codex-wizard there: with tmux's default
`set-clipboard external` tmux drops a program's OSC 52, so we must not say "copied"; with
`set-clipboard on` the text reaches tmux's buffer (and so the terminal beyond it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_tmux import Tmux, tmux_pane
from tests.test_tmux import pytestmark as tmux_marks

pytestmark = tmux_marks
TEXT = "https://auth.openai.com/oauth/authorize?state=clip"
COPY = (
    "python -c 'from codex_wizard.core.laptop.clipboard import copy_text; "
    f'print("result=" + repr(copy_text("{TEXT}").value))\''
)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    with tmux_pane(tmp_path, width=120, height=30) as term:
        yield term


def copy_in_the_pane(term: Tmux, tmp_path: Path) -> str:
    """Run copy_text in the pane as a program in tmux would (TMUX set); its result."""
    term.run(f"export TMUX={tmp_path / 'tmux.sock'},1,0")  # tmux_pane's socket
    term.run(COPY)
    screen = term.wait_for(lambda s: "result='" in s, "the copy's result")
    return screen.split("result='")[1].split("'")[0]


def tmux_buffer(term: Tmux) -> str:
    return term.tmux("list-buffers", "-F", "#{buffer_sample}").strip()


def test_tmux_default_set_clipboard_external_is_not_called_copied(
    tmux: Tmux, tmp_path: Path
) -> None:
    tmux.tmux("set-option", "-g", "set-clipboard", "external")  # tmux's own default
    assert copy_in_the_pane(tmux, tmp_path) == "tmux"
    assert TEXT not in tmux_buffer(tmux)


def test_tmux_with_set_clipboard_on_receives_it(tmux: Tmux, tmp_path: Path) -> None:
    tmux.tmux("set-option", "-g", "set-clipboard", "on")
    assert copy_in_the_pane(tmux, tmp_path) == "osc52"
    tmux.wait_for(lambda _: TEXT in tmux_buffer(tmux), "the text in tmux's buffer")
