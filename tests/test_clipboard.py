"""Copying the URL: pyperclip where a clipboard exists, else the terminal's OSC 52."""

from __future__ import annotations

import base64
import io

import pyperclip
import pytest

from codex_wizard.core.laptop import clipboard


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_osc52_sequence() -> None:
    seq = clipboard.osc52_sequence("https://auth.openai.com/x")
    assert seq.startswith("\x1b]52;c;") and seq.endswith("\x07")
    assert base64.b64decode(seq[7:-1]).decode() == "https://auth.openai.com/x"
    wrapped = clipboard.osc52_sequence("x", in_tmux=True)
    assert wrapped.startswith("\x1bPtmux;\x1b\x1b]52;c;") and wrapped.endswith("\x1b\\")


def test_pyperclip_first(monkeypatch: pytest.MonkeyPatch) -> None:
    copied: list[str] = []
    monkeypatch.setattr(pyperclip, "copy", copied.append)
    assert clipboard.copy_text("hello", terminal=Tty()) == "clipboard"
    assert copied == ["hello"]


def test_osc52_when_no_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_clipboard(text: str) -> None:
        raise pyperclip.PyperclipException("no xclip")

    monkeypatch.setattr(pyperclip, "copy", no_clipboard)
    monkeypatch.delenv("TMUX", raising=False)
    terminal = Tty()
    assert clipboard.copy_text("hello", terminal=terminal) == "osc52"
    assert terminal.getvalue() == clipboard.osc52_sequence("hello")
    assert clipboard.copy_text("hello", terminal=io.StringIO()) == ""  # not a terminal
