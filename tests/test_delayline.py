"""bench/delayline.py: bytes pass in order and complete, each direction held back (no timing
bars beyond a generous lower bound)."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from bench.delayline import DelayLine


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _echo_through(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), 10) as sock:
        sender = threading.Thread(target=lambda: (sock.sendall(payload), sock.shutdown(1)))
        sender.start()
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        sender.join()
    return received


def test_the_delay_line_forwards_every_byte_in_order(echo_port: int) -> None:
    payload = b"".join(i.to_bytes(4, "big") for i in range(500_000))  # 2 MB, many chunks
    with DelayLine(echo_port, rtt=0.02) as line:
        assert _echo_through(line.port, payload) == payload
        assert _echo_through(line.port, b"again") == b"again"
        assert line.connections == 2


def test_the_delay_line_holds_each_direction_back(echo_port: int) -> None:
    with DelayLine(echo_port, rtt=0.2) as line:
        start = time.monotonic()
        assert _echo_through(line.port, b"ping") == b"ping"
        assert time.monotonic() - start >= 0.19  # there and back: one round trip at least
