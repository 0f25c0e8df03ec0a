"""The plain-terminal commands besides login: status, doctor, push-auth, logout. Thin: the work
is in core; login is in cli_login."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from ..core import clock
from ..core.doctor import DoctorReport, Verdict, run_doctor
from ..core.files import atomic_write
from ..core.flow import LoginFlow
from ..core.logins.formats import json_line, nagios_report, prometheus_text
from ..core.logins.fresh import FreshLoginError, LocalCodex, find_local_codex, fresh_auth
from ..core.logins.push import PushError, load_local_auth, local_auth_path
from ..core.logins.sharers import copy_warning, find_sharers, logout_notice
from ..core.logins.status import HostStatus, check_host, fleet_exit_code, local_login
from ..core.logins.workers import CheckJob, check_fleet_spread
from ..core.server.events import LoginSucceeded, SessionEvent, SuspiciousUrl, UrlReady
from ..core.server.probe import ProbeError
from ..core.services import Services
from ..core.ssh.hosts import HostArgError, HostTarget, config_targets
from ..core.ssh.types import ConnectError
from ..core.tokens.auth import AuthKind
from ..core.tokens.state import TokenState
from ..errors import EXIT_ATTENTION, EXIT_OK, EXIT_USAGE, UserError, parse_target
from .login import expiry_line
from .targets import command_targets
from .terminal import TerminalPrompter, ask_yes_no, connect_settings, say, show_copyable

MARKS = {Verdict.PASS: "ok  ", Verdict.WARN: "warn", Verdict.FAIL: "FAIL", Verdict.SKIP: "skip"}


# --------------------------------------------------------------------------------- status


async def _status_targets(args: argparse.Namespace) -> list[HostTarget]:
    if args.hosts or args.inventory:
        return await command_targets(args, args.hosts)

    def skipped(name: str, exc: HostArgError) -> None:
        print(f"codex-wizard: skipped ssh_config Host {name!r}: {exc}", file=sys.stderr)

    targets = config_targets(args.ssh_config, skipped)
    if not targets:
        raise UserError("no hosts: name some, or add Host entries to ~/.ssh/config.")
    return targets


def _status_row(result: HostStatus, now: datetime) -> str:
    detail = result.describe(now)
    auth = result.auth
    if auth and auth.kind is AuthKind.CHATGPT and result.state is not TokenState.ERROR:
        detail = f"{detail}  ({auth.email_masked or '?'}, {auth.plan or '?'})"
    return f"{result.host:<24} {result.state.value:<10} {detail}"


class Progress:
    """'checked 7/50' on a terminal's stderr while hosts answer; with --format jsonl, each
    host's line on stdout as it answers. The counter is rewritten with carriage returns and
    cleared with spaces: no escape sequence, so a dumb terminal (TERM=dumb) shows it as well."""

    def __init__(self, total: int, *, stream: bool = False) -> None:
        self.total = total
        self.done = 0
        self.enabled = sys.stderr.isatty() and total > 1
        self.stream = stream
        self.shown = ""

    def tick(self, result: HostStatus) -> None:
        self.done += 1
        if self.stream:
            say(json_line(result, clock.now()))
        if self.enabled:
            self.shown = f"checked {self.done}/{self.total}"
            sys.stderr.write(f"\r{self.shown}")
            sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled and self.shown:
            sys.stderr.write("\r" + " " * len(self.shown) + "\r")
            sys.stderr.flush()


def _status_format(args: argparse.Namespace) -> str:
    if args.json and args.format not in (None, "json"):
        raise UserError("--json is --format json: give one of them.", EXIT_USAGE)
    return "json" if args.json else args.format or "table"


async def status_command(args: argparse.Namespace) -> int:
    form = _status_format(args)
    targets = await _status_targets(args)
    streamed = form == "jsonl" and args.output is None
    progress = Progress(len(targets), stream=streamed)
    job = CheckJob(
        connect_settings(args, interactive=False),
        codex_home=args.codex_home,
        warn_days=args.warn_days,
        timeout=args.timeout,
    )
    results = await check_fleet_spread(
        targets,
        job,
        on_result=progress.tick,
        local=await asyncio.to_thread(local_login, warn_days=args.warn_days),
    )
    progress.clear()
    now = clock.now()
    code, text = _status_text(results, form, now)
    if streamed:  # the lines are out; a host found sharing its login gets a newer one
        text = _json_lines([result for result in results if result.state is TokenState.SHARED], now)
    if args.output is None:
        if text:
            say(text.rstrip("\n"))
    else:
        _write_output(args.output, text)
    return code


def _status_text(results: Sequence[HostStatus], form: str, now: datetime) -> tuple[int, str]:
    """(exit code, the output) of status in one format."""
    if form == "nagios":
        return nagios_report(results, now)
    if form == "prometheus":  # the file was written: the hosts' states are in it
        return EXIT_OK, prometheus_text(results, now)
    if form == "json":
        text = json.dumps([result.as_json(now) for result in results], indent=2)
    elif form == "jsonl":
        text = _json_lines(results, now)
    else:
        text = "\n".join(_status_row(result, now) for result in results)
    return fleet_exit_code(results), text


def _json_lines(results: Sequence[HostStatus], now: datetime) -> str:
    return "".join(f"{json_line(result, now)}\n" for result in results)


def _write_output(path: Path, text: str) -> None:
    """--output: the whole text or nothing (a collector never reads half a file)."""
    try:
        atomic_write(path, text.encode(), mode=0o644)
    except OSError as exc:
        raise UserError(f"can't write {path}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------- doctor


def _print_doctor(report: DoctorReport) -> None:
    say(f"codex-wizard doctor: {report.host}")
    for check in report.checks:
        say(f"  [{MARKS[check.verdict]}] {check.name:<12} {check.found}")
        if check.fix and check.verdict in (Verdict.WARN, Verdict.FAIL):
            say(f"         {'':<12} fix: {check.fix}")
    say(f"Next: {report.recommendation()}")


async def doctor_command(args: argparse.Namespace) -> int:
    targets = await command_targets(args, [args.host])
    if len(targets) != 1:
        names = ", ".join(target.label() for target in targets)
        raise UserError(f"doctor checks one host; {args.host!r} is {names}.", EXIT_USAGE)
    target = targets[0]
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

PUSH_CHOICES = (
    "say which login to put on {host}: --fresh (a new login of its own, made here in the "
    "browser; recommended), --copy (this computer's own, then shared) or --from FILE."
)


def _open_flow(args: argparse.Namespace) -> LoginFlow:
    return LoginFlow(
        parse_target(args.host),
        connect_settings(args, interactive=False),
        Services(),
        TerminalPrompter(),
        codex_home=args.codex_home,
    )


async def _confirm_copy(args: argparse.Namespace, source: Path) -> None:
    """--copy: the sharing warning, then a yes (--yes, or y on a terminal); else UserError."""
    say(copy_warning(f"This computer ({source})", args.host))
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise UserError("not copied: add --yes to copy it anyway (no terminal to ask on).")
    if not await ask_yes_no("Copy it anyway?"):
        raise UserError("not copied.")


def _show_fresh_event(args: argparse.Namespace, services: Services, event: SessionEvent) -> None:
    if isinstance(event, UrlReady):
        say("Sign in in the browser (codex on this computer may have opened it already):")
        show_copyable(event.url)
        if args.open and not services.open_browser(event.url):
            say("(could not open a browser here: open the link above)")
    elif isinstance(event, SuspiciousUrl):
        say(event.warning)
    elif isinstance(event, LoginSucceeded):
        say(f"Signed in. Copying the new login to {args.host}…")


async def _fresh_login_data(
    args: argparse.Namespace, services: Services, codex: LocalCodex
) -> tuple[bytes, str]:
    say(f"Logging in with {codex.describe()} on this computer, in a temporary CODEX_HOME.")
    data = await fresh_auth(
        codex, lambda event: _show_fresh_event(args, services, event), timeout=args.timeout
    )
    return data, "a fresh login made on this computer"


async def _login_data(args: argparse.Namespace) -> tuple[bytes | None, str]:
    """The file's bytes and how to name it, for --copy and --from; (None, ...) for --fresh."""
    if args.fresh:
        return None, ""
    source = local_auth_path() if args.copy else args.source
    if source is None:
        raise UserError(PUSH_CHOICES.format(host=args.host), EXIT_USAGE)
    try:
        data = load_local_auth(source)
    except PushError as exc:
        raise UserError(str(exc)) from None
    if args.copy:
        await _confirm_copy(args, source)
    return data, str(source)


