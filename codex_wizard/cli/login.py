"""`codex-wizard login HOST --no-tui | --relay | --device-auth`: the login flow, as lines.

Thin: core.flow does the work and decides the outcome; this prints what changed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable

from ..core.fleet import FleetRun, HostOutcome
from ..core.flow import FlowError, LoginFlow, Prompter
from ..core.laptop.browser import open_in_browser
from ..core.laptop.seat import RemoteSeat
from ..core.logins.summary import logged_in_line
from ..core.preflight import Verdict
from ..core.progress import LoginMode, LoginPhase, LoginProgress
from ..core.sanitize import clip
from ..core.server.probe import ProbeResult
from ..core.server.shellenv import Where
from ..core.services import Services
from ..core.ssh.hosts import HostTarget
from ..core.ssh.types import ConnectError, ConnectSettings
from ..core.tokens.auth import AuthRecord
from ..core.tokens.state import describe_expiry
from ..errors import EXIT_ATTENTION, EXIT_INTERRUPTED, EXIT_OK, UserError
from .targets import command_targets
from .terminal import TerminalPrompter, connect_settings, say, show_copyable

WARNINGS_SHOWN, WARNING_CHARS = 5, 500
"""codex's first warnings are shown, each cut to a length: a server could print them without end."""

PHASE_LINES = {
    LoginPhase.CALLBACK: "The browser reached codex through the tunnel…",
    LoginPhase.MISMATCH: "codex answered 'State mismatch': that page came from an older login "
    "URL. Use the URL above (from this login). Still waiting…",
    LoginPhase.VERIFYING: "codex says it is logged in; reading its credentials back…",
}


def expiry_line(record: AuthRecord | None) -> str:
    if record is None:
        return ""
    if record.access is None or record.access.expires_at is None:
        return f"Logged in ({record.kind}); expiry unknown: {record.problem or ''}".rstrip(": ")
    when = record.access.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"Access token expires {when} ({describe_expiry(record.access.expires_at)})."


def server_line(probe: ProbeResult) -> str:
    """'Server: Linux x86_64, node 22.1.0, codex 0.169.0 (found in the login shell (bash))';
    a tool without a version is left out (codex: 'no working codex')."""
    system = " ".join(filter(None, (probe.os, probe.arch)))
    tools = [f"{tool.name} {tool.version}" for tool in (probe.node, probe.codex) if tool.version]
    if not probe.codex.version:
        tools.append("no working codex")
    elif probe.codex.where is not Where.PATH:
        tools[-1] += f" (found in the {probe.found_in(probe.codex)})"
    return f"Server: {system}, {', '.join(tools)}"


class ProgressPrinter:
    """Prints what changed in the flow since the last call: the URL or device code once, the
    probe's server line once, phase changes, relay notes and codex's warnings."""

    def __init__(self, *, open_browser: bool, tunnel: bool) -> None:
        self.open_browser = open_browser
        self.tunnel = tunnel
        self.shown = LoginProgress()
        self.probe_shown = False
        self.checks_shown = False
        self.warnings_shown = 0
        self.forward_shown = False

    def __call__(self, flow: LoginFlow) -> None:
        if flow.ssh_forward is not None and not self.forward_shown:
            self.forward_shown = True
            say(
                f"Port {flow.ssh_forward.listen_port} here is your own "
                f"{flow.ssh_forward.describe()}: it reaches codex on {flow.label}, so the "
                "browser's answer goes through it (keep it running until the login ends)."
            )
        if flow.probe is not None and not self.probe_shown:
            self.probe_shown = True
            say(server_line(flow.probe))
        if flow.checks and not self.checks_shown:
            self.checks_shown = True
            for check in flow.checks:
                if check.verdict is Verdict.WARN:
                    say(f"warning: {check.found}. {check.fix}".rstrip(" ."))
        before, now = self.shown, flow.progress
        self.shown = now
        if now.url and now.url != before.url:
            self._show_url(now, flow.label)
        if now.device_code and now.device_code != before.device_code:
            self._show_device_code(now)
        relayed = not self.tunnel and now.phase is LoginPhase.CALLBACK  # relay_note says it
        if now.phase is not before.phase and now.phase in PHASE_LINES and not relayed:
            say(PHASE_LINES[now.phase])
        if now.warning and now.warning != before.warning:
            say(now.warning)
        if now.relay_note and now.relay_note != before.relay_note:
            say(now.relay_note)
        for line in (
            now.output[len(before.output) :] if len(now.output) > len(before.output) else ()
        ):
            if line.startswith("WARNING") and self.warnings_shown < WARNINGS_SHOWN:
                self.warnings_shown += 1
                say(f"codex: {clip(line, WARNING_CHARS)}")

    def _show_url(self, progress: LoginProgress, label: str) -> None:
        port = progress.port
        if self.tunnel and not self.forward_shown:
            say(f"Tunnel: 127.0.0.1:{port} here -> {label} 127.0.0.1:{port}")
        if progress.browser_out_of_reach and port is not None:
            _say_browser_out_of_reach(progress.browser_out_of_reach, port)
        say("Open this URL in your browser and sign in:")
        show_copyable(progress.url or "")
        if self.open_browser:
            _open(progress.url or "")
        say("Waiting for the browser… (Ctrl-C to give up)")

    def _show_device_code(self, progress: LoginProgress) -> None:
        url = progress.device_url or ""
        say(f"Open {url} in your browser, sign in, and enter this one-time code:")
        show_copyable(progress.device_code or "")
        if self.open_browser:
            _open(url)
        say("Waiting for you to approve it (the code expires in 15 minutes)…")


