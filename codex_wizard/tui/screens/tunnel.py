"""Step 4: the tunnel. Who holds the login port here and on the server (with a way to stop a
pending Codex login here, on the user's yes), whether the server allows forwarding, and the
tunnel's live state once the login has started. The other ways in (relay, device code, push)
are one key away, and Next leads to them when the server refuses forwarding."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from ...core.doctor import Verdict, check_forwarding_result, check_server_ports
from ...core.laptop.ports import CODEX_PORTS
from ...core.laptop.sshforward import SshForward
from ...core.progress import LoginMode
from ...core.server.login import DEFAULT_LOGIN_PORT
from ...core.server.probe import ProbeResult
from ..messages import ChooseWay, GoTo, ShowWays
from ..state import Step, forwarding_refused
from ..text import looks_like_codex, owner_text
from ..widgets.fields import FieldList
from ..widgets.tunnel_status import TunnelStatus
from .base import StepScreen, styled

VERDICT_STYLE = {Verdict.PASS: "ok", Verdict.WARN: "warn", Verdict.FAIL: "bad", Verdict.SKIP: "dim"}


LEAD = (
    "codex login on the server waits for the browser on its 127.0.0.1:1455 (or 1457). "
    "The wizard listens on the same port here and forwards it over the SSH connection."
)
LEAD_USERS_FORWARD = (
    "codex login on the server waits for the browser on its 127.0.0.1:1455 (or 1457). "
    "Your own ssh already forwards this computer's port there: the login uses it as its tunnel."
)


def _held_style(owners: dict, port: int) -> str:
    return "ok" if owners.get(port) is None else "warn"


class TunnelScreen(StepScreen):
    STEP = Step.TUNNEL
    NEXT_LABEL = "Start login"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "free_port", "Free local port"),
        Binding("r", "recheck", "Re-check"),
        Binding("w", "ways", "Other ways in"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ssh_forward: SshForward | str | None = None  # the user's `ssh -L` on the port

    def compose_body(self) -> ComposeResult:
        label = self.wizard.state.target.label() if self.wizard.state.target else "the server"
        yield Static(LEAD, id="tunnel-lead", classes="lead")
        yield FieldList(id="ports")
        with Horizontal(classes="actions"):
            yield Button("Stop the pending login here (f)", id="free-port")
            yield Button("Re-check (r)", id="recheck")
            yield Button("Other ways in (w)", id="ways")
        yield Static("", id="tunnel-note")
        yield Static(Text("Tunnel", style="bold underline"))
        yield TunnelStatus(lambda: self.wizard.state.tunnel, label, id="tunnel-live")

    def on_mount(self) -> None:
        self.query_one("#free-port", Button).display = False
        if self.wizard.state.login.active:
            self.render_checks()
        else:
            self.recheck()
        self.watch(self.app, "login", self.render_checks, init=False)  # a login of the tunnel's

    @property
    def local_port(self) -> int:
        return self.wizard.local_port_for(DEFAULT_LOGIN_PORT)

    def recheck(self) -> None:
        self.set_next(False, "checking…")
        self.run_guarded(self._check(), "checking the ports", group="ports", exclusive=True)

    async def _check(self) -> None:
        state = self.wizard.state
        forwarding = asyncio.create_task(state.flow.check_forwarding())
        ports = [self.local_port, CODEX_PORTS[1]] if self.local_port else []
        state.local_owners = await state.flow.local_owners(ports) if ports else {}
        self.ssh_forward = await state.flow.ssh_forward_on(self.held_by())
        await forwarding

    def worker_changed(self, worker: Worker) -> None:
        self.render_checks()
        checked = worker.group == "ports" and worker.state is WorkerState.SUCCESS
        if checked and forwarding_refused(self.wizard.state.forwarding):
            self.query_one("#next", Button).focus()  # Enter leads to the other ways in

    def local_owner(self):
        """What holds the login port here, unless nothing, our own last login's tunnel or the
        user's `ssh -L` to this server (the login uses it: core.flow.free_local_port)."""
        usable = isinstance(self.ssh_forward, SshForward)
        return None if self.ours() or usable else self.held_by()

    def held_by(self):
        owners = self.wizard.state.local_owners or {}
        return owners.get(self.local_port) if self.local_port else None

    def ours(self) -> bool:
        """The port is held by this wizard's tunnel of its last login (it stays up after the
        login for the browser's last page): a new login closes it and listens again."""
        flow = self.wizard.state.flow
        return (
            self.held_by() is not None
            and flow is not None
            and flow.holds_local_port(self.local_port)
        )

    def render_checks(self) -> None:
        state = self.wizard.state
        fields: list[tuple[str, str, str]] = []
        local = self.local_port
        if not local:
            fields.append(("This computer", "an ephemeral port (demo)", "ok"))
        elif state.local_owners is None:
            fields.append(("This computer", "checking…", "dim"))
        else:
            owner = self.local_owner()
            if self.ours():
                found, style = "held by this wizard's last login; a new login takes it over", "ok"
            elif isinstance(self.ssh_forward, SshForward):
                found = f"held by {self.ssh_forward.describe()}: the login uses it as its tunnel"
                style = "ok"
            elif isinstance(self.ssh_forward, str):
                found, style = self.ssh_forward, "bad"
            else:
                found = owner_text(local, owner)
                style = "ok" if owner is None else ("warn" if looks_like_codex(owner) else "bad")
            fields.append((f"This computer :{local}", found, style))
        if state.probe is not None:
            fields += self.server_port_fields(state.probe)
        if state.forwarding is None:
            fields.append(("Forwarding", "checking…", "dim"))
        else:
            check = check_forwarding_result(state.forwarding)
            found = "allowed by the server" if check.verdict is Verdict.PASS else check.found
            fields.append(("Forwarding", found, VERDICT_STYLE[check.verdict]))
            if check.fix:
                fields.append(("", check.fix, "dim"))
        self.query_one("#ports", FieldList).show(fields)
        users = isinstance(self.ssh_forward, SshForward)
        self.query_one("#tunnel-lead", Static).update(LEAD_USERS_FORWARD if users else LEAD)
        self._update_actions()

    @staticmethod
    def server_port_fields(probe: ProbeResult) -> list[tuple[str, str, str]]:
        """Who holds 1455 and 1457 on the server, as doctor judges it: "not seen" where the
        server shows no listeners (a chroot without /proc), never "free"."""
        server = check_server_ports(probe.port_owners, probe.preflight, seen=probe.ports_seen)
        owners = probe.port_owners
        if probe.ports_seen:
            fields = [
                (f"Server :{port}", owner_text(port, owners.get(port)), _held_style(owners, port))
                for port in CODEX_PORTS
            ]
        else:
            fields = [("Server ports", server.found, VERDICT_STYLE[server.verdict])]
        if server.fix and server.verdict is not Verdict.PASS:
            fields.append(("", server.fix, "dim"))
        return fields

    def tunnel_login_running(self) -> bool:
        login = self.wizard.state.login
        return login.active and login.mode is LoginMode.TUNNEL

    def _update_actions(self) -> None:
        state = self.wizard.state
        owner = self.local_owner()
        self.query_one("#free-port", Button).display = owner is not None
        refused = forwarding_refused(state.forwarding)
        note = self.query_one("#tunnel-note", Static)
        if self.tunnel_login_running():
            self.set_next(True, "a login is running", label="Show login")
        elif self.working("ports") or state.forwarding is None:
            self.set_next(False, "checking…", label=self.NEXT_LABEL)
        elif refused:
            self.set_next(True, "no tunnel possible", label="Other ways in")
            note.update(
                styled(
                    "This server refuses TCP forwarding, so no tunnel can work. Other ways in "
                    "need none: relay the browser's redirect, a device code, or push this "
                    "computer's auth.json. Press n (or w) to choose.",
                    "warn",
                )
            )
        elif owner is not None:
            self.set_next(False, f"port {self.local_port} is busy here", label=self.NEXT_LABEL)
            note.update(
                styled(
                    f"The browser will be sent to 127.0.0.1:{self.local_port} on this computer, "
                    "so that port must be free. "
                    + (
                        "It looks like a Codex login that was never finished: press f to stop it."
                        if looks_like_codex(owner)
                        else "If it is a pending Codex login, f asks it to stop; otherwise "
                        "close that program."
                    ),
                    "warn",
                )
            )
        else:
            note.update("")
            self.set_next(True, "", label=self.NEXT_LABEL, focus=True)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "free_port":
            return self.local_owner() is not None
        return super().check_action(action, parameters)

    def action_recheck(self) -> None:
        if not self.working("ports"):
            self.recheck()

    def action_ways(self) -> None:
        self.post_message(ShowWays())

    @on(Button.Pressed, "#ways")
    def _ways_pressed(self) -> None:
        self.action_ways()

    def action_free_port(self) -> None:
        owner = self.local_owner()
        if owner is None:
            return
        self.run_guarded(self._free_port(owner), "freeing the local port", group="free-port")

    @on(Button.Pressed, "#free-port")
    def _free_pressed(self) -> None:
        self.action_free_port()

    @on(Button.Pressed, "#recheck")
    def _recheck_pressed(self) -> None:
        self.action_recheck()

    async def _free_port(self, owner) -> None:
        flow = self.wizard.state.flow
        port = self.local_port
        if not await flow.prompter.stop_pending_login(port, owner):
            return
        note = self.query_one("#tunnel-note", Static)
        if await flow.stop_pending_login(port):
            note.update(styled(f"✓ Stopped it; port {port} is free.", "ok"))
            self.notify(f"Port {port} is free.")
        else:
            how = f" (kill {owner.pid})" if owner.pid else ""
            note.update(
                styled(f"{owner.describe()} did not let go of port {port}: stop it{how}.", "bad")
            )
        self.recheck()

    def go_next(self) -> None:
        if self.tunnel_login_running():
            self.post_message(GoTo(Step.LOGIN))
        elif forwarding_refused(self.wizard.state.forwarding):
            self.post_message(ShowWays())
        else:
            self.post_message(ChooseWay(LoginMode.TUNNEL))
