"""DemoServer: an in-process SSH server with a simulated codex, for `codex-wizard --demo`.

The real core runs unchanged against it: the probe (a guarded sh script), `codex login` under a
PTY with its pid echo and process-group kill, direct-tcpip forwards to 127.0.0.1:1455/1457, and SFTP
reads of ~/.codex/auth.json. Everything lives in a work directory (a temporary one by default):
the server's files under `server/` (its `/`), the laptop's ssh_config, key and known_hosts
under `laptop/`. Nothing listens on 1455 or 1457 on this computer.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import shutil
import tempfile
from collections.abc import Awaitable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import asyncssh

from ..core.laptop.ports import CODEX_PORTS
from ..core.server.login import redirect_port, url_state
from ..core.server.remote import GUARDED_SIGN
from ..core.ssh.hosts import HostTarget
from ..core.ssh.types import ConnectSettings
from . import authio, commands, httpio, standalone_sim
from .laptop import HomeSFTPServer, answer_not_found, free_ports, write_laptop_files
from .login_sim import SimulatedLogin, run_device_auth
from .machine import DemoMachine, ShellCommand, parse_command
from .process import Outcome, SimProcess, Terminal, end_process, supervise
from .scenario import DEMO_HOST_ALIAS, HOME, DemoScenario
from .tokens import EXISTING_EXPIRES_IN_S, demo_auth_json

MAIN_PORT, FALLBACK_PORT = CODEX_PORTS
FIRST_PID = 48211
_RELAY_CLIENT_SIGNS = ("curl ", "wget ", "http.client", "require(")
"""How the core's relay command (core/server/relay.py) looks, whichever HTTP client it uses."""
_LOCAL_URL = re.compile(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/[^'\"\s]*)")
_STARTUP_S = 0.4
"""Time from `codex login` to its URL (about 0.6 s on a warm real server)."""


class DemoServer:
    """A simulated codex server on 127.0.0.1, for the demo and for tests. Async context manager."""

    def __init__(
        self,
        *,
        workdir: Path | None = None,
        login_port: int = 0,
        scenario: DemoScenario = DemoScenario(),  # noqa: B008 - frozen, so safe to share
    ) -> None:
        self.scenario = scenario
        self.login_port = login_port
        self.target = HostTarget(DEMO_HOST_ALIAS)
        self._workdir = Path(workdir) if workdir is not None else None
        self._own_workdir = workdir is None
        self._machine: DemoMachine | None = None
        self._settings: ConnectSettings | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._busy_stub: asyncio.Server | None = None
        self.connections: set[asyncssh.SSHServerConnection] = set()
        """Open client connections, closed by close()."""
        self._procs: dict[int, SimProcess] = {}
        self._logins: dict[int, SimulatedLogin] = {}
        self._local_ports: dict[int, int] = {}
        self._next_pid = FIRST_PID

    # ------------------------------------------------------------------ public API

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise RuntimeError("DemoServer is not started")
        return self._workdir

    @property
    def machine(self) -> DemoMachine:
        if self._machine is None:
            raise RuntimeError("DemoServer is not started")
        return self._machine

    @property
    def settings(self) -> ConnectSettings:
        """Connect settings whose ssh_config makes `demo` this server, key already trusted."""
        if self._settings is None:
            raise RuntimeError("DemoServer is not started")
        return self._settings

    @property
    def auth_json_path(self) -> Path:
        """The demo server's ~/.codex/auth.json, on this computer."""
        return self.machine.auth_file()

    @property
    def port(self) -> int:
        """The SSH port on 127.0.0.1."""
        if self._acceptor is None:
            raise RuntimeError("DemoServer is not started")
        return self._acceptor.get_port()

    def local_port_for(self, port: int) -> int:
        """The laptop port to forward codex's server `port` from (0 = any free port)."""
        return self._local_ports.get(port, 0)

    async def simulate_browser(
        self, url: str, *, local_port: int, wrong_state: bool = False
    ) -> int:
        """Do what the user's browser does after signing in: GET the callback through the tunnel.

        Follows a redirect to /success as a browser would; returns the callback's HTTP status
        (302 signed in, 400 "State mismatch", 200 with codex's error page on a failed exchange).
        """
        landing = urlsplit(self.callback_address(url, wrong_state=wrong_state))
        host = landing.netloc
        reply = await httpio.get(local_port, f"{landing.path}?{landing.query}", host_header=host)
        follow = httpio.local_target(reply.location) if reply.status in (302, 303) else None
        if follow is not None:
            with contextlib.suppress(OSError, ConnectionError, TimeoutError):
                await httpio.get(local_port, follow, host_header=host)
        return reply.status

    def callback_address(self, url: str, *, wrong_state: bool = False) -> str:
        """The address the browser ends on after signing in with `url` (what a user pastes
        into the relay): codex's redirect_uri with a made-up code and the URL's state."""
        state = secrets.token_urlsafe(32) if wrong_state else url_state(url) or ""
        query = urlencode({"code": "ac_demo_" + secrets.token_urlsafe(24), "state": state})
        return f"http://127.0.0.1:{redirect_port(url) or MAIN_PORT}/auth/callback?{query}"

    @property
    def laptop_auth_path(self) -> Path:
        """A made-up auth.json standing for this computer's Codex login (for push-auth), so
        the demo never reads or copies the user's real one."""
        return self.workdir / "laptop" / "auth.json"

    async def __aenter__(self) -> DemoServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Create the files, keys and ssh_config, and start listening on 127.0.0.1."""
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="codex-wizard-demo-"))
        self._machine = DemoMachine(self.scenario, self.workdir / "server")
        self._prepare_home()
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        if self.scenario.port_1455_busy:
            self._busy_stub = await asyncio.start_server(answer_not_found, "127.0.0.1", 0)
        self._acceptor = await asyncssh.create_server(
            lambda: _DemoSSHServer(self),
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(
                client_key.export_public_key().decode()
            ),
            process_factory=self._handle,
            sftp_factory=lambda chan: HomeSFTPServer(chan, self.machine.root),
            line_editor=False,
            agent_forwarding=False,
            x11_forwarding=False,
            keepalive_interval=0,
        )
        self._settings = ConnectSettings(
            ssh_config=write_laptop_files(self.workdir, self.port, host_key, client_key)
        )
        self._local_ports = dict(zip(CODEX_PORTS, free_ports(len(CODEX_PORTS)), strict=True))

    async def close(self) -> None:
        """Stop every simulated process, the SSH server, and remove a temporary workdir."""
        for proc in list(self._procs.values()):
            proc.finish("HUP")
        for conn in list(self.connections):
            conn.close()
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        if self._busy_stub is not None:
            self._busy_stub.close()
            self._busy_stub = None
        await asyncio.sleep(0)  # let the sessions' handlers see the hang-up
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # ------------------------------------------------------------------ files

    def _prepare_home(self) -> None:
        home = self.machine.local(HOME)
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        auth = self.machine.auth_file()
        if self.scenario.logged_in:
            auth.parent.mkdir(mode=0o700, exist_ok=True)
            auth.write_text(
                demo_auth_json(expires_in_s=EXISTING_EXPIRES_IN_S, noise=self.machine.noise)
            )
            auth.chmod(0o600)
        else:
            auth.unlink(missing_ok=True)

    # ------------------------------------------------------------------ forwarding

    def open_forward(
        self, conn: asyncssh.SSHServerConnection, host: str, port: int
    ) -> Awaitable[asyncssh.SSHForwarder]:
        """A direct-tcpip open: to the simulated login server, or refused like sshd would."""
        if self.scenario.forwarding_refused:
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
                "administratively prohibited" + self.machine.noise,
            )
        target = self._forward_target(host, port)
        if target is None:
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "Connection refused")
        return conn.forward_connection("127.0.0.1", target)

    def _forward_target(self, host: str, port: int) -> int | None:
        if host not in ("127.0.0.1", "localhost"):
            return None
        login = self._logins.get(port)
        if login is not None:
            return login.listen_port
        if port == MAIN_PORT and self._busy_stub is not None:
            return self._busy_stub.sockets[0].getsockname()[1]
        return None

    # ------------------------------------------------------------------ sessions

    async def _handle(self, process: asyncssh.SSHServerProcess) -> None:
        """One exec session: recognise the command, play it, report how it ended."""
        cmd = parse_command(process.command or "")
        term = Terminal(process, cmd.stderr)
        try:
            outcome = await self._dispatch(process, cmd, term)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            return
        end_process(process, outcome)

    async def _dispatch(
        self, process: asyncssh.SSHServerProcess, cmd: ShellCommand, term: Terminal
    ) -> Outcome:
        if process.command is None:
            term.err("This is the codex-wizard demo server: there is no shell to log in to.")
            return 1
        if cmd.kill_pgid is not None:
            self._kill(cmd.kill_pgid)
            return 0
        if standalone_sim.is_standalone_script(cmd.raw):  # before the relay: it has curl too
            play = standalone_sim.script_player(self.machine, cmd.raw, term)
            return await supervise(self._procs, self._new_pid(), term, play)
        if any(sign in cmd.raw for sign in _RELAY_CLIENT_SIGNS):
            return await self._relay(process, term)
        if authio.is_push(cmd.raw):
            term.out(authio.push_output(self.machine, cmd.raw, await process.stdin.read()))
            return 0
        if read := authio.auth_read_in(cmd.raw):
            term.out(authio.auth_read_output(self.machine, read))
            return 0
        if GUARDED_SIGN in cmd.raw:  # the probe (remote.run_guarded): its script on stdin
            term.out(self.machine.probe_output().rstrip("\n"))
            return 0
        if cmd.words[:1] == ("codex",):
            return await self._codex(cmd, term)
        if (status := standalone_sim.quiet_status(cmd)) is not None:
            return status
        if (live := standalone_sim.live_check_command(cmd.raw)) is not None:
            return await self._codex(live, term)
        if commands.is_install(cmd.words):
            return await commands.npm_install(self.machine, cmd, term)
        term.err(f"codex-wizard demo server: it only runs what codex-wizard sends: {cmd.raw}")
        return 127

    async def _codex(self, cmd: ShellCommand, term: Terminal) -> Outcome:
        pid = self._new_pid()
        if cmd.echo_pid:
            term.out(f"@@cwpid {pid}")
        problem = commands.codex_problem(self.machine, cmd, term)
        if problem is not None:
            return problem
        args = cmd.words[1:]
        if args == ("login",):
            return await self._browser_login(pid, cmd, term)
        if args == ("login", "--device-auth"):
            return await self._device_login(pid, cmd, term)
        if args == ("login", "status"):
            return commands.login_status(self.machine, cmd, term)
        if args == ("logout",):
            return commands.logout(self.machine, cmd, term)
        if args in (("--version",), ("-V",)):
            return commands.codex_version(self.machine, term)
        if args[:1] == ("exec",):
            return await standalone_sim.codex_exec(self.machine, cmd, term)
        term.err(f"error: unrecognized arguments: {' '.join(args)}")
        return 2

    async def _relay(self, process: asyncssh.SSHServerProcess, term: Terminal) -> int:
        """The paste-the-callback fallback: GET a URL on the server's own 127.0.0.1.

        Answers like the core's relay clients (curl, wget, python3, node), which read the URL
        on stdin: a first line `<status> <location>` (`000` when nothing listens), then the
        start of the body. Redirects are not followed.
        """
        found = _LOCAL_URL.search(await process.stdin.read())
        login = self._logins.get(int(found.group(1))) if found else None
        if found is None or login is None:
            term.out("000 ")
            return 0
        port, path = int(found.group(1)), found.group(2)
        try:
            reply = await httpio.get(login.listen_port, path, host_header=f"127.0.0.1:{port}")
        except (OSError, ConnectionError, TimeoutError):
            term.out("000 ")
            return 0
        term.out(f"{reply.status} {reply.location or ''}")
        if reply.body:
            term.out(reply.body[:4096])
        return 0

    def _new_pid(self) -> int:
        self._next_pid += 1
        return self._next_pid - 1

    def _kill(self, pgid: int) -> None:
        proc = self._procs.get(pgid)
        if proc is not None:
            proc.finish("TERM")

    # ------------------------------------------------------------------ codex login

    async def _browser_login(self, pid: int, cmd: ShellCommand, term: Terminal) -> Outcome:
        await asyncio.sleep(_STARTUP_S * self.scenario.pace)
        port = self._claim_login_port(term)
        if port is None:
            return 1
        login = SimulatedLogin(
            pid,
            term,
            port=port,
            auth_file=self.machine.auth_file(cmd.codex_home),
            exchange_fails=self.scenario.token_exchange_fails,
            pace=self.scenario.pace,
            saves_login=not self.scenario.saves_no_login,
            hostile=self.scenario.hostile,
        )
        await login.start(self.login_port)
        self._procs[pid] = login
        self._logins[port] = login
        self.machine.listeners[port] = ("codex", pid)
        try:
            return await login.wait()
        finally:
            self._release(login)

    def _claim_login_port(self, term: Terminal) -> int | None:
        """1455, after cancelling an older login there (GET /cancel); else 1457, like codex."""
        older = self._logins.get(MAIN_PORT)
        if older is not None:
            older.cancel()
            self._release(older)
        if MAIN_PORT not in self.machine.listeners:
            return MAIN_PORT
        if FALLBACK_PORT in self.machine.listeners:
            term.err(f"Error logging in: Port 127.0.0.1:{FALLBACK_PORT} is already in use")
            return None
        return FALLBACK_PORT

    def _release(self, login: SimulatedLogin) -> None:
        """Forget a finished login and stop its server (idempotent)."""
        login.close()
        self._procs.pop(login.pid, None)
        if self._logins.get(login.port) is login:
            del self._logins[login.port]
            self.machine.listeners.pop(login.port, None)

    async def _device_login(self, pid: int, cmd: ShellCommand, term: Terminal) -> Outcome:
        auth = self.machine.auth_file(cmd.codex_home)
        hostile = self.scenario.hostile
        return await supervise(
            self._procs,
            pid,
            term,
            lambda proc: run_device_auth(proc, auth, self.scenario.pace, hostile=hostile),
        )


class _DemoSSHServer(asyncssh.SSHServer):
    """Per-connection hooks: bookkeeping, and direct-tcpip opens handed to the DemoServer."""

    def __init__(self, demo: DemoServer) -> None:
        self._demo = demo
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._demo.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._demo.connections.discard(self._conn)

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> Awaitable[asyncssh.SSHForwarder]:
        assert self._conn is not None
        return self._demo.open_forward(self._conn, dest_host, dest_port)
