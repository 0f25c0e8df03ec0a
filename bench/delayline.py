"""A loopback delay line: a TCP proxy on 127.0.0.1 that holds each direction back by RTT/2.

These kernels have no `netem`, so the benchmark puts this in front of the lab's bridge port to
see what a server 50 or 100 ms away costs. Every chunk read is stamped with the time it may
leave (read time + RTT/2) and written once that time has come, in order: a stream is delayed,
not slowed down (a chunk never waits for the one before it to be delayed again).

    with DelayLine(target_port, rtt=0.1) as line:
        ...connect to 127.0.0.1:line.port...
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any

CHUNK = 65536


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy reader to writer, each chunk leaving `delay` seconds after it arrived; EOF too."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read() -> None:
        while True:
            data = await reader.read(CHUNK)
            await queue.put((time.monotonic() + delay, data))
            if not data:
                return

    async def write() -> None:
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    reading = asyncio.create_task(read())
    try:
        await write()
    finally:
        reading.cancel()


def _no_delay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class DelayLine:
    """127.0.0.1:port -> 127.0.0.1:target_port, `rtt` seconds of round trip added (in a thread).

    The TCP handshake itself is not delayed (the kernel accepts at once): over a real network
    every connection, ours and OpenSSH's alike, pays one more round trip than measured here.
    """

    def __init__(self, target_port: int, rtt: float) -> None:
        self.target_port = target_port
        self.rtt = rtt
        self.port = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> DelayLine:
        self._thread.start()
        self._server = self._call(
            asyncio.start_server(self._serve, "127.0.0.1", 0, reuse_address=True)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _close(self) -> None:
        """In the line's own loop (asyncio's servers are not thread-safe): stop listening and
        drop the connections still open."""
        if self._server is not None:
            self._server.close()
        current = asyncio.current_task()
        others = [task for task in asyncio.all_tasks() if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)  # closed before the loop stops

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        for writer in (client_w, server_w):
            _no_delay(writer)
        half = self.rtt / 2
        try:
            await asyncio.gather(_pump(client_r, server_w, half), _pump(server_r, client_w, half))
        except (OSError, asyncio.CancelledError):
            pass  # a side went away, or the line is closing
        finally:
            for writer in (client_w, server_w):
                writer.close()
