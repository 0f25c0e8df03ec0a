"""Command line: `codex-wizard` (the wizard), `login`, `status`, `doctor`.

The CLI is a thin face over codex_wizard.core; Textual is imported only when the wizard opens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import TextIO

from .. import __version__
from ..errors import EXIT_ATTENTION, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UserError
from ..startup import import_asyncssh_quickly
from .targets import add_inventory_options


def _common_options(*, in_subcommand: bool = False) -> argparse.ArgumentParser:
    """Options accepted before and after the subcommand.

    In a subcommand they default to SUPPRESS, so an option given before the subcommand is not
    reset by the subcommand's own default.
    """
    default = argparse.SUPPRESS if in_subcommand else None
    common = argparse.ArgumentParser(add_help=False, argument_default=default)
    common.add_argument(
        "-F", "--ssh-config", type=Path, help="ssh_config to read (default ~/.ssh/config)"
    )
    common.add_argument(
        "--accept-new-host-key",
        action="store_true",
        help="trust an unknown host key without asking (a changed key is always refused)",
    )
    common.add_argument(
        "--codex-home", help="CODEX_HOME on the server (default ~/.codex, or its CODEX_HOME)"
    )
    common.add_argument(
        "--connect-timeout",
        type=float,
        default=default if in_subcommand else 15.0,
        help="seconds to wait for the SSH handshake (15)",
    )
    common.add_argument(
        "--debug",
        action="store_true",
        help="show tracebacks for errors, and the round trips each connection waited on",
    )
    return common


COMMANDS = ("login", "status", "doctor", "push-auth", "logout", "install", "verify")
_VALUE_OPTIONS = {
    "--demo",
    "-F",
    "--ssh-config",
    "--codex-home",
    "--connect-timeout",
    "--timeout",
    "--warn-days",
    "--from",
    "--inventory",
    "--limit",
    "--format",
    "--output",
}


class _Subcommand(argparse.ArgumentParser):
    """A subcommand's parser: its --help opens with the one line saying what it does."""

    def format_help(self) -> str:
        line, self.description = self.description, None
        try:
            return f"{line}\n\n{super().format_help()}" if line else super().format_help()
        finally:
            self.description = line


def _command(sub, name: str, common: argparse.ArgumentParser, what: str) -> argparse.ArgumentParser:
    """A subcommand whose one-line `what` is both its entry in the list and its help's start."""
    return sub.add_parser(
        name, parents=[common], help=what, description=what[0].upper() + what[1:] + "."
    )


def build_parser() -> argparse.ArgumentParser:
    """The subcommands' parser: login, status, doctor, push-auth."""
    common = _common_options(in_subcommand=True)
    parser = argparse.ArgumentParser(
        prog="codex-wizard",
        description="Log the Codex CLI in on a headless server, over one SSH connection.",
        epilog="With no command, `codex-wizard [HOST]` opens the wizard.",
        parents=[_common_options()],
    )
    parser.add_argument("--version", action="version", version=f"codex-wizard {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Subcommand
    )

    login = _command(
        sub, "login", common, "log codex in on a server (several: each in turn, in the terminal)"
    )
    login.add_argument(
        "hosts", nargs="+", metavar="HOST", help="ssh_config Host, or user@host:port"
    )
    add_inventory_options(login)
    login.add_argument("--no-tui", action="store_true", help="plain terminal output")
    login.add_argument("--open", action="store_true", help="open the URL in the browser")
    login.add_argument("--timeout", type=float, default=600, help="seconds to wait (600)")
    way = login.add_mutually_exclusive_group()
    way.add_argument(
        "--relay",
        action="store_true",
        help="no tunnel: paste the address the browser ends on, we replay it on the server",
    )
    way.add_argument(
        "--device-auth", action="store_true", help="no tunnel: device-code login (codex's own)"
    )

    status = _command(sub, "status", common, "show the token state of codex's login on servers")
    status.add_argument(
        "hosts", nargs="*", help="hosts (default: every ssh_config Host; with --inventory: all)"
    )
    add_inventory_options(status)
    add_status_output_options(status)
    status.add_argument("--warn-days", type=float, default=3.0, help="'expiring' below this")
    status.add_argument("--timeout", type=float, default=20.0, help="per-host timeout (20 s)")

    doctor = _command(sub, "doctor", common, "check a server for codex's login, with fixes")
    doctor.add_argument("host", help="ssh_config Host, or user@host:port")
    add_inventory_options(doctor)
    doctor.add_argument("--json", action="store_true", help="machine-readable output")

    push = _command(sub, "push-auth", common, "put a Codex login on a server")
    push.add_argument("host", help="ssh_config Host, or user@host:port")
    which = push.add_mutually_exclusive_group()
    which.add_argument(
        "--fresh", action="store_true", help="a new login of its own, made here in the browser"
    )
    which.add_argument(
        "--copy", action="store_true", help="this computer's own login (then shared: warned)"
    )
    which.add_argument(
        "--from", dest="source", type=Path, metavar="FILE", help="an auth.json file to copy"
    )
    push.add_argument("--yes", action="store_true", help="--copy without asking")
    push.add_argument("--open", action="store_true", help="--fresh: open the URL in the browser")
    push.add_argument("--timeout", type=float, default=600, help="--fresh: seconds (600)")
    logout = _command(sub, "logout", common, "log codex out on a server (warned first)")
    logout.add_argument("host", help="ssh_config Host, or user@host:port")
    logout.add_argument("--yes", action="store_true", help="log out without asking")
    _add_install_commands(sub, common)
    return parser


