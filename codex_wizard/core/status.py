"""Token state of one host or a fleet, checked concurrently over one connection per host."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncssh

from .auth import AuthRecord, TokenState
from .authfile import auth_path_for, read_remote_auth
from .connection import ConnectError, ConnectSettings, connect
from .hosts import HostTarget
from .sanitize import printable

DEFAULT_CONCURRENCY = 32
DEFAULT_HOST_TIMEOUT = 20.0
FINE_STATES = frozenset({TokenState.OK, TokenState.API_KEY})


@dataclass(frozen=True)
class HostStatus:
    """What `status` knows about one host; `state` is a TokenState or ERROR when unchecked."""

    host: str
    state: TokenState
    auth: AuthRecord | None = None
    error: str | None = None

    @property
    def reachable(self) -> bool:
        return self.auth is not None

    def as_json(self, now: datetime | None = None) -> dict[str, object]:
        auth = self.auth
        access = auth.access if auth else None
        expires_at = access.expires_at if access else None
        expires_in = auth.expires_in_s(now) if auth else None
        return {
            "host": self.host,
            "state": self.state.value,
            "auth_mode": auth.auth_mode if auth else None,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "expires_in_s": round(expires_in) if expires_in is not None else None,
            "last_refresh": auth.last_refresh.isoformat() if auth and auth.last_refresh else None,
            "plan": auth.plan if auth else None,
            "email": auth.email_masked if auth else None,
            "file_mode": f"{auth.file_mode:04o}" if auth and auth.file_mode is not None else None,
            "error": self.error or (auth.problem if auth else None),
        }


async def check_host(
    target: HostTarget,
    settings: ConnectSettings,
    *,
    codex_home: str | None = None,
    warn_days: float = 3.0,
    timeout: float = DEFAULT_HOST_TIMEOUT,
) -> HostStatus:
    """Connect, read auth.json over SFTP, close. Never raises: problems become ERROR states."""
    label = target.label()
    try:
        async with asyncio.timeout(timeout):
            async with await connect(target, settings) as conn:
                record = await read_remote_auth(conn, auth_path_for(codex_home))
    except ConnectError as exc:
        return HostStatus(label, TokenState.ERROR, error=str(exc))
    except TimeoutError:
        return HostStatus(label, TokenState.ERROR, error=f"no answer within {timeout:g} s")
    except (asyncssh.Error, OSError) as exc:
        error = printable(f"lost the connection: {exc}")
        return HostStatus(label, TokenState.ERROR, error=error)
    return HostStatus(label, record.state(datetime.now(UTC), warn_days), auth=record)


async def check_fleet(
    targets: Sequence[HostTarget],
    settings: ConnectSettings,
    *,
    codex_home: str | None = None,
    warn_days: float = 3.0,
    timeout: float = DEFAULT_HOST_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_result: Callable[[HostStatus], None] | None = None,
) -> list[HostStatus]:
    """check_host for every target at once (bounded), results in the targets' order.

    Each host has its own timeout, so one slow or dead host never holds the others up.
    """
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(target: HostTarget) -> HostStatus:
        async with gate:
            result = await check_host(
                target, settings, codex_home=codex_home, warn_days=warn_days, timeout=timeout
            )
        if on_result:
            on_result(result)
        return result

    return list(await asyncio.gather(*(one(target) for target in targets)))


def fleet_exit_code(results: Sequence[HostStatus]) -> int:
    """0 all fine, 1 some need attention, 2 some could not be checked."""
    if any(result.state is TokenState.ERROR and not result.reachable for result in results):
        return 2
    if any(result.state not in FINE_STATES for result in results):
        return 1
    return 0
