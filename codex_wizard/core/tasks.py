"""Small task helpers: one task shared by whoever asks while it runs (a paste during the
login's own probe), and work over many hosts at once with a bound."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
Item = TypeVar("Item")


async def gather_bounded(
    items: Iterable[Item], work: Callable[[Item], Awaitable[T]], limit: int
) -> list[T]:
    """work(item) for every item at once, at most `limit` at a time; results in items' order."""
    gate = asyncio.Semaphore(max(1, limit))

    async def one(item: Item) -> T:
        async with gate:
            return await work(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


def running_or_new(
    task: asyncio.Future[T] | None, start: Callable[[], Coroutine[Any, Any, T]]
) -> asyncio.Future[T]:
    """`task` while it still runs, else a new task of start(). Await it through
    asyncio.shield: a caller that is cancelled leaves it running for the others, and its
    error, should nobody be left to await it, is taken here rather than logged at exit."""
    if task is not None and not task.done():
        return task
    fresh = asyncio.ensure_future(start())
    fresh.add_done_callback(lambda done: done.cancelled() or done.exception())
    return fresh
