"""`codex-wizard install HOST [--standalone] [--version V]` and `verify HOST [--live]`."""

from __future__ import annotations

import argparse
import sys
import time

from ..core.install.plan import standalone_reason
from ..core.install.standalone import InstallProgress, install_standalone
from ..core.logins.authfile import read_remote_auth
from ..core.logins.livecheck import QUOTA_NOTE, live_check
from ..core.server.actions import install_codex, install_env, verify_login
from ..core.server.probe import ProbeError, ProbeResult, ServerEnv, probe_server
from ..core.ssh.connection import connect
from ..core.ssh.types import ConnectError
from ..core.tokens.state import describe_expiry
from ..errors import EXIT_ATTENTION, EXIT_OK, UserError, parse_target
from .terminal import connect_settings, say


async def _connected(args: argparse.Namespace):
    target = parse_target(args.host)
    say(f"Connecting to {target.label()}…")
    try:
        return await connect(target, connect_settings(args, interactive=True))
    except ConnectError as exc:
        raise UserError(str(exc)) from None


# --------------------------------------------------------------------------------- install


async def install_command(args: argparse.Namespace) -> int:
    async with await _connected(args) as conn:
        try:
            probe = await probe_server(conn)
        except ProbeError as exc:
            raise UserError(str(exc)) from None
        reason = standalone_reason(probe)
        if args.standalone or reason:
            return await _standalone(conn, probe, args, reason or "asked for with --standalone")
        if args.version:
            raise UserError(
                "--version is for the standalone install (npm installs the newest): "
                "add --standalone."
            )
        return await _npm(conn, probe, args)


async def _standalone(conn, probe: ProbeResult, args: argparse.Namespace, reason: str) -> int:
    say(f"Installing the standalone codex on {conn.label}: {reason}.")
    progress = ProgressPrinter()
    upload = "always" if args.upload else "auto"
    result = await install_standalone(
        conn,
        probe,
        version=args.version,
        registry=args.registry,
        upload=upload,
        on_progress=progress,
    )
    progress.end()
    if not result.ok:
        raise UserError(f"{conn.label}: standalone install failed: {result.summary()}")
    say(result.summary())
    if result.path_hint:
        say(result.path_hint.replace("HOST", conn.label))
    say(f"Next: codex-wizard login {conn.target.label()}")
    return EXIT_OK


async def _npm(conn, probe: ProbeResult, args: argparse.Namespace) -> int:
    env = install_env(probe, ServerEnv(codex_home=args.codex_home))
    say(f"Installing codex with npm on {conn.label} …")
    result = await install_codex(conn, env, on_line=say)
    if result.permission_error:
        say("npm may not write to its global folder: installing into ~/.local instead.")
        result = await install_codex(conn, env, user_prefix=True, on_line=say)
    if not result.ok:
        raise UserError(
            f"{conn.label}: {result.summary()} Or install codex without npm: "
            f"codex-wizard install {conn.target.label()} --standalone"
        )
    say(f"codex installed. Next: codex-wizard login {conn.target.label()}")
    return EXIT_OK


class ProgressPrinter:
    """Install progress on the terminal: one rewritten line on a TTY, else a line per phase
    and one every few seconds while bytes move."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.phase: object = None
        self.last = 0.0
        self.width = 0

    def __call__(self, progress: InstallProgress) -> None:
        text = progress.describe()
        if self.tty:
            sys.stdout.write("\r" + text.ljust(self.width))
            sys.stdout.flush()
            self.width = len(text)
            return
        now = time.monotonic()
        if progress.phase != self.phase or now - self.last >= 3:
            self.phase, self.last = progress.phase, now
            say(text)

    def end(self) -> None:
        if self.tty and self.width:
            sys.stdout.write("\n")


# --------------------------------------------------------------------------------- verify


async def verify_command(args: argparse.Namespace) -> int:
    env = ServerEnv(codex_home=args.codex_home, auto_path=True)
    async with await _connected(args) as conn:
        if not args.live:
            result = await verify_login(conn, env)
            say(f"codex on {conn.label}: {result.summary() or result.last_line()}")
            return EXIT_OK if result.logged_in else EXIT_ATTENTION
        say(QUOTA_NOTE)
        check = await live_check(conn, env, timeout=args.timeout)
        say(check.summary().replace("HOST", conn.target.label()))
        if check.ok:
            await _token_line(conn, env)
    return EXIT_OK if check.ok else EXIT_ATTENTION


async def _token_line(conn, env: ServerEnv) -> None:
    """A successful prompt may have renewed the token: show it as it is now."""
    record = await read_remote_auth(conn, env.auth_path())
    expires = record.access.expires_at if record.access else None
    if expires is not None:
        say(f"Access token expires {describe_expiry(expires)} (re-read after the prompt).")
