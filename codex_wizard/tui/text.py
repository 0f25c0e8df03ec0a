"""Words and colours for core results, shared by the screens (pure functions, no Textual)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..core.ssh.types import ConnectErrorKind
from ..core.tokens.auth import AuthKind, AuthRecord
from ..core.tokens.state import TokenState, describe_expiry, humanize_duration

# Types only: core.logins.status imports asyncssh and core.laptop.ports psutil, which the host
# screen's first frame doesn't need (issue 6). The doctor checks' marks live with them, in
# widgets/checklist.
if TYPE_CHECKING:
    from ..core.laptop.ports import PortOwner
    from ..core.logins.status import HostStatus

DAY = 86400.0


def format_when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown"


def ago(moment: datetime, now: datetime) -> str:
    """ "5 days 2 hours ago" (or "in …" for a moment still ahead)."""
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return f"in {humanize_duration(seconds)}"
    return f"{humanize_duration(seconds)} ago"


def urgency(seconds_left: float | None, warn_days: float = 3.0) -> str:
    """A colour class for time left: ok (plenty), warn (under warn_days), bad (under a day/past)."""
    if seconds_left is None:
        return "dim"
    if seconds_left <= DAY:
        return "bad"
    if seconds_left < warn_days * DAY:
        return "warn"
    return "ok"


STATE_STYLES = {
    TokenState.OK: "ok",
    TokenState.RENEWS: "ok",
    TokenState.EXPIRING: "warn",
    TokenState.EXPIRED: "bad",
    TokenState.SHARED: "warn",
    TokenState.LOGGED_OUT: "warn",
    TokenState.API_KEY: "dim",
    TokenState.ERROR: "bad",
}


UNREACHED = {
    ConnectErrorKind.HOST_KEY_CHANGED: ("HOST KEY CHANGED", "bad"),
    ConnectErrorKind.HOST_KEY_UNKNOWN: ("host key not yet trusted", "warn"),
}
"""The host list's words for a host not reached, by why (the connection's typed error)."""


def token_summary(status: HostStatus, now: datetime, warn_days: float = 3.0) -> tuple[str, str]:
    """The host list's token column: (text, colour class), in `status`'s words, at `now`."""
    if status.auth is None:
        return UNREACHED.get(status.unreached, ("unreachable", "bad"))
    shown = status.at(now, warn_days)
    return shown.describe(now, brief=True), STATE_STYLES[shown.state]


def auth_kind_text(record: AuthRecord) -> str:
    if record.kind is AuthKind.CHATGPT:
        return f"{record.auth_mode or 'chatgpt'} (ChatGPT sign-in)"
    if record.kind is AuthKind.API_KEY:
        return f"API key {record.api_key_masked or ''} (not a ChatGPT sign-in)".replace("  ", " ")
    if record.kind is AuthKind.MISSING:
        return "not logged in (no auth.json)"
    return f"unreadable: {record.problem or 'malformed auth.json'}"


def owner_text(port: int, owner: PortOwner | None) -> str:
    return f"127.0.0.1:{port} is free" if owner is None else f"held by {owner.describe()}"


def looks_like_codex(owner: PortOwner | None) -> bool:
    return owner is not None and (owner.process or "").startswith(("codex", "node"))


def login_summary(record: AuthRecord, now: datetime, warn_days: float = 3.0) -> tuple[str, str]:
    """One line about a login (masked): who, plan, and when its access token expires."""
    if record.kind is AuthKind.API_KEY:
        return f"API key {record.api_key_masked or ''} (not a ChatGPT sign-in)", ""
    if record.kind is not AuthKind.CHATGPT:
        return auth_kind_text(record), "bad"
    who = record.email_masked or "unknown account"
    plan = f", plan {record.plan}" if record.plan else ""
    access = record.access
    if access is None or access.expires_at is None:
        return f"ChatGPT sign-in, {who}{plan}; the token's expiry can't be read", "warn"
    left = (access.expires_at - now).total_seconds()
    when = describe_expiry(access.expires_at, now)
    verb = "expires " if left > 0 else ""
    return f"ChatGPT sign-in, {who}{plan}; access token {verb}{when}", urgency(left, warn_days)
