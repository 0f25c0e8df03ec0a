"""core.server.actions: install (streamed, with the EACCES fallback), verify and log out."""

from __future__ import annotations

import asyncio
import shlex

import asyncssh
import pytest

from codex_wizard.core.server import actions
from codex_wizard.core.server.actions import (
    INSTALL_ARGS,
    USER_PREFIX_ARGS,
    InstallResult,
    VerifyResult,
    install_codex,
    install_env,
    logout,
    verify_login,
    with_user_prefix,
)
from codex_wizard.core.server.probe import ProbeResult, ServerEnv, ToolInfo
from codex_wizard.core.server.remote import KEPT_LINES, PID_ECHO, group_command
from codex_wizard.core.server.shellenv import Where
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.server import ServerConnection

NPM_EACCES = [
    "npm error code EACCES",
    "npm error syscall mkdir",
    "npm error path /usr/lib/node_modules/@openai",
    "npm error errno -13",
    "npm error Error: EACCES: permission denied, mkdir '/usr/lib/node_modules/@openai'",
]


class FakeProcess:
    def __init__(self, lines, exit_status, delay=0.0):
        self._lines = lines
        self._exit = exit_status
        self._delay = delay
        self.exit_status = None
        self.closed = False

    @property
    def stdout(self):
        return self

    async def read(self, size: int) -> str:
        """The next line as asyncssh's reader gives a chunk; '' at the end."""
        if not self._lines:
            self.exit_status = self._exit
            return ""
        if self._delay:
            await asyncio.sleep(self._delay)
        line, *self._lines = self._lines
        return line + "\n"

    async def wait_closed(self):
        return None

    def close(self):
        self.closed = True


class FakeSSH:
    def __init__(self, lines=(), exit_status=0, delay=0.0, error=None):
        self.lines = list(lines)
        self.exit_status = exit_status
        self.delay = delay
        self.error = error
        self.commands: list[str] = []
        self.kwargs: list[dict] = []
        self.process: FakeProcess | None = None

    async def create_process(self, command, **kwargs):
        self.commands.append(command)
        self.kwargs.append(kwargs)
        if self.error:
            raise self.error
        self.process = FakeProcess(self.lines, self.exit_status, self.delay)
        return self.process

    def is_closed(self) -> bool:
        return False


def FakeConn(**kwargs) -> ServerConnection:
    """The real ServerConnection over a fake asyncssh connection."""
    return ServerConnection(HostTarget("build", user="ada"), FakeSSH(**kwargs))


def inner(command: str) -> str:
    """The script inside `exec sh -c '…'`."""
    words = shlex.split(command)
    assert words[:3] == ["exec", "sh", "-c"]
    assert words[3].startswith(PID_ECHO)  # the process group to kill if we must stop it
    return words[3].removeprefix(PID_ECHO)


async def test_install_streams_lines_and_succeeds():
    conn = FakeConn(lines=["npm http fetch GET 200 x", "\x1b[32madded 2 packages\x1b[0m"])
    seen: list[str] = []
    result = await install_codex(conn, ServerEnv(), on_line=seen.append)
    assert seen == ["npm http fetch GET 200 x", "added 2 packages"]
    assert result.ok and not result.permission_error
    assert result.command == INSTALL_ARGS
    assert inner(conn.ssh.commands[0]) == INSTALL_ARGS
    assert conn.ssh.kwargs[0]["stderr"] is asyncssh.STDOUT  # npm talks on stderr


async def test_install_permission_error_is_recognised():
    conn = FakeConn(lines=NPM_EACCES, exit_status=243)
    result = await install_codex(conn, ServerEnv())
    assert not result.ok
    assert result.permission_error
    assert result.last_line().startswith("npm error Error: EACCES")


@pytest.mark.parametrize(
    "line",
    ["npm ERR! code EPERM", "npm WARN checkPermissions Missing write access to /usr/lib"],
)
def test_other_permission_wordings(line):
    assert InstallResult("x", 1, [line]).permission_error


def test_a_successful_install_is_never_a_permission_error():
    assert not InstallResult("x", 0, ["permission denied (harmless warning)"]).permission_error
    assert not InstallResult("x", 1, ["network timeout"]).permission_error


async def test_user_prefix_install_runs_with_the_prefix_and_env():
    conn = FakeConn(lines=["added 2 packages"])
    env = ServerEnv(login_path="/opt/node/bin:/usr/bin", codex_home="/srv/codex")
    result = await install_codex(conn, env, user_prefix=True)
    assert result.ok and result.user_prefix
    script = inner(conn.ssh.commands[0])
    assert script.endswith(USER_PREFIX_ARGS)
    assert "npm install -g --prefix ~/.local @openai/codex" in script
    assert "PATH=/opt/node/bin:/usr/bin; export PATH;" in script
    assert "CODEX_HOME=/srv/codex" in script


