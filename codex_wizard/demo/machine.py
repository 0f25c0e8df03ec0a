"""The simulated server: its files, PATHs and tools, and how it reads the commands the core sends.

No shell runs anywhere: commands are recognised by their shape (see `parse_command`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ..core.server.probe import ServerEnv
from .scenario import (
    BUSY_PORT_HOLDER,
    CODEX_VERSION_LINE,
    HOME,
    HOSTILE,
    HOSTILE_PORT_HOLDER,
    LOGIN_PATH,
    NODE_DIR,
    NPM_GLOBAL_BIN,
    NPM_VERSION,
    PLAIN_PATH,
    SHELL,
    DemoScenario,
)

PID_ECHO = 'echo "@@cwpid $$"; '
AUTO_PATH_PREFIX = ServerEnv(auto_path=True).command("")
_KILL = re.compile(r"^(?:exec sh -c ')?kill -s (?:TERM|KILL) -- -(\d+)\b")


@dataclass(frozen=True)
class ShellCommand:
    """One command as the core sends it: the words to run and the environment set before them."""

    words: tuple[str, ...]
    path: str | None = None
    """PATH as set by the command; None: the plain PATH (see DemoMachine.path_for)."""
    auto_path: bool = False
    codex_home: str | None = None
    echo_pid: bool = False
    kill_pgid: int | None = None
    stderr: str = "stderr"
    """Where the command's stderr goes: "stderr", "stdout" (`2>&1`) or "null" (`2>/dev/null`)."""
    raw: str = ""


def parse_command(command: str) -> ShellCommand:
    """Strip the core's wrappers (`exec sh -c`, the pid echo, PATH/CODEX_HOME assignments)."""
    raw = command.strip()
    kill = _KILL.match(raw)
    if kill:
        return ShellCommand((), kill_pgid=int(kill.group(1)), raw=raw)
    text, echo_pid = _unwrap_sh_c(raw)
    auto_path = text.startswith(AUTO_PATH_PREFIX)
    if auto_path:
        text = text[len(AUTO_PATH_PREFIX) :]
    try:
        statements = _statements(text)
    except ValueError:
        return ShellCommand((), raw=raw)
    env: dict[str, str] = {}
    while statements and _is_setup(statements[0]):
        words = statements.pop(0)
        if "=" in words[0]:
            name, _, value = words[0].partition("=")
            env[name] = value
    words, stderr = _redirections(statements[0] if len(statements) == 1 else ())
    if words[:1] == ("exec",):
        words = words[1:]
    return ShellCommand(
        words,
        env.get("PATH"),
        auto_path,
        env.get("CODEX_HOME"),
        echo_pid=echo_pid,
        stderr=stderr,
        raw=raw,
    )


def _redirections(words: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Drop `2>&1` / `2>/dev/null` from the words and say where stderr goes."""
    stderr = "stderr"
    kept: list[str] = []
    for word in words:
        if word == "2>&1":
            stderr = "stdout"
        elif word == "2>/dev/null":
            stderr = "null"
        else:
            kept.append(word)
    return tuple(kept), stderr


def _unwrap_sh_c(command: str) -> tuple[str, bool]:
    """`exec sh -c '<inner>'` -> (inner without the pid echo, whether it echoes the pid)."""
    if not command.startswith(("exec sh -c ", "sh -c ")):
        return command, False
    try:
        inner = shlex.split(command)[-1]
    except ValueError:
        return command, False
    if inner.startswith(PID_ECHO):
        return inner[len(PID_ECHO) :], True
    return inner, False


def _statements(text: str) -> list[tuple[str, ...]]:
    """Split on `;` into word tuples, honouring quotes (raises ValueError on bad quoting)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";")
    lexer.whitespace_split = True
    statements: list[tuple[str, ...]] = []
    current: list[str] = []
    for token in lexer:
        if token == ";":
            statements.append(tuple(current))
            current = []
        else:
            current.append(token)
    if current:
        statements.append(tuple(current))
    return [words for words in statements if words]


def _is_setup(words: tuple[str, ...]) -> bool:
    """`NAME=value` or `export NAME`: the environment set-up ServerEnv.command writes."""
    if len(words) == 1 and re.fullmatch(r"[A-Z_]+=.*", words[0], re.DOTALL):
        return True
    return len(words) == 2 and words[0] == "export"


