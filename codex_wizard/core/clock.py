"""The one clock: every "now" codex-wizard reads (token expiry, status, doctor, remembered hosts,
the demo's tokens and backups) comes from here, so a test moves it in one place (time-machine).

Wall-clock time only: timers that bound a wait stay on `time.monotonic()`, which no clock
change may stretch or cut short.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current moment, timezone-aware, in UTC."""
    return datetime.now(UTC)
