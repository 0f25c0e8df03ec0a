"""Passwords on a terminal, from every CLI command that connects (issue 19, defect 4): a
server that takes only a password gets it asked as ssh asks it (`user@host's password:`); with
no terminal nothing is asked and the message says how to fix it; BatchMode asks nothing."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab import SshLab
from tests.lab.compat import PASSWORD, SshdLog, lab_password, sshd_options

pytestmark = pytest.mark.lab
CLI = [sys.executable, "-m", "codex_wizard"]
COMMANDS = [["status", "lab"], ["doctor", "lab"], ["logout", "lab"], ["login", "--no-tui", "lab"]]
PROMPT_END = "'s password: "


def _password_only_config(lab: SshLab, folder: Path, *extra: str) -> Path:
    """The lab's host with no key that works: only the password can log in."""
    folder.mkdir(exist_ok=True)
    config = folder / "ssh_config"
    text = lab.ssh_config.read_text().replace(str(lab.client_key), str(folder / "no-key"))
    config.write_text(text + "".join(f"  {line}\n" for line in extra))
    return config


def _on_a_terminal(argv: list[str], answer: str, timeout: float = 60) -> tuple[str, str]:
    """Run argv on a pty; type `answer` at the first password prompt. (prompt seen, output)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    output, prompt = b"", ""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                output += os.read(master, 4096)
            except OSError:  # the pty closed: the command ended
                break
            text = output.decode("utf-8", "replace")
            if not prompt and PROMPT_END in text:
                prompt = text[: text.index(PROMPT_END) + len(PROMPT_END)].splitlines()[-1]
                os.write(master, f"{answer}\n".encode())
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    return prompt, output.decode("utf-8", "replace")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command[0])
def test_every_command_asks_the_password_on_a_terminal(
    lab: SshLab, tmp_path: Path, command: list[str]
) -> None:
    config = _password_only_config(lab, tmp_path)
    log = SshdLog(lab)
    with sshd_options(lab, PasswordAuthentication="yes"), lab_password(lab):
        log.mark()
        prompt, output = _on_a_terminal([*CLI, *command, "-F", str(config)], PASSWORD)
        accepted = log.accepted()
    assert prompt == f"{lab.user}@127.0.0.1's password: ", output
    assert accepted == "password", output
    assert PASSWORD not in output  # typed without echo


def test_without_a_terminal_nothing_is_asked_and_the_fix_is_named(
    lab: SshLab, tmp_path: Path
) -> None:
    config = _password_only_config(lab, tmp_path / "plain")
    batch = _password_only_config(lab, tmp_path / "batch", "BatchMode yes")
    with sshd_options(lab, PasswordAuthentication="yes"), lab_password(lab):
        piped = subprocess.run(
            [*CLI, "status", "lab", "-F", str(config)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        _, on_terminal = _on_a_terminal([*CLI, "status", "lab", "-F", str(batch)], PASSWORD)
    said = piped.stdout + piped.stderr
    assert PROMPT_END not in said and "takes a password" in said, said
    assert "run codex-wizard in a terminal" in said
    assert PROMPT_END not in on_terminal and "BatchMode is on" in on_terminal, on_terminal
