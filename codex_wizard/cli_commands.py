"""The plain-terminal commands: login --no-tui, status, doctor. Thin: the work is in core."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import threading
import webbrowser
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from .cli import EXIT_ATTENTION, EXIT_OK, UserError, parse_target
from .core.auth import AuthKind, AuthRecord, TokenState, describe_expiry
from .core.authfile import read_remote_auth
from .core.clipboard import copy_text
from .core.connection import ConnectError, ConnectSettings, HostKeyInfo, connect
from .core.doctor import DoctorReport, Verdict, check_codex, check_node, run_doctor
from .core.hosts import HostArgError, HostTarget, list_config_hosts, parse_host_arg
from .core.login import (
    CallbackSeen,
    DeviceAuthDisabled,
    DeviceCodeReady,
    ForwardRefused,
    LoginCancelled,
    LoginError,
    LoginEvent,
    LoginExited,
    LoginSession,
    LoginSucceeded,
    OutputLine,
    PortsBusy,
    StateMismatch,
    SuspiciousUrl,
    TokenExchangeFailed,
    UrlReady,
    url_state,
)
from .core.ports import (
    CODEX_PORTS,
    cancel_pending_login,
    local_port_owners,
    port_is_free,
    wait_port_free,
)
from .core.probe import ProbeError, ProbeResult, ServerEnv, probe_server
from .core.push import PushError, load_local_auth, local_auth_path, push_auth
from .core.relay import PastedAddressError, replay_on_server, validate_pasted_callback
from .core.status import HostStatus, check_fleet, fleet_exit_code
from .core.tunnel import ForwardingState, check_forwarding

MARKS = {Verdict.PASS: "ok  ", Verdict.WARN: "warn", Verdict.FAIL: "FAIL", Verdict.SKIP: "skip"}


def say(text: str = "") -> None:
    print(text, flush=True)


async def ask_yes_no(question: str) -> bool:
    """A y/N question on the terminal; no terminal means no.

    Read like read_line (a daemon thread): Ctrl-C at the question leaves at once. With
    asyncio.to_thread(input) asyncio.run waited at exit for that thread, that is for Enter.
    """
    if not sys.stdin.isatty():
        return False
    answer = await read_line(f"{question} [y/N] ")
    return (answer or "").strip().lower() in ("y", "yes")


async def confirm_host_key_on_terminal(key: HostKeyInfo) -> bool:
    say(f"The authenticity of host {key.host_label} can't be established.")
    say(f"{key.key_type} key fingerprint is {key.fingerprint}.")
    return await ask_yes_no(f"Trust it and add it to {key.known_hosts}?")


def connect_settings(args: argparse.Namespace, *, interactive: bool) -> ConnectSettings:
    return ConnectSettings(
        ssh_config=args.ssh_config,
        accept_new_host_key=args.accept_new_host_key,
        connect_timeout=args.connect_timeout,
        confirm_host_key=confirm_host_key_on_terminal if interactive else None,
    )


# --------------------------------------------------------------------------------- login


def _expiry_line(record: AuthRecord) -> str:
    if record.access is None or record.access.expires_at is None:
        return f"Logged in ({record.kind}); expiry unknown: {record.problem or ''}".rstrip(": ")
    when = record.access.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"Access token expires {when} ({describe_expiry(record.access.expires_at)})."


async def _free_local_port(port: int) -> None:
    """Make sure the browser's port is free here, stopping a pending codex login on a yes."""
    if port_is_free(port):  # a bind test: far cheaper than psutil's scan of every socket
        return
    owner = (await asyncio.to_thread(local_port_owners, [port])).get(port)
    if owner is None:
        return
    say(f"Port {port} on this computer is held by {owner.describe()}.")
    if not await ask_yes_no("If that is a pending Codex login, stop it (it gets GET /cancel)?"):
        raise UserError(f"port {port} is busy here: stop {owner.describe()} and try again.")
    if not (await cancel_pending_login(port) and await wait_port_free(port)):
        raise UserError(f"{owner.describe()} did not let go of port {port}; stop it by hand.")
    say(f"Stopped it; port {port} is free.")


