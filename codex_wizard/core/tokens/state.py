"""Token states: whether codex will work with a parsed login, and the words that say so.

Builds on `core.tokens.auth` (which knows nothing of this module): codex's renewal rule applied
to an `AuthRecord`, the `TokenState` it yields, and the text `status`, doctor and the wizard share.
Pure and stdlib-only, like `core.tokens.auth`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from .auth import HIDDEN, AuthKind, AuthRecord, aware

RENEW_WINDOW_S = 300.0
"""codex renews the access token on use once its exp is this close (codex-rs auth manager)."""
STALE_REFRESH_S = 8 * 86400.0
"""When exp can't be read, codex renews once last_refresh is older than this."""
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


class TokenState(StrEnum):
    """Whether codex will work with this login, as `status`, doctor and the wizard say it.

    RENEWS is fine: the access token is due, and codex renews it with the refresh token the
    next time it runs. EXPIRING/EXPIRED have no refresh token, so codex cannot renew. SHARED
    is never a single record's state: it compares logins across hosts (core.logins.status).
    """

    OK = "ok"
    RENEWS = "renews"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    SHARED = "shared"
    LOGGED_OUT = "logged_out"
    API_KEY = "api_key"
    ERROR = "error"


class Storage(StrEnum):
    """Where codex keeps the credentials (`cli_auth_credentials_store` in config.toml)."""

    FILE = "file"
    KEYRING = "keyring"


def token_state(
    record: AuthRecord, now: datetime | None = None, warn_days: float = 3.0
) -> TokenState:
    """The login's health at `now`, by codex's own renewal rule.

    With a refresh token: RENEWS when codex will renew on its next run, else OK (ERROR when
    the access token's expiry can't be read and codex would not renew). Without one:
    EXPIRED once past, EXPIRING within `warn_days`, else OK.
    """
    if record.kind is AuthKind.MISSING:
        return TokenState.LOGGED_OUT
    if record.kind is AuthKind.API_KEY:
        return TokenState.API_KEY
    if record.kind is AuthKind.MALFORMED:
        return TokenState.ERROR
    if renews_on_use(record, now):
        return TokenState.RENEWS
    remaining = record.expires_in_s(now)
    if remaining is None:
        return TokenState.ERROR
    if record.has_refresh_token:
        return TokenState.OK
    if remaining <= 0:
        return TokenState.EXPIRED
    if remaining < warn_days * 86400:
        return TokenState.EXPIRING
    return TokenState.OK


def renews_on_use(record: AuthRecord, now: datetime | None = None) -> bool:
    """codex renews the access token the next time it runs (a refresh token and it is due)."""
    if record.kind is not AuthKind.CHATGPT or not record.has_refresh_token:
        return False
    remaining = record.expires_in_s(now)
    if remaining is not None:
        return remaining <= RENEW_WINDOW_S
    since = record.since_refresh_s(now)
    return since is not None and since > STALE_REFRESH_S


def humanize_duration(seconds: float) -> str:
    """``788400`` -> "9 days 3 hours": the largest unit and the next one, zeros left out.

    The sign is ignored (callers say "ago" or "in"); fractions of a second are dropped.
    """
    if not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return "an unknown time"
    remaining = int(abs(seconds))
    for index, (name, size) in enumerate(_UNITS):
        if remaining >= size or size == 1:
            count, rest = divmod(remaining, size)
            parts = [_plural(count, name)]
            if index + 1 < len(_UNITS):
                next_name, next_size = _UNITS[index + 1]
                if rest // next_size:
                    parts.append(_plural(rest // next_size, next_name))
            return " ".join(parts)
    return "0 seconds"  # pragma: no cover - the loop always returns at the seconds unit


def describe_expiry(expires_at: datetime, now: datetime | None = None) -> str:
    """Say when a token expires: "in 9 days 3 hours" or "expired 2 hours ago" (naive = UTC)."""
    delta = (aware(expires_at) - aware(now)).total_seconds()
    if delta > 0:
        return f"in {humanize_duration(delta)}"
    if delta > -1:
        return "expired just now"
    return f"expired {humanize_duration(delta)} ago"


def describe_state(
    state: TokenState,
    record: AuthRecord | None = None,
    now: datetime | None = None,
    *,
    storage: Storage = Storage.FILE,
    shared_with: Sequence[str] = (),
    error: str | None = None,
    brief: bool = False,
) -> str:
    """What a state means for this login, in the words `status`, doctor and the wizard share.

    `brief` (the wizard's host list) leaves out the last renewal and why a state matters.
    """
    head, tail = _state_words(state, record, now, storage, shared_with, error)
    return head if brief else head + tail


def _state_words(
    state: TokenState,
    record: AuthRecord | None,
    now: datetime | None,
    storage: Storage,
    shared_with: Sequence[str],
    error: str | None,
) -> tuple[str, str]:
    """(the state in a few words, the rest of the sentence)."""
    keyring = storage is Storage.KEYRING
    if state is TokenState.SHARED:
        others = ", ".join(shared_with) or "another host"
        return f"shared with {others}: log each in on its own", (
            " (refresh tokens are single-use: the first to renew logs the others out)"
        )
    if state is TokenState.LOGGED_OUT:
        return ("not logged in (OS keyring)" if keyring else "not logged in"), ""
    if state is TokenState.API_KEY:
        masked = record.api_key_masked if record else None
        return f"API key {masked or HIDDEN} (not a ChatGPT login)", ""
    if state is TokenState.ERROR or record is None:
        return error or (record.problem if record else None) or "auth.json unreadable", ""
    if keyring:
        return "logged in (OS keyring); expiry not readable", ""
    when = _access_expiry(record, now)
    if state is TokenState.RENEWS:
        return f"{when}, codex renews it on next use", f" ({_last_renewed(record, now)})"
    if state in (TokenState.EXPIRING, TokenState.EXPIRED):
        return f"{when}, no refresh token", ": log in again"
    return when, ""


def _access_expiry(record: AuthRecord, now: datetime | None) -> str:
    """ "expires in 9 days 3 hours", "expired 2 days ago" or "expiry not readable"."""
    expires_at = record.access.expires_at if record.access else None
    if expires_at is None:
        return "expiry not readable"
    when = describe_expiry(expires_at, now)
    return when if when.startswith("expired") else f"expires {when}"


def _last_renewed(record: AuthRecord, now: datetime | None) -> str:
    since = record.since_refresh_s(now)
    if since is None:
        return "last renewal unknown"
    if since < 0:
        return "last renewed just now"
    return f"last renewed {humanize_duration(since)} ago"


def _plural(count: int, name: str) -> str:
    return f"{count} {name}" if count == 1 else f"{count} {name}s"
