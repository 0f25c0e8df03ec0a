"""The differential runner: one ssh_config case through OpenSSH's `ssh` and through our connect,
against the same lab sshd, each outcome read the same way.

An outcome is what a user (or an attacker) could tell apart: connected or not, what sshd
accepted (its VERBOSE log: the key's SHA256, or the method), the questions asked (ssh's through
a recording SSH_ASKPASS with SSH_ASKPASS_REQUIRE=force and no terminal; ours through recording
prompts), and every known_hosts file afterwards (bytes, mode, symlink kept). Each side runs in
its own copy of the case's folder, so neither sees what the other wrote.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from codex_wizard.core.ssh.connection import connect
from codex_wizard.core.ssh.hosts import parse_host_arg
from codex_wizard.core.ssh.types import ConnectError, ConnectSettings

from .proc import run, stop_popen, wait_until
from .sshlab import SshLab

ALIAS = "compat"
HOST_KEY_QUESTION = "host key?"
PASSWORD = "Lab-pass-7319"
_ACCEPTED = re.compile(r"Accepted (\S+) for \S+ from \S+ port \d+ ssh2(?:: \S+ (SHA256:\S+))?")

# A case's folder is set up by one of these, named in the case (the doc shows the name).
Setup = Callable[[Path, SshLab], None]


@dataclass(frozen=True)
class Outcome:
    connected: bool
    accepted: str | None  # the key's SHA256 (publickey) or the method sshd accepted
    questions: tuple[str, ...]
    files: tuple[tuple[str, str], ...]  # (name in the case folder, state)


@dataclass
class Side:
    """One side's folder and what its prompts answer."""

    folder: Path
    trust: bool  # the answer to "trust this host key?"
    password: str | None
    target: str = "compat"  # what is typed after `ssh`
    questions: list[str] = field(default_factory=list)


def config_text(lines: list[str], tail: str, values: dict[str, str]) -> str:
    """The case's Host block and what follows it, `{dir}`, `{port}`, ... filled in."""
    block = [f"Host {ALIAS} 127.0.0.1", *(f"  {line}" for line in lines)]
    return ("\n".join(block) + "\n" + tail).format(**values)


def lab_lines(options: dict[str, str | None]) -> list[str]:
    """The lab's host block as config lines, with options replaced or added (None: dropped)."""
    base = {
        "HostName": "127.0.0.1",
        "Port": "{port}",
        "User": "{user}",
        "IdentityFile": "{key}",
        "IdentitiesOnly": "yes",
        "IdentityAgent": "none",
        "UserKnownHostsFile": "{dir}/known_hosts",
        "GlobalKnownHostsFile": "/dev/null",
        "UpdateHostKeys": "no",
    }
    base.update(options)
    return [f"{key} {value}" for key, value in base.items() if value]


def file_state(path: Path) -> str:
    """What a user would see of one path: missing, a symlink and where to, mode and bytes."""
    if not os.path.lexists(path):
        return "missing"
    link = f"symlink to {os.readlink(path)}; " if path.is_symlink() else ""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        return f"{link}not a regular file (mode {stat.filemode(info.st_mode)})"
    text = path.read_text()
    hashed = re.sub(r"\|1\|[^| ]+\|[^ ]+", "|1|<hashed>", text)
    return f"{link}{oct(info.st_mode & 0o777)} {hashed!r}"


def folder_state(folder: Path) -> tuple[tuple[str, str], ...]:
    """Every file a case's side may have written (not its config, agent or keys); the
    folder's own path written as {dir}."""
    paths = sorted(p for p in folder.rglob("*") if not _is_setup(p))
    found = [(str(p.relative_to(folder)), file_state(p)) for p in paths]
    found = [(name, state.replace(str(folder), "{dir}")) for name, state in found]
    return tuple(found)


def _is_setup(path: Path) -> bool:
    """The side's config, agent socket and key files: not written by a connection."""
    return (
        path.name in ("config", "agent.sock")
        or path.name.startswith("id_")
        or (path.is_dir() and not path.is_symlink() and path.name != "known_hosts")
    )


class SshdLog:
    """What sshd accepted since `mark()`."""

    def __init__(self, lab: SshLab) -> None:
        self.path = lab.sshd_log
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def accepted(self) -> str | None:
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            text = fh.read().decode("utf-8", "replace")
        found = _ACCEPTED.search(text)
        return (found.group(2) or found.group(1)) if found else None


