"""The reference for the TUI first frame: a minimal Textual app showing the same host list.

It reads the Host aliases of the ssh_config with a few lines of its own and draws one screen
(header, a line of text, a DataTable of the hosts, an input, footer): what the wizard's host
screen shows, with nothing behind it.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static


def config_hosts(path: Path) -> list[str]:
    hosts: list[str] = []
    for line in path.read_text().splitlines():
        words = line.split()
        if len(words) > 1 and words[0].lower() == "host":
            hosts += [w for w in words[1:] if not any(c in w for c in "*?!")]
    return hosts


class HostListScreen(Screen):
    def __init__(self, hosts: list[str]) -> None:
        super().__init__()
        self.hosts = hosts

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Which server should Codex be logged in on?")
        yield DataTable(id="hosts", cursor_type="row")
        yield Input(placeholder="user@host:port")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Host", "From", "Codex login")
        for host in self.hosts:
            table.add_row(host, "ssh_config", "checking…")
        table.focus()


class MinimalApp(App[int]):
    def __init__(self, config: Path) -> None:
        super().__init__()
        self.config = config

    def on_mount(self) -> None:
        self.push_screen(HostListScreen(config_hosts(self.config)))
