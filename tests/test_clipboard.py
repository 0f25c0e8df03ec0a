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
    monkeypatch.setattr(pyperclip, "paste", lambda: copied[-1])
    assert clipboard.copy_text("hello", terminal=Tty()) == "clipboard"
    assert copied == ["hello"]


def test_a_copy_that_does_not_read_back_is_not_called_copied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyperclip's copy "worked", but the clipboard holds something else (e.g. a clipboard
    tool that exits 0 and keeps nothing): not 'copied'; the terminal gets OSC 52 instead."""
    monkeypatch.setattr(pyperclip, "copy", lambda text: None)
    monkeypatch.setattr(pyperclip, "paste", lambda: "what was there before")
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert clipboard.copy_text("hello", terminal=Tty()) is clipboard.Copied.OSC52


def test_no_escape_sequence_for_a_dumb_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyperclip, "copy", _no_clipboard)
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.setenv("TERM", "dumb")
    terminal = Tty()
    assert clipboard.copy_text("hello", terminal=terminal) is clipboard.Copied.NOTHING
    assert terminal.getvalue() == ""


def _no_clipboard(text: str) -> None:
    raise pyperclip.PyperclipException("no xclip")


def test_osc52_when_no_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyperclip, "copy", _no_clipboard)
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    terminal = Tty()
    assert clipboard.copy_text("hello", terminal=terminal) == "osc52"
    assert terminal.getvalue() == clipboard.osc52_sequence("hello")
    assert clipboard.copy_text("hello", terminal=io.StringIO()) == ""  # not a terminal
