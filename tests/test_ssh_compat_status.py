"""status --json names one account's CODEX_HOME the same way through any alias (absolute, even
before codex made it), and a host it could not check has no storage to report (issue 19, 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.lab import SshLab


def test_one_account_one_codex_home_and_no_storage_on_errors(lab: SshLab) -> None:
    (alias,) = lab.add_aliases(1)
    argv = [sys.executable, "-m", "codex_wizard", "status", "lab", alias, "nobody@127.0.0.1:1"]
    done = subprocess.run(
        [*argv, "--json", "--timeout", "5", "-F", str(lab.ssh_config)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    first, second, unreachable = json.loads(done.stdout)
    home = os.path.realpath(lab.home)
    assert first["codex_home"] == second["codex_home"] == f"{home}/.codex", done.stdout
    assert first["storage"] == "file"
    assert unreachable["state"] == "error" and unreachable["storage"] is None
