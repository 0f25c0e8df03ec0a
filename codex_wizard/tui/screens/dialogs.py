"""Modal prompts (yes/no, host key, password/passphrase) and the error and refusal screens."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ...core.ssh.types import HostKeyInfo, remove_entry_command
from ..messages import BackToHosts, Reconnect
from ..state import LostConnection
from ..widgets.chrome import TopBar, WizardFooter
from .base import PagedScreen

if TYPE_CHECKING:
    from ..protocol import Wizard


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question. y / n / Escape work as well as the buttons."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No"),
    ]

    def __init__(
        self,
        title: str,
        body: Text | str,
        *,
        yes: str = "Yes",
        no: str = "No",
        danger: bool = False,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = Text(body) if isinstance(body, str) else body
        self.yes_label = yes
        self.no_label = no
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-danger" if self.danger else ""):
            yield Static(Text(self.title_text, style="bold"), id="dialog-title")
            yield Static(self.body, id="dialog-body")
            with Horizontal(id="dialog-buttons"):
                yield Button(f"{self.yes_label} (y)", id="yes", variant="primary")
                yield Button(f"{self.no_label} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)


def host_key_body(key: HostKeyInfo) -> Text:
    text = Text()
    who = f"jump host {key.host_label}" if key.jump_host else key.host_label
    text.append(f"The authenticity of {who} can't be established.\n\n")
    text.append(f"{key.key_type} key fingerprint:\n")
    text.append(f"  {key.fingerprint}\n\n", style="bold")
    text.append(
        "Compare it with the fingerprint your server's administrator or provider shows you "
        "(on the server: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub). "
    )
    if key.known_hosts is None:
        text.append("If you trust it, it is used for this connection (UserKnownHostsFile none).")
    else:
        text.append(f"If you trust it, it is added to {key.known_hosts}.")
    return text


class HostKeyDialog(ConfirmDialog):
    def __init__(self, key: HostKeyInfo) -> None:
        super().__init__(
            "Unknown host key", host_key_body(key), yes="Trust and connect", no="Don't connect"
        )
        self.key = key


class CredentialsDialog(ModalScreen[tuple[str, str] | None]):
    """The server refused our keys: ask for a password, or a passphrase for an encrypted key."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, label: str, retry: bool = False) -> None:
        super().__init__()
        self.label = label
        self.retry = retry

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(f"Sign in to {self.label}", style="bold"), id="dialog-title")
            lead = "That did not work. " if self.retry else ""
            yield Static(
                f"{lead}{self.label} did not accept your SSH keys without help. Type the "
                "account's password, or the passphrase of your encrypted SSH key "
                "(it stays on this computer). Enter to connect, Escape to cancel.",
                id="dialog-body",
            )
            yield Input(placeholder="SSH password", password=True, id="password")
            yield Input(
                placeholder="or: passphrase of your SSH key", password=True, id="passphrase"
            )
            with Horizontal(id="dialog-buttons"):
                yield Button("Connect", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        password = self.query_one("#password", Input).value
        passphrase = self.query_one("#passphrase", Input).value
        if passphrase:
            self.dismiss(("passphrase", passphrase))
        elif password:
            self.dismiss(("password", password))
        else:
            self.query_one("#password", Input).focus()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class PassphraseDialog(ModalScreen[str | None]):
    """The passphrase of an encrypted SSH key, typed without showing it (Escape: skip the key)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, key_path: str) -> None:
        super().__init__()
        self.key_path = key_path

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text("Passphrase of your SSH key", style="bold"), id="dialog-title")
            yield Static(
                f"{self.key_path} is encrypted. Type its passphrase (it stays on this "
                "computer). Enter to connect, Escape to skip this key.",
                id="dialog-body",
            )
            yield Input(placeholder="passphrase", password=True, id="passphrase")
            with Horizontal(id="dialog-buttons"):
                yield Button("Connect", id="ok", variant="primary")
                yield Button("Skip", id="cancel")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        self.dismiss(self.query_one("#passphrase", Input).value)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class _ProblemScreen(PagedScreen):
    """A full screen that says what happened and what to do, with a way on."""

    BODY = "#problem"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("h", "hosts", "Hosts"),
    ]
    CLASSES = ""

    def __init__(self, title: str, what: str, todo: str, *, can_go_back: bool = True) -> None:
        super().__init__(classes=self.CLASSES)
        self.problem_title = title
        self.what = what
        self.todo = todo
        self.can_go_back = can_go_back

    @property
    def wizard(self) -> Wizard:
        return cast("Wizard", self.app)

    def compose(self) -> ComposeResult:
        target = self.wizard.state.target
        yield TopBar(target.label() if target else None, self.wizard.demo is not None, id="topbar")
        with VerticalScroll(id="problem", can_focus=False):  # PagedScreen's BODY
            yield Static(Text(self.problem_title, style="bold"), id="problem-title")
            yield Static(Text("What happened", style="bold underline"))
            yield Static(Text(self.what), id="problem-what")
            yield Static(Text("What to do", style="bold underline"))
            yield Static(Text(self.todo), id="problem-todo")
        with Horizontal(id="nav"):
            yield from self.nav_buttons()
        yield WizardFooter()

    def nav_buttons(self) -> ComposeResult:
        yield Button("‹ Back", id="back", disabled=not self.can_go_back)
        yield Button("Choose another host", id="hosts")
        yield Button("Quit", id="quit", variant="error")

    def on_mount(self) -> None:
        first = "#back" if self.can_go_back else "#hosts"
        self.query_one(first, Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.can_go_back if action == "back" else True

    def action_back(self) -> None:
        if self.can_go_back:
            self.app.pop_screen()

    def action_hosts(self) -> None:
        self.post_message(BackToHosts())

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#hosts")
    def _hosts(self) -> None:
        self.action_hosts()

    @on(Button.Pressed, "#quit")
    async def _quit(self) -> None:
        await self.run_action("app.quit")


class ErrorScreen(_ProblemScreen):
    CLASSES = "-error"


class HostKeyChangedScreen(_ProblemScreen):
    """A changed host key: refuse, explain the risk, say how to fix it if it is expected."""

    CLASSES = "-refusal"

    def __init__(self, key: HostKeyInfo) -> None:
        super().__init__(
            f"Refusing to connect: the host key of {key.host_label} has CHANGED",
            (
                f"{key.host_label} presented a {key.key_type} key with fingerprint "
                f"{key.fingerprint}, but {key.listed_in} has a different key for it. "
                "Someone may be intercepting the connection (a man-in-the-middle attack) and "
                "could read everything, including your Codex sign-in. It can also mean the "
                "server was reinstalled or its keys were rotated."
            ),
            (
                "Do not continue until you know why the key changed: ask the server's "
                "administrator or provider. If the change is expected, remove the old key and "
                "connect again (you will be asked to confirm the new fingerprint):\n\n"
                f"    {remove_entry_command(key)}"
            ),
            can_go_back=False,
        )
        self.key = key


def lost_detail(reason: str) -> str:
    """core.server.login's LoginExited reason (or the watch's), as the second half of a sentence."""
    reason = reason.removeprefix("connection lost: ")
    if reason == "the SSH connection was closed":
        return "it was closed from the other end (the server, or the network in between)"
    return reason


class ConnectionLostScreen(_ProblemScreen):
    """The SSH connection went away: what that means for the login, and Reconnect."""

    CLASSES = "-error"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reconnect", "Reconnect")]

    def __init__(self, lost: LostConnection) -> None:
        during = " during the sign-in" if lost.during_login else ""
        what = f"The SSH connection was lost{during}: {lost_detail(lost.reason)}."
        if lost.during_login:
            what += (
                " codex login runs on a terminal that hangs up once the server sees the "
                "connection end, which stops it, and a fresh login cancels any older one still "
                "waiting. Its login URL no longer works."
            )
        todo = (
            "Press r to reconnect: codex-wizard opens a new SSH connection and goes on where "
            "you were"
            + (
                ", with a fresh login (and, for the tunnel, the port forwarded again). Use the "
                "new URL it shows."
                if lost.during_login
                else "."
            )
            + " If the server is down or the network is gone, fix that first; quitting is "
            "always safe."
        )
        super().__init__("The SSH connection was lost", what, todo, can_go_back=False)
        self.lost = lost

    def nav_buttons(self) -> ComposeResult:
        yield Button("Reconnect (r)", id="reconnect", variant="primary")
        yield Button("Choose another host", id="hosts")
        yield Button("Quit", id="quit", variant="error")

    def on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # not _ProblemScreen's focus on Back / Hosts
        self.query_one("#reconnect", Button).focus()

    def action_reconnect(self) -> None:
        button = self.query_one("#reconnect", Button)
        if button.disabled:
            return
        button.disabled = True
        self.post_message(Reconnect())

    @on(Button.Pressed, "#reconnect")
    def _reconnect(self) -> None:
        self.action_reconnect()