def add_status_output_options(status: argparse.ArgumentParser) -> None:
    """status's machine formats: --json (one document), --format, --output."""
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--format",
        choices=("table", "json", "jsonl", "prometheus", "nagios"),
        help="table (default), json (= --json), jsonl (a line per host as it answers), "
        "prometheus (node_exporter textfile), nagios (a monitoring plugin: exit 0-3)",
    )
    status.add_argument(
        "--output", type=Path, metavar="FILE", help="write it to FILE, whole or not at all"
    )


def _add_install_commands(sub, common: argparse.ArgumentParser) -> None:
    """`install` and `verify` (cli/install.py)."""
    install = _command(sub, "install", common, "install codex on a server")
    install.add_argument("host", help="ssh_config Host, or user@host:port")
    install.add_argument(
        "--standalone", action="store_true", help="the standalone codex: no Node.js needed"
    )
    install.add_argument("--version", help="codex version for --standalone (default: latest)")
    install.add_argument("--registry", help="npm registry URL (default: the server's ~/.npmrc)")
    install.add_argument(
        "--upload", action="store_true", help="download here and upload (server offline)"
    )
    verify = _command(sub, "verify", common, "check that codex on a server is logged in")
    verify.add_argument("host", help="ssh_config Host, or user@host:port")
    verify.add_argument(
        "--live", action="store_true", help="send one short prompt (uses a little quota)"
    )
    verify.add_argument("--timeout", type=float, default=120.0, help="seconds for --live (120)")


def build_wizard_parser() -> argparse.ArgumentParser:
    """`codex-wizard [HOST] [--demo]`: the Textual wizard."""
    parser = argparse.ArgumentParser(
        prog="codex-wizard",
        description="Log the Codex CLI in on a headless server, over one SSH connection. "
        f"Commands: {', '.join(COMMANDS)} (codex-wizard COMMAND -h).",
        parents=[_common_options()],
    )
    parser.add_argument("--version", action="version", version=f"codex-wizard {__version__}")
    parser.add_argument(
        "--demo",
        nargs="?",
        const="healthy",
        metavar="SCENARIO",
        help="try the wizard on a demo server; SCENARIO names a situation (list: show them)",
    )
    parser.add_argument(
        "host",
        nargs="?",
        help="open the wizard on this host (with --inventory: list the hosts of this pattern)",
    )
    add_inventory_options(parser)
    parser.set_defaults(command=None)
    return parser


def _first_positional(argv: list[str]) -> str | None:
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
        elif arg in _VALUE_OPTIONS:
            skip_next = True
        elif not arg.startswith("-"):
            return arg
    return None


def parse_args(argv: list[str]) -> argparse.Namespace:
    if _first_positional(argv) not in COMMANDS:
        return build_wizard_parser().parse_args(argv)
    args = build_parser().parse_args(argv)
    if args.command == "login":
        args.host = args.hosts[0]  # the wizard and a one-host login take the first
    return args


class _StdoutUntilClosed:
    """sys.stdout that, once its reader has gone (`| head`), drops output instead of raising.

    As Python's docs advise for SIGPIPE, the file descriptor is pointed at devnull, so nothing
    is left to fail at exit either; the command runs on and ends with its usual exit code.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `codex-wizard` command; returns the exit code."""
    stdout = sys.stdout
    if not stdout.isatty():  # a terminal never closes under us; the wizard keeps its own
        sys.stdout = _StdoutUntilClosed(stdout)  # type: ignore[assignment]
    try:
        return _main(argv)
    finally:
        sys.stdout.flush()  # here, not at exit, where a closed pipe would print a traceback
        sys.stdout = stdout


