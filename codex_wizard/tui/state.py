"""What the wizard carries from step to step, and the login's progress as a plain reducer.

No Textual here: the screens render this state, and tests drive it with synthetic core events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

from ..core.auth import AuthRecord
from ..core.hosts import HostTarget

# The core modules below import asyncssh, which the host screen's first frame must not wait for
# (issue 6): the state names them as types only, and imports them where they run, by then loaded.
if TYPE_CHECKING:
    from ..core.login import LoginEvent
    from ..core.ports import PortOwner
    from ..core.probe import ProbeResult, ServerEnv
    from ..core.push import PushResult
    from ..core.relay import PastedCallback, RelayResult
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


class LoginMode(StrEnum):
    """How the sign-in gets back to codex on the server (issue 4's ways in)."""

    TUNNEL = "tunnel"  # the browser comes back through the forwarded port
    RELAY = "relay"  # the user pastes the address the browser ended on; replayed on the server
    DEVICE = "device"  # `codex login --device-auth`: a link and a one-time code
    PUSH = "push"  # copy this computer's auth.json to the server


class LoginPhase(StrEnum):
    IDLE = "idle"
    STARTING = "starting"
    WAITING = "waiting"
    RELAYING = "relaying"
    CALLBACK = "callback"
    MISMATCH = "mismatch"
    EXCHANGE_FAILED = "exchange_failed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    EXITED = "exited"
    DISCONNECTED = "disconnected"


ENDED_BADLY = frozenset(
    {LoginPhase.EXCHANGE_FAILED, LoginPhase.CANCELLED, LoginPhase.FAILED, LoginPhase.EXITED}
)
MAX_OUTPUT = 200


@dataclass
class LoginProgress:
    """The login as the URL screen shows it, built from LoginSession events."""

    phase: LoginPhase = LoginPhase.IDLE
    mode: LoginMode = LoginMode.TUNNEL
    url: str | None = None
    port: int | None = None
    device_url: str | None = None
    device_code: str | None = None
    relay_note: str = ""  # what became of the last pasted address
    relay_ok: bool = False
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
    def can_paste(self) -> bool:
        """Relay mode: the URL is out and codex still waits for its callback."""
        return (
            self.mode is LoginMode.RELAY
            and self.url is not None
            and self.phase in (LoginPhase.WAITING, LoginPhase.MISMATCH)
        )

    def validate_paste(self, text: str) -> PastedCallback:
        """The pasted address checked against this login (raises PastedAddressError)."""
        from ..core.login import url_state
        from ..core.relay import validate_pasted_callback

        assert self.url is not None and self.port is not None
        return validate_pasted_callback(text, state=url_state(self.url) or "", port=self.port)

    def relay_started(self) -> None:
        self.phase = LoginPhase.RELAYING
        self.relay_note, self.relay_ok = "", False
        self.history.append("Replaying the pasted address on the server…")

    def relay_done(self, result: RelayResult, label: str) -> None:
        """What codex's login server answered the replayed callback."""
        if self.exited:
            return
        if result.status is None:
            self.phase = LoginPhase.WAITING
            self.relay_ok = False
            self.relay_note = (
                f"Could not reach codex's login server on {label} ({result.client}): "
                f"{result.body[:200] or 'no answer'}. Check that this login is still waiting, "
                "or start a fresh one."
            )
            self.history.append("The relay got no answer from codex.")
        elif result.status == 400 and "State mismatch" in result.body:
            self.phase = LoginPhase.WAITING
            self.relay_ok = False
            self.relay_note = (
                "codex answered 'State mismatch': that address comes from another login. "
                "Open the URL shown here and paste where that one ends."
            )
            self.history.append("Relayed, but codex said 'State mismatch'.")
        else:
            if self.phase is LoginPhase.RELAYING:
                self.phase = LoginPhase.CALLBACK
            self.relay_ok = True
            self.relay_note = (
                f"✓ Relayed with {result.client} on {label}: codex's login server answered "
                f"HTTP {result.status}."
            )
            if self.phase is not LoginPhase.SUCCEEDED:  # else codex was quicker to say so
                self.history.append(f"Relayed the callback on the server with {result.client}.")

    def relay_failed(self, message: str) -> None:
        """The replay itself could not run (e.g. the connection broke)."""
        if self.phase is LoginPhase.RELAYING:
            self.phase = LoginPhase.WAITING
        self.relay_ok = False
        self.relay_note = message

    @property
    def active(self) -> bool:
        return self.phase is not LoginPhase.IDLE and not self.exited

    def starting(self) -> None:
        self.phase = LoginPhase.STARTING
        command = "codex login --device-auth" if self.mode is LoginMode.DEVICE else "codex login"
        self.history.append(f"Starting `{command}` on the server…")

    def apply(self, event: LoginEvent) -> None:
        """Fold one event from LoginSession.events() into the progress."""
        from ..core.login import (
            CallbackSeen,
            DeviceAuthDisabled,
            DeviceCodeReady,
            ForwardRefused,
            LoginCancelled,
            LoginError,
            LoginExited,
            LoginSucceeded,
            OutputLine,
            PortsBusy,
            StateMismatch,
            SuspiciousUrl,
            TokenExchangeFailed,
            UrlReady,
        )

        match event:
            case UrlReady(url=url, port=port):
                self.url, self.port = url, port
                self.phase = LoginPhase.WAITING
                self.history.append(f"URL ready; codex listens on the server's port {port}.")
                self.history.append("Waiting for you to sign in in the browser…")
            case DeviceCodeReady(verification_url=url, code=code):
                self.device_url, self.device_code = url, code
                self.phase = LoginPhase.WAITING
                self.history.append("codex gave a link and a one-time code.")
                self.history.append("Waiting for you to enter the code in the browser…")
            case DeviceAuthDisabled(message=message):
                self.phase = LoginPhase.FAILED
                self.message = message
                self.history.append("Device-code login is not enabled for this account.")
            case SuspiciousUrl():
                self.history.append(event.warning)
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
            case LoginExited(exit_code=code, reason=reason, connection_lost=lost):
                self._exited(code, reason, lost)

    def _exited(self, code: int | None, reason: str, connection_lost: bool) -> None:
        self.exited, self.exit_code = True, code
        if self.phase is LoginPhase.SUCCEEDED or self.phase in ENDED_BADLY:
            return
        if connection_lost:
            self.phase = LoginPhase.DISCONNECTED
            self.message = (
                f"The SSH connection was lost ({reason}). Reconnect to start a fresh login."
            )
            self.history.append("The SSH connection was lost.")
            return
        self.phase = LoginPhase.EXITED
        said = next((line for line in reversed(self.output) if "rror" in line), "")
        self.message = reason or said or f"`codex login` ended (exit code {code})."
        self.history.append("codex login ended without logging in.")


@dataclass(frozen=True)
class LostConnection:
    """The connection went away while `step` was on show."""

    step: Step
    reason: str
    during_login: bool = False


@dataclass
class LocalAuth:
    """This computer's auth.json, for the push-auth way in (data never shown, only the record)."""

    path: str
    data: bytes | None = field(default=None, repr=False)  # the tokens: never in a repr or log
    record: AuthRecord | None = None
    error: str = ""

    @property
    def usable(self) -> bool:
        return self.data is not None and not self.error


def resume_step(lost: LostConnection, login: LoginProgress) -> Step:
    """Where a reconnect goes on: the step that was on show (a finished login: its token)."""
    if lost.step in (Step.HOST, Step.CONNECT):
        return Step.INSTALL
    if lost.step is Step.LOGIN and login.phase is LoginPhase.SUCCEEDED:
        return Step.EXPIRY
    return lost.step


def forwarding_refused(check: ForwardingCheck | None) -> bool:
    if check is None:
        return False
    from ..core.tunnel import ForwardingState

    return check.state is ForwardingState.REFUSED


class _FreshEnvUntilSet:
    """WizardState.env: `ServerEnv(auto_path=True)` until something else is set, made on first
    read (core.probe imports asyncssh; the host screen's first frame doesn't need it). Setting
    None (the dataclass default) means that fresh default again."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, state: Any, owner: type | None = None) -> Any:
        if state is None:
            return None  # the dataclass default: a fresh env
        env = state.__dict__.get(self.slot)
        if env is None:
            from ..core.probe import ServerEnv

            env = state.__dict__[self.slot] = ServerEnv(auto_path=True)
        return env

    def __set__(self, state: Any, env: ServerEnv | None) -> None:
        state.__dict__[self.slot] = env


@dataclass
class WizardState:
    """Everything a later step needs from an earlier one."""

    target: HostTarget | None = None
    conn: Any = None  # ServerConnection (or a test double)
    probe: ProbeResult | None = None
    env: ServerEnv = _FreshEnvUntilSet()  # type: ignore[assignment]
    forwarding: ForwardingCheck | None = None
    local_owners: dict[int, PortOwner | None] | None = None
    session: Any = None  # LoginSession
    login: LoginProgress = field(default_factory=LoginProgress)
    record: AuthRecord | None = None
    user_prefix: bool = False  # codex was installed into ~/.local by the wizard
    mode: LoginMode = LoginMode.TUNNEL  # the way in chosen last
    pushed: PushResult | None = None
    lost: LostConnection | None = None  # the connection went away; Reconnect is offered
    resume: Step | None = None  # a reconnect in progress goes on at this step

    def forget_server(self) -> None:
        """Back to no host: drop everything learned about the server."""
        self.conn = None
        self.probe = None
        self.env = None  # type: ignore[assignment]  # a fresh ServerEnv(auto_path=True)
        self.forwarding = None
        self.local_owners = None
        self.session = None
        self.login = LoginProgress()
        self.record = None
        self.user_prefix = False
        self.mode = LoginMode.TUNNEL
        self.pushed = None
        self.lost = None
        self.resume = None
