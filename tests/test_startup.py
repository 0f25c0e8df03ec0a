"""Start-up helpers: the quick library lookup and write coalescing keep behaviour intact."""

from __future__ import annotations

import asyncio
import ctypes.util
from pathlib import Path

import pytest

from codex_wizard import startup
from codex_wizard.core.ssh import server


def test_library_lookup_is_restored_and_consistent(monkeypatch: pytest.MonkeyPatch) -> None:
    real = ctypes.util.find_library
    monkeypatch.delitem(__import__("sys").modules, "asyncssh", raising=False)
    with startup._quick_library_lookup():
        assert ctypes.util.find_library is not real
        assert ctypes.util.find_library("surely-not-a-library-xyz") is None
        assert ctypes.util.find_library("c") == real("c")  # present: the real answer
    assert ctypes.util.find_library is real


def test_library_in_an_extra_dir_is_looked_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "libfoo.so.1").write_bytes(b"")
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    assert startup._library_may_exist("foo")
    assert not startup._library_may_exist("surely-not-a-library-xyz")


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed_after: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed_after = list(self.writes)


class FakeConn:
    def __init__(self) -> None:
        self._transport = RecordingTransport()


async def test_writes_of_one_turn_leave_as_one() -> None:
    conn = FakeConn()
    transport = conn._transport
    server.coalesce_writes(conn)
    transport.write(b"ignore")
    transport.write(b"packet")
    assert transport.writes == []
    await asyncio.sleep(0)
    assert transport.writes == [b"ignorepacket"]


async def test_close_flushes_what_was_written_first() -> None:
    conn = FakeConn()
    transport = conn._transport
    server.coalesce_writes(conn)
    transport.write(b"disconnect")
    transport.close()
    assert transport.closed_after == [b"disconnect"]
    await asyncio.sleep(0)
    assert transport.writes == [b"disconnect"]  # not sent twice
