"""The core's services, loaded late: importing them imports asyncssh and the core (~0.1 s),
which the host screen's first frame must not wait for (issue 6). The app imports them on first
use; the host screen has them imported in a thread once it has been drawn."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..startup import import_asyncssh_quickly

if TYPE_CHECKING:
    from textual.widget import Widget

    from ..core.services import Services


def import_services() -> type[Services]:
    """The core's services: importing them imports asyncssh (quickly) and the core."""
    import_asyncssh_quickly()
    from ..core.services import Services

    return Services


async def load_services(after_drawing: Widget) -> None:
    """Import the core's services in a thread, once after_drawing has been drawn, so that
    neither its first frame nor the event loop waits for them (a second import is instant)."""
    await after_drawing.wait_for_refresh()
    await asyncio.to_thread(import_services)
