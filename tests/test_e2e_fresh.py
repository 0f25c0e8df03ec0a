"""`push-auth --fresh/--copy` and `logout` as a user runs them, against the real-sshd lab.

This computer's side is the fake codex on a private PATH (the local codex), a temporary
CODEX_HOME holding this computer's own login and a temporary TMPDIR: never the tester's ~/.codex.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_wizard.core.laptop.ports import port_is_free
from codex_wizard.core.tokens.auth import parse_auth_json
from tests.fresh_local import LocalSide, kill_leftovers, make_local_side, sign_in
from tests.lab.fake_tokens import make_auth_json, secrets_in
from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import CLI, URL_LINE, cli, run_cli
from tests.test_e2e_tokens import renamed


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalSide]:
    side = make_local_side(tmp_path / "here")
    for name, value in side.env().items():
        monkeypatch.setenv(name, value)  # the CLI processes inherit this computer's side
    yield side
    kill_leftovers(side)


def login_id(path: Path) -> str | None:
    return parse_auth_json(path.read_bytes()).login_id


def assert_clean(text: str, *auth_files: Path) -> None:
    assert "Traceback" not in text
    for path in auth_files:
        for secret in secrets_in(path.read_text()):
            assert secret not in text


def test_fresh_login_gives_the_server_a_login_of_its_own(lab: SshLab, local: LocalSide) -> None:
    lab.install_codex("fake", "path")
    with cli(lab, "push-auth", "lab", "--fresh", "--timeout", "60") as run:
        url = run.wait_for(URL_LINE.pattern)
        assert sign_in(url) == 302
        code, out = run.finish()
    assert code == 0, out
    server_auth = lab.server_path(".codex/auth.json")
    assert login_id(server_auth) != login_id(local.own_auth)  # shared with nothing
    assert server_auth.stat().st_mode & 0o777 == 0o600
    assert "a fresh login made on this computer" in out and "Logged in using ChatGPT" in out
    assert local.leftovers() == []  # the temporary CODEX_HOME is gone
    assert local.codex_processes() == []
    assert_clean(out, server_auth, local.own_auth)
    status = run_cli(lab, "status", "lab", "--json")
    assert json.loads(status.stdout)[0]["shared_with"] == []


def test_ctrl_c_during_fresh_leaves_no_home_and_no_local_codex(
    lab: SshLab, local: LocalSide
) -> None:
    lab.install_codex("fake", "path")
    with cli(lab, "push-auth", "lab", "--fresh") as run:
        run.wait_for(URL_LINE.pattern)
        assert len(local.leftovers()) == 1 and local.codex_processes()
        run.proc.send_signal(signal.SIGINT)
        code, out = run.finish()
    assert code == 130, out
    assert "cancelled" in out and "Traceback" not in out
    assert local.leftovers() == []
    assert local.codex_processes() == []
    assert port_is_free(1455)
    assert not lab.server_path(".codex/auth.json").exists()


def test_local_codex_dies_with_a_killed_cli(lab: SshLab, local: LocalSide) -> None:
    """SIGKILL leaves no clean-up to run: codex here still goes (PR_SET_PDEATHSIG)."""
    lab.install_codex("fake", "path")
    with cli(lab, "push-auth", "lab", "--fresh") as run:
        run.wait_for(URL_LINE.pattern)
        run.proc.kill()
        run.finish()
    for _ in range(100):
        if not local.codex_processes():
            break
        time.sleep(0.1)
    assert local.codex_processes() == []
    assert port_is_free(1455)


def test_copy_warns_that_the_two_share_one_login(lab: SshLab, local: LocalSide) -> None:
    lab.install_codex("fake", "path")
    refused = run_cli(lab, "push-auth", "lab", "--copy")
    assert refused.returncode == 1
    assert "will then share one login" in refused.stdout and "add --yes" in refused.stderr
    assert not lab.server_path(".codex/auth.json").exists()
    copied = run_cli(lab, "push-auth", "lab", "--copy", "--yes")
    assert copied.returncode == 0, copied.stdout + copied.stderr
    assert "the first of the two to renew it" in copied.stdout
    server_auth = lab.server_path(".codex/auth.json")
    assert server_auth.read_text() == local.own_auth.read_text()
    assert_clean(copied.stdout + copied.stderr, local.own_auth)


def test_logout_names_the_hosts_and_this_computer_sharing_its_login(
    lab: SshLab, lab_noforward: SshLab, local: LocalSide, tmp_path: Path
) -> None:
    text = local.own_auth.read_text()
    for server in (lab, lab_noforward):
        server.install_codex("fake", "path")
        server.write_server_file(".codex/auth.json", text, mode=0o600)
    config = tmp_path / "ssh_config"
    blocks = [renamed(lab, "web1"), renamed(lab, "web1-alias"), renamed(lab_noforward, "web2")]
    config.write_text("\n".join(blocks))
    result = subprocess.run(
        [*CLI, "logout", "web1", "--yes", "-F", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "revokes its login at OpenAI" in out
    assert "these hold a copy: web2, this computer." in out  # not its own alias
    assert "Successfully logged out" in out
    assert not lab.server_path(".codex/auth.json").exists()
    assert lab_noforward.server_path(".codex/auth.json").exists()
    assert_clean(out, local.own_auth)


def test_logout_of_a_login_of_its_own_says_no_copy_was_found(lab: SshLab, local: LocalSide) -> None:
    lab.install_codex("fake", "path")
    lab.write_server_file(".codex/auth.json", make_auth_json(tag="own"), mode=0o600)
    started = time.monotonic()
    result = run_cli(lab, "logout", "lab", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no copy was found in the 1 other place checked" in result.stdout
    assert time.monotonic() - started < 60
    assert os.path.exists(local.own_auth)  # this computer's login is untouched
