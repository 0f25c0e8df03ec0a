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

import asyncssh

from ..sanitize import printable
from ..ssh.server import ServerConnection
from .events import RelayResult
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
class _Fetched:
    status: int | None
    location: str
    body: str


def pick_client(tools: frozenset[str]) -> str:
    """The first HTTP client the probe found; node is always there when codex is."""
    return next((tool for tool in RELAY_CLIENTS if tool in tools), "node")


# Each client reads the URL on stdin (never in argv, where `ps` would show the code), prints
# "<status> <location>" on the first line and then the start of the body; no redirects followed.
_PYTHON = (
    "import http.client,sys\n"
    "u=sys.stdin.readline().strip().split('/',3)\n"
    "h,p=u[2].rsplit(':',1)\n"
    "c=http.client.HTTPConnection(h,int(p),timeout=90)\n"
    "c.request('GET','/'+u[3])\n"
    "r=c.getresponse()\n"
    "print(r.status,r.getheader('Location') or '')\n"
    "sys.stdout.write(r.read(4096).decode('utf-8','replace'))\n"
)
_NODE = (
    "let u='';process.stdin.on('data',d=>u+=d).on('end',()=>{"
    "require('http').get(u.trim(),r=>{let b='';r.setEncoding('utf8');r.on('data',d=>b+=d);"
    "r.on('end',()=>{console.log(r.statusCode+' '+(r.headers.location||''));"
    "process.stdout.write(b.slice(0,4096))})})"
    ".on('error',e=>{console.log('0 ');console.log(e.message)})})"
)
_CURL = r"""t=$(mktemp)
s=$(curl -q -s -m 90 -o "$t" -w '%{http_code} %{redirect_url}' -K -)
printf '%s\n' "$s"; cat "$t"; rm -f "$t"
"""
_WGET = r"""t=$(mktemp)
h=$(wget -S -O "$t" --max-redirect=0 --content-on-error -T 90 -i - 2>&1)
s=$(printf '%s\n' "$h" | sed -n 's/^ *HTTP\/[0-9.]* \([0-9]*\).*/\1/p' | head -n 1)
l=$(printf '%s\n' "$h" | sed -n 's/^ *Location: *\([^ ]*\).*/\1/p' | head -n 1)
printf '%s %s\n' "$s" "$l"; cat "$t"; rm -f "$t"
"""
_CLIENT_SCRIPTS = {
    "curl": _CURL,
    "wget": _WGET,
    "python3": f"python3 -c {shlex.quote(_PYTHON)}",
    "node": f"node -e {shlex.quote(_NODE)}",
}


def relay_command(client: str, env: ServerEnv) -> str:
    """The POSIX sh command that fetches the URL given on stdin with `client`."""
    return env.command("{ " + _CLIENT_SCRIPTS[client].strip() + "; } | head -c 8192")


def relay_stdin(client: str, url: str) -> str:
    """What the client reads on stdin: a curl config line, or the bare URL."""
    return f'url = "{url}"\n' if client == "curl" else url + "\n"


def parse_relay_output(text: str) -> tuple[int | None, str, str]:
    """(status, location, body) from a client's output; status None when it got no answer.

    Made printable: the body is codex's answer (or a client's error) as the server sent it.
    """
    text = printable(text)
    head, _, body = text.partition("\n")
    status, _, location = head.strip().partition(" ")
    number = int(status) if status.isdigit() and int(status) > 0 else None
    return number, location.strip(), body.strip() if number else text.strip()[:4096]


def success_redirect(location: str, port: int) -> str | None:
    """codex's redirect after a good callback (http://localhost:PORT/success?...), made to
    point at 127.0.0.1 (where codex listens), or None when it is anything else."""
    try:
        parts = urlsplit(location)
        same_port = parts.port == port
    except ValueError:
        return None
    if parts.hostname not in ("localhost", "127.0.0.1") or not same_port:
        return None
    if not parts.path.startswith("/success"):
        return None
    return f"http://127.0.0.1:{port}{parts.path}" + (f"?{parts.query}" if parts.query else "")


async def _fetch(conn: ServerConnection, client: str, url: str, env: ServerEnv) -> _Fetched:
    try:
        result = await conn.run(
            relay_command(client, env), input=relay_stdin(client, url), timeout=120
        )
    except (asyncssh.Error, OSError, TimeoutError) as exc:
        return _Fetched(None, "", printable(f"{client} failed on the server: {exc}"))
    return _Fetched(*parse_relay_output(str(result.stdout or "")))


async def replay_on_server(
    conn: ServerConnection, callback: PastedCallback, tools: frozenset[str], env: ServerEnv
) -> RelayResult:
    """GET the callback on the server's own 127.0.0.1, where codex's login server listens,
    then follow its redirect to /success as a browser would (codex finishes on that)."""
    client = pick_client(tools)
    first = await _fetch(conn, client, callback.url(), env)
    follow = success_redirect(first.location, callback.port) if first.location else None
    if first.status not in (301, 302, 303, 307) or follow is None:
        return RelayResult(first.status, first.body, client)
    second = await _fetch(conn, client, follow, env)
    return RelayResult(first.status, second.body, client, followed="/success")