async def push_auth_command(args: argparse.Namespace) -> int:
    data, source = await _login_data(args)
    try:
        codex = find_local_codex() if data is None else None  # before connecting: fail fast
    except FreshLoginError as exc:
        raise UserError(str(exc)) from None
    flow = _open_flow(args)
    try:
        await flow.connect()  # first: a bad host or key fails before any browser sign-in
        if codex is not None:
            data, source = await _fresh_login_data(args, flow.services, codex)
        result = await flow.push(data)
    except (ConnectError, PushError, FreshLoginError) as exc:
        raise UserError(str(exc)) from None
    finally:
        await flow.close()
    say(f"Copied {source} to {flow.label}:{result.remote_path} (mode 0600).")
    if result.backup_path:
        say(f"The previous file is kept as {result.backup_path}.")
    say(f"codex on {flow.label} says: {result.login_status}")
    say(expiry_line(result.record))
    return EXIT_OK


# --------------------------------------------------------------------------------- logout


async def logout_command(args: argparse.Namespace) -> int:
    """Name the known copies of the host's login, ask, then `codex logout` there."""
    target = parse_target(args.host)
    say("Looking for other copies of its login (this computer, the ssh_config hosts)…")
    settings = connect_settings(args, interactive=False)
    # --accept-new-host-key is for the host named; the others are only looked at
    others = replace(settings, accept_new_host_key=False)

    def check(host: HostTarget, timeout: float) -> Awaitable[HostStatus]:
        chosen = settings if host == target else others
        return check_host(host, chosen, codex_home=args.codex_home, timeout=timeout)

    status, names, checked = await find_sharers(target, config_targets(args.ssh_config), check)
    say(logout_notice(status, names, checked=checked))
    if not args.yes and not await ask_yes_no(f"Log codex out on {status.host}?"):
        raise UserError("not logged out (add --yes when there is no terminal to ask on).")
    flow = _open_flow(args)
    try:
        await flow.connect()
        with contextlib.suppress(ProbeError):  # without it, the env finds codex itself
            await flow.run_probe()
        result = await flow.services.logout(flow.conn, flow.env)
    except ConnectError as exc:
        raise UserError(str(exc)) from None
    finally:
        await flow.close()
    said = result.error or result.last_line() or f"exit code {result.exit_code}"
    if not result.ok:
        raise UserError(f"codex logout on {flow.label} failed: {said}")
    say(f"codex logout on {flow.label}: {said}")
    return EXIT_OK
