"""How the wizard ends: its exit code (0 only when it ends logged in, 130 on Ctrl-C, 1 otherwise)
and the one line it leaves on the terminal, read from the state just before the server is
forgotten. No Textual here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..core.fleet import Outcome
from ..core.logins.summary import logged_in_line, not_logged_in_line
from ..errors import EXIT_ATTENTION, EXIT_INTERRUPTED, EXIT_OK
from .state import WizardState


@dataclass(frozen=True)
class Ending:
    exit_code: int
    line: str  # '' when the fleet's table says it all


ABANDONED = Ending(EXIT_ATTENTION, not_logged_in_line(None, "the wizard ended early"))


def ending_of(state: WizardState, *, interrupted: bool, now: datetime | None = None) -> Ending:
    """What the wizard's run came to, as it stands when the user quits."""
    failed = EXIT_INTERRUPTED if interrupted else EXIT_ATTENTION
    if state.fleet is not None and state.fleet.outcomes:  # its table is printed on exit
        return Ending(EXIT_OK if state.fleet.all_logged_in and not interrupted else failed, "")
    if state.target is None:
        return Ending(failed, not_logged_in_line(None, "no host chosen", interrupted=interrupted))
    outcome = state.host_outcome()
    label = state.label
    if outcome.outcome is Outcome.LOGGED_IN:
        line = logged_in_line(label, state.record or state.login.record, now)
        return Ending(EXIT_INTERRUPTED if interrupted else EXIT_OK, line)
    reason = outcome.detail
    if outcome.outcome is Outcome.NOT_RUN:
        reason = "not connected" if state.conn is None else "no login started"
    return Ending(failed, not_logged_in_line(label, reason, interrupted=interrupted))
