"""OpenSSH by comparison: each case of tests/ssh_compat_cases.py through `ssh` and through our
connect, on the same config against the same lab sshd, with the same outcome (issue 19)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_wizard.core.ssh.connection import connect
from codex_wizard.core.ssh.hosts import parse_host_arg
from codex_wizard.core.ssh.types import ConnectSettings
from tests.lab import SshLab
from tests.lab.compat import (
    PASSWORD,
    Outcome,
    Side,
    SshdLog,
    agent_with,
    config_text,
    folder_state,
    lab_lines,
    lab_password,
    make_key,
    run_ours,
    run_ssh,
    ssh_questions,
    sshd_options,
)
from tests.ssh_compat_cases import CASES, Case

pytestmark = pytest.mark.lab


@contextlib.contextmanager
def _agent(lab: SshLab, case: Case, folder: Path) -> Iterator[str]:
    """An agent holding `agent_keys` other keys, then the lab's (none: no agent)."""
    if case.agent_keys < 0:
        yield "none"
        return
    keys_dir = lab.dir / "compat-keys"
    keys_dir.mkdir(exist_ok=True)
    others = [make_key(keys_dir / f"other{n}", f"other{n}") for n in range(case.agent_keys)]
    with agent_with(folder, [*others, lab.client_key]) as sock:
        yield sock


@contextlib.contextmanager
def _ports() -> Iterator[tuple[int, int]]:
    """A port that is busy (held here) and one that is free."""
    with socket.socket() as busy, socket.socket() as free:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
        free.close()
        yield busy.getsockname()[1], port


def _user_ca(lab: SshLab) -> str:
    """A user CA (made once per lab) that sshd trusts when a case says TrustedUserCAKeys."""
    return str(make_key(lab.dir / "compat-user-ca", "compat-user-ca")) + ".pub"


def _side(case: Case, folder: Path, lab: SshLab, values: dict[str, str]) -> Side:
    folder.mkdir()
    case.setup(folder, lab)
    values = {**values, "dir": str(folder)}
    (folder / "config").write_text(config_text(lab_lines(case.options), case.tail, values))
    return Side(folder, case.trust, case.password, case.target.format(**values))


def _outcome(side: Side, connected: bool, log: SshdLog, questions: list[str], case: Case):
    shown = tuple(q.replace(str(side.folder), "{dir}") for q in questions)
    return Outcome(connected, log.accepted(), shown, folder_state(side.folder))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_the_same_outcome_as_ssh(case: Case, lab: SshLab, tmp_path: Path) -> None:
    log = SshdLog(lab)
    with contextlib.ExitStack() as stack:
        ca = _user_ca(lab) if case.sshd.get("TrustedUserCAKeys") else ""
        stack.enter_context(sshd_options(lab, **{k: v.format(ca=ca) for k, v in case.sshd.items()}))
        stack.enter_context(lab_password(lab, bool(case.password and case.sshd)))
        agent = stack.enter_context(_agent(lab, case, tmp_path))
        busy, free = stack.enter_context(_ports())
        values = {"port": str(lab.port), "user": lab.user, "key": str(lab.client_key)}
        values |= {"agent": agent, "busy": str(busy), "free": str(free), "ca": ca}
        ssh_side = _side(case, tmp_path / "ssh", lab, values)
        our_side = _side(case, tmp_path / "ours", lab, values)

        log.mark()
        connected, said = run_ssh(ssh_side)
        theirs = _outcome(ssh_side, connected, log, ssh_questions(ssh_side.folder), case)
        log.mark()
        connected, error = await run_ours(our_side)
        ours = _outcome(our_side, connected, log, our_side.questions, case)

    assert theirs.connected is case.connected, said
    assert ours.connected is case.our_outcome, error
    if case.ours is None:
        assert ours == theirs, f"ssh said: {said!r}; we said: {error!r}"
    else:  # a deliberate difference: still the same questions and files
        assert (ours.questions, ours.files) == (theirs.questions, theirs.files)


async def test_a_password_given_up_front_answers_keyboard_interactive(
    lab: SshLab, tmp_path: Path
) -> None:
    """The wizard's password dialog gives asyncssh `password=` and no prompt: a server that asks
    through PAM (keyboard-interactive only) still takes it, as before prompts were added."""
    folder = tmp_path / "wizard"
    folder.mkdir()
    (folder / "known_hosts").write_text(lab.known_hosts.read_text())
    values = {"port": str(lab.port), "user": lab.user, "key": str(lab.client_key)}
    lines = lab_lines({"IdentityFile": "{dir}/no-such-key"})
    (folder / "config").write_text(config_text(lines, "", {**values, "dir": str(folder)}))
    log = SshdLog(lab)
    settings = ConnectSettings(folder / "config", extra_options={"password": PASSWORD})
    with sshd_options(lab, UsePAM="yes", KbdInteractiveAuthentication="yes"), lab_password(lab):
        log.mark()
        async with await connect(parse_host_arg("compat"), settings) as conn:
            assert (await conn.run("true")).exit_status == 0
        assert log.accepted() == "keyboard-interactive/pam"
