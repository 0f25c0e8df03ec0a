"""docs/ssh-compat.md is the table the differential suite's cases make (not a hand copy)."""

from __future__ import annotations

from tests.ssh_compat_cases import CASES, DOC_PATH, render_doc


def test_the_compat_table_is_up_to_date() -> None:
    assert DOC_PATH.read_text() == render_doc(), "run: python scripts/ssh-compat-doc.py"


def test_every_option_has_its_row_and_every_difference_its_reason() -> None:
    text = render_doc()
    for case in CASES:
        assert f"| `{case.option}` |" in text
        assert (case.ours is None) == (not case.why), case.name
