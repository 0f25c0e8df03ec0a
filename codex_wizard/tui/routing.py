"""The wizard's routing between steps: which screen shows each step, Back, the host chosen,
the connection up, the way in chosen. The screens post what they want (tui/messages.py) and the
handlers here act on it; the app (tui/app.py) holds the state, the flow and the plumbing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.screen import Screen

from ..core.fleet import FleetRun
from ..core.progress import LoginMode, LoginPhase
from ..core.ssh.hosts import HostTarget
from .messages import (
    BackToHosts,
    ChooseHost,
    ChooseWay,
    Connected,
    FreshLogin,
    GoBack,
    GoTo,
    LoginAgain,
    NextHost,
    Reconnect,
    ShowWays,
)
from .state import Step
from .steps import LOGIN_SCREENS, STEP_SCREENS, screen_class

if TYPE_CHECKING:
    from textual.app import App

    from ..core.ssh.hostlist import HostList
    from .state import WizardState

    _Base = App[int]
else:
    _Base = object


class StepRouting(_Base):
    """The steps' routing, mixed into WizardApp: the methods, and the messages' handlers."""

    state: WizardState
    host_list: HostList

    # ------------------------------------------------------------------ what screens post

    def on_go_to(self, message: GoTo) -> None:
        self.goto(message.step)

    def on_go_back(self, message: GoBack) -> None:
        self.go_back(message.step)

    def on_show_ways(self, message: ShowWays) -> None:
        self.show_ways()

    def on_choose_host(self, message: ChooseHost) -> None:
        self.choose_host(message.target, message.fleet)

    def on_next_host(self, message: NextHost) -> None:
        self.run_worker(self.next_host(message.target), exit_on_error=False)

    def on_back_to_hosts(self, message: BackToHosts) -> None:
        self.run_worker(self.back_to_hosts(), exit_on_error=False)

    def on_connected(self, message: Connected) -> None:
        self.run_worker(self.connected(message.say), exit_on_error=False)

    def on_reconnect(self, message: Reconnect) -> None:
        self.run_worker(self.reconnect(), exit_on_error=False)

    def on_choose_way(self, message: ChooseWay) -> None:
        self.choose_way(message.mode)

    def on_login_again(self, message: LoginAgain) -> None:
        self.login_again()

    def on_fresh_login(self, message: FreshLogin) -> None:
        self.run_worker(self.start_login(), exit_on_error=False)

    # ------------------------------------------------------------------ the steps

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

    # ------------------------------------------------------------------ hosts

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

    # ------------------------------------------------------------------ the way in

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
        await state.flow.start_login(mode, free_port=True)
