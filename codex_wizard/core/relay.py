"""Relay the browser's redirect when no tunnel can work.

The user opens the login URL; the browser lands on http://127.0.0.1:PORT/auth/callback?code=..
&state=.., which fails on the laptop. They paste that address; we check it belongs to this login
and replay the GET on the server itself, over an exec channel, with whatever HTTP client the
server has (curl, python3, wget, or node, which codex needs anyway). No forwarding at all.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from .connection import ServerConnection
from .login import CALLBACK_PATH
from .probe import ServerEnv

RELAY_CLIENTS = ("curl", "python3", "wget", "node")
_STATUS_MARK = "@@cw-status "


class PastedAddressError(ValueError):
    """The pasted text is not this login's callback address; the message says why."""


@dataclass(frozen=True)
class PastedCallback:
    """A validated callback: only the parts we re-build the request from."""

    port: int
    code: str
    state: str

    def url(self) -> str:
        query = urlencode({"code": self.code, "state": self.state})
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}?{query}"


def validate_pasted_callback(text: str, *, state: str, port: int) -> PastedCallback:
    """Check the pasted address: right host, port and path, with code and this login's state."""
    text = text.strip()
    try:
        parts = urlsplit(text)
        pasted_port = parts.port
    except ValueError:
        raise PastedAddressError("That is not a web address.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PastedAddressError(
            "That is not the address the browser ended on: it should start with "
            f"http://127.0.0.1:{port}{CALLBACK_PATH}?code="
        )
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise PastedAddressError(f"The address points at {parts.hostname}, not 127.0.0.1.")
    if pasted_port != port:
        raise PastedAddressError(
            f"The address is for port {pasted_port or 80}, but this login listens on {port}: "
            "it comes from another login. Open this login's URL and paste where it ends."
        )
    if parts.path != CALLBACK_PATH:
        raise PastedAddressError(f"The address's path is {parts.path!r}, not {CALLBACK_PATH}.")
    query = parse_qs(parts.query)
    code, pasted_state = query.get("code", [""])[0], query.get("state", [""])[0]
    if not code or not pasted_state:
        raise PastedAddressError("The address has no code or no state: copy it whole.")
    if pasted_state != state:
        raise PastedAddressError(
            "The address belongs to an older login (its state does not match this one). "
            "Open the URL shown now and paste where that one ends."
        )
    return PastedCallback(port, code, pasted_state)


@dataclass(frozen=True)
class RelayResult:
    status: int | None  # HTTP status codex's login server answered, None if it didn't
    body: str
    client: str


def pick_client(tools: frozenset[str]) -> str:
    """The first HTTP client the probe found; node is always there when codex is."""
    return next((tool for tool in RELAY_CLIENTS if tool in tools), "node")


_PYTHON = (
    "import http.client,sys\n"
    "u=sys.argv[1].split('/',3)\n"
    "h,p=u[2].rsplit(':',1)\n"
    "c=http.client.HTTPConnection(h,int(p),timeout=90)\n"
    "c.request('GET','/'+u[3])\n"
    "r=c.getresponse()\n"
    "print(r.status)\n"
    "sys.stdout.write(r.read(4096).decode('utf-8','replace'))\n"
)
_NODE = (
    "require('http').get(process.argv[1],r=>{let b='';r.setEncoding('utf8');"
    "r.on('data',d=>b+=d);r.on('end',()=>{console.log(r.statusCode);"
    "process.stdout.write(b.slice(0,4096))})}).on('error',e=>{console.log(0);console.log(e.message)})"
)


_FETCH_TO_FILE = {
    # Each prints the HTTP status on stdout and leaves the body in "$t".
    "curl": 'curl -s -m 90 -o "$t" -w "%{http_code}" URL',
    "wget": (
        'wget -S -O "$t" --max-redirect=0 --content-on-error -T 90 URL 2>&1'
        " | sed -n 's/^ *HTTP\\/[0-9.]* \\([0-9]*\\).*/\\1/p' | head -n 1"
    ),
}


def relay_command(client: str, url: str, env: ServerEnv) -> str:
    """A POSIX sh command printing '@@cw-status NNN' then the body, for the given client."""
    quoted = shlex.quote(url)
    mark = f"printf '{_STATUS_MARK}%s\\n'"
    if client in _FETCH_TO_FILE:
        fetch = _FETCH_TO_FILE[client].replace("URL", quoted)
        return f't=$(mktemp); s=$({fetch}); {mark} "$s"; head -c 4096 "$t"; rm -f "$t"'
    program = _PYTHON if client == "python3" else _NODE
    runner = "python3 -c" if client == "python3" else "node -e"
    return env.command(
        f'{runner} {shlex.quote(program)} {quoted} | {{ read -r s; {mark} "$s"; head -c 4096; }}'
    )


def parse_relay_output(text: str) -> tuple[int | None, str]:
    head, _, body = text.partition("\n")
    if not head.startswith(_STATUS_MARK):
        return None, text.strip()[:4096]
    status = head[len(_STATUS_MARK) :].strip()
    number = int(status) if status.isdigit() and int(status) > 0 else None
    return number, body.strip()


async def replay_on_server(
    conn: ServerConnection, callback: PastedCallback, tools: frozenset[str], env: ServerEnv
) -> RelayResult:
    """GET the callback on the server's own 127.0.0.1, where codex's login server listens."""
    client = pick_client(tools)
    result = await conn.run(relay_command(client, callback.url(), env), timeout=120)
    status, body = parse_relay_output(str(result.stdout or ""))
    return RelayResult(status, body, client)
