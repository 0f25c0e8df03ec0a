"""Output to a closed pipe (`codex-wizard doctor HOST | head`) ends quietly, exit code as usual."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# A host nobody listens on: doctor prints its whole table, fast, and exits 1 (attention).
DOCTOR = ["doctor", "127.0.0.1:9", "--connect-timeout", "3"]
COMMANDS = [DOCTOR, [*DOCTOR, "--json"], ["status", "127.0.0.1:9", "--json"], ["--help"]]


def _run(args: list[str], stdout: int, ssh_config: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "codex_wizard", "-F", str(ssh_config), *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=60,
        check=False,
    )


@pytest.fixture
def ssh_config(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    config.write_text("")
    return config


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_closed_pipe_is_quiet(args: list[str], ssh_config: Path) -> None:
    usual = _run(args, subprocess.DEVNULL, ssh_config)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before we print a byte: every write meets EPIPE
    try:
        closed = _run(args, write_end, ssh_config)
    finally:
        os.close(write_end)
    assert closed.stderr == b""
    assert closed.returncode == usual.returncode


def test_doctor_into_head(ssh_config: Path) -> None:
    command = f"{sys.executable} -m codex_wizard -F {ssh_config} {' '.join(DOCTOR)} | head -c1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.stderr == b""
    assert len(done.stdout) == 1
    assert done.returncode == 1  # doctor's own "needs attention", not a crash
