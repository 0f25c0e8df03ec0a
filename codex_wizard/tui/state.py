"""What the wizard carries from step to step, and the login's progress as a plain reducer.

No Textual here: the screens render this state, and tests drive it with synthetic core events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from ..core.auth import AuthRecord
from ..core.hosts import HostTarget
from ..core.login import (
    CallbackSeen,
    ForwardRefused,
    LoginCancelled,
    LoginError,
    LoginEvent,
    LoginExited,
    LoginSucceeded,
    OutputLine,
    PortsBusy,
    StateMismatch,
    TokenExchangeFailed,
    UrlReady,
)
from ..core.ports import PortOwner
from ..core.probe import ProbeResult, ServerEnv
from ..core.tunnel import ForwardingCheck


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


class LoginPhase(StrEnum):
    IDLE = "idle"
    STARTING = "starting"
    WAITING = "waiting"
    CALLBACK = "callback"
    MISMATCH = "mismatch"
    EXCHANGE_FAILED = "exchange_failed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    EXITED = "exited"


ENDED_BADLY = frozenset(
    {LoginPhase.EXCHANGE_FAILED, LoginPhase.CANCELLED, LoginPhase.FAILED, LoginPhase.EXITED}
)
MAX_OUTPUT = 200


@dataclass
class LoginProgress:
    """The login as the URL screen shows it, built from LoginSession events."""

    phase: LoginPhase = LoginPhase.IDLE
    url: str | None = None
    port: int | None = None
    message: str = ""
    history: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    exit_code: int | None = None
    exited: bool = False

    @property
    def offer_fresh(self) -> bool:
        """A fresh `codex login` is the way on (old URL, failure, cancelled, exited)."""
        return self.phase is LoginPhase.MISMATCH or self.phase in ENDED_BADLY

    @property
    def active(self) -> bool:
        return self.phase is not LoginPhase.IDLE and not self.exited

    def starting(self) -> None:
        self.phase = LoginPhase.STARTING
        self.history.append("Starting `codex login` on the server…")

    def apply(self, event: LoginEvent) -> None:
        """Fold one event from LoginSession.events() into the progress."""
        match event:
            case UrlReady(url=url, port=port):
                self.url, self.port = url, port
                self.phase = LoginPhase.WAITING
                self.history.append(f"URL ready; codex listens on the server's port {port}.")
                self.history.append("Waiting for you to sign in in the browser…")
            case CallbackSeen():
                self.phase = LoginPhase.CALLBACK
                self.history.append("The browser came back through the tunnel (/auth/callback).")
            case StateMismatch():
                self.phase = LoginPhase.MISMATCH
                self.message = (
                    "That sign-in came from an older login URL (codex said 'State mismatch'). "
                    "Use the URL shown here, or start a fresh login."
                )
                self.history.append("State mismatch: the browser used an old URL.")
            case TokenExchangeFailed(message=message):
                self.phase = LoginPhase.EXCHANGE_FAILED
                self.message = f"codex could not exchange the code for tokens: {message}"
                self.history.append("Token exchange failed.")
            case LoginCancelled():
                self.phase = LoginPhase.CANCELLED
                self.message = (
                    "This login was cancelled (another `codex login` on the server took over "
                    "the port). Start a fresh login."
                )
                self.history.append("Login cancelled.")
            case PortsBusy(message=message) | LoginError(message=message):
                self.phase = LoginPhase.FAILED
                self.message = message
                self.history.append(f"Failed: {message}")
            case ForwardRefused(detail=detail):
                self.phase = LoginPhase.FAILED
                self.message = detail
                self.history.append("The server refused the tunnel.")
            case LoginSucceeded():
                self.phase = LoginPhase.SUCCEEDED
                self.message = ""
                self.history.append("codex: Successfully logged in.")
            case OutputLine(text=text):
                if text.strip():
                    self.output.append(text)
                    del self.output[:-MAX_OUTPUT]
            case LoginExited(exit_code=code, reason=reason):
                self._exited(code, reason)

    def _exited(self, code: int | None, reason: str) -> None:
        self.exited, self.exit_code = True, code
        if self.phase is LoginPhase.SUCCEEDED or self.phase in ENDED_BADLY:
            return
        self.phase = LoginPhase.EXITED
        said = next((line for line in reversed(self.output) if "rror" in line), "")
        self.message = reason or said or f"`codex login` ended (exit code {code})."
        self.history.append("codex login ended without logging in.")


@dataclass
class WizardState:
    """Everything a later step needs from an earlier one."""

    target: HostTarget | None = None
    conn: Any = None  # ServerConnection (or a test double)
    probe: ProbeResult | None = None
    env: ServerEnv = field(default_factory=lambda: ServerEnv(auto_path=True))
    forwarding: ForwardingCheck | None = None
    local_owners: dict[int, PortOwner | None] | None = None
    session: Any = None  # LoginSession
    login: LoginProgress = field(default_factory=LoginProgress)
    record: AuthRecord | None = None
    user_prefix: bool = False  # codex was installed into ~/.local by the wizard

    def forget_server(self) -> None:
        """Back to no host: drop everything learned about the server."""
        self.conn = None
        self.probe = None
        self.env = ServerEnv(auto_path=True)
        self.forwarding = None
        self.local_owners = None
        self.session = None
        self.login = LoginProgress()
        self.record = None
        self.user_prefix = False
