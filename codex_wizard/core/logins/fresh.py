"""A fresh Codex login made on this computer, for a server: no tunnel, no forwarding.

The Codex CLI runs here (found on PATH, else through `npx -y @openai/codex`) with CODEX_HOME
set to a new private temporary folder (mkdtemp: 0700), so its `codex login` writes a login of
its own there; the browser is on this computer, so it reaches codex's 127.0.0.1:1455 directly.
The caller reads the new auth.json and pushes it (core.logins.push). Whatever way the login ends
(success, failure, timeout, Ctrl-C), the local codex is stopped and the folder deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from ..laptop.ports import LocalPortState, local_port_owners, local_port_state
from ..sanitize import printable
from ..server.events import (
    LoginCancelled,
    LoginError,
    LoginExited,
    LoginSucceeded,
    OutputLine,
    PortsBusy,
    SessionEvent,
    TokenExchangeFailed,
)
from ..server.login import DEFAULT_LOGIN_PORT, parse_login_line
from .push import PushError, load_local_auth

TEMP_PREFIX = "codex-wizard-fresh-"
STOP_TIMEOUT = 3.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# The credentials must land in the temporary auth.json, never in this computer's OS keyring.
FILE_STORE_CONFIG = 'cli_auth_credentials_store = "file"\n'
_FAILURES = (TokenExchangeFailed, LoginError, PortsBusy, LoginCancelled)


class FreshLoginError(Exception):
    """The fresh login did not happen; the message says why in one sentence."""


@dataclass(frozen=True)
class LocalCodex:
    """How to start the Codex CLI on this computer."""

    argv: tuple[str, ...]

    def describe(self) -> str:
        return " ".join(self.argv)


def find_local_codex(which: Callable[[str], str | None] = shutil.which) -> LocalCodex:
    """codex on PATH, else `npx -y @openai/codex` when npm is here; else FreshLoginError."""
    codex = which("codex")
    if codex:
        return LocalCodex((codex,))
    npx = which("npx")
    if npx:
        return LocalCodex((npx, "-y", "@openai/codex"))
    raise FreshLoginError(
        "A fresh login runs the Codex CLI on this computer, but neither codex nor npx (Node.js) "
        "is on this PATH: install Node.js or codex (npm install -g @openai/codex) here, or "
        "copy a login instead (--copy, --from FILE)."
    )


def port_problem(port: int = DEFAULT_LOGIN_PORT) -> str | None:
    """Why codex's login server can't have 127.0.0.1:port here, or None when it is free.

    Busy is refused rather than left to codex: codex would send GET /cancel to whatever holds
    it (perhaps another login in progress, e.g. a codex-wizard tunnel) and fall back to 1457.
    """
    state = local_port_state(port)
    if state is LocalPortState.FREE:
        return None
    if state is LocalPortState.EXCLUDED:
        return (
            f"Windows reserves 127.0.0.1:{port} on this computer (an excluded port range), "
            "so codex's login server can't listen there."
        )
    owner = local_port_owners([port]).get(port)
    who = owner.describe() if owner else f"another program on 127.0.0.1:{port}"
    return (
        f"127.0.0.1:{port} on this computer is in use ({who}); codex's login server needs it: "
        "finish or stop that, then try again."
    )


class FreshLogin:
    """`codex login` on this computer in a private temporary CODEX_HOME.

        async with FreshLogin(find_local_codex()) as login:
            async for event in login.events():
                ...  # UrlReady: show/open it; the failures end the stream
            data = login.auth_data()

    Leaving the block stops codex (its whole process group) and deletes the folder.
    """

    def __init__(self, codex: LocalCodex, port: int = DEFAULT_LOGIN_PORT) -> None:
        self.codex = codex
        self.port = port
        self.home: Path | None = None
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> FreshLogin:
        problem = await asyncio.to_thread(port_problem, self.port)
        if problem:
            raise FreshLoginError(problem)
        self.home = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))  # 0700, ours alone
        try:
            (self.home / "config.toml").write_text(FILE_STORE_CONFIG)
            self.process = await asyncio.create_subprocess_exec(
                *self.codex.argv,
                "login",
                env={**os.environ, "CODEX_HOME": str(self.home)},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as one
                preexec_fn=_death_signal_setter(),
            )
        except BaseException as exc:
            await self.close()
            if isinstance(exc, OSError):
                raise FreshLoginError(
                    f"could not start {self.codex.describe()} on this computer: "
                    f"{exc.strerror or exc}"
                ) from None
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def events(self) -> AsyncIterator[SessionEvent]:
        """What codex says, line by line (parsed like a remote login's), then LoginExited."""
        process = self.process
        assert process is not None and process.stdout is not None
        async for raw in process.stdout:
            line = printable(raw, keep_newlines=False).rstrip()
            yield parse_login_line(line) or OutputLine(line)
        yield LoginExited(await process.wait())

    def auth_data(self) -> bytes:
        """The auth.json codex wrote in the temporary home (checked to be a login)."""
        assert self.home is not None
        try:
            return load_local_auth(self.home / "auth.json")
        except PushError as exc:
            raise FreshLoginError(
                f"codex said it logged in, but left no usable auth.json: {exc}"
            ) from None

    async def close(self) -> None:
        """Stop codex's process group, delete the temporary home. Idempotent, never raises.

        Cancelled again while codex takes its time to stop (a wizard quitting cancels its
        workers more than once), the rest is done at once: SIGKILL, then the folder."""
        process, self.process = self.process, None
        home, self.home = self.home, None
        try:
            if process is not None:
                await _stop_group(process)
            if home is not None:
                await asyncio.to_thread(shutil.rmtree, home, True)
        except BaseException:
            if process is not None:
                _signal_group(process.pid, getattr(signal, "SIGKILL", signal.SIGTERM))
            if home is not None:
                shutil.rmtree(home, True)
            raise


def _death_signal_setter() -> Callable[[], None] | None:
    """On Linux, what the child runs before exec: SIGTERM when we die, even by SIGKILL or a
    closed terminal's SIGHUP (the npm launcher passes it on to the native codex). libc is
    looked up here, in the parent: a dlopen in the forked child of a threaded process can
    deadlock."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def die_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return die_with_parent


async def _stop_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the group (the npm launcher forwards it too), SIGKILL what is left."""
    if process.returncode is None:
        _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(process.wait()), STOP_TIMEOUT)
    _signal_group(process.pid, getattr(signal, "SIGKILL", signal.SIGTERM))  # a child left over
    with contextlib.suppress(ProcessLookupError):
        await process.wait()


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(pid, signum)
        else:  # Windows: no process groups
            os.kill(pid, signum)


