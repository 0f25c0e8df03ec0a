"""The plain-terminal commands besides login: status, doctor, push-auth. Thin: the work is in
core; login is in cli_login."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from .cli_login import expiry_line
from .cli_terminal import TerminalPrompter, connect_settings, say
from .core.auth import AuthKind
from .core.doctor import DoctorReport, Verdict, run_doctor
from .core.flow import LoginFlow
from .core.hosts import HostArgError, HostTarget, list_config_hosts, parse_host_arg
from .core.push import PushError, load_local_auth, local_auth_path
from .core.services import Services
from .core.sshtypes import ConnectError
from .core.status import HostStatus, check_fleet, fleet_exit_code, local_login
from .core.tokenstate import TokenState
from .errors import EXIT_ATTENTION, EXIT_OK, UserError, parse_target

MARKS = {Verdict.PASS: "ok  ", Verdict.WARN: "warn", Verdict.FAIL: "FAIL", Verdict.SKIP: "skip"}


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
    detail = result.describe(now)
    auth = result.auth
    if auth and auth.kind is AuthKind.CHATGPT and result.state is not TokenState.ERROR:
        detail = f"{detail}  ({auth.email_masked or '?'}, {auth.plan or '?'})"
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
        local=await asyncio.to_thread(local_login, warn_days=args.warn_days),
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
    flow = LoginFlow(
        parse_target(args.host),
        connect_settings(args, interactive=False),
        Services(),
        TerminalPrompter(),
        codex_home=args.codex_home,
    )
    try:
        await flow.connect()
        result = await flow.push(data)
    except (ConnectError, PushError) as exc:
        raise UserError(str(exc)) from None
    finally:
        await flow.close()
    say(f"Copied {source} to {flow.label}:{result.remote_path} (mode 0600).")
    if result.backup_path:
        say(f"The previous file is kept as {result.backup_path}.")
    say(f"codex on {flow.label} says: {result.login_status}")
    say(expiry_line(result.record))
    return EXIT_OK