def _open(url: str) -> None:
    """--open: the browser, or a word that none could be started from here."""
    if not open_in_browser(url):
        say("(--open: no browser can be started from here, no display: open it yourself)")


def _say_browser_out_of_reach(seat: RemoteSeat, port: int) -> None:
    """Before the URL: it won't work by itself from here; what will."""
    say(f"Note: {seat.warning(port)} Either:")
    say("  - first run this on your own computer, and keep it open:")
    say(seat.forward_command(port))
    say("  - or stop (Ctrl-C) and log in without a tunnel: add --relay (paste the address")
    say("    the browser ends on) or --device-auth (a one-time code).")


def login_mode(args: argparse.Namespace) -> LoginMode:
    if args.relay:
        return LoginMode.RELAY
    if args.device_auth:
        return LoginMode.DEVICE
    return LoginMode.TUNNEL


async def login_command(
    args: argparse.Namespace,
    *,
    prompter: Prompter | None = None,
    local_port_for: Callable[[int], int] = lambda port: port,
) -> int:
    """The login on the terminal, of one host or of several in turn; prompter and
    local_port_for are the tests' seams."""
    targets = await command_targets(args, args.hosts)  # a bad one stops before any login
    prompter = prompter or TerminalPrompter()
    settings = connect_settings(args, interactive=False)  # one key passphrase for every host

    async def login_on(target: HostTarget) -> tuple[str, LoginProgress]:
        return await _login_on(target, args, settings, prompter, local_port_for)

    if len(targets) > 1:
        return await login_fleet(FleetRun(targets), login_on)
    try:
        label, progress = await login_on(targets[0])
    except (ConnectError, FlowError) as exc:
        raise UserError(str(exc)) from None
    say(logged_in_line(label, progress.record))
    return EXIT_OK


async def _login_on(
    target: HostTarget,
    args: argparse.Namespace,
    settings: ConnectSettings,
    prompter: Prompter,
    local_port_for: Callable[[int], int],
) -> tuple[str, LoginProgress]:
    """One host's login, verified; raises ConnectError or FlowError. Nothing is left running
    on the server when it returns or raises (Ctrl-C included)."""
    mode = login_mode(args)
    flow = LoginFlow(
        target,
        settings,
        Services(),
        prompter,
        codex_home=args.codex_home,
        local_port_for=local_port_for,
        on_change=ProgressPrinter(open_browser=args.open, tunnel=mode is LoginMode.TUNNEL),
    )
    say(f"Connecting to {target.label()}…")
    try:
        await flow.connect()
        return flow.label, await flow.run(mode, timeout=args.timeout)
    finally:
        await flow.close()


async def login_fleet(
    fleet: FleetRun, login_on: Callable[[HostTarget], Awaitable[tuple[str, LoginProgress]]]
) -> int:
    """Each host in turn (a failure goes on to the next), then the table of outcomes.

    Exit 0 only when every host is logged in. Ctrl-C stops the host under way cleanly (its
    flow closes: no `codex login` left on the server), marks the rest not run, and still
    prints the table.
    """
    current: HostTarget | None = None
    try:
        while (current := fleet.next_after(current)) is not None:
            say(f"\n[{fleet.position(current)}/{len(fleet)}] {current.label()}")
            try:
                label, progress = await login_on(current)
            except (ConnectError, FlowError) as exc:
                fleet.record(HostOutcome.failed(current, str(exc)))
                print(f"codex-wizard: {current.label()}: {exc}", file=sys.stderr)
            else:
                fleet.record(HostOutcome.logged_in(current, progress.record))
                say(logged_in_line(label, progress.record))
    except asyncio.CancelledError:
        _uncancel()
        fleet.stop(current)
        _print_fleet(fleet)
        print("codex-wizard: cancelled.", file=sys.stderr)
        return EXIT_INTERRUPTED
    _print_fleet(fleet)
    return EXIT_OK if fleet.all_logged_in else EXIT_ATTENTION


def _uncancel() -> None:
    """Ctrl-C was handled here: the command ends with its table, not as a cancelled task."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def _print_fleet(fleet: FleetRun) -> None:
    say()
    for line in fleet.report():
        say(line)
