"""The login's typed events: what `codex login` said, what the tunnel saw, and what the flow
decided (verified, relayed). Pure data with no asyncssh import, so any face loads it cheaply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tokens.auth import AuthRecord

STATE_MISMATCH_BODY = "State mismatch"
AUTH_HOST = "auth.openai.com"


def says_state_mismatch(status: int | None, body: str) -> bool:
    """codex's login server answers an unknown OAuth `state` with HTTP 400 "State mismatch"."""
    return status == 400 and STATE_MISMATCH_BODY in body


@dataclass(frozen=True)
class RelayResult:
    status: int | None  # HTTP status codex's login server answered, None if it didn't
    body: str
    client: str
    followed: str | None = None  # the path of the redirect we followed (codex's /success)

    @property
    def state_mismatch(self) -> bool:
        return says_state_mismatch(self.status, self.body)


@dataclass(frozen=True)
class UrlReady:
    url: str
    port: int  # from the URL's redirect_uri: 1455, or 1457 after codex's fallback


@dataclass(frozen=True)
class CallbackSeen:
    path: str


@dataclass(frozen=True)
class StateMismatch:
    """The browser brought a `state` this login did not issue (an old URL)."""


@dataclass(frozen=True)
class TokenExchangeFailed:
    message: str


@dataclass(frozen=True)
class LoginCancelled:
    """Another `codex login` (or the user) sent GET /cancel to this one."""


@dataclass(frozen=True)
class PortsBusy:
    message: str


@dataclass(frozen=True)
class LoginSucceeded:
    """codex said `Successfully logged in` (a claim: the flow verifies it, LoginVerified)."""


@dataclass(frozen=True)
class LoginError:
    message: str


@dataclass(frozen=True)
class ForwardRefused:
    detail: str


@dataclass(frozen=True)
class DeviceCodeReady:
    """`codex login --device-auth`: open verification_url and enter code there."""

    verification_url: str
    code: str


@dataclass(frozen=True)
class DeviceAuthDisabled:
    """Device-code login is off for this ChatGPT account or workspace."""

    message: str


@dataclass(frozen=True)
class SuspiciousUrl:
    """codex printed a login link that is not on auth.openai.com (or whose redirect_uri is
    not this server's loopback on 1455 or 1457): shown as a warning, never opened, copied or
    forwarded."""

    text: str

    @property
    def warning(self) -> str:
        """What to tell the user; the link defanged, so no terminal makes it clickable."""
        shown = self.text[:200].replace("://", "[:]//")
        return (
            "Warning: codex printed a login link that is not codex's own (on "
            f"https://{AUTH_HOST}/, back to this server's 127.0.0.1:1455 or 1457); it was not "
            f"opened, copied or forwarded: {shown}"
        )


@dataclass(frozen=True)
class OutputLine:
    text: str


@dataclass(frozen=True)
class LoginExited:
    exit_code: int | None
    reason: str = ""
    connection_lost: bool = False  # the SSH connection went away (codex got a hang-up)


@dataclass(frozen=True)
class LoginVerified:
    """After codex's success: the server's auth.json holds a readable ChatGPT login."""

    record: AuthRecord


@dataclass(frozen=True)
class LoginUnverified:
    """codex said it logged in, but its auth.json holds no usable ChatGPT login."""

    reason: str


@dataclass(frozen=True)
class RelayStarted:
    """A pasted callback address is being replayed on the server."""


@dataclass(frozen=True)
class RelayAnswered:
    """What codex's login server answered the replayed callback."""

    result: RelayResult
    label: str


@dataclass(frozen=True)
class RelayFailed:
    """The replay itself could not run (e.g. the connection broke)."""

    message: str


SessionEvent = (
    UrlReady
    | CallbackSeen
    | StateMismatch
    | TokenExchangeFailed
    | LoginCancelled
    | PortsBusy
    | LoginSucceeded
    | LoginError
    | ForwardRefused
    | DeviceCodeReady
    | DeviceAuthDisabled
    | SuspiciousUrl
    | OutputLine
    | LoginExited
)
"""What a LoginSession reports."""

LoginEvent = (
    SessionEvent | LoginVerified | LoginUnverified | RelayStarted | RelayAnswered | RelayFailed
)
"""Everything the login progress folds in: the session's events and the flow's own."""
