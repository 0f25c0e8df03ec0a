"""`codex login` as the demo server runs it: the real lines, and a login server answering like
the real one (state check, token exchange, /success, /cancel).

The login server listens on an ephemeral 127.0.0.1 port of this computer; the demo SSH server
connects the client's direct-tcpip channels for 127.0.0.1:1455 (or 1457) to it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

from . import httpio
from .process import SimProcess, Terminal
from .scenario import HOSTILE, HOSTILE_DEVICE_URL, HOSTILE_LOGIN_URL
from .tokens import DEMO_PLAN, demo_auth_json

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
TOKEN_URL = "https://auth.openai.com/oauth/token"
PLATFORM_URL = "https://platform.openai.com"
EXCHANGE_ERROR = f"error sending request for url ({TOKEN_URL})"
SUCCESS_GRACE_S = 2.0
"""How long to wait for the browser to follow the redirect to /success before finishing anyway."""

_SUCCESS_PAGE = "<!doctype html><title>Signed in to Codex</title><h1>Signed in to Codex</h1>"
_ERROR_PAGE = (
    "<!doctype html><title>Codex Sign-in Error</title><h1>Codex Sign-in Error</h1>"
    f"<p>Token exchange failed: {EXCHANGE_ERROR}</p>"
)


def authorize_url(port: int, state: str) -> str:
    """The authorize URL codex prints, with its redirect_uri on 127.0.0.1:<port>."""
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": f"http://127.0.0.1:{port}/auth/callback",
        "scope": "openid profile email offline_access",
        "code_challenge": secrets.token_urlsafe(32),
        "code_challenge_method": "S256",
        "id_token_add_organizations": "true",
        "codex_cli_simplified_flow": "true",
        "state": state,
        "originator": "codex_cli_rs",
    }
    return "https://auth.openai.com/oauth/authorize?" + urlencode(query, quote_via=quote)


def write_auth_file(path: Path) -> None:
    """Write a fresh demo auth.json as codex does: mode 0600, parent directory created."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(demo_auth_json())
    os.replace(tmp, path)


class SimulatedLogin(SimProcess):
    """One browser-flow `codex login`: prints its URL, then serves the callback."""

    def __init__(
        self,
        pid: int,
        terminal: Terminal,
        *,
        port: int,
        auth_file: Path,
        exchange_fails: bool,
        pace: float,
        saves_login: bool = True,
        hostile: bool = False,
    ) -> None:
        super().__init__(pid, terminal)
        self.port = port
        self.auth_file = auth_file
        self.exchange_fails = exchange_fails
        self.saves_login = saves_login
        self.pace = pace
        self.hostile = hostile
        self.state = secrets.token_urlsafe(32)
        self.url = authorize_url(port, self.state)
        self._server: asyncio.Server | None = None
        self._exchanging = False
        self._succeeded = False

    @property
    def listen_port(self) -> int:
        """Where the simulated login server really listens (on this computer)."""
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self, bind_port: int = 0) -> None:
        """Bind the login server (127.0.0.1 only, like codex) and print codex's banner."""
        try:
            self._server = await self._bind(bind_port)
        except OSError:
            self._server = await self._bind(0)
        self.terminal.err(f"Starting local login server on http://localhost:{self.port}.")
        self.terminal.err("If your browser did not open, navigate to this URL to authenticate:")
        self.terminal.err()
        if self.hostile:  # a look-alike link, and the real one wrapped in a hyperlink to evil
            self.terminal.err(f"WARNING: {HOSTILE}")
            self.terminal.err(HOSTILE_LOGIN_URL)
            self.terminal.err(f"\x1b]8;;https://evil.example/\x1b\\{self.url}\x1b]8;;\x1b\\")
        else:
            self.terminal.err(self.url)
        self.terminal.err()
        self.terminal.err(
            "On a remote or headless machine? Use `codex login --device-auth` instead."
        )

    async def _bind(self, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", port, reuse_address=True)

    def close(self) -> None:
        """Stop listening (connections in flight finish on their own)."""
        if self._server is not None:
            self._server.close()

    def cancel(self) -> None:
        """What GET /cancel (from a newer codex login) does to this one."""
        self.terminal.err("Error logging in: Login cancelled")
        self.finish(1)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await httpio.read_request(reader)
        if request is None or not self.running:
            writer.close()
            return
        data, after = await self._route(request)
        await httpio.send(writer, data)
        if after is not None:
            after()

    async def _route(self, request: httpio.Request) -> tuple[bytes, Callable[[], None] | None]:
        """The answer to one request, and what to do once it has been sent."""
        if request.path == "/auth/callback":
            return await self._callback(request.query)
        if request.path == "/success":
            page = httpio.response(200, _SUCCESS_PAGE, content_type="text/html; charset=utf-8")
            return page, self._logged_in if self._succeeded else None
        if request.path == "/cancel":
            return httpio.response(200, "Login cancelled"), self.cancel
        return httpio.response(404, "Not Found"), None

    async def _callback(self, query: dict[str, str]) -> tuple[bytes, Callable[[], None] | None]:
        if query.get("state") != self.state:
            return httpio.response(400, "State mismatch"), None
        if not query.get("code"):
            return httpio.response(400, "Missing authorization code"), None
        if self._exchanging or self._succeeded:
            return httpio.response(400, "Login already in progress"), None
        self._exchanging = True
        await asyncio.sleep(0.8 * self.pace)  # the token exchange with auth.openai.com
        self._exchanging = False
        if self.exchange_fails:
            page = httpio.response(200, _ERROR_PAGE, content_type="text/html; charset=utf-8")
            return page, self._exchange_failed
        if self.saves_login:
            write_auth_file(self.auth_file)
        self._succeeded = True
        return httpio.response(302, location=self.success_url()), self._await_success_page

    def success_url(self) -> str:
        """Where codex sends the browser after a good callback (localhost, like codex)."""
        query = {"needs_setup": "false", "plan_type": DEMO_PLAN, "platform_url": PLATFORM_URL}
        return f"http://localhost:{self.port}/success?" + urlencode(query, quote_via=quote)

    def _exchange_failed(self) -> None:
        self.terminal.err(f"Token exchange error: {EXCHANGE_ERROR}")
        self.terminal.err(f"Error logging in: Token exchange failed: {EXCHANGE_ERROR}")
        self.finish(1)

    def _await_success_page(self) -> None:
        asyncio.get_running_loop().call_later(SUCCESS_GRACE_S, self._logged_in)

    def _logged_in(self) -> None:
        if self.running:
            self.terminal.err("Successfully logged in")
            self.finish(0)


DEVICE_CODE = "DEMO-7KQ4"


async def run_device_auth(
    process: SimProcess, auth_file: Path, pace: float, *, hostile: bool = False
) -> None:
    """`codex login --device-auth`: the numbered steps, then an approval a few seconds later."""
    term = process.terminal
    noise = HOSTILE if hostile else ""
    term.err("1. Open this link in your browser and sign in to your account")
    if hostile:
        term.err(f"   {HOSTILE_DEVICE_URL}")
    term.err(f"   https://auth.openai.com/codex/device{noise}")
    term.err()
    term.err("2. Enter this one-time code after you are signed in (expires in 15 minutes)")
    term.err(f"   {DEVICE_CODE}{noise}")
    term.err()
    await asyncio.sleep(4.0 * pace)  # the user approves in the (imaginary) browser
    if process.running:
        write_auth_file(auth_file)
        term.err(f"WARNING: {noise}")
        term.err(f"Successfully logged in{noise}")
        process.finish(0)
