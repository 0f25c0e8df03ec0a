"""Who else holds a host's login, and what `codex logout` there therefore does.

`codex logout` revokes the refresh token at OpenAI (/oauth/revoke), so every copy of that login
stops working wherever it was copied. Before it runs, both faces name the copies they know of:
the other hosts already checked (the wizard's host list, or a quick check of the ssh_config
hosts) and this computer, compared by login_id (core.status), aliases of one file not counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from .hosts import HostTarget
from .sshtypes import ConnectSettings
from .status import HostStatus, check_fleet, check_host, local_login, shared_with
from .tokenstate import TokenState

SHARER_TIMEOUT = 8.0  # the other hosts are only asked who shares the login: no long wait


def sharers(status: HostStatus, known: Iterable[HostStatus]) -> tuple[str, ...]:
    """The names in `known` (other hosts, this computer) holding status's login in another
    file; () when status has no login_id."""
    if not status.login_id:
        return ()
    group = [status, *(other for other in known if other.login_id == status.login_id)]
    return shared_with(status, group)


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
        return f"{head}; none of the {checked} other places checked holds a copy."
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


async def find_sharers(
    target: HostTarget,
    others: Sequence[HostTarget],
    settings: ConnectSettings,
    *,
    codex_home: str | None = None,
    timeout: float = SHARER_TIMEOUT,
) -> tuple[HostStatus, tuple[str, ...], int]:
    """target's status, the names sharing its login (others and this computer) and how many
    places answered, checked concurrently; an unreachable other host simply doesn't count."""
    label = target.label()
    rest = [other for other in others if other.label() != label]
    status, fleet, local = await asyncio.gather(
        check_host(target, settings, codex_home=codex_home, timeout=max(timeout, 20.0)),
        check_fleet(rest, settings, codex_home=codex_home, timeout=timeout),
        asyncio.to_thread(local_login),
    )
    known = [*(result for result in fleet if result.reachable), local]
    return status, sharers(status, known), len(known)
