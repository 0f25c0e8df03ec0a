"""OpenSSH's own setups against the lab's sshd: several known_hosts files, hashed ones, a ProxyJump
through a second sshd reachable only inside the namespace, encrypted keys with and without an
agent. Each accept/refuse decision is compared with `ssh -o BatchMode=yes` on the same config."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_wizard.core.ssh.connection import connect
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.types import (
    ConnectError,
    ConnectErrorKind,
    ConnectSettings,
    HostKeyUnknown,
)
from tests.lab import SshLab
from tests.lab.proc import run, stop_popen, wait_until
from tests.lab.sshlab import SSHD

pytestmark = pytest.mark.lab
INNER_PORT = 2200


def _config(lab: SshLab, tmp_path: Path, alias: str, **options: str) -> Path:
    """lab's Host block under alias, with options replaced or added."""
    lines = [line for line in lab.ssh_config.read_text().splitlines() if line.strip()]
    body = {line.split()[0]: line for line in lines[1:]}
    body.update({key: f"  {key} {value}" for key, value in options.items()})
    config = tmp_path / f"config-{alias}"
    config.write_text("\n".join([f"Host {alias}", *body.values()]) + "\n")
    return config


def _ssh_accepts(config: Path, alias: str, env: dict[str, str] | None = None) -> bool:
    done = subprocess.run(
        ["ssh", "-F", str(config), "-o", "BatchMode=yes", alias, "true"],
        capture_output=True,
        timeout=30,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return done.returncode == 0


async def _we_accept(config: Path, alias: str, **settings: object) -> bool:
    try:
        async with await connect(HostTarget(alias), ConnectSettings(config, **settings)) as conn:
            return (await conn.run("echo ok")).stdout.strip() == "ok"
    except ConnectError:
        return False


async def test_every_known_hosts_file_and_empty_ones(lab: SshLab, tmp_path: Path) -> None:
    empty, missing = tmp_path / "empty", tmp_path / "missing"
    empty.write_text("")
    files = f"{empty} {missing} {lab.known_hosts}"
    for alias, value in (("several", files), ("only-empty", str(empty)), ("none", "none")):
        config = _config(lab, tmp_path, alias, UserKnownHostsFile=value)
        expected = _ssh_accepts(config, alias)
        assert await _we_accept(config, alias) == expected, alias
    with pytest.raises(HostKeyUnknown):  # never a fall-back to ~/.ssh/known_hosts
        await connect(HostTarget("only-empty"), ConnectSettings(tmp_path / "config-only-empty"))


async def test_hashed_file_and_hashed_append(lab: SshLab, tmp_path: Path) -> None:
    hashed = tmp_path / "hashed"
    hashed.write_text(lab.known_hosts.read_text())
    run(["ssh-keygen", "-H", "-f", str(hashed)])
    config = _config(lab, tmp_path, "hashed", UserKnownHostsFile=str(hashed))
    assert _ssh_accepts(config, "hashed") and await _we_accept(config, "hashed")

    fresh = tmp_path / "new" / "known_hosts"
    config = _config(
        lab,
        tmp_path,
        "fresh",
        UserKnownHostsFile=f"{fresh} {lab.known_hosts}",
        HashKnownHosts="yes",
    )
    # The key is known from the second file: nothing to append.
    assert await _we_accept(config, "fresh") and not fresh.exists()
    config = _config(lab, tmp_path, "fresh", UserKnownHostsFile=str(fresh), HashKnownHosts="yes")
    assert not _ssh_accepts(config, "fresh")
    assert await _we_accept(config, "fresh", accept_new_host_key=True)
    assert fresh.read_text().startswith("|1|") and "127.0.0.1" not in fresh.read_text()
    assert oct(fresh.stat().st_mode & 0o777) == "0o600"
    assert _ssh_accepts(config, "fresh")  # OpenSSH reads what we wrote


@pytest.fixture
def inner_sshd(lab: SshLab) -> Iterator[str]:
    """A second sshd on 127.0.0.1:2200 inside the namespace only; yields its host key line."""
    key = lab.dir / "inner_host_key"
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    config = lab.dir / "sshd_config"
    text = config.read_text().replace(
        "ListenAddress 127.0.0.1:22", f"ListenAddress 127.0.0.1:{INNER_PORT}"
    )
    text = text.replace(f"HostKey {lab.dir}/ssh_host_ed25519_key", f"HostKey {key}")
    text = text.replace(f"PidFile {lab.dir}/sshd.pid", f"PidFile {lab.dir}/inner.pid")
    inner = lab.dir / "inner_sshd_config"
    inner.write_text(text)
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.netns, SSHD, "-D", "-e", "-f", str(inner)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: bool(lab.ns_run(["ss", "-Hltn", f"sport = :{INNER_PORT}"]).stdout))
        yield " ".join(Path(f"{key}.pub").read_text().split()[:2])
    finally:
        stop_popen(proc)


def _jump_config(lab: SshLab, tmp_path: Path, known: Path) -> Path:
    """Host inner (127.0.0.1:2200, only inside the namespace) through ProxyJump lab."""
    jump = _config(lab, tmp_path, "lab", UserKnownHostsFile=str(known))
    inner = _config(
        lab,
        tmp_path,
        "inner",
        UserKnownHostsFile=str(known),
        Port=str(INNER_PORT),
        ProxyJump="lab",
    )
    config = tmp_path / "config-jump"
    config.write_text(jump.read_text() + inner.read_text())
    return config


