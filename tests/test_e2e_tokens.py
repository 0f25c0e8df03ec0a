"""`status` against the real-sshd lab: renewal, shared logins, keyring storage (issue 11).

This computer's own login is a temporary CODEX_HOME per test, never the tester's ~/.codex.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.lab.fake_tokens import make_auth_json, secrets_in
from tests.lab.sshlab import SshLab

CLI = [sys.executable, "-m", "codex_wizard"]
DAY = 86400


def status(config: Path, codex_home: Path, *hosts: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "status", *hosts, "--json", "-F", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "CODEX_HOME": str(codex_home)},
    )


def rows_of(result: subprocess.CompletedProcess) -> dict[str, dict]:
    assert "Traceback" not in result.stderr, result.stderr
    return {row["host"]: row for row in json.loads(result.stdout)}


def renamed(lab: SshLab, alias: str) -> str:
    return lab.ssh_config.read_text().replace(f"Host {lab.alias}\n", f"Host {alias}\n", 1)


def test_expired_access_token_with_refresh_token_renews(lab: SshLab, tmp_path: Path) -> None:
    lab.write_server_file(
        ".codex/auth.json",
        make_auth_json(access_ttl_s=-3 * DAY, last_refresh="2026-01-02T03:04:05Z"),
        mode=0o600,
    )
    result = status(lab.ssh_config, tmp_path, "lab")
    assert result.returncode == 0, result.stdout + result.stderr
    row = rows_of(result)["lab"]
    assert row["state"] == "renews" and row["renews_on_use"] is True
    assert row["storage"] == "file" and row["shared_with"] == []
    assert row["codex_home"] == str(lab.server_path(".codex"))
    assert len(row["login_id"]) == 12
    plain = subprocess.run(
        [*CLI, "status", "lab", "-F", str(lab.ssh_config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CODEX_HOME": str(tmp_path)},
    )
    assert "codex renews it on next use (last renewed" in plain.stdout, plain.stdout


def test_one_login_on_two_servers_and_this_computer_is_shared(
    lab: SshLab, lab_noforward: SshLab, tmp_path: Path
) -> None:
    text = make_auth_json(tag="shared")
    for server in (lab, lab_noforward):
        server.write_server_file(".codex/auth.json", text, mode=0o600)
    (tmp_path / "auth.json").write_text(text)
    config = tmp_path / "ssh_config"
    blocks = [renamed(lab, "web1"), renamed(lab, "web1-alias"), renamed(lab_noforward, "web2")]
    config.write_text("\n".join(blocks))
    result = status(config, tmp_path, "web1", "web1-alias", "web2")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = rows_of(result)
    assert {row["state"] for row in rows.values()} == {"shared"}
    assert rows["web1"]["shared_with"] == ["web2", "this computer"]  # not its own alias
    assert rows["web1-alias"]["shared_with"] == ["web2", "this computer"]
    assert rows["web2"]["shared_with"] == ["web1", "web1-alias", "this computer"]
    assert len({row["login_id"] for row in rows.values()}) == 1
    for secret in secrets_in(text):
        assert secret not in result.stdout + result.stderr

    (tmp_path / "auth.json").unlink()  # this computer logged out; two aliases of one file
    alone = status(config, tmp_path, "web1", "web1-alias")
    assert alone.returncode == 0, alone.stdout
    assert {row["state"] for row in rows_of(alone).values()} == {"ok"}


def test_keyring_storage_asks_codex_login_status(lab: SshLab, tmp_path: Path) -> None:
    lab.install_codex("fake", "login-shell")
    lab.write_server_file(".codex/config.toml", 'cli_auth_credentials_store = "keyring"\n')
    lab.write_server_file(".fake-keyring/codex-auth.json", make_auth_json(), mode=0o600)
    result = status(lab.ssh_config, tmp_path, "lab")
    assert result.returncode == 0, result.stdout + result.stderr
    row = rows_of(result)["lab"]
    assert (row["state"], row["storage"]) == ("ok", "keyring")
    assert not lab.server_path(".codex/auth.json").exists()

    lab.server_path(".fake-keyring/codex-auth.json").unlink()
    logged_out = status(lab.ssh_config, tmp_path, "lab")
    assert logged_out.returncode == 1
    assert rows_of(logged_out)["lab"]["state"] == "logged_out"
    assert rows_of(logged_out)["lab"]["storage"] == "keyring"
