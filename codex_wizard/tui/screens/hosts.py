"""Step 1: choose a host: ssh_config aliases, remembered hosts, or user@host:port typed in; with
--inventory, the inventory's hosts, and its groups above them: choosing a group marks exactly its
hosts (as Ansible counts them, core/ssh/inventory.py), and space then changes the marked set host
by host. Connect logs the marked hosts in, one after another; r re-checks just them.

Each host's token state is filled in as its check answers (core.logins.status.check_host, several at
once); the list is usable from the first moment. The checks start once the list has been drawn:
they need asyncssh, which the wizard imports then, in a thread (tui/services.py).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from ...core.fleet import FleetRun
from ...core.ssh.hosts import HostArgError, HostTarget, parse_host_arg
from ...core.tasks import gather_bounded
from ...core.tokens.state import TokenState
from ..messages import ChooseHost
from ..services import load_services
from ..state import Step
from ..text import token_summary
from .base import StepScreen, styled

if TYPE_CHECKING:
    from ...core.logins.status import HostStatus

STATUS_CONCURRENCY = 8
GROUP_KEY = "group "  # a group's row key: a host's label has no space


class HostScreen(StepScreen):
    STEP = Step.HOST
    NEXT_LABEL = "Connect"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark"),
        Binding("r", "refresh_status", "Re-check"),
        Binding("delete,x", "forget", "Forget host"),
        Binding("slash", "focus_input", "Type a host", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[tuple[HostTarget, str]] = []
        self.statuses: dict[str, HostStatus] = {}
        self.shown: dict[str, HostStatus] = {}  # statuses compared with each other (shared)
        self.local: HostStatus | None = None  # this computer's own login
        self.marked: set[HostTarget] = set()  # to be logged in one after another
        self.groups: dict[str, tuple[HostTarget, ...]] = {}  # the inventory's, shown first
        self.rows: list[HostTarget | str] = []  # the table's rows: group names, then hosts

    def compose_body(self) -> ComposeResult:
        yield Static("Which server should Codex be logged in on?", classes="lead")
        yield DataTable(id="hosts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="hosts-empty", classes="hint")
        yield Static("Or type a host (ssh_config alias, host name or user@host:port):")
        yield Input(placeholder="user@host:port", id="host-input")
        yield Static("", id="host-error", classes="error-text")

    def on_mount(self) -> None:
        fleet = self.wizard.state.fleet  # back here mid-run: the hosts still to do stay marked
        if fleet is not None:
            self.marked = set(fleet.targets) - set(fleet.outcomes)
        table = self.query_one("#hosts", DataTable)
        table.add_column("Host", key="host")
        table.add_column("From", key="from")
        table.add_column("Codex login", key="token")
        self.load_hosts()
        if self.entries:
            table.focus()
        else:
            self.query_one("#host-input", Input).focus()
        typed = bool(self.query_one("#host-input", Input).value)
        self.set_next(bool(self.entries) or typed, self._marked_note())

    def load_hosts(self) -> None:
        table = self.query_one("#hosts", DataTable)
        table.clear()
        self.entries = self.wizard.host_list.entries()
        self.groups = dict(self.wizard.host_list.groups())
        self.rows = [*self.groups, *(target for target, _ in self.entries)]
        for name, members in self.groups.items():
            count = f"{len(members)} host{'s' if len(members) != 1 else ''}"
            table.add_row(
                self._group_cell(name), "group", styled(count, "dim"), key=GROUP_KEY + name
            )
        for target, source in self.entries:
            label = target.label()
            table.add_row(self._host_cell(target), source, self._status_cell(label), key=label)
        empty = self.query_one("#hosts-empty", Static)
        empty.display = not self.entries
        empty.update(
            "No hosts yet: ~/.ssh/config has no Host entries. Type one below and press Enter."
        )
        table.display = bool(self.entries)
        self._check([target for target, _ in self.entries], exclusive=True)

    def _check(self, targets: list[HostTarget], *, exclusive: bool = False) -> None:
        """Check targets' token states (exclusive: instead of the checks under way)."""
        if self.wizard.check_statuses and targets:
            self.run_worker(
                self._check_all(targets), group="status", exclusive=exclusive, exit_on_error=False
            )

    def _host_cell(self, target: HostTarget) -> Text:
        if target in self.marked:
            return styled(f"✓ {target.label()}", "ok")
        return Text(target.label())

    def _group_cell(self, name: str) -> Text:
        """`[web]`, ticked while the marked hosts are exactly the group's."""
        if self.marked and self.marked == set(self.groups[name]):
            return styled(f"✓ [{name}]", "ok")
        return Text(f"[{name}]")

    def _show_marks(self) -> None:
        table = self.query_one("#hosts", DataTable)
        for name in self.groups:
            table.update_cell(GROUP_KEY + name, "host", self._group_cell(name), update_width=True)
        for target, _ in self.entries:
            table.update_cell(target.label(), "host", self._host_cell(target), update_width=True)
        self.set_next(True, self._marked_note())

    def _status_cell(self, label: str) -> Text:
        status = self.shown.get(label)
        if status is None:
            return styled("checking…" if self.wizard.check_statuses else "", "dim")
        text, style = token_summary(status, self.wizard.now(), self.wizard.warn_days)
        return styled(text, style)

    async def _check_all(self, targets: list[HostTarget]) -> None:
        await load_services(after_drawing=self)
        from ...core.logins.status import HostStatus

        self.local = await asyncio.to_thread(self.wizard.backend.local_login)

        async def one(target: HostTarget) -> None:
            try:
                result = await self.check_status(target)
            except Exception as exc:  # a check must never take the list down
                result = HostStatus(target.label(), TokenState.ERROR, error=str(exc))
            self.show_status(target.label(), result)

        await gather_bounded(targets, one, STATUS_CONCURRENCY)

    async def check_status(self, target: HostTarget) -> HostStatus:
        app = self.wizard
        return await app.backend.check_host(
            target,
            app.status_settings,
            codex_home=app.codex_home,
            warn_days=app.warn_days,
            timeout=app.status_timeout,
        )

    def show_status(self, label: str, status: HostStatus) -> None:
        """Put one host's answer in its row (called as each check finishes)."""
        from ...core.logins.status import mark_shared

        self.statuses[label] = status
        marked = mark_shared(list(self.statuses.values()), self.local)
        self.shown = dict(zip(self.statuses, marked, strict=True))
        table = self.query_one("#hosts", DataTable)
        for name in self.shown:
            if name in table.rows:
                table.update_cell(name, "token", self._status_cell(name), update_width=True)

    # ------------------------------------------------------------------ choosing

    def _selected_row(self) -> HostTarget | str | None:
        table = self.query_one("#hosts", DataTable)
        if not self.rows or table.cursor_row is None:
            return None
        return self.rows[min(max(table.cursor_row, 0), len(self.rows) - 1)]

    def selected_target(self) -> HostTarget | None:
        """The host under the cursor (None on a group's row)."""
        row = self._selected_row()
        return row if isinstance(row, HostTarget) else None

    def selected_group(self) -> str | None:
        row = self._selected_row()
        return row if isinstance(row, str) else None

    @on(DataTable.RowHighlighted, "#hosts")
    def _row_highlighted(self) -> None:
        self.refresh_bindings()

    def action_mark(self) -> None:
        """Mark (or unmark) the host under the cursor: Connect then logs the marked ones in,
        one after another, each with a login of its own. On a group: mark exactly its hosts."""
        group = self.selected_group()
        if group is not None:
            self.mark_group(group)
            return
        target = self.selected_target()
        if target is None:
            return
        self.marked ^= {target}
        self._show_marks()

    def mark_group(self, name: str) -> None:
        """The marked hosts become exactly the group's."""
        self.marked = set(self.groups[name])
        self._show_marks()

    def marked_targets(self) -> list[HostTarget]:
        """The marked hosts, in the list's order."""
        return [entry for entry, _ in self.entries if entry in self.marked]

    def _marked_note(self) -> str:
        count = len(self.marked)
        return f"{count} marked: Connect logs each in, one after another" if count else ""

    def choose(self, target: HostTarget) -> None:
        """Connect to target, or, with hosts marked, to the first of them as a fleet."""
        marked = self.marked_targets()
        if not marked:
            self.post_message(ChooseHost(target))
            return
        earlier = self.wizard.state.fleet
        fleet = earlier.continued(marked) if earlier else FleetRun(marked)
        self.post_message(ChooseHost(marked[0], fleet))

    @on(DataTable.RowSelected, "#hosts")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        group = self.selected_group()
        if group is not None:
            self.mark_group(group)
            return
        target = self.selected_target()
        if target is not None:
            self.choose(target)

    @on(Input.Submitted, "#host-input")
    def _typed(self) -> None:
        self.connect_typed()

    @on(Input.Changed, "#host-input")
    def _typing(self, event: Input.Changed) -> None:
        self.query_one("#host-error", Static).update("")
        self.set_next(bool(self.entries) or bool(event.value.strip()))

    def connect_typed(self) -> bool:
        text = self.query_one("#host-input", Input).value
        try:
            target = parse_host_arg(text)
        except HostArgError as exc:
            self.query_one("#host-error", Static).update(styled(str(exc), "bad"))
            self.query_one("#host-input", Input).focus()
            return False
        self.post_message(ChooseHost(target))
        return True

    def go_next(self) -> None:
        if self.query_one("#host-input", Input).value.strip():
            self.connect_typed()
            return
        group = self.selected_group()
        if group is not None and not self.marked:
            self.mark_group(group)
        target = self.selected_target()
        marked = self.marked_targets()
        if marked or target is not None:
            self.choose(target or marked[0])

    def action_back(self) -> None:
        """Nothing before the first step."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return False
        if action == "forget":
            target = self.selected_target()
            return target is not None and target in self.wizard.host_list.remembered.targets()
        return super().check_action(action, parameters)

    def action_refresh_status(self) -> None:
        """Check every host again; with hosts marked, just those."""
        marked = self.marked_targets()
        if not marked:
            self.statuses.clear()
            self.shown.clear()
            self.load_hosts()
            return
        table = self.query_one("#hosts", DataTable)
        for target in marked:
            self.statuses.pop(target.label(), None)
            self.shown.pop(target.label(), None)
            table.update_cell(target.label(), "token", self._status_cell(target.label()))
        self._check(marked)

    def action_focus_input(self) -> None:
        self.query_one("#host-input", Input).focus()

    def action_forget(self) -> None:
        target = self.selected_target()
        if target is None:
            return
        if self.wizard.host_list.forget(target):
            self.notify(f"Forgot {target.label()}.")
            self.load_hosts()
        else:
            self.notify("Only remembered hosts can be forgotten here.", severity="warning")
