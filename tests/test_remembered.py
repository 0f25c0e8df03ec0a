"""Remembered hosts: a small JSON state file, atomic and private, tolerant of junk."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest

from codex_wizard.core.ssh import remembered as remembered_module
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.remembered import MemoryHosts, RememberedHosts, default_state_path

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ADA = HostTarget("build.example.com", user="ada", port=2222)
V6 = HostTarget("2001:db8::7", port=22)


def test_default_path_is_in_the_user_config_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(
        remembered_module.platformdirs, "user_config_dir", lambda app: str(tmp_path / app)
    )
    assert default_state_path() == tmp_path / "codex-wizard" / "state.json"
    assert RememberedHosts().path == tmp_path / "codex-wizard" / "state.json"


def test_missing_file_means_no_hosts(tmp_path):
    assert RememberedHosts(tmp_path / "nope" / "state.json").targets() == []


def test_remember_writes_private_file_most_recent_first(tmp_path):
    path = tmp_path / "cfg" / "state.json"
    hosts = RememberedHosts(path)
    hosts.remember(ADA, T0)
    hosts.remember(V6, T0 + timedelta(minutes=1))
    hosts.remember(ADA, T0 + timedelta(minutes=2))  # moves up, no duplicate
    assert hosts.targets() == [ADA, V6]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    doc = json.loads(path.read_text())
    assert doc["version"] == 1
    assert doc["hosts"][0] == {
        "host": "ada@build.example.com:2222",
        "last_used": (T0 + timedelta(minutes=2)).isoformat(),
    }
    assert doc["hosts"][1]["host"] == "[2001:db8::7]:22"
    assert hosts.entries()[0].last_used == T0 + timedelta(minutes=2)
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temp files left


def test_forget(tmp_path):
    hosts = RememberedHosts(tmp_path / "state.json")
    hosts.remember(ADA, T0)
    assert not hosts.forget(V6)
    assert hosts.forget(ADA)
    assert hosts.targets() == []


def test_limit_keeps_the_most_recent(tmp_path):
    hosts = RememberedHosts(tmp_path / "state.json", limit=3)
    for n in range(5):
        hosts.remember(HostTarget(f"h{n}"), T0 + timedelta(minutes=n))
    assert [t.name for t in hosts.targets()] == ["h4", "h3", "h2"]


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[]", b'{"hosts": 3}', b"\xff\xfe", b'{"hosts": [' * 5000],
)
def test_corrupt_file_reads_as_empty_and_is_replaced(tmp_path, content):
    path = tmp_path / "state.json"
    path.write_bytes(content)
    hosts = RememberedHosts(path)
    assert hosts.targets() == []
    hosts.remember(ADA, T0)
    assert hosts.targets() == [ADA]


def test_bad_entries_are_skipped_and_other_keys_kept(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(
        json.dumps(
            {
                "hosts": [
                    {"host": "good.example.com", "last_used": "2026-11-20T10:00:00"},
                    {"host": "bad host; rm -rf /"},
                    {"host": 7},
                    "junk",
                    {"host": "good.example.com"},
                    {"host": "x@y", "last_used": "yesterday"},
                ],
                "theme": "dark",
            }
        )
    )
    hosts = RememberedHosts(path)
    entries = hosts.entries()
    assert [entry.target for entry in entries] == [
        HostTarget("good.example.com"),
        HostTarget("y", user="x"),
    ]
    assert entries[0].last_used == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert entries[1].last_used is None
    hosts.remember(ADA, T0)
    assert json.loads(path.read_text())["theme"] == "dark"


def test_huge_file_is_ignored(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"hosts": [{"host": "a"}], "pad": "x" * 300_000}))
    assert RememberedHosts(path).targets() == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_reads_as_empty(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"hosts": [{"host": "a"}]}')
    path.chmod(0)
    assert RememberedHosts(path).targets() == []


def test_memory_hosts_never_touch_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hosts = MemoryHosts()
    hosts.remember(ADA, T0)
    assert hosts.targets() == [ADA]
    assert hosts.forget(ADA)
    assert list(tmp_path.iterdir()) == []
