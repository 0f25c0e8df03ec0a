"""The wizard: six steps in order, the state carried between them, and clean-up on every exit.

Screens are thin: they show app.state and call the core through app.backend. The app owns
what outlives a screen: the SSH connection (and a watch on it: a lost connection offers
Reconnect), the LoginSession and the task that turns its events into LoginChanged messages.
Whatever way the app ends, close_all() stops `codex login` on the server and closes the
connection.

Start-up (issue 6): before the host screen's first frame only Textual, this module, the state and
the host screen load. The later steps' screens load when first shown, and the real backend
(asyncssh and the core behind it) once the host list is drawn, in a thread (load_backend), or on
first use when a step needs it sooner.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import Worker

from ..core.auth import parse_auth_json
from ..core.connection import ConnectSettings, HostKeyInfo
from ..core.hosts import HostArgError, HostTarget, list_config_hosts, parse_host_arg
from ..core.remembered import MemoryHosts, RememberedHosts
from ..startup import import_asyncssh_quickly
from .screens.base import LoginChanged
from .screens.hosts import HostScreen
from .state import (
    LocalAuth,
    LoginMode,
    LoginPhase,
    LoginProgress,
    LostConnection,
    Step,
    WizardState,
    resume_step,
)

# These import asyncssh: imported where they are used, once it has loaded.
if TYPE_CHECKING:
    from ..core.login import LoginEvent
    from ..core.probe import ProbeResult
    from ..core.push import PushResult
    from ..core.relay import PastedCallback
    from ..core.status import HostStatus
    from .backend import Backend

# The screens of the steps ("module.Class" under tui/screens/), each imported when first shown.
STEP_SCREENS: dict[Step, str] = {
    Step.HOST: "hosts.HostScreen",
    Step.CONNECT: "connect.ConnectScreen",
    Step.INSTALL: "install.InstallScreen",
    Step.TUNNEL: "tunnel.TunnelScreen",
    Step.LOGIN: "login.LoginScreen",
    Step.EXPIRY: "expiry.ExpiryScreen",
}
LOGIN_SCREENS: dict[LoginMode, str] = {
    LoginMode.TUNNEL: "login.LoginScreen",
    LoginMode.RELAY: "relay.RelayScreen",
    LoginMode.DEVICE: "device.DeviceScreen",
    LoginMode.PUSH: "push.PushScreen",
}
STATUS_TIMEOUT = 20.0
CLOSE_TIMEOUT = 10.0


def screen_class(name: str) -> Callable[[], Screen]:
    """The screen class named "module.Class" under tui/screens/ (imported on first use)."""
    module, _, cls = name.rpartition(".")
    return getattr(importlib.import_module(f"{__package__}.screens.{module}"), cls)


def import_backend() -> type[Backend]:
    """The real backend's class: importing it imports asyncssh (quickly) and the core."""
    import_asyncssh_quickly()
    from .backend import Backend

    return Backend


