"""Child process: time until an app's host screen is first drawn, headless (App.run_test).

Usage: tui_child.py wizard|minimal SSH_CONFIG
Prints one JSON line: {"frame": time.monotonic() at the first frame}. The parent compares it
with its own time.monotonic() at spawn (CLOCK_MONOTONIC is system-wide), so interpreter start,
imports, app construction, mount and the first render all count, as a user waits for them.

`wizard` runs the real entry point, `codex_wizard.cli.main.main(["-F", SSH_CONFIG])`, with one
change:
App.run_async becomes a headless App.run_test that stops at the first frame. "Drawn" is the
first compositor update the app produces for the host screen (App._display gets it; headless,
the driver then writes nothing, but the frame has been laid out and rendered).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App

ROOT = Path(__file__).resolve().parent.parent


async def first_frame(app: App, screen_type: type, timeout: float = 60.0) -> float:
    drawn = asyncio.Event()
    stamp: list[float] = []
    original = app._display

    def display(screen, renderable):
        if renderable is not None and not stamp and isinstance(screen, screen_type):
            stamp.append(time.monotonic())
            drawn.set()
        return original(screen, renderable)

    app._display = display
    async with app.run_test(size=(110, 34)):
        await asyncio.wait_for(drawn.wait(), timeout)
    return stamp[0]


def headless_until_first_frame(screen_type: Callable[[], type]) -> None:
    async def run_async(self: App, *args: object, **kwargs: object) -> None:
        frame = await first_frame(self, screen_type())
        print(json.dumps({"frame": frame}), flush=True)

    App.run_async = run_async  # type: ignore[method-assign]


def wizard(config: Path) -> None:
    def host_screen() -> type:
        from codex_wizard.tui.screens.hosts import HostScreen

        return HostScreen

    headless_until_first_frame(host_screen)
    from codex_wizard.cli.main import main

    main(["-F", str(config)])


def minimal(config: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.minimal_tui import HostListScreen, MinimalApp

    headless_until_first_frame(lambda: HostListScreen)
    asyncio.run(MinimalApp(config).run_async())


if __name__ == "__main__":
    kind, config = sys.argv[1], Path(sys.argv[2])
    (wizard if kind == "wizard" else minimal)(config)