async def test_unknown_jump_host_key(lab: SshLab, tmp_path: Path, inner_sshd: str) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{INNER_PORT} {inner_sshd}\n")  # the target's key only
    config = _jump_config(lab, tmp_path, known)
    assert not _ssh_accepts(config, "inner")
    with pytest.raises(HostKeyUnknown) as unknown:
        await connect(HostTarget("inner"), ConnectSettings(config))
    assert unknown.value.kind is ConnectErrorKind.HOST_KEY_UNKNOWN
    assert unknown.value.key.jump_host and unknown.value.jump_host == "lab"
    assert unknown.value.key.fingerprint == lab.host_key_fingerprint

    seen: list[str] = []

    async def say_yes(key) -> bool:
        seen.append(key.host_label)
        return True

    assert await _we_accept(config, "inner", confirm_host_key=say_yes)
    assert seen == ["lab"]
    assert _ssh_accepts(config, "inner")  # the jump host's key, as we wrote it, works for ssh


async def test_changed_jump_host_key_is_refused(
    lab: SshLab, tmp_path: Path, inner_sshd: str
) -> None:
    known = tmp_path / "known_hosts"
    other = " ".join(Path(f"{lab.dir}/inner_host_key.pub").read_text().split()[:2])
    known.write_text(f"[127.0.0.1]:{INNER_PORT} {inner_sshd}\n[127.0.0.1]:{lab.port} {other}\n")
    config = _jump_config(lab, tmp_path, known)
    assert not _ssh_accepts(config, "inner")
    with pytest.raises(ConnectError) as changed:
        await connect(HostTarget("inner"), ConnectSettings(config, accept_new_host_key=True))
    assert changed.value.kind is ConnectErrorKind.HOST_KEY_CHANGED
    assert changed.value.jump_host == "lab"


@pytest.fixture
def encrypted_key(lab: SshLab, tmp_path: Path) -> Path:
    key = tmp_path / "id_encrypted"
    key.write_bytes(lab.client_key.read_bytes())
    key.chmod(0o600)
    Path(f"{key}.pub").write_bytes(Path(f"{lab.client_key}.pub").read_bytes())
    run(["ssh-keygen", "-q", "-p", "-P", "", "-N", "s3cret", "-f", str(key)])
    return key


async def test_encrypted_key_without_agent(
    lab: SshLab, tmp_path: Path, encrypted_key: Path
) -> None:
    config = _config(lab, tmp_path, "enc", IdentityFile=str(encrypted_key))
    assert not _ssh_accepts(config, "enc")  # BatchMode: no passphrase prompt
    with pytest.raises(ConnectError) as locked:
        await connect(HostTarget("enc"), ConnectSettings(config))
    assert locked.value.kind is ConnectErrorKind.NEEDS_PASSPHRASE

    asked: list[str] = []
    answers = iter(["wrong", "s3cret"])

    async def passphrase(path: str) -> str | None:
        asked.append(path)
        return next(answers, None)

    assert await _we_accept(config, "enc", ask_passphrase=passphrase)
    assert asked == [str(encrypted_key)] * 2

    async def decline(path: str) -> str | None:
        return None

    with pytest.raises(ConnectError) as refused:
        await connect(HostTarget("enc"), ConnectSettings(config, ask_passphrase=decline))
    assert refused.value.kind is ConnectErrorKind.AUTH_REFUSED


async def test_a_passphrase_is_asked_once_per_run(
    lab: SshLab, tmp_path: Path, encrypted_key: Path
) -> None:
    """Unlocked once, the key serves a reconnect and the next host that names it, without
    asking again; a host whose IdentityFile names another key is not offered it (as ssh)."""
    config = _config(lab, tmp_path, "enc", IdentityFile=str(encrypted_key))
    other = tmp_path / "id_other"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)])
    config.write_text(
        config.read_text()
        + _config(lab, tmp_path, "enc2", IdentityFile=str(encrypted_key)).read_text()
        + _config(lab, tmp_path, "elsewhere", IdentityFile=str(other)).read_text()
    )
    asked: list[str] = []

    async def passphrase(path: str) -> str | None:
        asked.append(path)
        return "s3cret"

    settings = ConnectSettings(config, ask_passphrase=passphrase)
    for alias in ("enc", "enc", "enc2"):  # a reconnect, then another host with that key
        async with await connect(HostTarget(alias), settings) as conn:
            assert (await conn.run("echo ok")).stdout.strip() == "ok"
    assert asked == [str(encrypted_key)]
    assert not _ssh_accepts(config, "elsewhere")
    with pytest.raises(ConnectError) as refused:
        await connect(HostTarget("elsewhere"), settings)
    assert refused.value.kind is ConnectErrorKind.AUTH_REFUSED


async def test_encrypted_key_with_agent(lab: SshLab, tmp_path: Path, encrypted_key: Path) -> None:
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        wait_until(sock.exists)
        env = {"SSH_AUTH_SOCK": str(sock)}
        subprocess.run(
            ["ssh-add", str(lab.client_key)], env={**os.environ, **env}, check=True, timeout=30
        )
        config = _config(
            lab, tmp_path, "agent", IdentityFile=str(encrypted_key), IdentityAgent=str(sock)
        )
        assert _ssh_accepts(config, "agent")

        async def never(path: str) -> str | None:
            raise AssertionError("the agent has the key: no passphrase to ask")

        assert await _we_accept(config, "agent", ask_passphrase=never)
    finally:
        stop_popen(agent)
