"""The standalone install and the live check against the real-sshd lab.

The server user's shell finds no working node or npm (stubs that fail like a missing command
shadow the system's). A registry stand-in (tests/lab/registry.py) runs on the namespace's
loopback and is named by the user's ~/.npmrc; for the upload path the server's ~/.npmrc names a
dead port and this computer fetches from a stand-in of its own on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_wizard.core.install.standalone import InstallProgress, Phase, install_standalone
from codex_wizard.core.logins.livecheck import LiveOutcome, live_check
from codex_wizard.core.server.probe import ServerEnv, probe_server
from codex_wizard.core.ssh.connection import connect
from codex_wizard.core.ssh.hosts import parse_host_arg
from tests.conftest import skip_or_fail
from tests.lab import SshLab, real_codex_problem
from tests.lab.fake_tokens import make_auth_json
from tests.lab.registry import build_package, serve_in_thread
from tests.test_e2e_cli import URL_LINE, cli, run_cli
from tests.test_e2e_core import browser_callback, settings_for

pytestmark = pytest.mark.lab
REGISTRY_SCRIPT = Path(__file__).parent / "lab" / "registry.py"
NS_PORT = 4873  # verdaccio's port, inside the namespace
NOT_FOUND = '#!/bin/sh\necho "sh: 1: $(basename "$0"): not found" >&2\nexit 127\n'


def no_node(lab: SshLab) -> None:
    """node and npm on the user's PATH fail like a missing command (the system's are shadowed)."""
    lab.account.put_bin_on_path("path")
    for tool in ("node", "npm"):
        lab.write_server_file(f"bin/{tool}", NOT_FOUND, 0o755)


@pytest.fixture
def server_registry(lab: SshLab, tmp_path: Path) -> Iterator[Path]:
    """A registry stand-in in the namespace, named by the lab user's ~/.npmrc."""
    root = tmp_path / "ns-registry"
    build_package(root, "0.169.0")
    root.chmod(0o755)
    argv = ["ip", "netns", "exec", lab.netns, sys.executable, str(REGISTRY_SCRIPT)]
    proc = lab.track(subprocess.Popen([*argv, str(NS_PORT), str(root)], start_new_session=True))
    deadline = time.monotonic() + 10
    while lab.http(NS_PORT, "/@openai%2fcodex/latest", timeout=2).status != 200:
        assert proc.poll() is None and time.monotonic() < deadline, "registry did not start"
        time.sleep(0.1)
    lab.write_server_file(".npmrc", f"fund=false\nregistry=http://127.0.0.1:{NS_PORT}/\n")
    no_node(lab)
    yield root
    proc.kill()
    proc.wait(5)