async def test_install_timeout_and_lost_connection():
    slow = FakeConn(lines=["a", "b", "c"], delay=0.2)
    result = await install_codex(slow, ServerEnv(), timeout=0.1)
    assert not result.ok
    assert "stopped after 0.1 s" in result.error
    assert slow.ssh.process.closed
    lost = FakeConn(error=asyncssh.ConnectionLost("gone"))
    result = await install_codex(lost, ServerEnv())
    assert result.error.startswith("lost the connection")
    assert result.exit_code is None


async def test_a_flood_is_stopped_and_only_the_last_lines_kept():
    flood = FakeConn(lines=[f"npm noise {n} " + "x" * 1000 for n in range(5000)])  # 5 MB
    result = await install_codex(flood, ServerEnv())
    assert not result.ok
    assert result.error == "it wrote more than 4096 KB of output, so it was stopped"
    assert flood.ssh.process.closed and flood.ssh.process._lines  # it had more to say
    assert len(result.output) == KEPT_LINES
    last = int(result.output[-1].split()[2])
    assert 4000 < last < 4200  # about 4 MB in, not the last of the 5000 lines


@pytest.mark.parametrize(
    ("lines", "code", "logged_in"),
    [
        (["Logged in using ChatGPT"], 0, True),
        (["Not logged in"], 1, False),
        (["Logged in using an API key - sk-proj-***ABCD"], 0, True),
        (["Error loading configuration: CODEX_HOME points to /x"], 1, None),
    ],
)
async def test_verify(lines, code, logged_in):
    conn = FakeConn(lines=lines, exit_status=code)
    result = await verify_login(conn, ServerEnv(auto_path=True))
    assert result.logged_in is logged_in
    assert inner(conn.ssh.commands[0]).endswith("codex login status")
    assert "cw_env; " in inner(conn.ssh.commands[0])  # auto_path finds codex


def test_verify_error_is_unknown():
    assert VerifyResult("x", None, [], "lost the connection").logged_in is None


async def test_logout():
    conn = FakeConn(lines=["Successfully logged out"])
    result = await logout(conn, ServerEnv())
    assert result.ok
    assert result.text == "Successfully logged out"
    assert inner(conn.ssh.commands[0]) == "codex logout"


def test_group_command_quotes_for_any_login_shell():
    command = group_command(ServerEnv(codex_home="/it's/here"), "codex logout")
    assert inner(command) == "CODEX_HOME='/it'\"'\"'s/here'; export CODEX_HOME; codex logout"


def _probe(**kwargs) -> ProbeResult:
    defaults = dict(home="/home/ada", path="/usr/bin:/bin", login_path="/home/ada/n/bin:/usr/bin")
    defaults.update(kwargs)
    return ProbeResult(**defaults)


def test_install_env_uses_the_login_path_only_when_needed():
    env = ServerEnv()
    assert install_env(_probe(), env) == env
    npm_login = _probe(npm=ToolInfo("npm", "/home/ada/n/bin/npm", where=Where.LOGIN))
    assert install_env(npm_login, env).login_path == "/home/ada/n/bin:/usr/bin"


def test_with_user_prefix_puts_local_bin_first_once():
    env = with_user_prefix(_probe(), ServerEnv(codex_home="/c"))
    assert env.login_path == "/home/ada/.local/bin:/home/ada/n/bin:/usr/bin"
    assert env.codex_home == "/c"
    assert with_user_prefix(_probe(), env) == env
    assert with_user_prefix(_probe(home=""), ServerEnv()) == ServerEnv()


# ---------------------------------------------------------------- against the demo server


async def test_actions_against_the_demo_server():
    demo_mod = pytest.importorskip("codex_wizard.demo")
    from codex_wizard.core.server.probe import probe_server
    from codex_wizard.core.ssh.connection import connect

    scenario = demo_mod.DemoScenario(codex_installed=False, pace=0.01)
    async with (
        demo_mod.DemoServer(scenario=scenario) as demo,
        await connect(demo.target, demo.settings) as conn,
    ):
        found = await probe_server(conn)
        assert not found.codex.found
        env = ServerEnv.from_probe(found)
        lines: list[str] = []
        result = await install_codex(conn, install_env(found, env), on_line=lines.append)
        assert result.ok, result
        assert any("added" in line for line in lines)
        assert (await probe_server(conn)).codex.works
        verified = await verify_login(conn, env)
        assert verified.logged_in is True, verified
        out = await logout(conn, env)
        assert out.ok, out
        assert (await verify_login(conn, env)).logged_in is False


def test_core_modules_do_not_import_textual():
    from pathlib import Path

    from codex_wizard.core.ssh import remembered

    for module in (actions, remembered):
        assert "textual" not in Path(module.__file__).read_text()
