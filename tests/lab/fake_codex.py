#!/usr/bin/env python3
"""A faithful stand-in for the Codex CLI 0.169.0 (`codex`), for the lab server. stdlib only.

Installed as `~/bin/codex` next to `fake_tokens.py`. What it reproduces was measured on the real
binary (see docs in tests/test_lab.py, which runs both side by side):

- `codex --version` -> `codex-cli 0.169.0` on stdout.
- `codex login`: every line on stderr; binds 127.0.0.1 only (SO_REUSEADDR) on 1455. When 1455 is
  busy it sends one `GET /cancel` there (2 s timeouts), retries the bind 10 x 200 ms, then does the
  same on 1457, then fails with `Error logging in: Port 127.0.0.1:1457 is already in use`.
- callback: wrong/missing state -> 400 `State mismatch` (keeps waiting); `error=` -> error page and
  exit 1; missing code -> error page and exit 1; right state -> auth.json written (0600, atomic),
  302 to `http://localhost:<port>/success?id_token=...`; the CLI exits 0 with
  `Successfully logged in` only once `/success` is fetched (also when fetched directly!).
- `/cancel` -> 200 `Login cancelled` and exit 1 with `Error logging in: Login cancelled`.
- `codex login status` / `codex logout`: messages on stderr, exit codes as the real one.
- `cli_auth_credentials_store = "keyring"|"auto"` in config.toml: credentials go to a keyring
  stand-in, ~/.fake-keyring/codex-auth.json, and no auth.json is written.
- `codex login --device-auth`: the device-code prompt on stdout (ANSI colours), outcome per knob.
- `codex exec [--json] PROMPT`: the JSONL events of 0.169.0 (`thread.started`, `turn.started`, an
  `agent_message` item, `turn.completed`); errors as `error` + `turn.failed` (refresh token used,
  usage limit, 401 without auth.json); offline: the reconnect errors, then it waits forever.
- two processes like the npm launcher (node) + native binary: the parent forwards SIGINT, SIGTERM
  and SIGHUP to the child and mirrors its exit; SIGKILL on the parent orphans the child.

Knobs: optional JSON at `$FAKE_CODEX_KNOBS` or `~/.fake-codex.json`, see `DEFAULT_KNOBS`.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import hashlib
import importlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

sys.dont_write_bytecode = True

VERSION = "0.169.0"
CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
ISSUER = "https://auth.openai.com"
DEFAULT_PORT = 1455
FALLBACK_PORT = 1457
SCOPE = "openid profile email offline_access api.connectors.read api.connectors.invoke"
TOKEN_URL_ERROR = f"error sending request for url ({ISSUER}/oauth/token)"
USERCODE_URL_ERROR = f"error sending request for url ({ISSUER}/api/accounts/deviceauth/usercode)"
NATIVE_ENV = "FAKE_CODEX_NATIVE"
GRAY, BLUE, RESET = "\x1b[90m", "\x1b[94m", "\x1b[0m"

DEFAULT_KNOBS: dict[str, Any] = {
    "version_line": f"codex-cli {VERSION}",  # what `codex --version` prints
    "launcher": True,  # two processes (launcher + "native"), like the npm package on Node < 22
    "startup_delay_s": 0.0,  # before anything is printed (first run after install: ~3 s)
    "login_delay_s": 0.0,  # `codex login` only, before its URL: a login that is slow to start
    "warning": None,  # an extra `WARNING: ...` line first on stderr
    "bind_attempts": 10,  # per port, like the real bind loop
    "bind_retry_s": 0.2,
    "exchange": "success",  # right-state callback: "success" or "fail" (offline real: fail)
    "exchange_delay_s": 0.0,  # the real offline failure takes ~10 s
    "exchange_error": TOKEN_URL_ERROR,
    "access_ttl_s": 10 * 86400,
    "id_ttl_s": 3600,
    "email": "ada.lovelace@example.com",
    "plan": "plus",
    # device auth: wait | success | expired | denied | disabled | timeout | offline
    "device": "wait",
    "device_delay_s": 1.0,
    "device_code": "66FT-Z7YB3",
    # codex exec: reply | refresh_used | usage_limit | offline (401 when not logged in)
    "exec": "reply",
    "exec_reply": "OK",
    "ignores_hangup": False,  # outlives the hang-up of its terminal (nohup'd, or a wrapper's trap)
}

EXEC_ERRORS = {
    "refresh_used": "Your access token could not be refreshed because your refresh token was "
    "already used. Please log out and sign in again.",
    "usage_limit": "You've hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), "
    "visit https://chatgpt.com/codex/settings/usage to purchase more credits or try again at "
    "3:05 PM.",
    "logged_out": "unexpected status 401 Unauthorized: Missing bearer or basic authentication "
    "in header",
}
OFFLINE_RETRY = "stream disconnected before completion: failed to lookup address information: "
OFFLINE_RETRY += "Try again"

DEVICE_ERRORS = {
    "expired": "Device authorization expired; start sign-in again",
    "denied": "Device authorization was denied; start sign-in again when ready",
    "timeout": "device auth timed out after 15 minutes",
    "disabled": "device code login is not enabled for this Codex server. "
    "Use the browser login or verify the server URL.",
    "offline": USERCODE_URL_ERROR,
}

SUCCESS_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Sign into Codex</title>
  </head>
  <body>
    <div class="container">
      <div class="title">Signed in to Codex</div>
      <div class="close-box"><div class="setup-description">You may now close this page</div></div>
    </div>
  </body>
</html>
"""

