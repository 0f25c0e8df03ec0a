"""What the wizard carries from step to step. The login itself is the core's LoginFlow: the
state holds it and reads the connection, probe, environment and progress from it.

No Textual here, and nothing that loads asyncssh: the host screen's first frame must not wait
for it (the flow's type is named for the checker only).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from ..core.fleet import FleetRun, HostOutcome, Outcome
from ..core.progress import LoginMode, LoginPhase, LoginProgress
from ..core.ssh.hosts import HostTarget
from ..core.tokens.auth import AuthKind, AuthRecord

if TYPE_CHECKING:
    from ..core.flow import LoginFlow
    from ..core.install.standalone import StandaloneResult
    from ..core.laptop.ports import PortOwner
    from ..core.logins.push import PushResult
    from ..core.server.probe import ProbeResult, ServerEnv
    from ..core.server.tunnel import ForwardingCheck


class Step(IntEnum):
    HOST = 1
    CONNECT = 2
    INSTALL = 3
    TUNNEL = 4
    LOGIN = 5
    EXPIRY = 6

    @property
    def title(self) -> str:
        return STEP_TITLES[self]


STEP_TITLES = {
    Step.HOST: "Host",
    Step.CONNECT: "Connect",
    Step.INSTALL: "Install",
    Step.TUNNEL: "Tunnel",
    Step.LOGIN: "Sign in",
    Step.EXPIRY: "Token",
}
NO_LOGIN = LoginProgress()


@dataclass(frozen=True)
class LostConnection:
    """The connection went away while `step` was on show."""

    step: Step
    reason: str
    during_login: bool = False


def resume_step(lost: LostConnection, login: LoginProgress) -> Step:
    """Where a reconnect goes on: the step that was on show (a finished login: its token)."""
    if lost.step in (Step.HOST, Step.CONNECT):
        return Step.INSTALL
    if lost.step is Step.LOGIN and login.phase is LoginPhase.SUCCEEDED:
        return Step.EXPIRY
    return lost.step


def forwarding_refused(check: ForwardingCheck | None) -> bool:
    return check is not None and check.refused


@dataclass
class WizardState:
    """Everything a later step needs from an earlier one."""

    target: HostTarget | None = None
    flow: LoginFlow | None = None  # made when a host is chosen; it owns the connection
    local_owners: dict[int, PortOwner | None] | None = None
    record: AuthRecord | None = None  # the token step's
    mode: LoginMode = LoginMode.TUNNEL  # the way in chosen last
    lost: LostConnection | None = None  # the connection went away; Reconnect is offered
    resume: Step | None = None  # a reconnect in progress goes on at this step
    standalone: StandaloneResult | None = None  # installed by the wizard, on this server
    fleet: FleetRun | None = None  # the hosts marked on the host list, logged in in turn

    @property
    def conn(self):  # ServerConnection | None
        return self.flow.conn if self.flow is not None else None

    @property
    def probe(self) -> ProbeResult | None:
        return self.flow.probe if self.flow is not None else None

    @property
    def env(self) -> ServerEnv | None:
        return self.flow.env if self.flow is not None else None

    @property
    def forwarding(self) -> ForwardingCheck | None:
        return self.flow.forwarding if self.flow is not None else None

    @property
    def login(self) -> LoginProgress:
        return self.flow.progress if self.flow is not None else NO_LOGIN

    @property
    def tunnel(self) -> Any:  # core.server.tunnel.Tunnel | None: the login's, once it is up
        session = self.flow.session if self.flow is not None else None
        return getattr(session, "tunnel", None)

    @property
    def pushed(self) -> PushResult | None:
        return self.flow.pushed if self.flow is not None else None

    @property
    def label(self) -> str:
        """The host as the user named it (the flow's label once connected)."""
        if self.flow is not None:
            return self.flow.label
        return self.target.label() if self.target is not None else "the server"

    @property
    def user_prefix(self) -> bool:
        return self.flow is not None and self.flow.user_prefix

    def host_outcome(self) -> HostOutcome:
        """What became of this host's login, for the fleet's table."""
        assert self.target is not None
        record = self.record or self.login.record
        shown = record is not None and record.kind is AuthKind.CHATGPT  # e.g. logged in before
        if self.login.succeeded or self.pushed is not None or shown:
            return HostOutcome.logged_in(self.target, record)
        if self.login.phase is LoginPhase.IDLE:  # left before any login was tried
            return HostOutcome(self.target, Outcome.NOT_RUN, "skipped")
        return HostOutcome.failed(self.target, self.login.message or "not logged in")

    def upcoming_host(self) -> HostTarget | None:
        """The fleet's host after this one (None when there is no fleet or it was the last)."""
        return self.fleet.next_after(self.target) if self.fleet is not None else None

    def leave_host(self) -> None:
        """Back to the host list mid-run: this host's outcome so far goes in the fleet."""
        if self.fleet is not None and self.target in self.fleet.targets:
            self.fleet.record(self.host_outcome())

    def finish_host(self) -> HostTarget | None:
        """This host is done: its outcome goes in the fleet; the host to log in next, if any."""
        if self.fleet is None or self.target is None:
            return None
        self.fleet.record(self.host_outcome())
        return self.upcoming_host()

    def forget_server(self) -> None:
        """Back to no host: drop everything learned about the server."""
        self.flow = None
        self.local_owners = None
        self.record = None
        self.mode = LoginMode.TUNNEL
        self.lost = None
        self.resume = None
        self.standalone = None
