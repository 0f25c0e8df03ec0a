"""What the step screens may read from the wizard app, named here so that screens depend on this
small contract instead of importing the app (which imports them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..core.progress import LoginProgress
    from ..core.services import Services
    from ..core.ssh.hostlist import HostList
    from ..core.ssh.types import ConnectSettings
    from .state import WizardState


class Wizard(Protocol):
    """What screens read from the app: data and settings. For work they post messages
    (tui/messages.py); tests/test_tui_idiom.py checks that they call nothing else on it."""

    state: WizardState
    host_list: HostList
    demo: Any
    codex_home: str | None
    check_statuses: bool
    status_timeout: float
    warn_days: float
    local_port_for: Callable[[int], int]
    login: LoginProgress

    @property
    def backend(self) -> Services: ...

    @property
    def local_auth_path(self) -> Path: ...

    @property
    def status_settings(self) -> ConnectSettings: ...

    def now(self) -> datetime: ...
