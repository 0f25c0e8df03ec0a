"""The wizard's plumbing: bindings, the steps' screens and the routing between them, the lost
connection and quitting. The login itself is core.flow.LoginFlow, made when a host is chosen:
screens call it in workers and re-render on LoginChanged, the one message it sends up.
Whatever way the app ends, close_all() stops `codex login` on the server and closes the
connection.

Start-up: before the host screen's first frame only Textual, this module, the state and the
host screen load. The later steps' screens load when first shown, and the core's services
(asyncssh and the core behind it) once the host list is drawn, in a thread (load_backend), or on
first use when a step needs it sooner.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget

from ..core.fleet import FleetRun
from ..core.progress import LoginMode, LoginPhase
from ..core.ssh.hostlist import HostList
from ..core.ssh.hosts import HostTarget
from ..core.ssh.remembered import MemoryHosts, RememberedHosts
from ..core.ssh.types import ConnectSettings
from ..startup import import_asyncssh_quickly
from .ending import ABANDONED, ending_of
from .messages import LoginChanged
from .prompter import WizardPrompter
from .screens.hosts import HostScreen
from .state import LostConnection, Step, WizardState, resume_step
from .steps import LOGIN_SCREENS, STEP_SCREENS, screen_class

if TYPE_CHECKING:
    from ..core.flow import LoginFlow
    from ..core.services import Services

STATUS_TIMEOUT = 20.0


def import_services() -> type[Services]:
    """The core's services: importing them imports asyncssh (quickly) and the core."""
    import_asyncssh_quickly()
    from ..core.services import Services

    return Services