class WizardApp(App[int]):
    """codex-wizard's Textual front end. Every collaborator can be injected for tests."""

    CSS_PATH = "wizard.tcss"
    TITLE = "codex-wizard"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # Ctrl+C quits too (cleanly: close_all), wherever focus is, instead of Textual's hint.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        *,
        settings: ConnectSettings | None = None,
        hosts: Sequence[HostTarget] | None = None,
        initial_target: HostTarget | None = None,
        ssh_config: Path | None = None,
        local_port_for: Callable[[int], int] | None = None,
        state_path: Path | None = None,
        local_auth: Path | None = None,
        remembered: RememberedHosts | None = None,
        demo: Any = None,
        now: Callable[[], datetime] | None = None,
        backend: Backend | None = None,
        codex_home: str | None = None,
        check_statuses: bool = True,
        status_timeout: float = STATUS_TIMEOUT,
        warn_days: float = 3.0,
        friendly_errors: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings or ConnectSettings(ssh_config=ssh_config)
        self.hosts = list(hosts) if hosts is not None else None
        self.initial_target = initial_target
        self.ssh_config = ssh_config or self.settings.ssh_config
        self.local_port_for: Callable[[int], int] = local_port_for or (lambda port: port)
        if remembered is None:
            remembered = MemoryHosts() if demo is not None else RememberedHosts(state_path)
        self.remembered = remembered
        self.demo = demo
        self._now = now
        self._backend = backend  # None: the real one, loaded later (see the backend property)
        self.codex_home = codex_home
        self.check_statuses = check_statuses
        self.status_timeout = status_timeout
        self.warn_days = warn_days
        self.friendly_errors = friendly_errors
        if local_auth is None:
            local_auth = getattr(demo, "laptop_auth_path", None)
        self._local_auth = local_auth  # None: core.push's default, looked up on first use
        self.state = WizardState()
        self._pump: Worker | None = None
        self._close_task: asyncio.Task | None = None
        self._handling_error = False
        if demo is not None:
            self.sub_title = "DEMO"

    # ------------------------------------------------------------------ basics

    def now(self) -> datetime:
        return self._now() if self._now else datetime.now(UTC)

    @property
    def backend(self) -> Backend:
        """The core calls (tui/backend.py); the real one is imported here on first use, unless
        load_backend() has already done it in a thread."""
        if self._backend is None:
            self._backend = import_backend()()
        return self._backend

    @backend.setter
    def backend(self, backend: Backend) -> None:
        self._backend = backend

    async def load_backend(self, after_drawing: Widget | None = None) -> None:
        """Import the real backend (asyncssh and the core: ~0.1 s) in a thread, once
        after_drawing has been drawn, so that neither its first frame nor the event loop
        waits for it. Nothing to do when the backend is loaded or was given."""
        if self._backend is None:
            if after_drawing is not None:
                await after_drawing.wait_for_refresh()
            await asyncio.to_thread(import_backend)

    @property
    def local_auth_path(self) -> Path:
        """This computer's auth.json, for push-auth."""
        if self._local_auth is None:
            from ..core.push import local_auth_path

            self._local_auth = local_auth_path()
        return self._local_auth

    @local_auth_path.setter
    def local_auth_path(self, path: Path) -> None:
        self._local_auth = path

    def on_mount(self) -> None:
        if self.initial_target is not None:
            self.state.target = self.initial_target
            self.goto(Step.CONNECT)
        else:
            self.push_screen(HostScreen())

    def goto(self, step: Step) -> None:
        """Show a step (a fresh screen that renders from self.state), closing any modals."""
        if step is Step.LOGIN:
            self.show(screen_class(LOGIN_SCREENS[self.state.mode])())
        else:
            self.show(screen_class(STEP_SCREENS[step])())

    def show(self, screen: Screen) -> None:
        """Make screen the step on show, closing any modals and problem screens above."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if len(self.screen_stack) < 2:
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    def show_ways(self) -> None:
        """The choice of ways in: tunnel, relay the redirect, device code, push auth.json."""
        from .screens.ways import WaysInScreen

        self.show(WaysInScreen())

    @property
    def step(self) -> Step | None:
        for screen in reversed(self.screen_stack):
            step = getattr(screen, "STEP", None)
            if step is not None:
                return step
        return None

    def go_back(self, step: Step) -> None:
        if step in (Step.CONNECT, Step.INSTALL):
            self.run_worker(self.back_to_hosts(), exit_on_error=False)
        elif step is Step.TUNNEL:
            self.goto(Step.INSTALL)
        elif step is Step.LOGIN:
            if self.state.mode is LoginMode.TUNNEL:
                self.goto(Step.TUNNEL)
            else:
                self.show_ways()
        elif step is Step.EXPIRY:
            state = self.state
            signed_in_here = state.login.phase is not LoginPhase.IDLE or state.pushed is not None
            self.goto(Step.LOGIN if signed_in_here else Step.INSTALL)

    async def ask(self, screen: Screen[Any]) -> Any:
        """Show a modal and wait for its answer (works from any worker or handler)."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(result: Any) -> None:
            if not answer.done():
                answer.set_result(result)

        self.push_screen(screen, callback=done)
        return await answer

    def show_error(self, title: str, what: str, todo: str) -> None:
        from .screens.dialogs import ErrorScreen

        self.push_screen(ErrorScreen(title, what, todo))

    async def guarded(self, coro: Awaitable[Any], doing: str) -> Any:
        """Await coro; an unexpected failure lands on the error screen instead of a traceback."""
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if self.connection_closed():
                self.connection_lost(f"lost while {doing}: {exc}")
                return None
            self.show_error(
                f"Something went wrong while {doing}",
                f"{type(exc).__name__}: {exc}",
                "Go back and try again. If it keeps happening, `codex-wizard doctor HOST` "
                "checks the server step by step and prints the fix for each problem.",
            )
            return None

    def _handle_exception(self, error: Exception) -> None:
        """With friendly_errors (the real app), show unexpected errors instead of crashing."""
        if not self.friendly_errors or self._handling_error or not self.is_running:
            super()._handle_exception(error)
            return
        self._handling_error = True
        try:
            self.log.error(error)
            self.show_error(
                "Something unexpected went wrong",
                f"{type(error).__name__}: {error}",
                "Go back and try again, or quit (ctrl+q): quitting always stops codex login on "
                "the server. Run with --debug to see the details.",
            )
        except Exception:
            super()._handle_exception(error)
        finally:
            self._handling_error = False

    # ------------------------------------------------------------------ hosts

    def host_entries(self) -> list[tuple[HostTarget, str]]:
        """(target, where it comes from) for the host list."""
        if self.hosts is not None:
            source = "demo" if self.demo is not None else "given"
            return [(target, source) for target in self.hosts]
        entries: list[tuple[HostTarget, str]] = []
        seen: set[HostTarget] = set()
        for name in list_config_hosts(self.ssh_config):
            with contextlib.suppress(HostArgError):
                target = parse_host_arg(name)
                if target not in seen:
                    seen.add(target)
                    entries.append((target, "ssh_config"))
        for target in self.remembered.targets():
            if target not in seen:
                seen.add(target)
                entries.append((target, "remembered"))
        return entries

    def forget_host(self, target: HostTarget) -> bool:
        return self.remembered.forget(target)

    def connect_settings(self, interactive: bool = True) -> ConnectSettings:
        """The settings with our host-key prompt (interactive) or none (background checks)."""
        confirm = self.confirm_host_key if interactive else None
        return replace(self.settings, confirm_host_key=confirm)

    async def confirm_host_key(self, key: HostKeyInfo) -> bool:
        from .screens.dialogs import HostKeyDialog

        return bool(await self.ask(HostKeyDialog(key)))

    async def check_status(self, target: HostTarget) -> HostStatus:
        return await self.backend.check_host(
            target,
            self.connect_settings(interactive=False),
            codex_home=self.codex_home,
            warn_days=self.warn_days,
            timeout=self.status_timeout,
        )

    def choose_host(self, target: HostTarget) -> None:
        self.state.target = target
        self.goto(Step.CONNECT)

    async def connected(self, conn: Any, say: Callable[[str], None] | None = None) -> None:
        """The connection is up: on to the install check, or back where a reconnect left off."""
        self.state.conn = conn
        target = self.state.target
        if target is not None and not self._from_ssh_config(target):
            with contextlib.suppress(OSError):
                self.remembered.remember(target, self.now())
        self.watch_connection(conn)
        resume, self.state.resume = self.state.resume, None
        if resume is None:
            self.goto(Step.INSTALL)
        else:
            await self._resume(resume, say or (lambda line: None))

    def _from_ssh_config(self, target: HostTarget) -> bool:
        if self.hosts is not None:
            return True
        return (
            target.user is None
            and target.port is None
            and target.name in set(list_config_hosts(self.ssh_config))
        )

    async def back_to_hosts(self) -> None:
        await self.close_server()
        self.state.target = None
        self.goto(Step.HOST)

    async def _resume(self, step: Step, say: Callable[[str], None]) -> None:
        """After a reconnect: re-probe if the probe never finished, and for the sign-in step a
        fresh login in the same way as before (its tunnel forwards the port again)."""
        state = self.state
        if step is Step.LOGIN and state.mode is not LoginMode.PUSH:
            if state.probe is None:
                say("Checking the server again…")
                self.set_probe(await self.backend.probe(state.conn))
            say("Starting a fresh login (the old URL no longer works)…")
            self._reset_login(state.mode)
            self.run_worker(self.start_login(state.mode), exit_on_error=False)
        self.goto(step)

    # ------------------------------------------------------------------ a lost connection

    def watch_connection(self, conn: Any) -> None:
        self.run_worker(self._watch_connection(conn), group="watch", exit_on_error=False)

    async def _watch_connection(self, conn: Any) -> None:
        wait_closed = getattr(getattr(conn, "ssh", None), "wait_closed", None)
        if wait_closed is None:
            return
        with contextlib.suppress(Exception):
            await wait_closed()
        if self.state.conn is conn:  # not closed by us (we forget it first)
            self.connection_lost("the SSH connection was closed")

    def connection_closed(self) -> bool:
        conn = self.state.conn
        is_closed = getattr(getattr(conn, "ssh", None), "is_closed", None)
        return bool(is_closed and is_closed())

    def connection_lost(self, reason: str) -> None:
        """Say what happened and offer Reconnect (once per lost connection)."""
        from .screens.dialogs import ConnectionLostScreen

        state = self.state
        if state.lost is not None or state.conn is None or self._close_task is not None:
            return
        login = state.login
        during_login = login.active or login.phase is LoginPhase.DISCONNECTED
        state.lost = LostConnection(self.step or Step.INSTALL, reason, during_login)
        self.push_screen(ConnectionLostScreen(state.lost))

    async def reconnect(self) -> None:
        """A new connection to the same host; connected() then goes on where we were."""
        state = self.state
        lost = state.lost
        if lost is None or state.target is None:
            return
        resume = resume_step(lost, state.login)
        await self.stop_login()
        conn, state.conn = state.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), CLOSE_TIMEOUT)
        state.lost = None
        state.resume = resume
        if resume is Step.EXPIRY:
            state.record = None  # read it again over the new connection
        self.goto(Step.CONNECT)

    def set_probe(self, probe: ProbeResult) -> None:
        from .screens.install import env_after_probe

        self.state.probe = probe
        self.state.env = env_after_probe(probe, self.codex_home, self.state.user_prefix)

    # ------------------------------------------------------------------ login

    def current_tunnel(self) -> Any:
        session = self.state.session
        return getattr(session, "tunnel", None) if session is not None else None

    def choose_way(self, mode: LoginMode) -> None:
        """Sign in this way: push shows its screen; the others start a login (unless one of
        that kind is already running) and show it."""
        state = self.state
        running = state.login.active and state.login.mode is mode and state.mode is mode
        state.mode = mode
        if mode is not LoginMode.PUSH and not running:
            self._reset_login(mode)
            self.run_worker(self.start_login(mode), exit_on_error=False)
        self.goto(Step.LOGIN)

    def login_again(self) -> None:
        if self.state.mode is LoginMode.PUSH:
            self.show_ways()
        else:
            self.choose_way(self.state.mode)

    def _reset_login(self, mode: LoginMode) -> None:
        state = self.state
        state.mode = mode
        state.login = LoginProgress(mode=mode)
        state.record = None
        state.login.starting()

    async def start_login(self, mode: LoginMode | None = None) -> None:
        """A fresh `codex login` on the server (stopping any earlier one), in the way `mode`
        (default: the way chosen last): tunnel, relay (no forwarding) or device code."""
        from ..core.login import LoginError, LoginExited

        await self.stop_login()
        state = self.state
        mode = mode or state.mode
        if mode is LoginMode.PUSH:
            return
        self._reset_login(mode)
        self.screen.post_message(LoginChanged(None))
        session = self.backend.login_session(
            state.conn,
            state.env,
            local_port_for=self.local_port_for,
            forward=mode is LoginMode.TUNNEL,
            device_auth=mode is LoginMode.DEVICE,
        )
        state.session = session
        try:
            await session.start()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.apply_login_event(LoginError(f"could not start codex login: {exc}"))
            self.apply_login_event(LoginExited(None, str(exc)))
            return
        self._pump = self.run_worker(self._pump_events(session), group="login", exit_on_error=False)

    async def _pump_events(self, session: Any) -> None:
        async for event in session.events():
            if session is not self.state.session:
                return
            self.apply_login_event(event)

    def apply_login_event(self, event: LoginEvent) -> None:
        """Fold a LoginSession event into the state and tell the screen on show."""
        from ..core.login import LoginExited

        self.state.login.apply(event)
        self.screen.post_message(LoginChanged(event))
        if isinstance(event, LoginExited) and self.state.login.phase is LoginPhase.DISCONNECTED:
            self.connection_lost(event.reason)

    # ------------------------------------------------------------------ relay and push

    def paste_address(self, text: str) -> str | None:
        """Relay mode: check a pasted address and replay it on the server. Returns what is
        wrong with it (core.relay's message), or None when the replay has started."""
        from ..core.relay import PastedAddressError

        login = self.state.login
        if not login.can_paste:
            return "This login is not waiting for an address now."
        try:
            callback = login.validate_paste(text)
        except PastedAddressError as exc:
            return str(exc)
        login.relay_started()
        self.screen.post_message(LoginChanged(None))
        self.run_worker(
            self._relay(callback, self.state.session),
            group="relay",
            exclusive=True,
            exit_on_error=False,
        )
        return None

    async def _relay(self, callback: PastedCallback, session: Any) -> None:
        state = self.state
        conn = state.conn
        label = conn.label if conn is not None else "the server"
        try:
            probe = state.probe or await self.backend.probe(conn)
            result = await self.backend.relay(conn, callback, probe.tools, state.env)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if session is state.session:
                state.login.relay_failed(f"The relay could not run on {label}: {exc}")
        else:
            if session is state.session:
                state.login.relay_done(result, label)
        self.screen.post_message(LoginChanged(None))

    async def read_local_auth(self) -> LocalAuth:
        """This computer's auth.json for push-auth: refused (with why) unless it is a login."""
        from ..core.push import PushError

        path = self.local_auth_path
        try:
            data = await asyncio.to_thread(self.backend.load_local_auth, path)
        except PushError as exc:
            return LocalAuth(str(path), error=str(exc))
        return LocalAuth(str(path), data, parse_auth_json(data))

    async def push_auth(self, local: LocalAuth) -> PushResult:
        """Copy it to the server (backed up, atomic, 0600); raises PushError."""
        from ..core.push import PushError

        if local.data is None:
            raise PushError(local.error or f"{local.path} can't be used.")
        state = self.state
        result = await self.backend.push_auth(state.conn, state.env, local.data)
        state.pushed = result
        state.record = result.record
        return result

    async def stop_login(self) -> None:
        session, self.state.session = self.state.session, None
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
        if session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.close(), CLOSE_TIMEOUT)

    def copy_url(self, url: str) -> str:
        """Copy with pyperclip; always also through the terminal (OSC 52). Returns how."""
        how = self.backend.copy_text(url)
        self.copy_to_clipboard(url)
        return how or "osc52"

    async def simulate_browser(self, *, wrong_state: bool = False) -> None:
        """Demo only: play the browser coming back to the tunnel after signing in."""
        url, tunnel = self.state.login.url, self.current_tunnel()
        if self.demo is None or url is None or tunnel is None:
            return
        status = await self.demo.simulate_browser(
            url, local_port=tunnel.local_port, wrong_state=wrong_state
        )
        self.notify(f"Simulated browser: the login server answered HTTP {status}.", timeout=4)

    def simulated_landing(self, *, wrong_state: bool = False) -> str | None:
        """Demo only: the address the browser ends on after signing in (for the relay)."""
        url = self.state.login.url
        address = getattr(self.demo, "callback_address", None)
        if address is None or url is None:
            return None
        return address(url, wrong_state=wrong_state)

    # ------------------------------------------------------------------ closing

    async def close_server(self) -> None:
        """Stop the login and close the connection; the wizard forgets the server."""
        await self.stop_login()
        conn = self.state.conn
        self.state.forget_server()
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), CLOSE_TIMEOUT)

    async def close_all(self) -> None:
        """Idempotent: no `codex login` left on the server, no connection left open."""
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self.close_server())
        await asyncio.shield(self._close_task)

    async def action_quit(self) -> None:
        await self.close_all()
        self.exit(0)

    async def on_unmount(self) -> None:
        await self.close_all()