ERROR_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Codex Sign-in Error</title>
  </head>
  <body>
    <h1>Sign-in could not be completed</h1>
    <p class="message">{message}</p>
    <code>{message}</code>
    <p class="help">Return to Codex to retry, switch accounts, or contact your workspace admin if
      access is restricted.</p>
  </body>
</html>
"""


class LoginError(Exception):
    """Ends `codex login` with `Error logging in: <message>` and exit 1."""


def eprint(line: str) -> None:
    """One line on stderr, flushed; a vanished reader (ssh client killed) is not fatal."""
    with contextlib.suppress(OSError):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def knobs() -> dict[str, Any]:
    path = os.environ.get("FAKE_CODEX_KNOBS") or str(Path.home() / ".fake-codex.json")
    merged = dict(DEFAULT_KNOBS)
    with contextlib.suppress(OSError, ValueError):
        merged.update(json.loads(Path(path).read_text()))
    return merged


def set_process_name(name: str) -> None:
    """Like the real processes' names (`node` launcher, `codex` native): what ss/ps -o comm show."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, name.encode(), 0, 0, 0)  # PR_SET_NAME


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --- launcher -------------------------------------------------------------------------------


def run_launcher(argv: list[str]) -> None:
    """Like bin/codex.js on Node < 22: spawn the 'native' child, forward signals, mirror exit."""
    env = dict(os.environ, **{NATIVE_ENV: "1"})
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), *argv], env=env)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    code = child.wait()
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        time.sleep(1)
        sys.exit(128 - code)
    sys.exit(code)


# --- CODEX_HOME and auth.json ----------------------------------------------------------------


def codex_home(*, strict: bool) -> Path:
    """$CODEX_HOME (must exist) or ~/.codex (created, default mode, like the real one)."""
    configured = os.environ.get("CODEX_HOME")
    if configured:
        if not Path(configured).is_dir():
            message = f'CODEX_HOME points to "{configured}", but that path does not exist'
            eprint(f"WARNING: proceeding, even though we could not create PATH aliases: {message}")
            if strict:
                eprint(f"Error loading configuration: {message}")
                sys.exit(1)
        return Path(configured)
    home = Path.home() / ".codex"
    home.mkdir(parents=True, exist_ok=True)
    if str(home).startswith("/tmp/"):
        eprint(
            "WARNING: proceeding, even though we could not create PATH aliases: Refusing to "
            f'create helper binaries under temporary dir "/tmp" (codex_home: '
            f'AbsolutePathBuf("{home}"))'
        )
    return home


