"""The login's progress: one immutable value, folded from the login's events by one reducer.

Both faces render it: the CLI prints what changed, the wizard's screens show it. Success is
decided here once: codex's own "Successfully logged in" is only a claim (VERIFYING) until the
flow has read a ChatGPT login back from the server (LoginVerified).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from .server.events import (
    CallbackSeen,
    DeviceAuthDisabled,
    DeviceCodeReady,
    ForwardRefused,
    LoginCancelled,
    LoginError,
    LoginEvent,
    LoginExited,
    LoginSucceeded,
    LoginUnverified,
    LoginVerified,
    OutputLine,
    PortsBusy,
    RelayAnswered,
    RelayFailed,
    RelayStarted,
    StateMismatch,
    SuspiciousUrl,
    TokenExchangeFailed,
    UrlReady,
)

if TYPE_CHECKING:
    from .laptop.seat import RemoteSeat
    from .server.events import RelayResult
    from .tokens.auth import AuthRecord


class LoginMode(StrEnum):
    """How the sign-in gets back to codex on the server (the ways in)."""

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
    VERIFYING = "verifying"  # codex said it logged in; its credentials are being read back
    EXCHANGE_FAILED = "exchange_failed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    SUCCEEDED = "succeeded"  # verified: the server holds a readable ChatGPT login
    EXITED = "exited"
    DISCONNECTED = "disconnected"


ENDED_BADLY = frozenset(
    {LoginPhase.EXCHANGE_FAILED, LoginPhase.CANCELLED, LoginPhase.FAILED, LoginPhase.EXITED}
)
MAX_OUTPUT = 200


@dataclass(frozen=True)
class LoginProgress:
    """The login as both faces show it. `apply` returns the next value; nothing mutates."""

    phase: LoginPhase = LoginPhase.IDLE
    mode: LoginMode = LoginMode.TUNNEL
    url: str | None = None
    port: int | None = None
    device_url: str | None = None
    device_code: str | None = None
    relay_note: str = ""  # what became of the last pasted address
    relay_ok: bool = False
    message: str = ""
    warning: str = ""  # the last thing codex printed that we refused to use (a foreign link)
    history: tuple[str, ...] = ()
    output: tuple[str, ...] = ()  # codex's last MAX_OUTPUT non-blank lines
    lines_seen: int = 0  # how many codex has printed in all
    exit_code: int | None = None
    exit_reason: str = ""  # why codex login ended, as the session saw it
    exited: bool = False
    record: AuthRecord | None = None  # the verified login (phase SUCCEEDED)
    seat: RemoteSeat | None = None  # the user's browser is on another computer (core.laptop.seat)

    @classmethod
    def starting(cls, mode: LoginMode, seat: RemoteSeat | None = None) -> LoginProgress:
        command = "codex login --device-auth" if mode is LoginMode.DEVICE else "codex login"
        return cls(
            phase=LoginPhase.STARTING,
            mode=mode,
            history=(f"Starting `{command}` on the server…",),
            seat=seat,
        )

    @property
    def browser_out_of_reach(self) -> RemoteSeat | None:
        """The tunnel's way, run over SSH without a display: the browser can't reach our port."""
        return self.seat if self.mode is LoginMode.TUNNEL else None

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

    @property
    def active(self) -> bool:
        return self.phase is not LoginPhase.IDLE and not self.exited

    @property
    def succeeded(self) -> bool:
        return self.phase is LoginPhase.SUCCEEDED

    @property
    def ended(self) -> bool:
        """Nothing more will come of this login: it failed, or codex has exited and its claim
        (if any) was checked."""
        if self.phase is LoginPhase.FAILED:
            return True
        return self.exited and self.phase is not LoginPhase.VERIFYING

    def timed_out(self, timeout: float) -> str:
        """Why a login that waited `timeout` seconds gave up, with a stale URL named."""
        said = (
            " The browser's last answer was 'State mismatch': it used an older login's URL."
            if self.phase is LoginPhase.MISMATCH
            else ""
        )
        return f"no login within {timeout:g} s; stopped codex login.{said}"

    def new_output(self, before: LoginProgress) -> tuple[str, ...]:
        """codex's lines that arrived since `before` (an earlier value of this login)."""
        count = min(self.lines_seen - before.lines_seen, len(self.output))
        return self.output[-count:] if count > 0 else ()

    def _with(self, note: str | None = None, **changes: object) -> LoginProgress:
        history = (*self.history, note) if note else self.history
        return replace(self, history=history, **changes)

    def apply(self, event: LoginEvent) -> LoginProgress:
        """The progress after one event (from the LoginSession, the relay or the flow)."""
        match event:
            case UrlReady(url=url, port=port):
                return replace(
                    self,
                    url=url,
                    port=port,
                    phase=LoginPhase.WAITING,
                    history=(
                        *self.history,
                        f"URL ready; codex listens on the server's port {port}.",
                        "Waiting for you to sign in in the browser…",
                    ),
                )
            case DeviceCodeReady(verification_url=url, code=code):
                return replace(
                    self,
                    device_url=url,
                    device_code=code,
                    phase=LoginPhase.WAITING,
                    history=(
                        *self.history,
                        "codex gave a link and a one-time code.",
                        "Waiting for you to enter the code in the browser…",
                    ),
                )
            case CallbackSeen():
                return self._with(
                    "The browser came back through the tunnel (/auth/callback).",
                    phase=LoginPhase.CALLBACK,
                )
            case StateMismatch():
                return self._with(
                    "State mismatch: the browser used an old URL.",
                    phase=LoginPhase.MISMATCH,
                    message="That sign-in came from an older login URL (codex said 'State "
                    "mismatch'). Use the URL shown here, or start a fresh login.",
                )
            case TokenExchangeFailed(message=message):
                return self._with(
                    "Token exchange failed.",
                    phase=LoginPhase.EXCHANGE_FAILED,
                    message=f"codex could not exchange the code for tokens: {message}",
                )
            case LoginCancelled():
                return self._with(
                    "Login cancelled.",
                    phase=LoginPhase.CANCELLED,
                    message="This login was cancelled (another `codex login` on the server took "
                    "over the port). Start a fresh login.",
                )
            case DeviceAuthDisabled(message=message):
                return self._failed(message, "Device-code login is not enabled for this account.")
            case PortsBusy(message=message) | LoginError(message=message):
                return self._failed(message, f"Failed: {message}")
            case ForwardRefused(detail=detail):
                return self._failed(detail, "The server refused the tunnel.")
            case LoginSucceeded():
                return self._with(
                    "codex: Successfully logged in. Reading its credentials back…",
                    phase=LoginPhase.VERIFYING,
                    message="",
                )
            case LoginVerified(record=record):
                return self._with(
                    "✓ The server holds the new ChatGPT login.",
                    phase=LoginPhase.SUCCEEDED,
                    record=record,
                    message="",
                )
            case LoginUnverified(reason=reason):
                return self._failed(reason, "codex said it logged in, but saved no login.")
            case SuspiciousUrl():
                return self._with(event.warning, warning=event.warning)
            case OutputLine(text=text):
                if not text.strip():
                    return self
                return replace(
                    self,
                    output=(*self.output, text)[-MAX_OUTPUT:],
                    lines_seen=self.lines_seen + 1,
                )
            case LoginExited(exit_code=code, reason=reason, connection_lost=lost):
                return self._exited(code, reason, lost)
            case RelayStarted():
                return self._with(
                    "Replaying the pasted address on the server…",
                    phase=LoginPhase.RELAYING,
                    relay_note="",
                    relay_ok=False,
                )
            case RelayAnswered(result=result, label=label):
                return self._relay_answered(result, label)
            case RelayFailed(message=message):
                phase = LoginPhase.WAITING if self.phase is LoginPhase.RELAYING else self.phase
                return replace(self, phase=phase, relay_ok=False, relay_note=message)
        return self

    def _failed(self, message: str, note: str) -> LoginProgress:
        return self._with(note, phase=LoginPhase.FAILED, message=message)

    def _exited(self, code: int | None, reason: str, connection_lost: bool) -> LoginProgress:
        done = replace(self, exited=True, exit_code=code, exit_reason=reason)
        if self.phase is LoginPhase.SUCCEEDED or self.phase in ENDED_BADLY:
            return done
        if self.phase is LoginPhase.VERIFYING and code == 0:
            return done  # the flow reads the credentials back: LoginVerified or LoginUnverified
        if connection_lost:
            return done._with(
                "The SSH connection was lost.",
                phase=LoginPhase.DISCONNECTED,
                message=f"{reason or 'connection lost'}. Reconnect to start a fresh login.",
            )
        said = next((line for line in reversed(self.output) if "rror" in line), "")
        last = self.output[-1][:300] if self.output else ""
        message = (
            reason
            or said
            or f"codex login ended (exit {code}) before the login finished"
            + (f"; its last words: {last!r}" if last else ".")
        )
        return done._with(
            "codex login ended without logging in.", phase=LoginPhase.EXITED, message=message
        )

    def _relay_answered(self, result: RelayResult, label: str) -> LoginProgress:
        if self.exited:
            return self
        if result.status is None:
            return self._with(
                "The relay got no answer from codex.",
                phase=LoginPhase.WAITING,
                relay_ok=False,
                relay_note=f"Could not reach codex's login server on {label} ({result.client}): "
                f"{result.body[:200] or 'no answer'}. Check that this login is still waiting, "
                "or start a fresh one.",
            )
        if result.state_mismatch:
            return self._with(
                "Relayed, but codex said 'State mismatch'.",
                phase=LoginPhase.WAITING,
                relay_ok=False,
                relay_note="codex answered 'State mismatch': that address comes from another "
                "login. Open the URL shown here and paste where that one ends.",
            )
        phase = LoginPhase.CALLBACK if self.phase is LoginPhase.RELAYING else self.phase
        claimed = self.phase in (LoginPhase.VERIFYING, LoginPhase.SUCCEEDED)
        return self._with(
            None if claimed else f"Relayed the callback on the server with {result.client}.",
            phase=phase,
            relay_ok=True,
            relay_note=f"✓ Relayed with {result.client} on {label}: codex's login server "
            f"answered HTTP {result.status}.",
        )