async def fresh_auth(
    codex: LocalCodex,
    on_event: Callable[[SessionEvent], None],
    *,
    timeout: float,
    port: int = DEFAULT_LOGIN_PORT,
) -> bytes:
    """A whole fresh login: the new auth.json's bytes, the temporary home already gone.

    on_event sees each event (the face shows the URL, opens it, shows a SuspiciousUrl's
    warning). Raises FreshLoginError when codex fails, exits without success or times out.
    """
    async with FreshLogin(codex, port) as login:
        succeeded, failure, last = False, "", ""
        try:
            async with asyncio.timeout(timeout):
                async for event in login.events():
                    on_event(event)
                    if isinstance(event, LoginSucceeded):
                        succeeded = True
                    elif isinstance(event, _FAILURES):
                        failure = failure or _failure_text(event)
                    elif isinstance(event, OutputLine) and event.text:
                        last = event.text
                    elif isinstance(event, LoginExited) and not succeeded:
                        raise FreshLoginError(
                            failure or f"codex login exited ({event.exit_code}): {last or '-'}"
                        )
        except TimeoutError:
            raise FreshLoginError(f"no login within {timeout:g} s; stopped codex login.") from None
        return login.auth_data()


def _failure_text(event: SessionEvent) -> str:
    if isinstance(event, LoginCancelled):
        return "the login was cancelled (something sent codex's login server GET /cancel)."
    return getattr(event, "message", "") or "codex login failed."