def _askpass(folder: Path, side: Side) -> Path:
    """A recording SSH_ASKPASS: it logs each prompt and answers host keys and passwords."""
    script = folder.parent / f"askpass-{folder.name}"
    answer = "yes" if side.trust else "no"
    script.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n\\036\\n' \"$1\" >> '{folder.parent}/asked-{folder.name}'\n"
        'case "$1" in *"continue connecting"*) '
        f"echo {answer}; exit 0;; esac\n"
        + (f"echo '{side.password}'\n" if side.password else "exit 1\n")
    )
    script.chmod(0o755)
    return script


def ssh_questions(folder: Path) -> list[str]:
    record = folder.parent / f"asked-{folder.name}"
    if not record.exists():
        return []
    prompts = [p.strip("\n") for p in record.read_text().split("\x1e\n") if p.strip()]
    return [HOST_KEY_QUESTION if "continue connecting" in p else p for p in prompts]


def run_ssh(side: Side) -> tuple[bool, str]:
    """`ssh -F config compat true` with no terminal and a recording askpass."""
    askpass = _askpass(side.folder, side)
    environ = {
        **{k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"},
        "SSH_ASKPASS": str(askpass),
        "SSH_ASKPASS_REQUIRE": "force",
        "DISPLAY": ":0",
    }
    argv = ["ssh", "-F", str(side.folder / "config"), side.target, "true"]
    done = subprocess.run(
        argv,
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,  # no controlling terminal: ssh can only ask through askpass
        umask=0o077,  # ssh's new known_hosts as private as ours (a difference on purpose)
        check=False,
    )
    return done.returncode == 0, done.stderr


async def run_ours(side: Side) -> tuple[bool, str]:
    """Our connect on the same config, answering as the askpass does."""

    async def confirm(key: object) -> bool:
        side.questions.append(HOST_KEY_QUESTION)
        return side.trust

    async def answer(prompt: str, echo: bool) -> str | None:
        side.questions.append(prompt)
        return side.password

    async def passphrase(path: str) -> str | None:
        side.questions.append(f"Enter passphrase for key '{path}': ")
        return side.password

    settings = ConnectSettings(
        side.folder / "config",
        confirm_host_key=confirm,
        ask_passphrase=passphrase,
        answer_prompt=answer,
    )
    with _without_agent():
        try:
            async with await connect(parse_host_arg(side.target), settings) as conn:
                return (await conn.run("true")).exit_status == 0, ""
        except ConnectError as exc:
            return False, str(exc)


@contextlib.contextmanager
def _without_agent() -> Iterator[None]:
    """No SSH_AUTH_SOCK from the test's own environment: a case names its agent."""
    saved = os.environ.pop("SSH_AUTH_SOCK", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["SSH_AUTH_SOCK"] = saved


@contextlib.contextmanager
def sshd_options(lab: SshLab, **options: str) -> Iterator[None]:
    """The lab's sshd restarted with these sshd_config options, then as it was."""
    config = lab.dir / "sshd_config"
    original = config.read_text()
    if not options:
        yield
        return
    kept = [line for line in original.splitlines() if line.split()[0] not in options]
    config.write_text("\n".join([*kept, *(f"{k} {v}" for k, v in options.items())]) + "\n")
    lab.stop_sshd()
    lab.start_sshd()
    try:
        yield
    finally:
        config.write_text(original)
        lab.stop_sshd()
        lab.start_sshd()


@contextlib.contextmanager
def lab_password(lab: SshLab, needed: bool = True) -> Iterator[None]:
    """The lab user gets PASSWORD (when needed); locked again after."""
    if not needed:
        yield
        return
    run(["chpasswd"], input=f"{lab.user}:{PASSWORD}\n")
    try:
        yield
    finally:
        run(["usermod", "-p", "*", lab.user])


@contextlib.contextmanager
def agent_with(folder: Path, keys: list[Path]) -> Iterator[str]:
    """An ssh-agent holding keys in this order; yields its socket."""
    sock = folder / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_until(sock.exists)
        for key in keys:
            run(["env", f"SSH_AUTH_SOCK={sock}", "ssh-add", "-q", str(key)])
        yield str(sock)
    finally:
        stop_popen(agent)


def make_key(path: Path, comment: str) -> Path:
    if not path.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return path


def fingerprint(key: Path) -> str:
    return run(["ssh-keygen", "-l", "-E", "sha256", "-f", f"{key}.pub"]).stdout.split()[1]


def copy_folder(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=True)
