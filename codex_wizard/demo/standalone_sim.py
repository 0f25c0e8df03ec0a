"""The demo server's standalone install and `codex exec`: what the core's scripts
(core/install/scripts.py) and live check (core/logins/livecheck.py) would print on a real server.

The registry documents name a made-up tarball; nothing is downloaded. The install script's
phases and progress are played over about three seconds (times `pace`), then codex "is" in
~/.local/bin and runs without Node.js. `codex exec` answers with codex's JSONL events.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import replace

from ..core.install.plan import INSTALL_ROOT
from ..core.install.registry import PACKAGE
from ..core.install.scripts import MARK
from .machine import DemoMachine, ShellCommand, parse_command
from .process import SimProcess, Terminal
from .scenario import CODEX_VERSION, HOME

SUFFIX = "linux-x64"
TARBALL_BYTES = 150_300_000
UNPACKED_BYTES = 420_000_000
ENTRYPOINT = f"{HOME}/{INSTALL_ROOT}/{CODEX_VERSION}-{SUFFIX}/bin/codex"
_DOC_URL = re.compile(r'fetch (\S+) "\$d/doc"')
_LIVE_CHECK_SETUP = "trap 'exit 130' INT TERM HUP; "
"""Where the live check's temp-dir set-up ends and `codex exec` (with its env) begins."""
EXEC_ERRORS = {
    "refresh_used": "Your access token could not be refreshed because your refresh token was "
    "already used. Please log out and sign in again.",
    "usage_limit": "You've hit your usage limit. Try again at 3:05 PM.",
    "logged_out": "unexpected status 401 Unauthorized: Missing bearer or basic authentication "
    "in header",
}


def _inner(raw: str) -> str:
    """The script inside `exec sh -c '...'` ('' when it is not one)."""
    if not raw.startswith("exec sh -c "):
        return ""
    try:
        return shlex.split(raw)[-1]
    except ValueError:
        return ""


def quiet_status(cmd: ShellCommand) -> int | None:
    """`cat ~/.npmrc` (the demo user has none) and the install's temp-dir `rm -rf`, else None."""
    if cmd.words == ("cat", "$HOME/.npmrc"):
        return 1
    if cmd.words[:2] == ("rm", "-rf") and f"{INSTALL_ROOT}/.tmp-" in cmd.raw:
        return 0
    return None


def is_standalone_script(raw: str) -> bool:
    """The metadata fetch or the install script (both print MARK lines)."""
    inner = _inner(raw)
    return MARK in inner and ("say phase" in inner or _DOC_URL.search(inner) is not None)


def live_check_command(raw: str) -> ShellCommand | None:
    """The `codex exec` of a live check, with the PATH/CODEX_HOME it sets, or None."""
    inner = _inner(raw)
    if _LIVE_CHECK_SETUP not in inner or "codex exec" not in inner:
        return None
    return replace(parse_command(inner.split(_LIVE_CHECK_SETUP, 1)[1]), echo_pid=True, raw=raw)


# --- the registry's documents ------------------------------------------------------------


def registry_document(url: str) -> dict[str, object]:
    """The launcher's document (`.../latest` or a version) or the platform package's."""
    spec = url.rsplit("/", 1)[-1]
    if not spec.endswith(SUFFIX):
        alias = f"{PACKAGE}-{SUFFIX}"
        deps = {alias: f"npm:{PACKAGE}@{CODEX_VERSION}-{SUFFIX}"}
        return {"name": PACKAGE, "version": CODEX_VERSION, "optionalDependencies": deps}
    digest = hashlib.sha512(b"codex-wizard demo tarball").digest()
    dist = {
        "tarball": f"https://registry.npmjs.org/{PACKAGE}/-/codex-{CODEX_VERSION}-{SUFFIX}.tgz",
        "integrity": "sha512-" + base64.b64encode(digest).decode(),
        "unpackedSize": UNPACKED_BYTES,
    }
    return {"name": PACKAGE, "version": f"{CODEX_VERSION}-{SUFFIX}", "dist": dist}


# --- the scripts -------------------------------------------------------------------------


def script_player(
    machine: DemoMachine, raw: str, term: Terminal
) -> Callable[[SimProcess], Awaitable[None]]:
    """What plays the metadata fetch or the install script as a killable process."""
    return lambda proc: _run_script(machine, raw, term, proc)


async def _run_script(machine: DemoMachine, raw: str, term: Terminal, proc: SimProcess) -> None:
    """Play the script (its pid first, as group_command's shell prints it), then finish proc."""
    term.out(f"@@cwpid {proc.pid}")
    inner = _inner(raw)
    found = _DOC_URL.search(inner)
    if found is not None and "say phase" not in inner:
        doc = json.dumps(registry_document(shlex.split(found.group(1))[0]))
        term.out(f"\n{MARK} doc\n{doc}\n{MARK} end")
        proc.finish(0)
        return
    pace = machine.scenario.pace
    term.out(f"\n{MARK} phase download")
    for step in range(1, 11):
        await asyncio.sleep(0.2 * pace)
        term.out(f"{MARK} progress {TARBALL_BYTES * step // 10} {TARBALL_BYTES}")
    for phase in ("verify", "unpack", "check", "switch"):
        term.out(f"\n{MARK} phase {phase}")
        await asyncio.sleep(0.25 * pace)
    machine.install_standalone(f"{HOME}/.local/bin")
    term.out(f"\n{MARK} done {ENTRYPOINT}")
    proc.finish(0)


def _event(term: Terminal, event: dict[str, object]) -> None:
    term.out(json.dumps(event, separators=(",", ":")))


async def codex_exec(machine: DemoMachine, cmd: ShellCommand, term: Terminal) -> int:
    """`codex exec --json PROMPT`: the reply (or the scenario's error) as JSONL events."""
    _event(term, {"type": "thread.started", "thread_id": "0199a1b2-demo"})
    _event(term, {"type": "turn.started"})
    await asyncio.sleep(1.0 * machine.scenario.pace)
    logged_in = machine.auth_file(cmd.codex_home).is_file()
    outcome = machine.scenario.live_check if logged_in else "logged_out"
    message = EXEC_ERRORS.get(outcome)
    if message is not None:
        _event(term, {"type": "error", "message": message + machine.noise})
        _event(term, {"type": "turn.failed", "error": {"message": message + machine.noise}})
        return 1
    item = {"id": "item_0", "type": "agent_message", "text": "OK" + machine.noise}
    _event(term, {"type": "item.completed", "item": item})
    usage = {"input_tokens": 2310, "cached_input_tokens": 0, "output_tokens": 5}
    _event(term, {"type": "turn.completed", "usage": usage})
    return 0