def _main(argv: list[str] | None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _terminate_like_ctrl_c()
    try:
        return _dispatch(args)
    except UserError as exc:
        print(f"codex-wizard: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            print("\ncodex-wizard: cancelled.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"codex-wizard: unexpected error: {type(exc).__name__}: {exc} "
            "(run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_ATTENTION
    finally:
        if args.debug:
            _print_round_trips()


def _print_round_trips() -> None:
    """--debug: what each connection waited on the server for (core/ssh/server.py counts it)."""
    from ..core.ssh.server import tallies

    for tally in tallies():
        print(f"codex-wizard: {tally.summary()}", file=sys.stderr)


def _terminate_like_ctrl_c() -> None:
    """SIGTERM (kill, a session manager) and SIGHUP (the terminal was closed) clean up like
    Ctrl-C does: no `codex login` left on the server, no temporary login folder left here."""

    def interrupt(signum: int, frame: object) -> None:
        # Re-raised as SIGINT, so asyncio.run cancels the main task and its clean-up runs in
        # order (tunnels closed before their connections), exactly as for Ctrl-C. A background
        # job (`cmd &`) ignores SIGINT: then asyncio.run's own clean-up cancels the tasks.
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            raise KeyboardInterrupt
        signal.raise_signal(signal.SIGINT)

    if sys.platform != "win32":
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, interrupt)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command is None or (
        args.command == "login"
        and len(args.hosts) == 1
        and not (args.no_tui or args.relay or args.device_auth or args.inventory)
    ):
        if getattr(args, "demo", None):
            return _demo(args)
        if os.environ.get("TERM") != "dumb":
            # The wizard imports asyncssh itself, once its first screen is drawn (issue 6).
            return _run_wizard(args)
        args = _plain_login_instead(args)
    import_asyncssh_quickly()
    if args.command == "status":
        from .commands import status_command

        return asyncio.run(status_command(args))
    if args.command == "doctor":
        from .commands import doctor_command

        return asyncio.run(doctor_command(args))
    if args.command in ("install", "verify"):
        from . import install as cli_install

        return asyncio.run(getattr(cli_install, f"{args.command}_command")(args))
    if args.command in ("push-auth", "logout"):
        from . import commands as cli_commands

        return asyncio.run(getattr(cli_commands, f"{args.command.replace('-', '_')}_command")(args))
    from .login import login_command

    return asyncio.run(login_command(args))


def _demo(args: argparse.Namespace) -> int:
    """`--demo list` lists the scenarios; `--demo [SCENARIO]` opens the wizard on one."""
    from ..demo.scenarios import UnknownScenario, listing, scenario_named

    if args.demo == "list":
        print("\n".join(listing()))
        return EXIT_OK
    try:
        scenario_named(args.demo)
    except UnknownScenario as exc:
        raise UserError(str(exc), EXIT_USAGE) from None
    if os.environ.get("TERM") == "dumb":
        _plain_login_instead(args)  # says why the wizard can't run here
    return _run_wizard(args)


def _plain_login_instead(args: argparse.Namespace) -> argparse.Namespace:
    """TERM=dumb: no full-screen wizard; a host's login goes on in the plain terminal."""
    host = getattr(args, "host", None)
    if host is None or getattr(args, "demo", None):
        raise UserError(
            "TERM is dumb, so the full-screen wizard can't run here; log in on the plain "
            "terminal with `codex-wizard login HOST --no-tui`.",
            EXIT_USAGE,
        )
    print(
        "codex-wizard: TERM is dumb, so the full-screen wizard can't run here; "
        "logging in on the plain terminal instead (login --no-tui).",
        file=sys.stderr,
    )
    plain = build_parser().parse_args(["login", "--no-tui", host])
    names = ("ssh_config", "accept_new_host_key", "codex_home", "connect_timeout", "debug")
    for name in (*names, "inventory", "limit"):  # with --inventory, host is a pattern
        setattr(plain, name, getattr(args, name, None))
    plain.host = host
    return plain


def _run_wizard(args: argparse.Namespace) -> int:
    try:
        from ..tui.run import run_wizard
    except ImportError:
        raise UserError(
            "the wizard is not available in this build; use `codex-wizard login HOST --no-tui`."
        ) from None
    return run_wizard(args)