@pytest.fixture
def laptop_registry(lab: SshLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The server can't reach any registry; this computer's npm_config_registry can."""
    root = tmp_path / "laptop-registry"
    build_package(root, "0.169.0")
    server = serve_in_thread(root)
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{server.server_address[1]}/")
    lab.write_server_file(".npmrc", "registry=http://127.0.0.1:9/\n")  # nothing listens
    no_node(lab)
    yield root
    server.shutdown()


async def install(lab: SshLab, **kwargs) -> tuple[object, list[InstallProgress]]:
    seen: list[InstallProgress] = []
    async with await connect(parse_host_arg("lab"), settings_for(lab)) as conn:
        probe = await probe_server(conn)
        result = await install_standalone(conn, probe, on_progress=seen.append, **kwargs)
    return result, seen


def installed_dirs(lab: SshLab) -> list[str]:
    root = lab.server_path(".local/lib/codex-standalone")
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def codex_version_over_ssh(lab: SshLab) -> str:
    return lab.ssh("bash -lc 'codex --version'").stdout.strip()


async def test_server_downloads_verifies_and_installs(lab: SshLab, server_registry: Path) -> None:
    result, seen = await install(lab)
    assert result.ok, result.error
    assert result.via == "server"
    assert result.entrypoint == str(
        lab.server_path(".local/lib/codex-standalone/0.169.0-linux-x64/bin/codex")
    )
    phases = [p.phase for p in seen]
    for phase in (Phase.METADATA, Phase.DOWNLOAD, Phase.VERIFY, Phase.UNPACK, Phase.SWITCH):
        assert phase in phases
    assert installed_dirs(lab) == ["0.169.0-linux-x64"]  # no .tmp-* left
    assert lab.server_path(".local/bin/codex").is_symlink()
    assert codex_version_over_ssh(lab) == "codex-cli 0.169.0"
    assert result.path_hint is not None and "~/.bashrc" in result.path_hint  # login shell only


async def test_upgrade_keeps_the_previous_version(lab: SshLab, server_registry: Path) -> None:
    assert (await install(lab, version="0.169.0"))[0].ok
    build_package(server_registry, "0.171.0")
    result, _ = await install(lab)
    assert result.ok and result.version == "0.171.0", result.error
    assert installed_dirs(lab) == ["0.169.0-linux-x64", "0.171.0-linux-x64"]
    assert codex_version_over_ssh(lab) == "codex-cli 0.171.0"


async def test_corrupted_tarball_is_refused_and_the_old_one_kept(
    lab: SshLab, server_registry: Path
) -> None:
    assert (await install(lab))[0].ok
    build_package(server_registry, "0.171.0", corrupt=True)
    result, _ = await install(lab)
    assert not result.ok
    assert "does not match the registry's sha512" in result.error
    assert installed_dirs(lab) == ["0.169.0-linux-x64"]
    assert codex_version_over_ssh(lab) == "codex-cli 0.169.0"


async def test_unknown_version_is_a_clear_error(lab: SshLab, server_registry: Path) -> None:
    result, _ = await install(lab, version="9.9.9")
    assert not result.ok
    assert "answered" in result.error and "404" in result.error
    assert installed_dirs(lab) == []


async def test_cancel_mid_download_leaves_nothing(lab: SshLab, server_registry: Path) -> None:
    build_package(server_registry, "0.171.0", pad=2_000_000)
    (server_registry / "slow").write_text("")
    downloading = asyncio.Event()

    def watch(progress: InstallProgress) -> None:
        if progress.phase is Phase.DOWNLOAD and progress.done:
            downloading.set()

    async with await connect(parse_host_arg("lab"), settings_for(lab)) as conn:
        probe = await probe_server(conn)
        task = asyncio.create_task(install_standalone(conn, probe, on_progress=watch))
        await asyncio.wait_for(downloading.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert installed_dirs(lab) == []
    assert not lab.server_path(".local/bin/codex").exists()
    assert lab.server_processes("curl") == []


async def test_upload_when_the_server_cannot_reach_a_registry(
    lab: SshLab, laptop_registry: Path
) -> None:
    result, seen = await install(lab)
    assert result.ok, result.error
    assert result.via == "upload"
    phases = [p.phase for p in seen]
    assert Phase.DOWNLOAD_HERE in phases and Phase.UPLOAD in phases
    upload = [p for p in seen if p.phase is Phase.UPLOAD and p.done]
    assert upload and upload[-1].done == upload[-1].total
    assert installed_dirs(lab) == ["0.169.0-linux-x64"]
    assert codex_version_over_ssh(lab) == "codex-cli 0.169.0"


async def test_upload_of_a_corrupted_tarball_is_refused_here(
    lab: SshLab, laptop_registry: Path
) -> None:
    build_package(laptop_registry, "0.171.0", corrupt=True)
    result, seen = await install(lab)
    assert not result.ok
    assert "does not match the registry's sha512" in result.error
    assert Phase.UPLOAD not in [p.phase for p in seen]
    assert installed_dirs(lab) == []


def test_cli_install_then_login_reaches_the_url(lab: SshLab, server_registry: Path) -> None:
    out = run_cli(lab, "install", "lab")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "standalone codex" in out.stdout and "does not run" in out.stdout
    assert "codex 0.169.0 installed (downloaded by the server)" in out.stdout
    assert "Next: codex-wizard login lab" in out.stdout
    doctor = run_cli(lab, "doctor", "lab")
    assert "not needed" in doctor.stdout
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "30") as run:
        run.wait_for(URL_LINE.pattern)
        assert browser_callback(1455, "/auth/callback?code=c&state=old") == 400
        run.wait_for("State mismatch")


def test_doctor_recommends_standalone_without_node(lab: SshLab) -> None:
    no_node(lab)
    out = run_cli(lab, "doctor", "lab")
    assert "codex-wizard install lab --standalone" in out.stdout


# --- live check ----------------------------------------------------------------------------------


async def live(lab: SshLab):
    async with await connect(parse_host_arg("lab"), settings_for(lab)) as conn:
        return await live_check(conn, ServerEnv(auto_path=True), timeout=90)


@pytest.mark.parametrize(
    ("knob", "outcome", "words"),
    [
        ("reply", LiveOutcome.REPLY, "codex answered: OK"),
        ("refresh_used", LiveOutcome.LOGIN_AGAIN, "log in again"),
        ("usage_limit", LiveOutcome.USAGE_LIMIT, "usage limit"),
        ("offline", LiveOutcome.NO_NETWORK, "cannot reach OpenAI"),
    ],
)
async def test_live_check_against_the_fake(
    lab: SshLab, knob: str, outcome: LiveOutcome, words: str
) -> None:
    lab.install_codex("fake", "path")
    lab.write_server_file(".codex/auth.json", make_auth_json(), 0o600)
    lab.set_fake_knobs(exec=knob)
    check = await live(lab)
    assert check.outcome is outcome, check
    assert words in check.summary()
    assert lab.server_processes("codex exec") == []


async def test_live_check_not_logged_in(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    check = await live(lab)
    assert check.outcome is LiveOutcome.LOGIN_AGAIN


def test_cli_verify_live_says_quota_first(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    lab.write_server_file(".codex/auth.json", make_auth_json(), 0o600)
    out = run_cli(lab, "verify", "lab", "--live")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    quota = next(i for i, line in enumerate(lines) if "quota" in line)
    answer = next(i for i, line in enumerate(lines) if "codex answered: OK" in line)
    assert quota < answer


@pytest.mark.realcodex
async def test_live_check_real_codex_offline(lab: SshLab) -> None:
    problem = real_codex_problem()
    if problem:
        skip_or_fail(problem)
    lab.install_codex("real", "path")
    lab.write_server_file(".codex/auth.json", make_auth_json(), 0o600)
    check = await live(lab)
    assert check.outcome is LiveOutcome.NO_NETWORK, check
    assert "cannot reach OpenAI" in check.summary()
    assert lab.server_processes("codex") == []
