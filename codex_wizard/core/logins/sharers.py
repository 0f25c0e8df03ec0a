"""Who else holds a host's login, and what `codex logout` there therefore does.

`codex logout` revokes the refresh token at OpenAI (/oauth/revoke), so every copy of that login
stops working wherever it was copied. Before it runs, both faces name the copies they know of:
the other hosts the face knows (ssh_config's, the wizard's host list), checked again quickly,
and this computer, compared by login_id (core.logins.status); aliases of one file are not counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence

from ..ssh.hosts import HostTarget
from ..tasks import gather_bounded
from ..tokens.state import TokenState
from .status import DEFAULT_CONCURRENCY, DEFAULT_HOST_TIMEOUT, HostStatus, local_login, shared_with

SHARER_TIMEOUT = 8.0  # the other hosts are only asked who shares the login: no long wait


def sharers(status: HostStatus, known: Iterable[HostStatus]) -> tuple[str, ...]:
    """The names in `known` (other hosts, this computer) holding status's login in another
    file; () when status has no login_id."""
    if not status.login_id:
        return ()
    group = [status, *(other for other in known if other.login_id == status.login_id)]
    return shared_with(status, group)


def copy_warning(source: str, host: str) -> str:
    """The one sentence said before this computer's own login is copied to a server."""
    return (
        f"{source} and {host} will then share one login: the first of the two to renew it "
        "(codex does so by itself every few days) logs the other out."
    )


def logout_warning(label: str, names: Sequence[str], *, checked: int | None = None) -> str:
    """What `codex logout` on label does, naming the known copies of its login.

    `checked` is how many other places were compared (None: unknown), to say how far "no
    other copy known" goes.
    """
    head = (
        f"`codex logout` on {label} revokes its login at OpenAI: every copy of that login, "
        "wherever it was copied, stops working"
    )
    if names:
        return f"{head}, and these hold a copy: {', '.join(names)}."
    if checked:
        places = "place" if checked == 1 else "places"
        return f"{head}; no copy was found in the {checked} other {places} checked."
    return f"{head}; no other copy is known."


def logout_notice(status: HostStatus, names: Sequence[str], *, checked: int | None = None) -> str:
    """logout_warning for what `status` holds: a ChatGPT login, an API key, nothing, unknown."""
    label = status.host
    if not status.reachable:
        return (
            f"Could not read the login on {label} ({status.error or 'no answer'}), so its "
            f"copies are unknown. {logout_warning(label, ())}"
        )
    if status.state is TokenState.LOGGED_OUT:
        return f"{label} holds no Codex login: `codex logout` there changes nothing."
    if status.state is TokenState.API_KEY:
        return f"`codex logout` on {label} removes its API key there; nothing is revoked."
    return logout_warning(label, names, checked=checked)


CheckHost = Callable[[HostTarget, float], Awaitable[HostStatus]]
"""check_host for a target within a timeout (the face binds its settings and CODEX_HOME)."""


async def known_logins(
    others: Iterable[HostTarget],
    check: CheckHost,
    local: Callable[[], HostStatus | None] = local_login,
    *,
    timeout: float = SHARER_TIMEOUT,
) -> list[HostStatus]:
    """The logins found on `others` (each once, checked at once, unreachable ones left out)
    and this computer's, to compare a host's login with."""
    rest = list({other.label(): other for other in others}.values())

    async def other(host: HostTarget) -> HostStatus | None:
        return await _bounded(check, host, timeout)

    here, fleet = await asyncio.gather(
        asyncio.to_thread(local), gather_bounded(rest, other, DEFAULT_CONCURRENCY)
    )
    return [result for result in (*fleet, here) if result is not None and result.reachable]


async def find_sharers(
    target: HostTarget,
    others: Iterable[HostTarget],
    check: CheckHost,
    local: Callable[[], HostStatus | None] = local_login,
    *,
    target_timeout: float = DEFAULT_HOST_TIMEOUT,
    timeout: float = SHARER_TIMEOUT,
) -> tuple[HostStatus, tuple[str, ...], int]:
    """target's status, the names sharing its login (others and this computer) and how many
    places answered, all checked at once."""
    label = target.label()
    status, known = await asyncio.gather(
        _bounded(check, target, target_timeout),
        known_logins([o for o in others if o.label() != label], check, local, timeout=timeout),
    )
    if status is None:
        status = HostStatus(label, TokenState.ERROR, error=f"no answer within {target_timeout:g} s")
    return status, sharers(status, known), len(known)


async def _bounded(check: CheckHost, host: HostTarget, timeout: float) -> HostStatus | None:
    """check's answer within timeout (even if check ignores it), else None."""
    try:
        async with asyncio.timeout(timeout + 1):
            return await check(host, timeout)
    except Exception:  # TimeoutError, a check that breaks: one place fewer compared
        return None