class WizardApp(App[int]):
    """codex-wizard's Textual front end. Every collaborator can be injected for tests."""

    CSS_PATH = "wizard.tcss"
    TITLE = "codex-wizard"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("q", "quit", "Quit", show=False),  # not priority: a text field keeps its q
        # Ctrl+C quits too (cleanly: close_all, exit 130), wherever focus is.
        Binding("ctrl+c", "quit(True)", "Quit", show=False, priority=True),
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
        backend: Services | None = None,
        codex_home: str | None = None,
        check_statuses: bool = True,
        status_timeout: float = STATUS_TIMEOUT,
        warn_days: float = 3.0,
        friendly_errors: bool = False,
    ) -> None:
        super().__init__(ansi_color=True if "NO_COLOR" in os.environ else None)  # no colour at all
        self.settings = settings or ConnectSettings(ssh_config=ssh_config)
        if remembered is None:
            remembered = MemoryHosts() if demo is not None else RememberedHosts(state_path)
        self.host_list = HostList(
            ssh_config or self.settings.ssh_config,
            remembered,
            hosts,
            "demo" if demo is not None else "given",
        )
        self.initial_target = initial_target
        self.local_port_for: Callable[[int], int] = local_port_for or (lambda port: port)
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
        self._local_auth = local_auth  # None: core.logins.push's default, looked up on first use
        self.state = WizardState()
        self.ending = ABANDONED  # until the user quits
        self.prompter = WizardPrompter(self.ask)
        self._close_task: asyncio.Task | None = None
        self._lost_progress: object = None
        self._handling_error = False
        if demo is not None:
            self.sub_title = "DEMO"

    # ------------------------------------------------------------------ basics

    def now(self) -> datetime:
        return self._now() if self._now else datetime.now(UTC)

    @property
    def backend(self) -> Services:
        """The core's services; the real ones are imported here on first use, unless
        load_backend() has already done it in a thread."""
        if self._backend is None:
            self._backend = import_services()()
        return self._backend

    async def load_backend(self, after_drawing: Widget | None = None) -> None:
        """Import the core's services (asyncssh and the core: ~0.1 s) in a thread, once
        after_drawing has been drawn, so that neither its first frame nor the event loop
        waits for it. Nothing to do when they are loaded or were given."""
        if self._backend is None:
            if after_drawing is not None:
                await after_drawing.wait_for_refresh()
            await asyncio.to_thread(import_services)

    @property
    def local_auth_path(self) -> Path:
        """This computer's auth.json, for push-auth."""
        if self._local_auth is None:
            from ..core.logins.push import local_auth_path

            self._local_auth = local_auth_path()
        return self._local_auth

    def on_mount(self) -> None:
        if self.initial_target is not None:
            self.choose_host(self.initial_target)
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
        self.show(screen_class("ways.WaysInScreen")())

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
        self.push_screen(screen_class("dialogs.ErrorScreen")(title, what, todo))

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

    # ------------------------------------------------------------------ hosts and the flow

    def status_settings(self) -> ConnectSettings:
        """Background checks ask nothing: an unknown host key is reported, not confirmed."""
        return replace(self.settings, confirm_host_key=None)

    def choose_host(self, target: HostTarget, fleet: FleetRun | None = None) -> None:
        """On to target's connection (the next of `fleet`'s marked hosts, when given)."""
        self.state.fleet = fleet
        self.start_flow(target)
        self.goto(Step.CONNECT)

    async def next_host(self, target: HostTarget) -> None:
        """From the token step to the fleet's next host."""
        fleet = self.state.fleet
        await self.close_server()
        self.choose_host(target, fleet)

    def start_flow(self, target: HostTarget) -> LoginFlow:
        """The login flow of target: the wizard's one from now on (it owns the connection)."""
        from ..core.flow import LoginFlow

        self.state.target = target
        self.state.flow = LoginFlow(
            target,
            self.settings,
            self.backend,
            self.prompter,
            codex_home=self.codex_home,
            local_port_for=self.local_port_for,
            on_change=self._flow_changed,
        )
        return self.state.flow

    def _flow_changed(self, flow: LoginFlow) -> None:
        if flow is not self.state.flow:
            return
        self.screen.post_message(LoginChanged())
        progress = flow.progress
        if progress.phase is LoginPhase.DISCONNECTED and progress is not self._lost_progress:
            self._lost_progress = progress  # each lost login is reported once
            self.connection_lost(progress.exit_reason or "the SSH connection was closed")

    async def connected(self, say: Callable[[str], None] | None = None) -> None:
        """The connection is up: on to the install check, or back where a reconnect left off."""
        state = self.state
        if state.target is not None:
            self.host_list.remember(state.target, self.now())
        self.run_worker(self._watch_connection(state.flow), group="watch", exit_on_error=False)
        resume, state.resume = state.resume, None
        if resume is None:
            self.goto(Step.INSTALL)
        else:
            await self._resume(resume, say or (lambda line: None))

    async def back_to_hosts(self) -> None:
        self.state.leave_host()
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
                await state.flow.run_probe()
            say("Starting a fresh login (the old URL no longer works)…")
            self.run_worker(self.start_login(state.mode), exit_on_error=False)
        self.goto(step)

    # ------------------------------------------------------------------ a lost connection

    async def _watch_connection(self, flow: LoginFlow) -> None:
        conn = flow.conn
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await conn.wait_closed()
        if self.state.flow is flow and flow.conn is conn:  # not closed by us
            self.connection_lost("the SSH connection was closed")

    def connection_closed(self) -> bool:
        conn = self.state.conn
        return conn is not None and conn.is_closed()

    def connection_lost(self, reason: str) -> None:
        """Say what happened and offer Reconnect (once per lost connection)."""
        state = self.state
        if state.lost is not None or state.conn is None or self._close_task is not None:
            return
        login = state.login
        during_login = login.active or login.phase is LoginPhase.DISCONNECTED
        state.lost = LostConnection(self.step or Step.INSTALL, reason, during_login)
        self.push_screen(screen_class("dialogs.ConnectionLostScreen")(state.lost))

    async def reconnect(self) -> None:
        """A new connection to the same host; connected() then goes on where we were."""
        state = self.state
        lost = state.lost
        if lost is None or state.flow is None:
            return
        state.resume = resume_step(lost, state.login)
        await state.flow.close()
        state.lost = None
        if state.resume is Step.EXPIRY:
            state.record = None  # read it again over the new connection
        self.goto(Step.CONNECT)

    # ------------------------------------------------------------------ the login

    def current_tunnel(self) -> Any:
        session = self.state.flow.session if self.state.flow is not None else None
        return getattr(session, "tunnel", None)

    def choose_way(self, mode: LoginMode) -> None:
        """Sign in this way: push shows its screen; the others start a login (unless one of
        that kind is already running) and show it."""
        state = self.state
        running = state.login.active and state.login.mode is mode and state.mode is mode
        state.mode = mode
        if mode is not LoginMode.PUSH and not running:
            self.run_worker(self.start_login(mode), exit_on_error=False)
        self.goto(Step.LOGIN)

    def login_again(self) -> None:
        if self.state.mode is LoginMode.PUSH:
            self.show_ways()
        else:
            self.choose_way(self.state.mode)

    async def start_login(self, mode: LoginMode | None = None) -> None:
        """A fresh `codex login` on the server in the way `mode` (default: the one chosen last)."""
        state = self.state
        mode = mode or state.mode
        if mode is LoginMode.PUSH or state.flow is None:
            return
        state.mode = mode
        state.record = None
        await state.flow.start_login(mode)

    # ------------------------------------------------------------------ closing

    async def close_server(self) -> None:
        """Stop the login and close the connection; the wizard forgets the server."""
        flow = self.state.flow
        self.state.forget_server()
        if flow is not None:
            await flow.close()

    async def close_all(self) -> None:
        """Idempotent: no `codex login` left on the server, no connection left open."""
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self.close_server())
        await asyncio.shield(self._close_task)

    async def action_quit(self, interrupted: bool = False) -> None:
        """Quit (Ctrl-C: interrupted), noting how the run ended before the server is forgotten."""
        self.ending = ending_of(self.state, interrupted=interrupted, now=self.now())
        await self.close_all()
        self.exit(self.ending.exit_code, return_code=self.ending.exit_code)

    async def on_unmount(self) -> None:
        await self.close_all()
