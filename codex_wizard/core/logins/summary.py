"""The one line both faces leave on the terminal when a login run ends (as `gh auth login` does):
logged in on which host and when its access token next expires, or why not."""

from __future__ import annotations

from datetime import datetime

from ..sanitize import printable
from ..tokens.auth import AuthRecord
from ..tokens.state import describe_expiry

EXPIRY_FORMAT = "%Y-%m-%d %H:%M UTC"


def logged_in_line(label: str, record: AuthRecord | None, now: datetime | None = None) -> str:
    """'✓ Logged in on web1. Access token expires 2026-12-16 21:00 UTC (in 9 days); codex
    renews it on use.' The expiry part is left out when there is no record to read it from."""
    head = f"✓ Logged in on {printable(label)}."
    if record is None:
        return head
    expires_at = record.access.expires_at if record.access else None
    if expires_at is None:
        problem = record.problem or (record.access.problem if record.access else None)
        return f"{head} Access token expiry not readable" + (
            f": {printable(problem)}." if problem else "."
        )
    when = f"{expires_at.strftime(EXPIRY_FORMAT)} ({describe_expiry(expires_at, now)})"
    renewal = (
        "codex renews it on use"
        if record.has_refresh_token
        else "no refresh token: log in again before then"
    )
    return f"{head} Access token expires {when}; {renewal}."


def not_logged_in_line(label: str | None, reason: str, *, interrupted: bool = False) -> str:
    """'✗ Not logged in on web1: <reason>' ('cancelled' for Ctrl-C); no host: none chosen."""
    where = f" on {printable(label)}" if label else ""
    why = "cancelled" if interrupted else printable(reason).rstrip(".") or "no reason given"
    return f"✗ Not logged in{where}: {why}."
