"""Things the wizard does to the server besides logging in: install codex, verify, log out.

Each runs one command on the one connection, under POSIX sh whatever the user's login shell is,
with the PATH and CODEX_HOME of a ServerEnv; stderr is merged into stdout (asyncssh.STDOUT),
so npm's and codex's messages (they write to stderr) arrive as one stream of lines.
`install_codex` streams npm's output line by line and recognises a permission error (a global
prefix owned by root), for which `user_prefix=True` installs into ~/.local instead, no sudo, and
a registry it cannot reach. Each command prints its pid first (the process group sshd made for
it): a command stopped on a timeout or a cancel is killed on the server, not just abandoned with
its channel (without a PTY nothing else would stop it).
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import asyncssh

from ..sanitize import printable
from .probe import ProbeResult, ServerEnv
from .remote import KEPT_LINES, ConnectionLost, GroupProcess, group_command

INSTALL_ARGS = "npm install -g @openai/codex"
USER_PREFIX = "~/.local"
USER_PREFIX_ARGS = f"npm install -g --prefix {USER_PREFIX} @openai/codex"
VERIFY_ARGS = "codex login status"
LOGOUT_ARGS = "codex logout"
INSTALL_TIMEOUT = 900.0
SHORT_TIMEOUT = 60.0

_PERMISSION = re.compile(
    r"\b(EACCES|EPERM)\b|permission denied|missing write access|operation not permitted",
    re.IGNORECASE,
)
_NETWORK = re.compile(
    r"\b(EAI_AGAIN|ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|"
    r"CERT_\w+|SELF_SIGNED_CERT\w*|UNABLE_TO_\w+)\b"
    r"|network request to|request to https?://\S+ failed",
)
# npm's closing boilerplate: true, but never the reason.
_BOILERPLATE = re.compile(
    r"^npm (?:error|ERR!)\s*(?:A complete log of this run can be found in.*|"
    r"Log files were not written.*|You can rerun the command.*)?$"
)
_REGISTRY_HOST = re.compile(r"https?://([^/\s]+)")

LineCallback = Callable[[str], None]


@dataclass(frozen=True)
class ActionResult:
    """How a server command ended, with its (cleaned) output lines."""

    command: str
    exit_code: int | None
    output: list[str] = field(default_factory=list)
    error: str | None = None  # we could not run it at all (connection lost, timeout)

    @property
    def ok(self) -> bool:
        return self.error is None and self.exit_code == 0

    @property
    def text(self) -> str:
        return "\n".join(self.output).strip()

    def last_line(self) -> str:
        """The last line that says something (npm's pointer to its log file does not)."""
        for line in reversed(self.output):
            if line.strip() and not _BOILERPLATE.match(line.strip()):
                return line.strip()
        return ""

    def summary(self) -> str:
        """How it ended, in one line for the user ("" when it went fine)."""
        if self.ok:
            return ""
        return self.error or self.last_line() or f"exit code {self.exit_code}"


@dataclass(frozen=True)
class InstallResult(ActionResult):
    user_prefix: bool = False

    @property
    def permission_error(self) -> bool:
        """npm could not write to its global folder: offer the user-prefix install."""
        return not self.ok and any(_PERMISSION.search(line) for line in self.output)

    @property
    def network_error(self) -> bool:
        """npm could not reach its registry (no network, DNS, a proxy or TLS problem)."""
        return not self.ok and any(_NETWORK.search(line) for line in self.output)

    def summary(self) -> str:
        """The failure in words a user can act on; "" when the install worked."""
        if self.ok:
            return ""
        if self.error:
            return self.error
        if self.permission_error and not self.user_prefix:
            line = _telling_line(self.output, _PERMISSION, "permission denied")
            return (
                f"npm may not write to its global folder ({line}). "
                f"Install into {USER_PREFIX} instead (no sudo needed)."
            )
        if self.network_error:
            line = _telling_line(self.output, _NETWORK, "request to")
            host = _REGISTRY_HOST.search(line)
            where = host.group(1) if host else "the registry"
            return (
                f"npm can't reach the npm registry ({where}) from the server: {line}. Check "
                "its network, DNS or proxy (npm config set proxy ...), or install codex from "
                "a machine that can."
            )
        return super().summary()


def _telling_line(lines: list[str], pattern: re.Pattern[str], best: str) -> str:
    """The line that says most about a failure: one containing `best`, else the first match."""
    matching = [line.strip() for line in lines if pattern.search(line)]
    chosen = next((line for line in matching if best in line.lower()), matching[0])
    return re.sub(r"^npm (?:error|ERR!)\s*", "", chosen)


@dataclass(frozen=True)
class VerifyResult(ActionResult):
    @property
    def logged_in(self) -> bool | None:
        """True/False from `codex login status`; None when it said something else."""
        if self.error is not None:
            return None
        text = self.text.lower()
        if "not logged in" in text:
            return False
        if self.exit_code == 0 and "logged in" in text:
            return True
        return None


async def run_streaming(
    conn,  # ServerConnection
    command: str,
    *,
    on_line: LineCallback | None = None,
    timeout: float = SHORT_TIMEOUT,
) -> tuple[int | None, list[str], str | None]:
    """Run a group_command, calling on_line for each output line; (exit code, lines, error)."""
    lines: deque[str] = deque(maxlen=KEPT_LINES)
    process = GroupProcess(conn, command, pty=False)
    try:
        async with asyncio.timeout(timeout):
            await process.start()
            async for line in process.lines():
                lines.append(line)
                if on_line is not None:
                    on_line(line)
            if process.flooded:
                return None, list(lines), process.flood_reason
            await process.wait_exit(timeout)
    except TimeoutError:
        return None, list(lines), f"stopped after {timeout:g} s without finishing"
    except (ConnectionLost, asyncssh.Error, OSError) as exc:
        return None, list(lines), printable(f"lost the connection: {exc}")
    finally:
        if process.running:
            await process.stop()
    return process.exit_status, list(lines), None


async def install_codex(
    conn,
    env: ServerEnv,
    *,
    user_prefix: bool = False,
    on_line: LineCallback | None = None,
    timeout: float = INSTALL_TIMEOUT,
) -> InstallResult:
    """`npm install -g @openai/codex` (or into ~/.local), streaming npm's output."""
    args = USER_PREFIX_ARGS if user_prefix else INSTALL_ARGS
    code, lines, error = await run_streaming(
        conn, group_command(env, args), on_line=on_line, timeout=timeout
    )
    return InstallResult(args, code, lines, error, user_prefix=user_prefix)


async def verify_login(conn, env: ServerEnv, *, timeout: float = SHORT_TIMEOUT) -> VerifyResult:
    """`codex login status` on the server."""
    code, lines, error = await run_streaming(conn, group_command(env, VERIFY_ARGS), timeout=timeout)
    return VerifyResult(VERIFY_ARGS, code, lines, error)


async def logout(conn, env: ServerEnv, *, timeout: float = SHORT_TIMEOUT) -> ActionResult:
    """`codex logout` on the server (removes the stored credentials)."""
    code, lines, error = await run_streaming(conn, group_command(env, LOGOUT_ARGS), timeout=timeout)
    return ActionResult(LOGOUT_ARGS, code, lines, error)


def install_env(probe: ProbeResult, env: ServerEnv) -> ServerEnv:
    """The env to run npm with: the PATH of the user's shell that found npm (or node)."""
    path = probe.path_for(probe.npm) or probe.path_for(probe.node)
    return replace(env, login_path=path, auto_path=False) if path else env


def with_user_prefix(probe: ProbeResult, env: ServerEnv) -> ServerEnv:
    """env with ~/.local/bin first on PATH, for a codex installed with the user prefix."""
    if not probe.home:
        return env
    home = probe.home
    base = env.login_path or probe.login_path or probe.path or "/usr/local/bin:/usr/bin:/bin"
    bin_dir = f"{home.rstrip('/')}/.local/bin"
    if bin_dir in base.split(":"):
        return env
    return replace(env, login_path=f"{bin_dir}:{base}", auto_path=False)