def _install_problem(probe) -> str | None:
    for check in (check_node(probe.node), check_codex(probe.codex)):
        if check.verdict is Verdict.FAIL:
            return f"{check.found}. {check.fix}".strip()
    return None


class LoginPrinter:
    """Turns login events into lines; remembers how it ended."""

    def __init__(self, label: str, open_browser: bool, *, tunnel: bool = True) -> None:
        self.label = label
        self.open_browser = open_browser
        self.tunnel = tunnel
        self.failure: str | None = None
        self.succeeded = False
        self.last_output = ""
        self.on_url: Callable[[UrlReady], asyncio.Task[None]] | None = None
        self._helpers: list[asyncio.Task[None]] = []

    def stop_helpers(self) -> None:
        for task in self._helpers:
            task.cancel()

    def show(self, event: LoginEvent) -> None:
        match event:
            case UrlReady(url=url, port=port):
                self._show_url(url, port)
                if self.on_url:
                    self._helpers.append(self.on_url(event))
            case DeviceCodeReady(verification_url=url, code=code):
                self._show_device_code(url, code)
            case DeviceAuthDisabled(message=message):
                self.failure = message
            case SuspiciousUrl():
                say(event.warning)
            case CallbackSeen():
                say("The browser reached codex through the tunnel…")
            case StateMismatch():
                say(
                    "codex answered 'State mismatch': that page came from an older login URL. "
                    "Use the URL above (from this login). Still waiting…"
                )
            case TokenExchangeFailed(message=message):
                self.failure = f"codex could not exchange the code for tokens: {message}"
            case LoginCancelled():
                self.failure = "the login was cancelled (another codex login took over the port?)"
            case PortsBusy(message=message) | LoginError(message=message):
                self.failure = message
            case ForwardRefused(detail=detail):
                self.failure = detail
            case LoginSucceeded():
                self.succeeded = True
            case OutputLine(text=text) if text.startswith("WARNING"):
                say(f"codex: {text}")
            case OutputLine(text=text) if text.strip():
                self.last_output = text.strip()[:300]

    def _show_url(self, url: str, port: int) -> None:
        if self.tunnel:
            say(f"Tunnel: 127.0.0.1:{port} here -> {self.label} 127.0.0.1:{port}")
        say("Open this URL in your browser and sign in:")
        self._show_copyable(url)
        if self.open_browser:
            webbrowser.open(url)
        say("Waiting for the browser… (Ctrl-C to give up)")

    def _show_device_code(self, url: str, code: str) -> None:
        say(f"Open {url} in your browser, sign in, and enter this one-time code:")
        self._show_copyable(code)
        if self.open_browser:
            webbrowser.open(url)
        say("Waiting for you to approve it (the code expires in 15 minutes)…")

    def _show_copyable(self, text: str) -> None:
        say()
        say(text)
        say()
        copied = {"clipboard": "(copied to the clipboard)", "osc52": "(copied via the terminal)"}
        say(copied.get(copy_text(text), "(no clipboard here: copy it from above)"))


PROBE_DELAY = 1.0  # s after codex login started, if it has printed no URL by then


class ProbeUnavailable(UserError):
    """The probe could not run (e.g. the connection dropped): the login's own outcome stands."""


class ServerCheck:
    """The install probe, started once codex login has printed its URL (or after PROBE_DELAY).

    The URL does not wait for the probe, and the probe's own work on the server (a login shell,
    node/npm/codex --version) does not compete with codex login's start. Install problems still
    end the session, and explain a failed login better than its own output does.
    """

    def __init__(self, conn) -> None:
        self._go = asyncio.Event()
        self.task: asyncio.Task[ProbeResult] = asyncio.create_task(self._run(conn))

    def start_now(self) -> None:
        self._go.set()

    async def _run(self, conn) -> ProbeResult:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._go.wait(), PROBE_DELAY)
        try:
            found = await probe_server(conn)
        except ProbeError as exc:
            raise ProbeUnavailable(str(exc)) from None
        return _usable_server(conn.label, found)

    def found_install_problem(self) -> bool:
        """The probe has finished and found codex or node unusable."""
        task = self.task
        if not task.done() or task.cancelled():
            return False
        error = task.exception()
        return isinstance(error, UserError) and not isinstance(error, ProbeUnavailable)

    async def result(self) -> ProbeResult:
        self.start_now()
        return await self.task

    def cancel(self) -> None:
        self.task.cancel()


