"""The exec-based auth.json read: its script under a local sh, and its output parsed loosely."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from codex_wizard.core.logins import authfile
from codex_wizard.core.logins.authfile import parse_mode, parse_read_output
from codex_wizard.core.tokens.auth import AuthKind
from tests.lab.fake_tokens import make_auth_json

MARK = "@@cwauth-0123456789abcdef"


def _read(home: Path, setup: str) -> authfile.ServerAuth:
    script = f"m={MARK}\ncd 2>/dev/null\n{setup}{authfile._READ}"
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh"}
    out = subprocess.run(["sh", "-s"], input=script.encode(), capture_output=True, env=env)
    noisy = b"Welcome!\n" + out.stdout  # what a printing rc file adds in front
    return parse_read_output(noisy, MARK, ".codex/auth.json")


def test_reads_the_file_with_its_mode(tmp_path: Path) -> None:
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".codex/auth.json").write_text(make_auth_json())
    (tmp_path / ".codex/auth.json").chmod(0o640)
    record = _read(tmp_path, "cw_auth=.codex/auth.json\n").record
    assert record.kind is AuthKind.CHATGPT and record.file_mode == 0o640


def test_missing_fifo_and_device(tmp_path: Path) -> None:
    assert _read(tmp_path, "cw_auth=.codex/auth.json\n").record.kind is AuthKind.MISSING
    os.mkfifo(tmp_path / "fifo")
    fifo = _read(tmp_path, "cw_auth=fifo\n").record
    assert fifo.kind is AuthKind.MALFORMED and "named pipe" in (fifo.problem or "")
    (tmp_path / "zero").symlink_to("/dev/zero")
    assert "a device" in (_read(tmp_path, "cw_auth=zero\n").record.problem or "")


def test_oversized_file_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"{" + b" " * (authfile.MAX_AUTH_BYTES + 10))
    record = _read(tmp_path, "cw_auth=big\n").record
    assert record.kind is AuthKind.MALFORMED


def test_codex_home_from_the_shells(tmp_path: Path) -> None:
    (tmp_path / ".profile").write_text('echo noise\nexport CODEX_HOME="$HOME/ch"\n')
    (tmp_path / "ch").mkdir()
    (tmp_path / "ch/auth.json").write_text(make_auth_json())
    found = _read(tmp_path, authfile._HOME)
    assert found.codex_home == f"{tmp_path}/ch" and found.path == f"{tmp_path}/ch/auth.json"
    assert found.record.kind is AuthKind.CHATGPT


def test_modes_from_gnu_bsd_and_ls() -> None:
    assert parse_mode("600") == 0o600
    assert parse_mode("0644") == 0o644
    assert parse_mode("-rw-------") == 0o600
    assert parse_mode("-rw-r--r--@") == 0o644
    assert parse_mode("drwx--S---") == 0o700
    assert parse_mode("") is None


@given(st.binary())
def test_parse_never_raises(data: bytes) -> None:
    parse_read_output(data, MARK, ".codex/auth.json")
