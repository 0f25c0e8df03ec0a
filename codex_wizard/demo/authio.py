"""The core's exec-based auth.json read (core/logins/authfile.py) and push write
(core/logins/push.py), played.

No shell runs: the script's inputs (its marker, the path or CODEX_HOME) are read off its text.
"""

from __future__ import annotations

import re
import shlex
import shutil

from ..core import clock
from .machine import DemoMachine

_ASSIGN = re.compile(r"(?:^|; )(m|cw_auth|cw_home)=('[^']*'|[^;\s]*)", re.MULTILINE)
_PUSH_HOME = re.compile(r"CODEX_HOME=('[^']*'|\S+); export CODEX_HOME")


def is_auth_read(script: str) -> bool:
    return "\nm=@@cwauth-" in "\n" + script


def auth_read_in(command: str) -> str | None:
    """The read script when the command is one (`exec sh -c '<script>'`), else None."""
    if not command.startswith("exec sh -c "):
        return None
    try:
        script = shlex.split(command)[-1]
    except ValueError:
        return None
    return script if is_auth_read(script) else None


def auth_read_output(machine: DemoMachine, script: str) -> str:
    """What the read script prints here: its marked status lines and the file."""
    found = {name: _unquote(v) for name, v in _ASSIGN.findall(script) if not v.startswith("$")}
    mark = found.get("m", "")
    lines = []
    if "cw_auth" in found:
        path = found["cw_auth"]
    else:
        lines.append(f"{mark}:home={found.get('cw_home', '')}")
        path = f"{found.get('cw_home') or '.codex'}/auth.json"
    local = machine.local(path)
    if not local.exists():
        return "\n".join([*lines, f"{mark}:missing"])
    if not local.is_file():
        return "\n".join([*lines, f"{mark}:notfile something else"])
    mode = f"{local.stat().st_mode & 0o777:o}"
    return "\n".join([*lines, f"{mark}:ok {mode}", local.read_text(), f"{mark}:end"])


def is_push(command: str) -> bool:
    return "@@cwpush:" in command


def push_output(machine: DemoMachine, command: str, data: str) -> str:
    """Write data as auth.json (under the command's CODEX_HOME), keeping a backup."""
    home = _PUSH_HOME.search(command)
    path = f"{_unquote(home.group(1)) if home else '.codex'}/auth.json"
    local = machine.local(path)
    local.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    backup = ""
    if local.is_file():
        backup = f"{path}.bak-{clock.now().strftime('%Y%m%dT%H%M%SZ')}"
        shutil.copy(local, machine.local(backup))
    local.write_text(data)
    local.chmod(0o600)
    return f"@@cwpush:ok {backup}\n@@cwpush:path {path}"


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) > 1 and value[0] == value[-1] == "'" else value