async def _follow(session: LoginSession, printer: LoginPrinter, server: ServerCheck) -> LoginExited:
    async for event in session.events():
        printer.show(event)
        if isinstance(event, UrlReady | DeviceCodeReady) or printer.failure:
            server.start_now()
        if isinstance(event, LoginExited):
            return event
        if printer.failure and isinstance(event, PortsBusy | ForwardRefused):
            return LoginExited(None, printer.failure)
    raise AssertionError("events() ends with LoginExited")


async def _follow_checked(
    session: LoginSession, printer: LoginPrinter, server: ServerCheck
) -> LoginExited:
    """Follow the login while the probe runs; an install problem ends it (UserError)."""
    follower = asyncio.create_task(_follow(session, printer, server))
    try:
        await asyncio.wait({follower, server.task}, return_when=asyncio.FIRST_COMPLETED)
        if not follower.done() and server.found_install_problem():
            server.task.result()  # raises the install problem
        exited = await follower
        if printer.succeeded or session.server.ssh.is_closed():
            with contextlib.suppress(UserError):
                await server.result()  # the Server line; the login's own outcome stands
        else:
            await server.result()  # "codex not installed" says more than codex's own exit
        return exited
    finally:
        follower.cancel()


async def login_command(args: argparse.Namespace) -> int:
    target = parse_target(args.host)
    settings = connect_settings(args, interactive=True)
    say(f"Connecting to {target.label()}…")
    try:
        conn = await connect(target, settings)
    except ConnectError as exc:
        raise UserError(str(exc)) from None
    async with conn:
        return await _login_on(conn, args)


async def _login_on(conn, args: argparse.Namespace) -> int:
    tunnel = not (args.relay or args.device_auth)
    forwarding = asyncio.create_task(check_forwarding(conn.ssh, CODEX_PORTS[0]))
    if tunnel:
        await _free_local_port(CODEX_PORTS[0])
    printer = LoginPrinter(conn.label, args.open, tunnel=tunnel)
    env = ServerEnv(codex_home=args.codex_home, auto_path=True)
    async with LoginSession(conn, env, forward=tunnel, device_auth=args.device_auth) as session:
        server = ServerCheck(conn)
        try:
            check = await forwarding
            if tunnel and check.state is ForwardingState.REFUSED:
                await server.result()  # an install problem first, as before
                raise UserError(
                    f"{conn.label}: {check.detail}. Log in without a tunnel: add --relay "
                    "(paste the address the browser ends on) or --device-auth."
                )
            if args.relay:
                printer.on_url = lambda event: _start_relay(session, conn, server, env, event)
            try:
                async with asyncio.timeout(args.timeout):
                    exited = await _follow_checked(session, printer, server)
            except TimeoutError:
                raise UserError(
                    f"no login within {args.timeout:g} s; stopped codex login."
                ) from None
            finally:
                printer.stop_helpers()
        finally:
            server.cancel()
    return await _report_login(conn, env, printer, exited)


def _usable_server(label: str, found: ProbeResult) -> ProbeResult:
    problem = _install_problem(found)
    if problem:
        raise UserError(f"{label}: {problem}")
    say(_server_line(found))
    return found


def _start_relay(
    session: LoginSession, conn, server: ServerCheck, env: ServerEnv, event: UrlReady
) -> asyncio.Task[None]:
    return asyncio.create_task(_relay_pasted(session, conn, server, env, event))


