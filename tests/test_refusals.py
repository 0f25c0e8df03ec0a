"""Nothing is written when the user says no: `push-auth --copy` asks on the terminal before it
shares this computer's login with a server, and a "no" there leaves the server's auth.json
as it was. A real terminal (a pty) on the CLI's stdin, against the lab's sshd."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.lab.fake_tokens import make_auth_json
from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import CLI


def copy_answering(lab: SshLab, answer: str, codex_home: Path) -> subprocess.CompletedProcess:
    """`push-auth lab --copy` with a terminal on stdin, the answer typed ahead (the terminal
    keeps the line until the question reads it)."""
    primary, secondary = os.openpty()
    try:
        os.write(primary, f"{answer}\n".encode())
        return subprocess.run(
            [*CLI, "push-auth", "lab", "--copy", "-F", str(lab.ssh_config)],
            stdin=secondary,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "CODEX_HOME": str(codex_home)},
        )
    finally:
        os.close(secondary)
        os.close(primary)


@pytest.mark.parametrize(("answer", "copied"), [("n", False), ("y", True)])
def test_copy_is_written_only_after_a_yes(
    lab: SshLab, tmp_path: Path, answer: str, copied: bool
) -> None:
    own = tmp_path / "auth.json"
    own.write_text(make_auth_json(tag="laptop"))
    result = copy_answering(lab, answer, tmp_path)
    server_auth = lab.server_path(".codex/auth.json")
    assert "Copy it anyway? [y/N]" in result.stdout, result.stdout + result.stderr
    if copied:
        assert result.returncode == 0, result.stdout + result.stderr
        assert server_auth.read_text() == own.read_text()
    else:
        assert result.returncode == 1 and "not copied." in result.stderr
        assert not server_auth.exists() and not server_auth.parent.exists()