# ---------------------------------------------------------------------- entry point


async def _run(app: WizardApp) -> int:
    try:
        await app.run_async()
    finally:
        await app.close_all()
    return app.return_code or 0


async def _run_demo(args: argparse.Namespace) -> int:
    import_asyncssh_quickly()  # the demo server runs on asyncssh
    from ..demo import DemoServer

    async with DemoServer() as demo:
        app = WizardApp(
            settings=demo.settings,
            hosts=[demo.target],
            local_port_for=demo.local_port_for,
            demo=demo,
            codex_home=getattr(args, "codex_home", None),
            friendly_errors=not getattr(args, "debug", False),
        )
        return await _run(app)


def run_wizard(args: argparse.Namespace) -> int:
    """`codex-wizard`, `codex-wizard HOST`, `codex-wizard login HOST`, `codex-wizard --demo`."""
    if getattr(args, "demo", False):
        return asyncio.run(_run_demo(args))
    from ..cli import parse_target

    host = getattr(args, "host", None)
    ssh_config = getattr(args, "ssh_config", None)
    app = WizardApp(
        settings=ConnectSettings(
            ssh_config=ssh_config,
            accept_new_host_key=getattr(args, "accept_new_host_key", False),
        ),
        initial_target=parse_target(host) if host else None,
        ssh_config=ssh_config,
        codex_home=getattr(args, "codex_home", None),
        friendly_errors=not getattr(args, "debug", False),
    )
    return asyncio.run(_run(app))
