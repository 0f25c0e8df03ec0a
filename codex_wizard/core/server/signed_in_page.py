"""The page the tunnel shows a browser tab once codex has accepted its sign-in and closed its
login server: "signed in, close this tab", instead of "nothing answers on the server's port".

codex answers the callback with a redirect to its own /success page, then stops listening
(at once, or after serving that page once). A tab that follows the redirect late or is
reloaded would otherwise end on our 502 error, which reads as if the sign-in failed.
"""

from __future__ import annotations

import asyncio

SUCCESS_PATH = "/success"
READ_TIMEOUT_S = 5.0

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Signed in - codex-wizard</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>&#10003; Signed in</h1>
<p>codex on the server accepted this sign-in and has closed its login page.</p>
<p>You can close this tab and go back to codex-wizard, which checks the server's login.</p>
</body></html>
"""


def redirects_to_success(response_head: bytes) -> bool:
    """codex's answer to the callback sends the browser on to /success (the sign-in worked)."""
    head = response_head.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    status = lines[0].split(" ")
    if not status[0].startswith("HTTP/") or len(status) < 2 or not status[1].startswith("30"):
        return False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "location":
            path = value.strip().split("?", 1)[0]
            return path.endswith(SUCCESS_PATH)
    return False


async def asks_for_success_page(reader: asyncio.StreamReader) -> bool:
    """The browser's request (read from the tab's connection) is a GET of /success."""
    try:
        line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT_S)
    except (TimeoutError, ValueError, OSError):  # ValueError: a line over the stream's limit
        return False
    parts = line.decode("latin-1").split(" ")
    return len(parts) == 3 and parts[0] == "GET" and parts[1].split("?", 1)[0] == SUCCESS_PATH


def signed_in_response() -> bytes:
    """The whole HTTP response with the page; the connection closes after it."""
    body = _PAGE.encode()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body
