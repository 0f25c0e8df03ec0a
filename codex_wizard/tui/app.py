"""The wizard's plumbing: bindings, the state, the lost connection and quitting; the routing
between the steps' screens is tui/routing.py's. The login itself is core.flow.LoginFlow, made
when a host is chosen: screens run it in their own workers, ask for the rest with messages
(tui/messages.py), and render the login's progress from the app's reactive `login`, set once
per batch of changes (coalesced), whichever screen is on top. Whatever way the app ends,
close_all() stops `codex login` on the server and closes the connection.

Start-up: before the host screen's first frame only Textual, this module, the state and the
host screen load. The later steps' screens load when first shown, and the core's services
(asyncssh and the core behind it) once the host list is drawn, in a thread (tui/services.py),
or on first use when a step needs it sooner.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import Screen

from ..core import clock
from ..core.progress import LoginPhase, LoginProgress
from ..core.ssh.hostlist import HostList
from ..core.ssh.hosts import HostTarget
from ..core.ssh.remembered import MemoryHosts, RememberedHosts
from ..core.ssh.types import ConnectSettings
from ..settings import LoginOptions
from .ending import ABANDONED, ending_of
from .messages import WorkFailed
from .prompter import WizardPrompter
from .routing import StepRouting
from .screens.hosts import HostScreen
from .services import import_services
from .state import NO_LOGIN, LostConnection, Step, WizardState, resume_step
from .steps import screen_class

if TYPE_CHECKING:
    from ..core.flow import LoginFlow
    from ..core.services import Services
    from ..core.ssh.inventory import Inventory

STATUS_TIMEOUT = 20.0


class WizardApp(StepRouting, App[int]):
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
    login: var[LoginProgress] = var(NO_LOGIN)
    """The flow's login progress, for the screens that show it (they watch it)."""

    def __init__(
        self,
        *,
        settings: ConnectSettings | None = None,
        login_options: LoginOptions | None = None,
        hosts: Sequence[HostTarget] | None = None,
        inventory: Inventory | None = None,
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
        self.login_options = login_options or LoginOptions()
        self._opened_url: str | None = None  # --open: each login's URL is opened once
        if remembered is None:
            remembered = MemoryHosts() if demo is not None else RememberedHosts(state_path)
        self.host_list = HostList(
            ssh_config or self.settings.ssh_config,
            remembered,
            hosts,
            "demo" if demo is not None else "given",
            inventory,
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
        self._login_due = False  # a change of the login is to be published
        self._handling_error = False
        if demo is not None:
            self.sub_title = "DEMO"

    # ------------------------------------------------------------------ basics

    def now(self) -> datetime:
        return self._now() if self._now else clock.now()

    @property
    def backend(self) -> Services:
        """The core's services; the real ones are imported here on first use (quickly when the
        host screen has had them imported in a thread: tui/services.py)."""
        if self._backend is None:
            self._backend = import_services()()
        return self._backend

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

    def on_work_failed(self, message: WorkFailed) -> None:
        """A screen's work failed: the lost connection, or the error screen (no traceback)."""
        error, doing = message.error, message.doing
        if self.connection_closed():
            self.connection_lost(f"lost while {doing}: {error}")
            return
        self.show_error(
            f"Something went wrong while {doing}",
            f"{type(error).__name__}: {error}",
            "Go back and try again. If it keeps happening, `codex-wizard doctor HOST` "
            "checks the server step by step and prints the fix for each problem.",
        )

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

    @property
    def status_settings(self) -> ConnectSettings:
        """Background checks ask nothing: an unknown host key is reported, not confirmed."""
        return replace(self.settings, confirm_host_key=None)

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
            login_timeout=self.login_options.timeout,
        )
        self._publish_login()
        return self.state.flow

    def _flow_changed(self, flow: LoginFlow) -> None:
        if flow is not self.state.flow:
            return
        if not self._login_due:  # one publication for a burst of codex's lines
            self._login_due = True
            self.call_next(self._publish_login)
        progress = flow.progress
        self._open_when_asked(progress.url)
        if progress.phase is LoginPhase.DISCONNECTED and progress is not self._lost_progress:
            self._lost_progress = progress  # each lost login is reported once
            self.connection_lost(progress.exit_reason or "the SSH connection was closed")

    def _publish_login(self) -> None:
        self._login_due = False
        self.login = self.state.login

    def _open_when_asked(self, url: str | None) -> None:
        """`login HOST --open`: a login's URL goes to the browser once codex prints it."""
        if self.login_options.open_url and url is not None and url != self._opened_url:
            self._opened_url = url
            self.backend.open_browser(url)

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

    # ------------------------------------------------------------------ closing

    async def close_server(self) -> None:
        """Stop the login and close the connection; the wizard forgets the server."""
        flow = self.state.flow
        self.state.forget_server()
        self._publish_login()
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
        self.workers.cancel_all()  # the screens' work ends before the server is forgotten
        await self.close_all()
        self.exit(self.ending.exit_code, return_code=self.ending.exit_code)

    async def on_unmount(self) -> None:
        await self.close_all()
