"""printable(): whatever a server sends, nothing that drives a terminal reaches the laptop."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codex_wizard.core.sanitize import printable
from codex_wizard.core.server.probe import parse_probe_output
from codex_wizard.core.server.relay import parse_relay_output
from codex_wizard.core.tokens.auth import parse_auth_json

BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def is_control(char: str, *, keep_newlines: bool = True) -> bool:
    """ESC and every other C0 control but tab (and newline), DEL, C1, bidi controls."""
    code = ord(char)
    if char == "\t" or (char == "\n" and keep_newlines):
        return False
    return code < 0x20 or 0x7F <= code <= 0x9F or code in BIDI


# Text built from the pieces that matter (introducers, terminators, payload), so hypothesis
# tries many half-sequences, nested ones and 8-bit forms, not just random code points.
PIECES = st.sampled_from(
    [
        "\x1b", "[", "]", "P", "X", "^", "_", "\\", "\x07", "\x9b", "\x9c", "\x9d", "\x90",
        "\x98", "\x9e", "\x9f", "52;c;", "0;", "1;31", "m", "?2004h", ";", "(", "B", "\n",
        "\r", "\t", "\x00", "\x7f", "\x85", "\u202e", "\u2066", "\u200f", "\u061c", "a", " ",
        "https://auth.openai.com/", "\ufffd", "é",
    ]
)  # fmt: skip
HOSTILE = st.lists(PIECES, max_size=40).map("".join)
ANY_TEXT = st.one_of(st.text(), HOSTILE, st.lists(st.one_of(st.text(), HOSTILE)).map("".join))
INVISIBLE_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Co", "Cn")
PLAIN = st.text(
    st.characters(blacklist_categories=(*INVISIBLE_CATEGORIES, "Cs")) | st.sampled_from("\n\t")
)
INVISIBLE = st.characters(whitelist_categories=INVISIBLE_CATEGORIES)
WITH_INVISIBLE = st.lists(st.one_of(INVISIBLE, st.characters(), HOSTILE)).map("".join)


def invisible(text: str) -> list[str]:
    """The characters of text in the categories a terminal shows as nothing (tab, newline
    aside)."""
    return [
        char
        for char in text
        if char not in "\n\t" and unicodedata.category(char) in INVISIBLE_CATEGORIES
    ]


@given(ANY_TEXT)
def test_output_never_holds_a_control(text: str) -> None:
    out = printable(text)
    assert not [char for char in out if is_control(char)], repr(out)
    one_line = printable(text, keep_newlines=False)
    assert not [char for char in one_line if is_control(char, keep_newlines=False)]


@given(st.binary())
def test_bytes_are_decoded_with_replacement(data: bytes) -> None:
    out = printable(data)
    assert out == printable(data.decode("utf-8", "replace"))
    assert not [char for char in out if is_control(char)]


@given(WITH_INVISIBLE)
def test_no_invisible_character_passes(text: str) -> None:
    assert not invisible(printable(text)), repr(printable(text))
    assert not invisible(printable(text, keep_newlines=False))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ada\u200b@example.com", "ada@example.com"),  # zero-width space
        ("pl\u2060us \ufeffpro\u00ad", "plus pro"),  # word joiner, BOM, soft hyphen
        ("one\u2028two\u2029three", "one two three"),  # line and paragraph separators
        ("tag\U000e0041\U000e007f", "tag"),  # tag characters
        ("private\ue000\U000f0000 unassigned\U000e0080\u0378", "private unassigned"),
        ("\U0001f600 \u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4 caf\u00e9", None),  # kept
    ],
)
def test_invisible_characters(raw: str, clean: str | None) -> None:
    assert printable(raw) == (raw if clean is None else clean)


@given(PLAIN)
def test_plain_text_passes_unchanged(text: str) -> None:
    assert printable(text) == text


@given(ANY_TEXT)
def test_idempotent(text: str) -> None:
    once = printable(text)
    assert printable(once) == once


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b]52;c;cHduZWQ=\x1b\\after", "after"),  # OSC 52 (clipboard), ended by ST
        ("\x1b]52;c;cHduZWQ=\x07after", "after"),  # ... ended by BEL
        ("\x1b]0;owned title\x07text", "text"),  # OSC 0 (window title)
        ("\x1b]8;;https://evil/\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink
        ("\x1bP+q544e\x1b\\x", "x"),  # DCS (XTGETTCAP)
        ("\x1bXsos\x1b\\\x1b^pm\x1b\\\x1b_apc\x1b\\y", "y"),  # SOS, PM, APC
        ("\x9b31mred\x9b0m", "red"),  # 8-bit CSI
        ("\x9d0;title\x9cz", "z"),  # 8-bit OSC and ST
        ("\x90q\x9cz", "z"),  # 8-bit DCS
        ("\x1b[1;31mbold\x1b[0m \x1b[?2004h", "bold "),  # CSI, private mode
        ("\x1b(Bcharset \x1b=keypad \x1b7saved", "charset keypad saved"),  # nF, Fp
        ("lone \x1b", "lone "),
        ("\x1b]0;never ended\nnext line", "\nnext line"),  # ends at the line, not later
        ("bell\x07 nul\x00 bs\x08 del\x7f nel\x85 cr\r", "bell nul bs del nel cr"),
        ("abc\u202edcba\u202c \u2066iso\u2069 \u200fmark\u200e \u061c", "abcdcba iso mark "),
        ("tabs\tand\nnewlines", "tabs\tand\nnewlines"),
        ("npm \ufffd caf\u00e9 \u65e5\u672c", "npm \ufffd caf\u00e9 \u65e5\u672c"),
    ],
)
def test_known_sequences(raw: str, clean: str) -> None:
    assert printable(raw) == clean


def test_one_line_turns_newlines_into_spaces() -> None:
    assert printable("a\nb\tc\r\n", keep_newlines=False) == "a b\tc "


# ------------------------------------------------------------------ where server text enters

NOISE = "\x1b]52;c;aGk=\x1b\\\x1b]0;t\x07\x9b2J\u202e\x85"


def test_probe_output_is_printable() -> None:
    text = (
        f"\n@@cw:os\nLinux{NOISE} x86_64\n@@cw:home\n/home/x{NOISE}\n"
        f"\n@@cw:plain.codex\npath=/usr/bin/codex{NOISE}\nexit=0\ncodex-cli 0.1.2{NOISE}\n"
        f'\n@@cw:ss\nLISTEN 0 128 127.0.0.1:1455 0.0.0.0:* users:(("{NOISE}node",pid=7,fd=3))\n'
        "\n@@cw:end\n"
    )
    probe = parse_probe_output(text)
    assert (probe.os, probe.arch, probe.home) == ("Linux", "x86_64", "/home/x")
    assert (probe.codex.path, probe.codex.output) == ("/usr/bin/codex", "codex-cli 0.1.2")
    owner = probe.port_owners[1455]
    assert owner is not None and owner.describe() == "node (pid 7) on 127.0.0.1:1455"


def test_relay_answer_is_printable() -> None:
    assert parse_relay_output(f"200 \n<h1>ok{NOISE}</h1>") == (200, "", "<h1>ok</h1>")
    no_answer = parse_relay_output(f"000 \nconnect ECONNREFUSED{NOISE}")
    assert no_answer == (None, "", "000 \nconnect ECONNREFUSED")


def test_auth_file_fields_are_printable() -> None:
    doc = {"auth_mode": f"chatgpt{NOISE}", "OPENAI_API_KEY": f"sk-{NOISE}" + "k" * 40}
    record = parse_auth_json(json.dumps(doc).encode())
    assert record.auth_mode == "chatgpt"
    assert record.api_key_masked is not None and not controls(record.api_key_masked)


def controls(text: str) -> list[str]:
    return [char for char in text if is_control(char)]
