"""Test doubles for the wizard's backend: a connection, a login session, and canned core results.

Shared by the tests/test_tui_*.py files. Nothing here touches the network.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codex_wizard.core.laptop.ports import PortOwner
from codex_wizard.core.logins.authfile import ServerAuth
from codex_wizard.core.logins.fresh import FreshLoginError, LocalCodex
from codex_wizard.core.logins.push import PushError, PushResult
from codex_wizard.core.logins.status import HostStatus
from codex_wizard.core.server.actions import ActionResult, InstallResult, VerifyResult
from codex_wizard.core.server.events import LoginExited, LoginSucceeded, RelayResult, UrlReady
from codex_wizard.core.server.probe import ProbeResult, ToolInfo
from codex_wizard.core.server.tunnel import (
    ForwardingCheck,
    ForwardingState,
    TunnelRequest,
    TunnelStats,
)
from codex_wizard.core.services import Services
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.types import ConnectSettings, HostKeyInfo
from codex_wizard.core.tokens.auth import AuthRecord, parse_auth_json
from codex_wizard.core.tokens.state import TokenState
from codex_wizard.tui.app import WizardApp
from codex_wizard.tui.state import Step
from tests.lab.fake_tokens import make_auth_json

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
SIZE = (110, 36)
URL = (
    "https://auth.openai.com/oauth/authorize?response_type=code&client_id=app_EMoamEEZ73f0CkXaXp7"
    "hrann&redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback&scope=openid%20profile"
    "%20email%20offline_access&code_challenge=Zq1xYwV8tK3mN0pLr5sD7fG9hJ2kL4zX6cV8bN0mQwE&code_"
    "challenge_method=S256&id_token_add_organizations=true&codex_cli_simplified_flow=true&state="
    "s7Kd93LmQpX2vB8nR4tY6wZ1aC5eF0gH&originator=codex_cli_rs"
)
HOST_KEY = HostKeyInfo(
    host_label="ada@build.example.com",
    known_hosts_pattern="build.example.com",
    key_type="ssh-ed25519",
    fingerprint="SHA256:q3Xv0mT8cYbN1rL5kP9wZ2dF7hJ4sA6gE0uI3oV8xC4",
    openssh_line="build.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFake",
    known_hosts=Path("/home/ada/.ssh/known_hosts"),
    listed_in=Path("/home/ada/.ssh/known_hosts"),
)


def record(access_ttl_s: float = 9 * 86400 + 4 * 3600 + 1800, **kwargs: Any) -> AuthRecord:
    """A ChatGPT auth record issued at NOW (made-up tokens), mode 0600."""
    doc = make_auth_json(
        now=NOW.timestamp(),
        access_ttl_s=access_ttl_s,
        last_refresh="2026-11-24T09:30:00Z",
        **kwargs,
    )
    return parse_auth_json(doc.encode(), file_mode=0o600)


def probe(
    *,
    codex: bool = True,
    npm: bool = True,
    node: str | None = "22.11.0",
    port_owners: dict[int, PortOwner | None] | None = None,
) -> ProbeResult:
    node_info = ToolInfo("node", "/usr/bin/node", node, f"v{node}", 0) if node else ToolInfo("node")
    npm_info = ToolInfo("npm", "/usr/bin/npm", "10.9.0", "10.9.0", 0) if npm else ToolInfo("npm")
    codex_info = (
        ToolInfo("codex", "/usr/local/bin/codex", "0.169.0", "codex-cli 0.169.0", 0)
        if codex
        else ToolInfo("codex")
    )
    return ProbeResult(
        os="Linux",
        arch="x86_64",
        home="/home/ada",
        shell="/bin/bash",
        path="/usr/local/bin:/usr/bin:/bin",
        node=node_info,
        npm=npm_info,
        codex=codex_info,
        port_owners=port_owners or {1455: None, 1457: None},
        port_source="ss",
    )


class FakeSSH:
    def __init__(self) -> None:
        self.closed = False
        self._closed: asyncio.Event | None = None

    def is_closed(self) -> bool:
        return self.closed

    async def wait_closed(self) -> None:
        if self._closed is None:
            self._closed = asyncio.Event()
        if not self.closed:
            await self._closed.wait()

    def drop(self) -> None:
        """The connection goes away (closed by us, or lost)."""
        self.closed = True
        if self._closed is not None:
            self._closed.set()


class FakeConn:
    def __init__(self, target: HostTarget | None = None) -> None:
        self.target = target or HostTarget("build.example.com", user="ada")
        self.ssh = FakeSSH()
        self.close_calls = 0

    @property
    def label(self) -> str:
        return self.target.label()

    def is_closed(self) -> bool:
        return self.ssh.is_closed()

    async def wait_closed(self) -> None:
        await self.ssh.wait_closed()

    async def close(self) -> None:
        self.close_calls += 1
        self.ssh.drop()


class FakeTunnel:
    def __init__(self, local_port: int = 1455, remote_port: int = 1455) -> None:
        self.local_port = local_port
        self.remote_port = remote_port
        self.listening = True
        self.stats = TunnelStats()

    def saw(self, method: str, path: str, status: int | None = None) -> None:
        self.stats.connections += 1
        self.stats.last_request = TunnelRequest(method, path, status)


class FakeSession:
    """Stands in for core.server.login.LoginSession; the test feeds its events with push()."""

    instances: list[FakeSession]

    def __init__(
        self,
        server: Any,
        env: Any,
        *,
        local_port_for: Any = None,
        forward: bool = True,
        device_auth: bool = False,
        **_: Any,
    ) -> None:
        self.server = server
        self.env = env
        self.local_port_for = local_port_for
        self.forward = forward and not device_auth
        self.device_auth = device_auth
        self.tunnel: FakeTunnel | None = FakeTunnel() if self.forward else None
        self.started = False
        self.closed = False
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    async def start(self) -> None:
        self.started = True

    @property
    def local_ports(self) -> set[int]:
        tunnel = self.tunnel
        return {tunnel.local_port} if tunnel and tunnel.listening and not self.closed else set()

    def push(self, event: Any) -> None:
        self.queue.put_nowait(event)

    async def events(self):
        while True:
            event = await self.queue.get()
            yield event
            if isinstance(event, LoginExited):
                return

    async def close(self) -> None:
        self.closed = True


@dataclass
class Calls:
    """What the fake backend was asked to do."""

    connect: list[ConnectSettings] = field(default_factory=list)
    install: list[bool] = field(default_factory=list)
    cancel: list[int] = field(default_factory=list)
    sessions: list[FakeSession] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    verify: int = 0
    logout: int = 0
    status: list[str] = field(default_factory=list)
    relayed: list[Any] = field(default_factory=list)  # PastedCallbacks, with the tools
    pushed: list[bytes] = field(default_factory=list)
    fresh: list[LocalCodex] = field(default_factory=list)
    signed_in: asyncio.Event = field(default_factory=asyncio.Event)  # the fresh login's browser
    fresh_cancelled: asyncio.Event = field(default_factory=asyncio.Event)  # stopped while waiting


def fake_backend(
    *,
    conn: FakeConn | None = None,
    connect_error: Exception | list[Exception] | None = None,
    probes: list[ProbeResult] | None = None,
    forwarding: ForwardingCheck | None = None,
    local_owners: dict[int, PortOwner | None] | None = None,
    records: list[AuthRecord] | None = None,
    statuses: dict[str, HostStatus] | None = None,
    install_results: list[InstallResult] | None = None,
    install_lines: list[str] | None = None,
    verify_result: VerifyResult | None = None,
    copy_how: str = "clipboard",
    browser: bool = True,
    relay_results: list[RelayResult] | None = None,
    local_auth: bytes | None = None,
    local_auth_error: str | None = None,
    push_result: PushResult | PushError | None = None,
    local_codex: str | None = "/usr/local/bin/codex",
    fresh_error: FreshLoginError | None = None,
) -> tuple[Services, Calls]:
    calls = Calls()
    conn = conn or FakeConn()
    errors = (
        list(connect_error)
        if isinstance(connect_error, list)
        else [connect_error] * 10
        if connect_error
        else []
    )
    probe_queue = list(probes or [probe()])
    record_queue = list(records or [record()])
    install_queue = list(install_results or [InstallResult("npm install -g @openai/codex", 0)])
    owners = dict(local_owners or {})

    async def connect(target, settings):
        calls.connect.append(settings)
        if errors:
            error = errors.pop(0)
            if error is not None:
                raise error
        return conn

    async def probe_server(c):
        return probe_queue.pop(0) if len(probe_queue) > 1 else probe_queue[0]

    async def check_forwarding(ssh, port):
        return forwarding or ForwardingCheck(ForwardingState.ALLOWED, "allowed")

    def local_port_owners(ports):
        return {port: owners.get(port) for port in ports}

    async def cancel_pending_login(port):
        calls.cancel.append(port)
        owners[port] = None
        return True

    async def wait_port_free(port):
        return True

    def login_session(server, env, **kwargs):
        session = FakeSession(server, env, **kwargs)
        calls.sessions.append(session)
        return session

    async def read_auth(c, path):
        return record_queue.pop(0) if len(record_queue) > 1 else record_queue[0]

    async def read_login(c, codex_home):
        return ServerAuth(await read_auth(c, ".codex/auth.json"))

    async def check_host(target, settings, **kwargs):
        calls.status.append(target.label())
        found = (statuses or {}).get(target.label())
        if found is None:
            await asyncio.Event().wait()  # never answers
        return found

    async def check_connected(c, label, **kwargs):
        """The host on show, over its connection: its record, in a file of its own."""
        return HostStatus(
            label, TokenState.OK, await read_auth(c, ".codex/auth.json"), file_id=label
        )

    async def install(c, env, *, user_prefix=False, on_line=None):
        calls.install.append(user_prefix)
        for line in install_lines or ["added 2 packages in 1s"]:
            if on_line:
                on_line(line)
        return install_queue.pop(0) if len(install_queue) > 1 else install_queue[0]

    async def verify(c, env):
        calls.verify += 1
        return verify_result or VerifyResult("codex login status", 0, ["Logged in using ChatGPT"])

    async def logout(c, env):
        calls.logout += 1
        return ActionResult("codex logout", 0, ["Successfully logged out"])

    def copy_text(text):
        calls.copied.append(text)
        return copy_how

    relay_queue = list(relay_results or [RelayResult(302, "", "curl", followed="/success")])

    async def relay(c, callback, tools, env):
        calls.relayed.append((callback, tools))
        return relay_queue.pop(0) if len(relay_queue) > 1 else relay_queue[0]

    def load_local_auth(path):
        if local_auth_error is not None:
            raise PushError(local_auth_error)
        if local_auth is not None:
            return local_auth
        return make_auth_json(now=NOW.timestamp(), access_ttl_s=3 * 86400 + 7200).encode()

    async def push_auth(c, env, data):
        calls.pushed.append(data)
        if isinstance(push_result, PushError):
            raise push_result
        return push_result or PushResult(
            ".codex/auth.json",
            ".codex/auth.json.bak-20261125T120000Z",
            record(),
            "Logged in using ChatGPT",
        )

    def open_browser(url):
        calls.opened.append(url)
        return browser

    def find_local_codex():
        if local_codex is None:
            raise FreshLoginError("neither codex nor npx (Node.js) is on this PATH.")
        return LocalCodex((local_codex,))

    async def fresh_auth(codex, on_event, *, timeout):
        """codex login here: its URL, then (once calls.signed_in is set) success or the error;
        cancelled while it waits, it says so in calls.fresh_cancelled."""
        calls.fresh.append(codex)
        on_event(UrlReady(URL, 1455))
        try:
            await calls.signed_in.wait()
        except asyncio.CancelledError:
            calls.fresh_cancelled.set()
            raise
        if fresh_error is not None:
            raise fresh_error
        on_event(LoginSucceeded())
        return make_auth_json(tag="fresh").encode()

    backend = Services(
        connect=connect,
        probe=probe_server,
        check_host=check_host,
        check_connected=check_connected,
        local_login=lambda: None,  # this computer's login: none (never the real ~/.codex)
        check_forwarding=check_forwarding,
        local_port_owners=local_port_owners,
        cancel_pending_login=cancel_pending_login,
        wait_port_free=wait_port_free,
        login_session=login_session,
        read_auth=read_auth,
        read_login=read_login,
        install=install,
        verify=verify,
        logout=logout,
        find_local_codex=find_local_codex,
        fresh_auth=fresh_auth,
        copy_text=copy_text,
        open_browser=open_browser,
        relay=relay,
        load_local_auth=load_local_auth,
        push_auth=push_auth,
    )
    return backend, calls


ADA = HostTarget("build.example.com", user="ada")


async def at_step(pilot, app, step: Step) -> None:
    """Jump the app to a step with a fake connection, as if the earlier steps had run."""
    flow = app.state.flow or app.start_flow(ADA)
    flow.conn = flow.conn or FakeConn(ADA)
    if flow.probe is None:
        flow.set_probe(probe())
    app.goto(step)
    await wait_for(pilot, lambda: getattr(app.screen, "STEP", None) == step)
    await wait_for(pilot, lambda: not screen_name(app).startswith("(mounting"))
    await pilot.pause()


def make_app(backend: Services, **kwargs: Any) -> WizardApp:
    kwargs.setdefault("now", lambda: NOW)
    kwargs.setdefault("local_auth", Path("/home/ada/.codex/auth.json"))
    kwargs.setdefault("check_statuses", False)
    kwargs.setdefault("hosts", [ADA])
    return WizardApp(backend=backend, **kwargs)


async def wait_for(pilot, condition, timeout: float = 5.0) -> None:
    """Let the app run until condition() is true (or fail after timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.02)


async def settled(pilot, app: WizardApp) -> None:
    """Until the screen on show has caught up with what happened: its workers have finished
    and, on a sign-in screen, the login it shows is the flow's. Then its last render lands."""
    screen = app.screen

    def caught_up() -> bool:
        working = any(worker.node is screen and not worker.is_finished for worker in app.workers)
        shown = getattr(screen, "login", app.state.login)
        return not working and shown == app.state.login

    await wait_for(pilot, caught_up)
    await pilot.pause()


def screen_name(app: WizardApp) -> str:
    """The class name of the screen on show, once it is composed and mounted."""
    screen = app.screen
    if not screen.is_mounted or not screen.children:
        return f"(mounting {type(screen).__name__})"
    return type(screen).__name__


def text_of(app: WizardApp, selector: str) -> str:
    """The plain text a widget shows (Statics, and our widgets that render Rich tables)."""
    from rich.console import Console
    from textual.content import Content

    widget = app.screen.query_one(selector)
    rendered = widget.render()
    if isinstance(rendered, Content):
        return rendered.plain
    if isinstance(rendered, str):
        return rendered
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(rendered)
    return console.export_text()
