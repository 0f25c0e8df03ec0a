"""What the token step says before `codex logout`: that it revokes the login everywhere it
was copied, naming the copies found (core.logins.sharers) among the wizard's hosts and this
computer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from ...core.logins.sharers import known_logins, logout_notice, sharers
from ...core.ssh.hosts import HostTarget

if TYPE_CHECKING:
    from ...core.logins.status import HostStatus
    from ..protocol import Wizard


async def logout_notice_for(wizard: Wizard) -> str:
    """The host on show read over its own connection; the host list's other hosts and this
    computer checked again quickly (the list's answers went with its screen); the notice."""
    state = wizard.state
    assert state.target is not None and state.conn is not None
    label = state.target.label()
    backend = wizard.backend

    def check(host: HostTarget, timeout: float) -> Awaitable[HostStatus]:
        return backend.check_host(
            host,
            wizard.status_settings,
            codex_home=wizard.codex_home,
            warn_days=wizard.warn_days,
            timeout=timeout,
        )

    others = [host for host, _ in wizard.host_list.entries() if host.label() != label]
    status, known = await asyncio.gather(
        backend.check_connected(
            state.conn, label, codex_home=wizard.codex_home, warn_days=wizard.warn_days
        ),
        known_logins(others, check, backend.local_login),
    )
    return logout_notice(status, sharers(status, known), checked=len(known))
