"""status's machine formats end to end against the lab sshd: --format jsonl shows a host's row
while another host still hangs; --format prometheus --output writes the whole file, in place."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.lab.fake_tokens import make_auth_json
from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import CLI, Running, run_cli


def test_jsonl_shows_each_host_as_it_answers(lab: SshLab, tmp_path: Path, silent_port: int) -> None:
    lab.write_server_file(".codex/auth.json", make_auth_json(), mode=0o600)
    config = tmp_path / "ssh_config"
    hung = f"Host hung\n  HostName 127.0.0.1\n  Port {silent_port}\n"
    config.write_text(lab.ssh_config.read_text() + hung)
    argv = [*CLI, "status", "hung", "lab", "--format", "jsonl", "-F", str(config)]
    running = Running([*argv, "--connect-timeout", "120", "--timeout", "120"])
    try:
        line = running.wait_for(r'^\{"host":"lab"')
        assert running.proc.poll() is None  # `hung` holds the run for minutes yet
        row = json.loads(line)
        assert row["state"] in ("ok", "renews") and row["check_s"] > 0
    finally:
        running.proc.kill()
        running.proc.wait(10)


def test_prometheus_output_file_is_written_whole(lab: SshLab, tmp_path: Path) -> None:
    lab.write_server_file(".codex/auth.json", make_auth_json(), mode=0o600)
    target = tmp_path / "textfile" / "codex.prom"
    target.parent.mkdir()
    done = run_cli(lab, "status", "lab", "--format", "prometheus", "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert os.listdir(target.parent) == ["codex.prom"]  # no temporary file left beside it
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # node_exporter reads it
    families = {f.name: f for f in text_string_to_metric_families(target.read_text())}
    (up,) = families["codex_wizard_up"].samples
    assert up.labels == {"host": "lab"} and up.value == 1


def test_output_into_a_missing_directory_is_an_error_not_a_traceback(
    lab: SshLab, tmp_path: Path
) -> None:
    target = tmp_path / "missing" / "codex.prom"
    done = run_cli(lab, "status", "lab", "--format", "prometheus", "--output", str(target))
    assert done.returncode == 1
    assert f"can't write {target}" in done.stderr
    assert "Traceback" not in done.stderr


def test_jsonl_gives_a_shared_login_a_newer_line(lab: SshLab, tmp_path: Path) -> None:
    """Sharing is known only once every host has answered: the host's first line says what
    its own file says, a later line for it says shared, and the last line is its status."""
    auth = make_auth_json()
    lab.write_server_file(".codex/auth.json", auth, mode=0o600)
    here = tmp_path / "codex-home"
    here.mkdir()
    (here / "auth.json").write_text(auth)  # this computer holds the same login
    env = {**os.environ, "CODEX_HOME": str(here)}
    done = run_cli(lab, "status", "lab", "--format", "jsonl", env=env)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(row["host"], row["state"]) for row in rows] == [("lab", "ok"), ("lab", "shared")]
    assert rows[-1]["shared_with"] == ["this computer"]
    assert done.returncode == 1  # a shared login needs attention