async def _relay_pasted(
    session, conn, server: ServerCheck, env: ServerEnv, event: UrlReady
) -> None:
    """Read pasted addresses until one is relayed to codex on the server."""
    state = url_state(event.url) or ""
    say(
        "After you sign in, the browser ends on an address starting with "
        f"http://127.0.0.1:{event.port}/auth/callback that does not load. "
        "Copy that whole address and paste it here."
    )
    while True:
        line = await read_line("Address: ")
        if line is None:
            say("(no input: waiting for codex)")
            return
        try:
            callback = validate_pasted_callback(line, state=state, port=event.port)
        except PastedAddressError as exc:
            say(str(exc))
            continue
        tools = (await server.result()).tools
        result = await replay_on_server(conn, callback, tools, env)
        if result.status is None:
            say(f"Could not reach codex's login server on {conn.label}: {result.body[:200]}")
            continue
        if result.status == 400 and "State mismatch" in result.body:
            say("codex answered 'State mismatch': paste the address from this login's URL.")
            continue
        say(f"Relayed with {result.client} on {conn.label}; codex is finishing the login…")
        return


async def read_line(prompt: str) -> str | None:
    """One line from stdin without blocking the event loop (None at end of input).

    A daemon thread does the blocking read, so leaving never waits on the terminal. It reads
    fd 0 with os.read, not through sys.stdin: a thread blocked inside sys.stdin's buffer holds
    its lock, and Ctrl-C at the prompt then aborted the interpreter at exit ("Fatal Python
    error: could not acquire lock for <stdin>", SIGABRT, a core dump instead of exit 130).
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str | None] = loop.create_future()

    def reader() -> None:
        text = _read_fd0_line()
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            loop.call_soon_threadsafe(lambda: answer.done() or answer.set_result(text))

    say_inline(prompt)
    threading.Thread(target=reader, daemon=True).start()
    return await answer


_stdin_pending = bytearray()  # read from fd 0 after the last line read_line returned


def _read_fd0_line() -> str | None:
    """The next line of fd 0 (None at end of input), through our own small buffer."""
    while b"\n" not in _stdin_pending:
        try:
            chunk = os.read(0, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            if not _stdin_pending:
                return None
            _stdin_pending.extend(b"\n")
            break
        _stdin_pending.extend(chunk)
    line, _, rest = bytes(_stdin_pending).partition(b"\n")
    _stdin_pending[:] = rest
    return line.decode("utf-8", "replace").rstrip("\r")


def say_inline(text: str) -> None:
    print(text, end="", flush=True)


def _server_line(probe) -> str:
    where = " (login-shell PATH)" if probe.codex.via_login_shell else ""
    return (
        f"Server: {probe.os} {probe.arch}, node {probe.node.version}, "
        f"codex {probe.codex.version}{where}"
    )


def _exit_reason(exited: LoginExited, last_output: str) -> str:
    said = f"; its last words: {last_output!r}" if last_output else ""
    return f"codex login ended (exit {exited.exit_code}) before the login finished{said}"


async def _report_login(conn, env: ServerEnv, printer: LoginPrinter, exited: LoginExited) -> int:
    if not (printer.succeeded and exited.exit_code == 0):
        reason = printer.failure or exited.reason or _exit_reason(exited, printer.last_output)
        raise UserError(f"login failed: {reason}")
    record = await read_remote_auth(conn, env.auth_path())
    if record.kind is not AuthKind.CHATGPT:
        # codex also says "Successfully logged in" when only /success was fetched.
        raise UserError(
            f"codex said it logged in, but {env.auth_path()} on {conn.label} holds no ChatGPT "
            f"login ({record.problem or record.kind.value}). Run the login again."
        )
    say(f"Logged in on {conn.label}. {_expiry_line(record)}")
    return EXIT_OK


# --------------------------------------------------------------------------------- status


def _status_targets(args: argparse.Namespace) -> list[HostTarget]:
    if args.hosts:
        return [parse_target(name) for name in args.hosts]  # typed: a bad one is a usage error
    targets: list[HostTarget] = []
    for name in list_config_hosts(args.ssh_config):
        try:
            targets.append(parse_host_arg(name))
        except HostArgError as exc:  # one odd Host line must not stop the whole fleet
            print(f"codex-wizard: skipped ssh_config Host {name!r}: {exc}", file=sys.stderr)
    if not targets:
        raise UserError("no hosts: name some, or add Host entries to ~/.ssh/config.")
    return targets


def _status_row(result: HostStatus, now: datetime) -> str:
    auth = result.auth
    if result.error and not auth:
        detail = result.error
    elif result.state is TokenState.LOGGED_OUT:
        detail = "not logged in"
    elif result.state is TokenState.API_KEY:
        detail = f"API key {auth.api_key_masked} (not a ChatGPT login)"
    elif auth and auth.access and auth.access.expires_at:
        detail = describe_expiry(auth.access.expires_at, now)
        detail = f"{detail}  ({auth.email_masked or '?'}, {auth.plan or '?'})"
    else:
        detail = (auth.problem if auth else None) or "unreadable"
    return f"{result.host:<24} {result.state.value:<10} {detail}"


class Progress:
    """'checked 7/50' on a terminal's stderr while hosts answer."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.enabled = sys.stderr.isatty() and total > 1

    def tick(self, _result: HostStatus) -> None:
        self.done += 1
        if self.enabled:
            sys.stderr.write(f"\rchecked {self.done}/{self.total}")
            sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


