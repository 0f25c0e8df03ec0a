"""LineSplitter: whatever chunks a server sends, lines come out whole or cut to the limit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from codex_wizard.core.sanitize import ELLIPSIS
from codex_wizard.core.server.remote import LineSplitter

LIMIT = 8
TEXT = st.text(st.sampled_from("ab\n"), max_size=200)


def split_in_chunks(text: str, cuts: list[int]) -> list[str]:
    """The lines LineSplitter gives for text sent in pieces cut at `cuts`."""
    splitter, lines, start = LineSplitter(LIMIT), [], 0
    for cut in sorted({min(c, len(text)) for c in cuts} | {len(text)}):
        lines += splitter.feed(text[start:cut])
        start = cut
    return lines + splitter.end()


def expected(text: str) -> list[str]:
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return [part if len(part) <= LIMIT else part[: LIMIT - 1] + ELLIPSIS for part in parts]


@given(TEXT, st.lists(st.integers(0, 200), max_size=20))
def test_lines_are_whole_or_cut_however_the_stream_is_chunked(text: str, cuts: list[int]) -> None:
    assert split_in_chunks(text, cuts) == expected(text)


def test_a_line_without_end_is_not_held() -> None:
    splitter = LineSplitter(LIMIT)
    assert splitter.feed("x" * 20) == ["x" * 7 + ELLIPSIS]
    for _ in range(1000):
        assert splitter.feed("y" * 1000) == []
    assert splitter._partial == ""  # nothing of the endless line is kept
    assert splitter.feed("z\nnext\n") == ["next"]