@dataclass
class DemoMachine:
    """The pretend server's state. Its `/` is `root` on this computer (the SFTP chroot)."""

    scenario: DemoScenario
    root: Path
    codex_installed: bool = False
    codex_bin: str | None = None
    """Where an install put codex, when not the scenario's place (npm --prefix)."""
    standalone: bool = False
    """codex is the standalone one: it runs without Node.js."""
    listeners: dict[int, tuple[str, int]] = field(default_factory=dict)
    """Simulated listeners on 127.0.0.1: port -> (process name, pid)."""

    def __post_init__(self) -> None:
        self.codex_installed = self.scenario.codex_installed
        if self.scenario.port_1455_busy:
            self.listeners[1455] = BUSY_PORT_HOLDER
        if self.scenario.hostile:
            self.listeners[1457] = HOSTILE_PORT_HOLDER

    @property
    def noise(self) -> str:
        """What this server adds to the strings it sends (HOSTILE when hostile)."""
        return HOSTILE if self.scenario.hostile else ""

    # ---------------------------------------------------------------- files

    def local(self, remote_path: str) -> Path:
        """The file on this computer behind a server path (absolute, `~/...` or home-relative)."""
        if remote_path.startswith("~/"):
            remote_path = remote_path[2:]
        if not remote_path.startswith("/"):
            remote_path = f"{HOME}/{remote_path}"
        parts = [part for part in remote_path.split("/") if part not in ("", ".", "..")]
        return self.root.joinpath(*parts)

    def codex_home(self, codex_home: str | None) -> Path:
        return self.local(codex_home or ".codex")

    def auth_file(self, codex_home: str | None = None) -> Path:
        return self.codex_home(codex_home) / "auth.json"

    # ---------------------------------------------------------------- tools

    @property
    def login_path(self) -> str:
        """A login shell's PATH: ~/.npm-global/bin, and ~/.local/bin once it exists (~/.profile)."""
        if self.codex_bin and self.codex_bin not in LOGIN_PATH.split(":"):
            return f"{self.codex_bin}:{LOGIN_PATH}"
        return LOGIN_PATH

    def path_for(self, cmd: ShellCommand) -> str:
        """The PATH `cmd` runs with: its own, the login shell's (auto_path), or the plain one."""
        if cmd.path is not None:
            return cmd.path
        if cmd.auto_path and self.which("codex", PLAIN_PATH) is None:
            return self.login_path
        return PLAIN_PATH

    @property
    def node_installed(self) -> bool:
        return bool(self.scenario.node_version)

    @property
    def codex_runs(self) -> bool:
        """npm's codex needs node; the standalone one does not."""
        return self.standalone or self.node_installed

    def install_standalone(self, bin_dir: str) -> None:
        self.codex_installed, self.codex_bin, self.standalone = True, bin_dir, True

    @property
    def codex_dir(self) -> str:
        if self.codex_bin:
            return self.codex_bin
        return NPM_GLOBAL_BIN if self.scenario.codex_on_login_path_only else "/usr/local/bin"

    def which(self, tool: str, path: str) -> str | None:
        """Where `command -v tool` finds it with this PATH, or None."""
        home = {"node": NODE_DIR, "npm": NODE_DIR, "codex": self.codex_dir}.get(tool)
        installed = self.codex_installed if tool == "codex" else self.node_installed
        if home is None or not installed or home not in path.split(":"):
            return None
        return f"{home}/{tool}"

    def version(self, tool: str) -> tuple[int, str]:
        """(exit code, output) of `tool --version` once found."""
        code, text = self._version(tool)
        return code, text + self.noise

    def _version(self, tool: str) -> tuple[int, str]:
        if tool == "node":
            return 0, f"v{self.scenario.node_version}"
        if tool == "npm":
            return 0, NPM_VERSION
        if not self.codex_runs:
            return 127, "/usr/bin/env: 'node': No such file or directory"
        return 0, CODEX_VERSION_LINE

    # ---------------------------------------------------------------- probe

    def probe_output(self) -> str:
        """What PROBE_SCRIPT prints on this server, section for section."""
        out = _ProbeWriter()
        out.section("os", f"Linux{self.noise} x86_64{self.noise}")
        out.section("home", HOME)
        out.section("shell", SHELL)
        out.section("codex_home", "")
        out.section("path", PLAIN_PATH)
        self._versions(out, "plain", PLAIN_PATH)
        if not (self.which("codex", PLAIN_PATH) and self.which("node", PLAIN_PATH)):
            out.section("login_path", self.login_path)
            self._versions(out, "login", self.login_path)
        out.section("tools", "curl\npython3")
        out.section("ss", self.ss_output())
        out.mark("end")
        return out.text()

    def _versions(self, out: _ProbeWriter, label: str, path: str) -> None:
        for tool in ("node", "npm", "codex"):
            where = self.which(tool, path)
            if where is None:
                out.mark(f"{label}.{tool}")
                continue
            code, text = self.version(tool)
            out.section(f"{label}.{tool}", f"path={where}\nexit={code}\n{text}")

    def ss_output(self) -> str:
        """`ss -Hltnp` as the demo user sees it (sshd's owner is hidden from non-root)."""
        lines = [
            "LISTEN 0      128          0.0.0.0:22        0.0.0.0:*",
            "LISTEN 0      128             [::]:22           [::]:*",
        ]
        for port, (process, pid) in sorted(self.listeners.items()):
            lines.append(
                f"LISTEN 0      128        127.0.0.1:{port}      0.0.0.0:*    "
                f'users:(("{process}",pid={pid},fd=12))'
            )
        return "\n".join(lines)


class _ProbeWriter:
    """Builds output exactly as the script's `mark` (a blank line, then `@@cw:NAME`) does."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def mark(self, name: str) -> None:
        self._parts.append(f"\n@@cw:{name}\n")

    def section(self, name: str, body: str) -> None:
        self.mark(name)
        self._parts.append(body + "\n")

    def text(self) -> str:
        return "".join(self._parts)
