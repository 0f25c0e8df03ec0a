"""What the step screens may ask of the wizard app: its plumbing, named here so that screens
depend on this small contract instead of importing the app (which imports them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.worker import Worker

    from ..core.fleet import FleetRun
    from ..core.progress import LoginMode
    from ..core.services import Services
    from ..core.ssh.hostlist import HostList
    from ..core.ssh.hosts import HostTarget
    from ..core.ssh.types import ConnectSettings
    from .state import Step, WizardState


class Wizard(Protocol):
    state: WizardState
    host_list: HostList
    demo: Any
    codex_home: str | None
    check_statuses: bool
    status_timeout: float
    warn_days: float
    local_port_for: Callable[[int], int]

    @property
    def backend(self) -> Services: ...

    @property
    def local_auth_path(self) -> Path: ...

    def now(self) -> datetime: ...

    def status_settings(self) -> ConnectSettings: ...

    def choose_host(self, target: HostTarget, fleet: FleetRun | None = None) -> None: ...

    async def next_host(self, target: HostTarget) -> None: ...

    async def connected(self, say: Callable[[str], None] | None = None) -> None: ...

    async def back_to_hosts(self) -> None: ...

    async def reconnect(self) -> None: ...

    def goto(self, step: Step) -> None: ...

    def go_back(self, step: Step) -> None: ...

    def show_ways(self) -> None: ...

    def choose_way(self, mode: LoginMode) -> None: ...

    def login_again(self) -> None: ...

    async def start_login(self, mode: LoginMode | None = None) -> None: ...

    def current_tunnel(self) -> Any: ...

    async def ask(self, screen: Screen[Any]) -> Any: ...

    def show_error(self, title: str, what: str, todo: str) -> None: ...

    async def guarded(self, coro: Awaitable[Any], doing: str) -> Any: ...

    async def action_quit(self) -> None: ...

    def run_worker(self, work: Any, *args: Any, **kwargs: Any) -> Worker: ...

    def notify(self, message: str, **kwargs: Any) -> None: ...

    def switch_screen(self, screen: Screen[Any]) -> Any: ...