def credentials_file(home: Path) -> Path:
    """auth.json, or with `cli_auth_credentials_store = "keyring"|"auto"` in config.toml a
    stand-in for the OS keyring outside CODEX_HOME (~/.fake-keyring/codex-auth.json)."""
    try:
        config = tomllib.loads((home / "config.toml").read_text())
    except (OSError, ValueError):
        config = {}
    if config.get("cli_auth_credentials_store") in ("keyring", "auto"):
        return Path.home() / ".fake-keyring" / "codex-auth.json"
    return home / "auth.json"


def read_auth(home: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(credentials_file(home).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def write_auth(home: Path, text: str) -> None:
    """Atomically replace auth.json (or the keyring stand-in) with a 0600 file."""
    target = credentials_file(home)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = target.parent / f".auth.json.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def tokens_module() -> ModuleType:
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module("fake_tokens")


def new_auth_json(k: dict[str, Any]) -> str:
    return tokens_module().make_auth_json(
        last_refresh=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        access_ttl_s=float(k["access_ttl_s"]),
        id_ttl_s=float(k["id_ttl_s"]),
        email=str(k["email"]),
        plan=str(k["plan"]),
        tag=secrets.token_hex(4),
    )


def mask_key(key: str) -> str:
    return "***" if len(key) <= 13 else f"{key[:8]}***{key[-5:]}"


# --- status / logout -------------------------------------------------------------------------


def cmd_login_status() -> int:
    auth = read_auth(codex_home(strict=True))
    key = (auth or {}).get("OPENAI_API_KEY")
    mode = (auth or {}).get("auth_mode")
    if auth and isinstance(key, str) and key and mode != "chatgpt":
        eprint(f"API key configured - {mask_key(key)}")
        eprint("Authentication is checked when you send a request.")
        return 0
    if auth and auth.get("tokens"):
        eprint("Logged in using ChatGPT")
        return 0
    eprint("Not logged in")
    return 1


def cmd_logout() -> int:
    path = credentials_file(codex_home(strict=True))
    if not path.exists():
        eprint("Not logged in")
        return 0
    path.unlink()
    eprint("Successfully logged out")
    return 0


# --- browser login: binding ------------------------------------------------------------------


class LoginHttpServer(ThreadingHTTPServer):
    allow_reuse_address = True  # SO_REUSEADDR, like the Rust listener
    daemon_threads = True

    def server_bind(self) -> None:  # skip HTTPServer's reverse DNS lookup
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()

    login: LoginFlow


def send_cancel_request(port: int) -> None:
    """GET /cancel to whoever holds the port; 2 s connect/read timeouts; reply ignored."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            request = f"GET /cancel HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
            sock.sendall(request.encode())
            with contextlib.suppress(OSError):
                sock.recv(64)
    except OSError as err:
        eprint(f"Failed to cancel previous login server: {os_error_text(err)}")


def os_error_text(err: OSError) -> str:
    return f"{err.strerror or err} (os error {err.errno})" if err.errno else str(err)


def try_bind(port: int) -> LoginHttpServer | None:
    try:
        return LoginHttpServer(("127.0.0.1", port), LoginHandler)
    except OSError as err:
        if err.errno == 98:  # EADDRINUSE
            return None
        raise LoginError(os_error_text(err)) from err


def bind_server(k: dict[str, Any]) -> LoginHttpServer:
    """1455 (after one /cancel), else 1457, each with the real retry budget."""
    attempts, delay = int(k["bind_attempts"]), float(k["bind_retry_s"])
    for port in (DEFAULT_PORT, FALLBACK_PORT):
        for attempt in range(attempts):
            server = try_bind(port)
            if server is not None:
                return server
            if attempt == 0 and port == DEFAULT_PORT:
                send_cancel_request(port)
            time.sleep(delay)
    raise LoginError(f"Port 127.0.0.1:{FALLBACK_PORT} is already in use")


# --- browser login: the flow -----------------------------------------------------------------


class LoginFlow:
    """State of one `codex login`: PKCE, state, knobs, and the outcome the handler reports."""

    def __init__(self, k: dict[str, Any], home: Path, port: int) -> None:
        self.knobs, self.home, self.port = k, home, port
        self.state = b64url(secrets.token_bytes(32))
        verifier = b64url(secrets.token_bytes(64))
        self.challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        self.done = threading.Event()
        self.error: str | None = None

    def finish(self, error: str | None) -> None:
        if not self.done.is_set():
            self.error = error
            self.done.set()

    def auth_url(self) -> str:
        query = [
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", f"http://127.0.0.1:{self.port}/auth/callback"),
            ("code_challenge", self.challenge),
            ("code_challenge_method", "S256"),
            ("state", self.state),
            ("scope", SCOPE),
            ("id_token_add_organizations", "true"),
            ("codex_cli_simplified_flow", "true"),
            ("originator", "codex_cli_rs"),
        ]
        return f"{ISSUER}/oauth/authorize?{urlencode(query, quote_via=quote_plus)}"

    def success_url(self, auth_text: str) -> str:
        tokens = json.loads(auth_text)["tokens"]
        query = [
            ("id_token", tokens["id_token"]),
            ("needs_setup", "false"),
            ("org_id", ""),
            ("project_id", ""),
            ("plan_type", str(self.knobs["plan"])),
            ("platform_url", "https://platform.openai.com"),
        ]
        return f"http://localhost:{self.port}/success?{urlencode(query)}"


@dataclass
class Reply:
    """One HTTP answer; `ends` closes the connection and ends the login with `error`."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    ends: bool = False
    error: str | None = None


def plain(status: int, text: str) -> Reply:
    return Reply(status, [("Content-Type", "text/plain; charset=UTF-8")], text.encode())


def html_exit(page: str, error: str | None) -> Reply:
    headers = [("Content-Type", "text/html; charset=utf-8")]
    return Reply(200, headers, page.encode(), ends=True, error=error)


def error_reply(message: str) -> Reply:
    return html_exit(ERROR_PAGE.format(message=message), message)


def callback_reply(flow: LoginFlow, params: dict[str, str]) -> Reply:
    if params.get("state") != flow.state:
        return plain(400, "State mismatch")
    if params.get("error"):
        message = f"Sign-in failed: {params.get('error_description') or params['error']}"
        eprint(f"OAuth callback error: {message}")
        return error_reply(message)
    if not params.get("code"):
        return error_reply("Missing authorization code. Sign-in could not be completed.")
    return exchange_reply(flow)


CA_HINT = (
    "If you set CODEX_CA_CERTIFICATE or SSL_CERT_FILE, ensure it points to a PEM file containing "
    "one or more CERTIFICATE blocks, or unset it to use system roots."
)


def ca_problem() -> str | None:
    """Like codex 0.169/0.171 at the token exchange: the CA file of CODEX_CA_CERTIFICATE, else
    of SSL_CERT_FILE (the first set and not empty; the other is ignored), must be PEM."""
    for name in ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"):
        path = os.environ.get(name)
        if not path:
            continue
        try:
            text = Path(path).read_bytes()
        except OSError as err:
            return f"Failed to read CA certificate file {path} selected by {name}: " + (
                f"{os_error_text(err)}. {CA_HINT}"
            )
        if b"-----BEGIN CERTIFICATE-----" not in text:
            return (
                f"Failed to load CA certificates from {path} selected by {name}: no "
                f"certificates found in PEM file. {CA_HINT}"
            )
        return None
    return None


def exchange_reply(flow: LoginFlow) -> Reply:
    k = flow.knobs
    time.sleep(float(k["exchange_delay_s"]))
    if (problem := ca_problem()) is not None:
        eprint(f"Token exchange error: {problem}")
        return error_reply(f"Token exchange failed: {problem}")
    if k["exchange"] != "success":
        eprint(f"Token exchange error: {k['exchange_error']}")
        return error_reply(f"Token exchange failed: {k['exchange_error']}")
    text = new_auth_json(k)
    try:
        write_auth(flow.home, text)
    except OSError as err:  # like codex: says so, answers 500, and keeps waiting
        eprint(f"Persist error: {os_error_text(err)}")
        return plain(500, f"Unable to persist auth file: {os_error_text(err)}")
    return Reply(302, [("Location", flow.success_url(text))])


def route(flow: LoginFlow, path: str, params: dict[str, str]) -> Reply:
    if path == "/auth/callback":
        return callback_reply(flow, params)
    if path == "/success":
        return html_exit(SUCCESS_PAGE, None)
    if path == "/cancel":
        return Reply(200, [], b"Login cancelled", ends=True, error="Login cancelled")
    return plain(404, "Not Found")


class LoginHandler(BaseHTTPRequestHandler):
    """tiny-http look-alike: keep-alive replies carry Server/Date, 'exit' replies are raw."""

    protocol_version = "HTTP/1.1"
    server: LoginHttpServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def handle_any(self, *, body: bool = True) -> None:
        flow = self.server.login
        parts = urlsplit(self.path)
        params = {key: vals[0] for key, vals in parse_qs(parts.query).items()}
        reply = route(flow, parts.path, params)
        self.write_reply(reply, body=body)
        if reply.ends:
            flow.finish(reply.error)

    def write_reply(self, reply: Reply, *, body: bool) -> None:
        lines = [f"HTTP/1.1 {reply.status} {self.responses[reply.status][0]}"]
        if not reply.ends:
            lines += ["Server: tiny-http (Rust)", f"Date: {formatdate(usegmt=True)}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        if reply.ends:
            lines.append("Connection: close")
            self.close_connection = True
        lines.append(f"Content-Length: {len(reply.body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.wfile.write(head + (reply.body if body else b""))
        self.wfile.flush()

    def do_GET(self) -> None:
        self.handle_any()

    def do_POST(self) -> None:
        self.handle_any()

    def do_HEAD(self) -> None:
        self.handle_any(body=False)


def print_login_prompt(flow: LoginFlow) -> None:
    eprint(f"Starting local login server on http://localhost:{flow.port}.")
    eprint("If your browser did not open, navigate to this URL to authenticate:")
    eprint("")
    eprint(flow.auth_url())
    eprint("")
    eprint("On a remote or headless machine? Use `codex login --device-auth` instead.")


def serve_login(k: dict[str, Any], home: Path) -> str | None:
    """Run the login server until an outcome; returns the error message or None on success."""
    server = bind_server(k)
    flow = LoginFlow(k, home, server.server_address[1])
    server.login = flow
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    print_login_prompt(flow)
    flow.done.wait()
    server.shutdown()
    server.server_close()
    return flow.error


def cmd_login_browser(k: dict[str, Any]) -> int:
    home = codex_home(strict=True)
    try:
        error = serve_login(k, home)
    except LoginError as err:
        error = str(err)
    if error is not None:
        eprint(f"Error logging in: {error}")
        return 1
    eprint("Successfully logged in")
    return 0


# --- device auth -----------------------------------------------------------------------------


def device_prompt(code: str) -> str:
    return (
        f"\nWelcome to Codex [v{GRAY}{VERSION}{RESET}]\n"
        f"{GRAY}OpenAI's command-line coding agent{RESET}\n"
        "\nFollow these steps to sign in with ChatGPT using device code authorization:\n"
        "\n1. Open this link in your browser and sign in to your account\n"
        f"   {BLUE}{ISSUER}/codex/device{RESET}\n"
        f"\n2. Enter this one-time code {GRAY}(expires in 15 minutes){RESET}\n"
        f"   {BLUE}{code}{RESET}\n"
        f"\n{GRAY}Continue only if you started this login in Codex. If a website or another "
        f"person gave you this code, cancel.{RESET}\n"
    )


def cmd_login_device(k: dict[str, Any]) -> int:
    home = codex_home(strict=True)
    outcome = str(k["device"])
    if outcome in ("offline", "disabled"):
        eprint(f"Error logging in: {DEVICE_ERRORS[outcome]}")
        return 1
    with contextlib.suppress(OSError):
        sys.stdout.write(device_prompt(str(k["device_code"])) + "\n")
        sys.stdout.flush()
    if outcome == "wait":
        time.sleep(15 * 60)
        outcome = "timeout"
    else:
        time.sleep(float(k["device_delay_s"]))
    if outcome == "success":
        write_auth(home, new_auth_json(k))
        eprint("Successfully logged in")
        return 0
    eprint(f"Error logging in: {DEVICE_ERRORS.get(outcome, outcome)}")
    return 1


# --- codex exec (as measured on 0.169.0 with --json: JSONL events on stdout) ---------------------


def emit(event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        with contextlib.suppress(OSError):
            print(json.dumps(event, separators=(",", ":")), flush=True)


def exec_outcome(k: dict[str, Any]) -> str:
    if read_auth(codex_home(strict=False)) is None:
        return "logged_out"
    return str(k["exec"])


def exec_offline(as_json: bool) -> int:
    """The real one offline: five reconnects, then it waits for the network forever."""
    for attempt in range(2, 6):
        emit(
            {"type": "error", "message": f"Reconnecting... {attempt}/5 ({OFFLINE_RETRY})"}, as_json
        )
        if not as_json:
            eprint(f"ERROR: Reconnecting... {attempt}/5")
        time.sleep(0.1)
    emit(
        {
            "type": "error",
            "message": "Reconnecting... waiting for network (Connection failed: error sending "
            "request)",
        },
        as_json,
    )
    if not as_json:
        eprint("ERROR: Reconnecting... waiting for network")
    while True:
        time.sleep(60)


def cmd_exec(args: list[str], k: dict[str, Any]) -> int:
    as_json = "--json" in args
    if "--skip-git-repo-check" not in args and not Path(".git").exists():
        eprint("Not inside a trusted directory and --skip-git-repo-check was not specified.")
        return 1
    emit({"type": "thread.started", "thread_id": secrets.token_hex(16)}, as_json)
    emit({"type": "turn.started"}, as_json)
    outcome = exec_outcome(k)
    if outcome == "offline":
        return exec_offline(as_json)
    if outcome in EXEC_ERRORS:
        message = EXEC_ERRORS[outcome]
        emit({"type": "error", "message": message}, as_json)
        emit({"type": "turn.failed", "error": {"message": message}}, as_json)
        if not as_json:
            eprint(f"ERROR: {message}")
        return 1
    text = str(k["exec_reply"])
    item = {"id": "item_0", "type": "agent_message", "text": text}
    emit({"type": "item.completed", "item": item}, as_json)
    usage = {"input_tokens": 2310, "cached_input_tokens": 0, "output_tokens": 5}
    emit({"type": "turn.completed", "usage": usage}, as_json)
    if not as_json:
        print(text, flush=True)
    return 0


# --- entry -----------------------------------------------------------------------------------


def usage_error(argv: list[str]) -> int:
    eprint(f"error: fake codex does not implement: codex {' '.join(argv)}".rstrip())
    return 2


def dispatch(argv: list[str], k: dict[str, Any]) -> int:
    if argv[:1] in (["--version"], ["-V"]):
        codex_home(strict=False)
        print(k["version_line"], flush=True)
        return 0
    if argv == ["login"]:
        return cmd_login_browser(k)
    if argv == ["login", "--device-auth"]:
        return cmd_login_device(k)
    if argv == ["login", "status"]:
        return cmd_login_status()
    if argv == ["logout"]:
        return cmd_logout()
    if argv[:1] == ["exec"]:
        return cmd_exec(argv[1:], k)
    return usage_error(argv)


def main(argv: list[str]) -> int:
    k = knobs()
    if k["launcher"] and not os.environ.get(NATIVE_ENV):
        set_process_name("node")
        run_launcher(argv)
    set_process_name("codex")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    if k["ignores_hangup"]:  # the launcher forwards the hang-up; this one shrugs it off
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    time.sleep(float(k["startup_delay_s"]))
    if argv == ["login"]:
        time.sleep(float(k["login_delay_s"]))
    if k["warning"]:
        eprint(f"WARNING: {k['warning']}")
    return dispatch(argv, k)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
