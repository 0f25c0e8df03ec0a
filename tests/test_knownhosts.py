"""known_hosts as OpenSSH reads it: the files and options compared with `ssh -G`, matching and
hashed appends compared with ssh-keygen."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import asyncssh
import pytest

from codex_wizard.core.ssh import knownhosts
from codex_wizard.core.ssh.knownhosts import KnownHostsPolicy

CONFIG = """\
Host web
  HostName web.example.com
  Port 2222
  User ada
  UserKnownHostsFile ~/.ssh/kh_%h_%p %d/kh_%u ~/.ssh/kh_%k_%r ~/.ssh/kh_%n_%%
  GlobalKnownHostsFile /etc/ssh/kh_global /etc/ssh/kh_global2
  HashKnownHosts yes
  CheckHostIP yes
Host aliased
  HostKeyAlias shared-key
  UserKnownHostsFile ~/.ssh/kh_%k
Host nofile
  UserKnownHostsFile none
  GlobalKnownHostsFile none
"""
HOSTS = ["web", "aliased", "nofile", "plain.example.org"]
needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="OpenSSH client not installed")


def _ssh_g(config: Path, host: str) -> dict[str, str]:
    out = subprocess.run(
        ["ssh", "-G", "-F", str(config), host], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def _policy(config: Path, host: str) -> KnownHostsPolicy:
    knownhosts.add_openssh_options()
    options = asyncssh.SSHClientConnectionOptions(host=host, config=[str(config)])
    return knownhosts.policy_from_config(options, host)


@needs_ssh
@pytest.mark.parametrize("host", HOSTS)
def test_policy_is_what_ssh_G_prints(tmp_path: Path, host: str) -> None:
    config = tmp_path / "config"
    config.write_text(CONFIG)
    openssh = _ssh_g(config, host)
    policy = _policy(config, host)
    assert (" ".join(map(str, policy.user_files)) or "none") == openssh["userknownhostsfile"]
    assert (" ".join(map(str, policy.global_files)) or "none") == openssh["globalknownhostsfile"]
    assert policy.host_key_alias == openssh.get("hostkeyalias")
    assert policy.check_host_ip == (openssh["checkhostip"] == "yes")
    assert policy.hash_known_hosts == (openssh["hashknownhosts"] == "yes")


def test_unknown_token_is_a_config_error() -> None:
    with pytest.raises(ValueError):
        knownhosts.expand_user_path("~/.ssh/kh_%z", {"%": "%"})


ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def _key_text() -> str:
    key = asyncssh.generate_private_key("ssh-ed25519")
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


def _fingerprints(found: knownhosts.Lookup) -> list[str]:
    return [key.get_fingerprint("sha256") for key in found.host_keys]


def test_every_file_counts_and_missing_or_empty_ones_give_nothing(tmp_path: Path) -> None:
    first, second, empty = tmp_path / "a", tmp_path / "b", tmp_path / "empty"
    key_a, key_b = _key_text(), _key_text()
    first.write_text(f"other.example {key_a}\n")
    second.write_text(f"web.example {key_b}\n")
    empty.write_text("")
    policy = KnownHostsPolicy((first, tmp_path / "missing"), (empty, second))
    found = knownhosts.lookup(policy, ["web.example"])
    assert len(found.host_keys) == 1 and found.listed_in == second
    assert knownhosts.lookup(KnownHostsPolicy((empty,), ()), ["web.example"]).host_keys == []


def test_no_fallback_to_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text(f"web.example {_key_text()}\n")
    monkeypatch.setenv("HOME", str(home))
    policy = KnownHostsPolicy((tmp_path / "named-but-missing",), ())
    assert knownhosts.lookup(policy, ["web.example"]).host_keys == []


def test_port_must_match_exactly(tmp_path: Path) -> None:
    known = tmp_path / "kh"
    known.write_text(f"web.example {_key_text()}\n")
    policy = KnownHostsPolicy((known,), ())
    assert knownhosts.lookup(policy, ["[web.example]:2222"]).host_keys == []
    assert len(knownhosts.lookup(policy, ["web.example"]).host_keys) == 1


def test_markers_hashed_and_junk_lines(tmp_path: Path) -> None:
    known = tmp_path / "kh"
    plain, revoked, ca = _key_text(), _key_text(), _key_text()
    hashed = knownhosts.hash_name("[web.example]:2222")
    known.write_text(
        "garbage\n"
        "@unknown-marker web.example ssh-ed25519 AAAA\n"
        f"{hashed} {plain}\n"
        f"@revoked * {revoked}\n"
        f"@cert-authority *.example {ca}\n"  # no port: not for :2222, as in OpenSSH
        f"@cert-authority [*.example]:2222 {ca}\n"
    )
    found = knownhosts.lookup(KnownHostsPolicy((known,), ()), ["[web.example]:2222"])
    assert len(found.host_keys) == 1 and len(found.revoked) == 1 and len(found.ca_keys) == 1


def test_names_alias_and_check_host_ip() -> None:
    assert KnownHostsPolicy((), ()).names("h", 22, "192.0.2.1") == ["h"]
    checking = KnownHostsPolicy((), (), check_host_ip=True)
    assert checking.names("h", 2222, "192.0.2.1") == ["[h]:2222", "[192.0.2.1]:2222"]
    aliased = KnownHostsPolicy((), (), host_key_alias="shared", check_host_ip=True)
    assert aliased.names("h", 2222, "192.0.2.1") == ["shared"]


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")
def test_hashed_append_is_found_by_ssh_keygen(tmp_path: Path) -> None:
    known = tmp_path / "new" / ".ssh" / "known_hosts"
    lines = knownhosts.lines_for(f"[web.example]:2222,[192.0.2.1]:2222 {ED25519}", hashed=True)
    knownhosts.append_lines(known, lines)
    assert known.stat().st_mode & 0o777 == 0o600
    assert known.parent.stat().st_mode & 0o777 == 0o700
    text = known.read_text()
    assert "web.example" not in text and text.count("|1|") == 2
    for name in ("[web.example]:2222", "[192.0.2.1]:2222"):
        found = subprocess.run(
            ["ssh-keygen", "-F", name, "-f", str(known)], capture_output=True, check=False
        )
        assert found.returncode == 0, name


def test_plain_append_keeps_one_line(tmp_path: Path) -> None:
    known = tmp_path / "kh"
    known.write_text("old.example ssh-ed25519 AAAA")  # no final newline
    knownhosts.append_lines(known, knownhosts.lines_for(f"web.example {ED25519}", False))
    assert known.read_text() == f"old.example ssh-ed25519 AAAA\nweb.example {ED25519}\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_nothing_is_recorded_in_a_device_or_a_fifo(tmp_path: Path) -> None:
    """ssh appends to UserKnownHostsFile /dev/null and records nothing; we write nothing to
    what is not a regular file (a rename there once replaced /dev/null when run as root).
    The device is a private copy of /dev/null (c 1 3): a regression must never touch the real
    one, as a first version of this test did."""
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    fifo = tmp_path / "known_hosts"
    os.mkfifo(fifo)
    line = knownhosts.lines_for(f"web.example {ED25519}", False)
    assert knownhosts.append_lines(null, line) is False
    assert knownhosts.append_lines(fifo, line) is False
    assert stat.S_ISCHR(null.stat().st_mode) and stat.S_ISFIFO(fifo.stat().st_mode)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert os.read(reader, 100) == b""  # nothing was written into the FIFO
    finally:
        os.close(reader)


def test_a_symlinked_known_hosts_stays_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "dotfiles").mkdir()
    target = tmp_path / "dotfiles" / "known_hosts"
    target.write_text("old.example ssh-ed25519 AAAA\n")
    target.chmod(0o640)
    known = tmp_path / "known_hosts"
    known.symlink_to("dotfiles/known_hosts")
    assert knownhosts.append_lines(known, [f"web.example {ED25519}"])
    assert known.is_symlink() and os.readlink(known) == "dotfiles/known_hosts"
    assert target.read_text() == f"old.example ssh-ed25519 AAAA\nweb.example {ED25519}\n"
    assert target.stat().st_mode & 0o777 == 0o640
