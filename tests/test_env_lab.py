"""Servers as they really are, end to end: node managers, shells, noisy rc files, no SFTP.

Each case sets the lab user up the way such a user is (their login shell, their rc files, codex
where their node manager put it), then: the probe and doctor find codex where that user's shell
does, a login (fake codex) completes with the environment found, and status reads the auth.json
the user's codex reads. Compared with what `ssh lab codex --version` (no terminal) does.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator

import pytest

from codex_wizard.core.doctor import Verdict, run_doctor
from codex_wizard.core.logins.authfile import read_remote_auth
from codex_wizard.core.logins.status import check_host
from codex_wizard.core.server.login import (
    LoginExited,
    LoginSession,
    LoginSucceeded,
    UrlReady,
    url_state,
)
from codex_wizard.core.server.probe import ServerEnv, probe_server
from codex_wizard.core.server.shellenv import Where
from codex_wizard.core.ssh.connection import connect
from codex_wizard.core.tokens.auth import AuthKind
from codex_wizard.core.tokens.state import TokenState
from tests.lab.sshlab import SshLab
from tests.test_e2e_core import (
    LAB,
    browser_callback,
    ephemeral_ports,
    next_event,
    no_codex_left,
    settings_for,
)

NVM_BIN = ".nvm/versions/node/v22.11.0/bin"
DEBIAN_GUARD = "case $- in\n    *i*) ;;\n      *) return;;\nesac\n"


@pytest.fixture
def env_lab(lab: SshLab) -> Iterator[SshLab]:
    """The lab, whose user gets its bash back afterwards."""
    yield lab
    lab.set_shell("/bin/bash")


def _shell(lab: SshLab, name: str) -> None:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/lab-deps.sh)")
    lab.set_shell(path)


def nvm_in_bashrc(lab: SshLab) -> str:
    lab.install_fake_codex_in(NVM_BIN)
    bashrc = lab.read_server_file(".bashrc") if lab.server_path(".bashrc").exists() else ""
    if "*i*) ;;" not in bashrc:
        bashrc = DEBIAN_GUARD + bashrc
    lab.write_server_file(".bashrc", bashrc + f'\nexport PATH="$HOME/{NVM_BIN}:$PATH"\n')
    return "interactive shell bash"


def zsh_with_zshrc(lab: SshLab) -> str:
    _shell(lab, "zsh")
    lab.install_fake_codex_in("zbin")
    lab.write_server_file(".zshrc", 'echo "zsh says hello"\nexport PATH="$HOME/zbin:$PATH"\n')
    return "interactive shell zsh"


def fish_with_config(lab: SshLab) -> str:
    _shell(lab, "fish")
    lab.install_fake_codex_in("fbin")
    config = "echo fish noise\nif status is-interactive\n  fish_add_path -g $HOME/fbin\nend\n"
    lab.write_server_file(".config/fish/config.fish", config)
    return "interactive shell fish"


def dash_login(lab: SshLab) -> str:
    _shell(lab, "dash")
    lab.install_fake_codex_in("dbin")
    lab.write_server_file(".profile", 'echo "profile noise"\nexport PATH="$HOME/dbin:$PATH"\n')
    return "login shell (dash)"


def printing_bashrc(lab: SshLab) -> str:
    lab.install_codex("fake", "path")
    lab.write_server_file(".bashrc", 'echo "Welcome to $(hostname)!"\n')
    return "plain PATH"


SETUPS = [nvm_in_bashrc, zsh_with_zshrc, fish_with_config, dash_login, printing_bashrc]


async def _login(conn, env: ServerEnv) -> None:
    ports = ephemeral_ports()
    async with LoginSession(conn, env, local_port_for=ports) as login:
        events = login.events()
        ready = await next_event(events, UrlReady)
        path = f"/auth/callback?code=c&state={url_state(ready.url)}"
        assert await asyncio.to_thread(browser_callback, ports(ready.port), path) == 302
        await next_event(events, LoginSucceeded)
        assert (await next_event(events, LoginExited)).exit_code == 0


@pytest.mark.parametrize("setup", SETUPS, ids=[s.__name__ for s in SETUPS])
async def test_setup_finds_codex_logs_in_and_reports(env_lab: SshLab, setup) -> None:
    found_in = setup(env_lab)
    async with await connect(LAB, settings_for(env_lab)) as conn:
        probe = await probe_server(conn)
        assert probe.codex.works and probe.found_in(probe.codex) == found_in
        env = ServerEnv.from_probe(probe)
        await _login(conn, env)
        record = await read_remote_auth(conn, env.auth_path())
    assert record.kind is AuthKind.CHATGPT and record.file_mode == 0o600
    no_codex_left(env_lab)
    status = await check_host(LAB, settings_for(env_lab))
    assert status.state is TokenState.OK, status
    report = await run_doctor(LAB, settings_for(env_lab))
    assert report.verdict("codex") is Verdict.PASS and report.verdict("token") is Verdict.PASS
    plain = env_lab.ssh("codex --version")  # what OpenSSH without a terminal finds
    path_check = report.verdict("PATH")
    assert (plain.returncode == 0) == (path_check is Verdict.PASS), (plain, report.checks)


async def test_codex_home_in_profile_is_used_everywhere(env_lab: SshLab) -> None:
    env_lab.install_codex("fake", "login-shell")
    profile = env_lab.read_server_file(".profile")
    env_lab.write_server_file(".profile", profile + 'export CODEX_HOME="$HOME/ch"\n')
    env_lab.server_path("ch").mkdir()
    shutil.chown(env_lab.server_path("ch"), env_lab.user, env_lab.user)
    async with await connect(LAB, settings_for(env_lab)) as conn:
        probe = await probe_server(conn)
        assert probe.codex_home == f"{env_lab.home}/ch" and probe.codex.where is Where.LOGIN
        await _login(conn, ServerEnv(auto_path=True))  # before any probe, as `login` starts
    assert env_lab.server_path("ch/auth.json").exists()
    assert not env_lab.server_path(".codex/auth.json").exists()
    status = await check_host(LAB, settings_for(env_lab))
    assert status.state is TokenState.OK and status.codex_home == f"{env_lab.home}/ch"
    assert status.as_json()["codex_home"] == f"{env_lab.home}/ch"
    report = await run_doctor(LAB, settings_for(env_lab))
    home_row = next(c for c in report.checks if c.name == "CODEX_HOME")
    assert f"{env_lab.home}/ch" in home_row.found and report.verdict("token") is Verdict.PASS


async def test_no_sftp_needed_for_reads_and_push(
    env_lab: SshLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every SFTP start fails, as on a server without the subsystem: nothing notices."""
    from codex_wizard.core.logins.push import push_auth
    from codex_wizard.core.ssh.server import ServerConnection
    from tests.lab.fake_tokens import make_auth_json

    async def no_sftp(self):
        raise AssertionError("SFTP used")

    monkeypatch.setattr(ServerConnection, "sftp", no_sftp)
    env_lab.install_codex("fake", "path")
    env_lab.write_server_file(".bashrc", 'echo "rc noise"\n')
    async with await connect(LAB, settings_for(env_lab)) as conn:
        assert (await read_remote_auth(conn, ".codex/auth.json")).kind is AuthKind.MISSING
        pushed = await push_auth(conn, ServerEnv(auto_path=True), make_auth_json().encode())
        assert pushed.record.kind is AuthKind.CHATGPT and pushed.backup_path is None
        again = await push_auth(conn, ServerEnv(auto_path=True), make_auth_json().encode())
        assert again.backup_path and env_lab.server_path(again.backup_path).exists()
    codex_dir = env_lab.server_path(".codex")
    assert codex_dir.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in codex_dir.iterdir())
    status = await check_host(LAB, settings_for(env_lab))
    assert status.state is TokenState.OK
    report = await run_doctor(LAB, settings_for(env_lab))
    assert report.verdict("auth file") is Verdict.PASS


async def test_fifo_and_device_are_refused_without_hanging(env_lab: SshLab) -> None:
    import os

    env_lab.account.mkdir(".codex")
    os.mkfifo(env_lab.server_path(".codex/auth.json"))
    async with await connect(LAB, settings_for(env_lab)) as conn:
        fifo = await asyncio.wait_for(read_remote_auth(conn, ".codex/auth.json"), 20)
        env_lab.server_path(".codex/auth.json").unlink()
        env_lab.server_path(".codex/auth.json").symlink_to("/dev/zero")
        device = await asyncio.wait_for(read_remote_auth(conn, ".codex/auth.json"), 20)
    assert fifo.kind is AuthKind.MALFORMED and "named pipe" in (fifo.problem or "")
    assert device.kind is AuthKind.MALFORMED and "device" in (device.problem or "")
