"""Just enough HTTP/1.1 for the simulated login server and the simulated browser."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

_MAX_HEAD = 16384
_REASONS = {200: "OK", 302: "Found", 400: "Bad Request", 404: "Not Found"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]


async def read_request(reader: asyncio.StreamReader, timeout: float = 10.0) -> Request | None:
    """The request line of one request (headers read and ignored); None if it is not HTTP."""
    try:
        async with asyncio.timeout(timeout):
            head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
        return None
    parts = head[:_MAX_HEAD].split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None
    target = urlsplit(parts[1])
    query = {key: values[0] for key, values in parse_qs(target.query).items()}
    return Request(parts[0], target.path, query)


def response(
    status: int,
    body: str = "",
    *,
    content_type: str = "text/plain; charset=utf-8",
    location: str | None = None,
) -> bytes:
    """A complete `Connection: close` response, head and body in one piece."""
    data = body.encode()
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(data)}",
        "Connection: close",
    ]
    if location:
        lines.append(f"Location: {location}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write, flush and close, ignoring a peer that already went away."""
    with contextlib.suppress(OSError):
        writer.write(data)
        await writer.drain()
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


@dataclass(frozen=True)
class Reply:
    status: int
    location: str | None
    body: str


async def get(port: int, path: str, *, host_header: str, timeout: float = 30.0) -> Reply:
    """GET http://127.0.0.1:<port><path> as a browser would, reading the whole answer."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: codex-wizard-demo-browser\r\n"
        "Accept: text/html\r\nConnection: close\r\n\r\n"
    )
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request.encode())
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
    return _parse_reply(data)


def local_target(location: str | None) -> str | None:
    """The path?query of a redirect to this machine (relative, localhost or 127.0.0.1)."""
    if not location:
        return None
    parts = urlsplit(location)
    if parts.netloc and parts.hostname not in ("localhost", "127.0.0.1"):
        return None
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _parse_reply(data: bytes) -> Reply:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status_parts = lines[0].split(" ")
    if len(status_parts) < 2 or not status_parts[1].isdigit():
        raise ConnectionError(f"not an HTTP answer: {lines[0][:80]!r}")
    location = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "location":
            location = value.strip()
    return Reply(int(status_parts[1]), location, body.decode("utf-8", "replace"))
