"""The tunnel's live state (listening, connections, last request), refreshed twice a second."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.widgets import Static


def describe_tunnel(tunnel: Any, server_label: str = "the server") -> Text:
    """One or two lines about a core.server.tunnel.Tunnel (or None: not up yet)."""
    if tunnel is None:
        return Text("Not up yet: it opens when the login starts.", style="dim")
    text = Text()
    up = tunnel.listening
    text.append("● listening" if up else "○ closed", style="bold green" if up else "bold red")
    text.append(
        f"  127.0.0.1:{tunnel.local_port} here → {server_label} 127.0.0.1:{tunnel.remote_port}"
    )
    stats = tunnel.stats
    text.append(f"\n  connections: {stats.connections} seen, {stats.active} open")
    last = stats.last_request
    if last is not None:
        text.append(f"   last request: {last.method} {last.path}")
        if last.status is not None:
            text.append(f" → {last.status}")
    return text


class TunnelStatus(Static):
    """Polls `get_tunnel()` (it may return None) and shows its state."""

    def __init__(
        self, get_tunnel: Callable[[], Any], server_label: str = "the server", **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.get_tunnel = get_tunnel
        self.server_label = server_label

    def on_mount(self) -> None:
        self.set_interval(0.5, self._tick)

    def _tick(self) -> None:
        self.refresh(layout=True)  # the text grows from one line to three once the tunnel is up

    def render(self) -> Text:
        return describe_tunnel(self.get_tunnel(), self.server_label)
