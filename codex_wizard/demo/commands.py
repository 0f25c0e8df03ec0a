"""The short commands: `codex --version`, `codex login status`, `codex logout`, npm install."""

from __future__ import annotations

import asyncio

from .machine import DemoMachine, ShellCommand
from .process import Terminal
from .scenario import CODEX_VERSION, HOME

INSTALL_ARGS = ("npm", "install", "-g")


def codex_problem(machine: DemoMachine, cmd: ShellCommand, term: Terminal) -> int | None:
    """The exit status when `codex ...` cannot start here (after printing why), else None."""
    if machine.which("codex", machine.path_for(cmd)) is None:
        exec_word = "exec: " if cmd.echo_pid else ""
        term.err(f"sh: 1: {exec_word}codex: not found")
        return 127
    if not machine.codex_runs:
        term.err(machine.version("codex")[1])
        return 127
    if cmd.codex_home and not machine.codex_home(cmd.codex_home).is_dir():
        term.err(
            f'Error loading configuration: CODEX_HOME points to "{cmd.codex_home}", '
            "but that path does not exist"
        )
        return 1
    return None


def codex_version(machine: DemoMachine, term: Terminal) -> int:
    code, text = machine.version("codex")
    term.out(text)
    return code


def login_status(machine: DemoMachine, cmd: ShellCommand, term: Terminal) -> int:
    if machine.auth_file(cmd.codex_home).is_file():
        term.err("Logged in using ChatGPT" + machine.noise)
        return 0
    term.err("Not logged in" + machine.noise)
    return 1


def logout(machine: DemoMachine, cmd: ShellCommand, term: Terminal) -> int:
    auth = machine.auth_file(cmd.codex_home)
    if not auth.is_file():
        term.err("Not logged in")
        return 0
    auth.unlink()
    term.err("Successfully logged out")
    return 0


def is_install(words: tuple[str, ...]) -> bool:
    """`npm install -g [--prefix DIR] @openai/codex[@version]`."""
    return words[:3] == INSTALL_ARGS and words[-1].startswith("@openai/codex")


def install_prefix(words: tuple[str, ...]) -> str | None:
    """The directory after `--prefix`, with `~` as the demo user's home."""
    if "--prefix" not in words[:-1]:
        return None
    prefix = words[words.index("--prefix") + 1]
    return HOME + prefix[1:] if prefix == "~" or prefix.startswith("~/") else prefix


async def npm_install(machine: DemoMachine, cmd: ShellCommand, term: Terminal) -> int:
    """Stream a plausible global install over about a second, then "install" codex."""
    if machine.which("npm", machine.path_for(cmd)) is None:
        term.err("sh: 1: npm: not found")
        return 127
    registry = "https://registry.npmjs.org/@openai"
    steps = (
        (0.25, f"npm http fetch GET 200 {registry}%2fcodex 212ms (cache miss)"),
        (0.3, f"npm http fetch GET 200 {registry}/codex/-/codex-{CODEX_VERSION}.tgz 187ms"),
        (
            0.45,
            f"npm http fetch GET 200 {registry}/codex-linux-x64/-/"
            f"codex-linux-x64-{CODEX_VERSION}.tgz 655ms",
        ),
    )
    for delay, line in steps:
        await asyncio.sleep(delay * machine.scenario.pace)
        term.err(line)
    prefix = install_prefix(cmd.words)
    if prefix is not None:
        machine.codex_bin = prefix.rstrip("/") + "/bin"
    machine.codex_installed = True
    term.out()
    term.out("added 2 packages in 1s")
    return 0
