"""What the step screens ask of the wizard: messages they post, which bubble up to the app
(tui/routing.py handles them). Screens never call the app for work; the login's progress comes
down to them as the app's reactive `login` (see WizardApp)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from ..core.fleet import FleetRun
    from ..core.progress import LoginMode
    from ..core.ssh.hosts import HostTarget
    from .state import Step


class GoTo(Message):
    """Show this step."""

    def __init__(self, step: Step) -> None:
        super().__init__()
        self.step = step


class GoBack(Message):
    """Back from this step (Esc, ‹ Back)."""

    def __init__(self, step: Step) -> None:
        super().__init__()
        self.step = step


class ShowWays(Message):
    """The choice of ways in: tunnel, relay, device code, push."""


class ChooseHost(Message):
    """On to this host's connection (the first of `fleet`'s marked hosts, when given)."""

    def __init__(self, target: HostTarget, fleet: FleetRun | None = None) -> None:
        super().__init__()
        self.target = target
        self.fleet = fleet


class NextHost(Message):
    """This host is done: on to the fleet's next one."""

    def __init__(self, target: HostTarget) -> None:
        super().__init__()
        self.target = target


class BackToHosts(Message):
    """Leave this host (its login stopped, its connection closed) for the host list."""


class Connected(Message):
    """The connection is up: on to the install check, or where a reconnect left off (`say`
    tells the connect screen what a reconnect does meanwhile)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        super().__init__()
        self.say = say


class Reconnect(Message):
    """A new connection to the same host, after the last one was lost."""


class ChooseWay(Message):
    """Sign in this way (a login starts unless one of that kind is running)."""

    def __init__(self, mode: LoginMode) -> None:
        super().__init__()
        self.mode = mode


class LoginAgain(Message):
    """Log in again the way chosen last (push: the choice of ways)."""


class FreshLogin(Message):
    """A fresh `codex login` on the server, the way chosen last."""


class WorkFailed(Message):
    """A screen's work failed unexpectedly: the app says so (or that the connection went)."""

    def __init__(self, doing: str, error: Exception) -> None:
        super().__init__()
        self.doing = doing
        self.error = error