async def status_command(args: argparse.Namespace) -> int:
    targets = _status_targets(args)
    progress = Progress(len(targets))
    results = await check_fleet(
        targets,
        connect_settings(args, interactive=False),
        codex_home=args.codex_home,
        warn_days=args.warn_days,
        timeout=args.timeout,
        on_result=progress.tick,
    )
    progress.clear()
    _print_status(results, as_json=args.json)
    return fleet_exit_code(results)


def _print_status(results: Sequence[HostStatus], *, as_json: bool) -> None:
    now = datetime.now(UTC)
    if as_json:
        say(json.dumps([result.as_json(now) for result in results], indent=2))
        return
    for result in results:
        say(_status_row(result, now))


# --------------------------------------------------------------------------------- doctor


def _print_doctor(report: DoctorReport) -> None:
    say(f"codex-wizard doctor: {report.host}")
    for check in report.checks:
        say(f"  [{MARKS[check.verdict]}] {check.name:<12} {check.found}")
        if check.fix and check.verdict in (Verdict.WARN, Verdict.FAIL):
            say(f"         {'':<12} fix: {check.fix}")
    say(f"Next: {report.recommendation()}")


async def doctor_command(args: argparse.Namespace) -> int:
    target = parse_target(args.host)
    report = await run_doctor(
        target,
        connect_settings(args, interactive=not args.json),
        codex_home=args.codex_home,
    )
    if args.json:
        say(json.dumps(report.as_json(), indent=2))
    else:
        _print_doctor(report)
    return EXIT_OK if report.ok else EXIT_ATTENTION


# --------------------------------------------------------------------------------- push-auth


async def push_auth_command(args: argparse.Namespace) -> int:
    source = args.source or local_auth_path()
    try:
        data = load_local_auth(source)
    except PushError as exc:
        raise UserError(str(exc)) from None
    target = parse_target(args.host)
    try:
        conn = await connect(target, connect_settings(args, interactive=True))
    except ConnectError as exc:
        raise UserError(str(exc)) from None
    async with conn:
        env = ServerEnv(codex_home=args.codex_home, auto_path=True)
        try:
            result = await push_auth(conn, env, data)
        except PushError as exc:
            raise UserError(str(exc)) from None
    say(f"Copied {source} to {conn.label}:{result.remote_path} (mode 0600).")
    if result.backup_path:
        say(f"The previous file is kept as {result.backup_path}.")
    say(f"codex on {conn.label} says: {result.login_status}")
    say(_expiry_line(result.record))
    return EXIT_OK
