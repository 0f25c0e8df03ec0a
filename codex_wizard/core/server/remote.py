"""A command on the server that we can always stop: the leader of its own process group.

sshd makes the session's shell the leader of a new process group (with a PTY or without). The
shell prints its pid first (PID_ECHO), then execs the command; stopping it kills that whole
group (TERM, then KILL), so nothing we started outlives us on the server, whatever way we leave.
Used by `codex login` (under a PTY) and by npm install / codex login status / logout.

Output is read in bounded chunks and cut into lines of at most MAX_LINE characters, and a
command that writes more than its `max_output` is stopped (`flooded`): whatever the server
writes, the laptop holds a bounded amount of it.

`run_guarded` runs a script (the probes) the same way, with a lifeline: the script's group is
killed on the server as soon as its stdin, the channel, ends, so nothing it started (a hung
`codex --version`, the subshells waiting on it) outlives our giving up, our exit, or the
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import asyncssh

from ..sanitize import clip, printable

if TYPE_CHECKING:
    from ..ssh.server import ServerConnection

PID_ECHO = 'echo "@@cwpid $$"; '
_PID = re.compile(r"^@@cwpid (\d+)$")
_PID_LINE = re.compile(r"^@@cwpid \d+\r?\n", re.MULTILINE)
KILL_TIMEOUT = 5.0
MAX_LINE = 4096
"""Characters kept of one output line (no line codex, npm or sh prints is longer)."""
MAX_OUTPUT = 4 * 1024 * 1024
"""Characters a command may write before it is stopped as a flood."""
KEPT_LINES = 200
"""The last lines of a command's output its caller keeps (for messages and results)."""
_CHUNK = 16384


class CommandEnv(Protocol):
    """What group_command needs of a ServerEnv (probe.py imports this module)."""

    def command(self, args: str) -> str: ...


def clean_line(raw: str) -> str:
    """A line of output made printable (no colours, escapes or carriage returns), without
    trailing space."""
    return printable(raw, keep_newlines=False).rstrip()


def group_command(env: CommandEnv, args: str) -> str:
    """`args` under POSIX `sh -c` (whatever the login shell is) with env's PATH/CODEX_HOME,
    after the shell has printed its pid (the process group to kill)."""
    return "exec sh -c " + shlex.quote(PID_ECHO + env.command(args))


def kill_group_script(pgid: int | str) -> str:
    """POSIX sh: TERM the process group, wait up to a second, then KILL what is left.

    `kill -s SIG --`: dash's kill takes no `--` after `-TERM`."""
    return (
        f"kill -s TERM -- -{pgid} 2>/dev/null || exit 0; "
        f"for i in 1 2 3 4 5 6 7 8 9 10; do kill -s 0 -- -{pgid} 2>/dev/null || exit 0; "
        f"sleep 0.1; done; kill -s KILL -- -{pgid} 2>/dev/null; exit 0"
    )


_LIFELINE = (
    "( ( trap '' TERM; cat <&3 >/dev/null 2>&1; "
    + kill_group_script("$$")
    + " ) >/dev/null 2>&1 & ); "
)
"""sh: in the background, wait for fd 3 (the channel's stdin) to end, then kill the group
(TERM, then KILL: the watcher ignores TERM so that it lives to send the KILL). Started from a
subshell, so that it is no child of the script's shell (whose `wait` would wait for it)."""


GUARDED_SIGN = "cw_script=$(head -n "
"""What every guarded_command holds (the demo server recognises the probe by it)."""


def guarded_command(script: str) -> str:
    """A command that prints its pid, reads `script` (ending in a newline) from stdin, starts
    the lifeline on the rest of stdin and evaluates the script with stdin from /dev/null.

    Only one line of sh, so any login shell (csh, fish) passes it on.
    """
    lines = script.count("\n")
    inner = (
        f"{PID_ECHO}exec 3<&0 0</dev/null; {GUARDED_SIGN}{lines} <&3); "
        f'{_LIFELINE}exec 3<&-; eval "$cw_script"'
    )
    return "exec sh -c " + shlex.quote(inner)


class LineSplitter:
    """Cuts a stream of text chunks into lines of at most `limit` characters.

    A longer line is kept as its first `limit` characters and an ellipsis; the rest of it, up
    to its newline, is dropped as it comes, never held.
    """

    def __init__(self, limit: int = MAX_LINE) -> None:
        self.limit = limit
        self._partial = ""
        self._cut = False  # inside a line already cut: drop until its newline

    def feed(self, chunk: str) -> list[str]:
        """The lines `chunk` completes (without their newlines)."""
        *complete, rest = chunk.split("\n")
        lines = []
        for part in complete:
            line = self._partial + part
            if not self._cut:
                lines.append(clip(line, self.limit))
            self._partial, self._cut = "", False
        self._partial += rest
        if len(self._partial) > self.limit and not self._cut:
            lines.append(clip(self._partial, self.limit))
            self._partial, self._cut = "", True
        elif self._cut:
            self._partial = ""
        return lines

    def end(self) -> list[str]:
        """The last line, when the stream did not end with a newline."""
        line, self._partial = self._partial, ""
        return [line] if line and not self._cut else []


class ConnectionLost(Exception):
    """The SSH connection broke while the command ran."""


class GroupProcess:
    """One command started with group_command: its output lines, its exit, and stop()."""

    def __init__(
        self,
        server: ServerConnection,
        command: str,
        *,
        pty: bool,
        max_output: int = MAX_OUTPUT,
        binary: bool = False,
    ) -> None:
        self.server = server
        self.command = command
        self.pty = pty
        self.binary = binary
        self.max_output = max_output
        self.pid: int | None = None
        self.received = 0
        self.flooded = False
        self._process: asyncssh.SSHClientProcess | None = None

    async def start(self, stdin: str | bytes = "") -> None:
        """Start the command and send `stdin` (never an end of file: see run_guarded)."""
        self._process = await self.server.start_process(
            self.command, pty=self.pty, binary=self.binary
        )
        if stdin:
            with contextlib.suppress(asyncssh.Error, OSError):  # it may have ended already
                self._process.stdin.write(stdin)

    @property
    def started(self) -> bool:
        return self._process is not None

    async def lines(self) -> AsyncIterator[str]:
        """Clean output lines (without the pid line), each at most MAX_LINE characters long.

        Ends early, with `flooded` set, once the command has written more than max_output
        characters (the caller stops it); raises ConnectionLost.
        """
        async for raw in self._raw_lines():
            line = clean_line(raw)
            found = _PID.match(line) if self.pid is None else None
            if found:
                self.pid = int(found.group(1))
                continue
            yield line

    async def output(self) -> bytes:
        """Everything a `binary` command writes until it ends; a flood ends early, with
        `flooded` set, after max_output bytes. Raises ConnectionLost."""
        return b"".join([chunk async for chunk in self._chunks()])

    async def _raw_lines(self) -> AsyncIterator[str]:
        splitter = LineSplitter()
        async for chunk in self._chunks():
            for raw in splitter.feed(chunk):
                yield raw
        for raw in splitter.end():
            yield raw

    async def _chunks(self) -> AsyncIterator:  # str, or bytes when binary
        assert self._process is not None
        try:
            while chunk := await self._process.stdout.read(_CHUNK):
                self.received += len(chunk)
                if self.received > self.max_output:
                    self.flooded = True
                    return
                yield chunk
        except (asyncssh.Error, OSError) as exc:
            raise ConnectionLost(str(exc)) from None

    @property
    def flood_reason(self) -> str:
        """Why a flooded command was stopped, for the user."""
        return f"it wrote more than {self.max_output // 1024} KB of output, so it was stopped"

    async def wait_exit(self, timeout: float) -> None:
        """Wait for the channel to close: the exit status may arrive just after EOF."""
        assert self._process is not None
        with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):
            await asyncio.wait_for(self._process.wait_closed(), timeout)

    @property
    def exit_status(self) -> int | None:
        return self._process.exit_status if self._process else None

    @property
    def exit_signal(self) -> str | None:
        signal = self._process.exit_signal if self._process else None
        return signal[0] if signal else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.exit_status is None

    async def stop(self) -> None:
        """Kill the process group on the server and close the channel. Never raises."""
        if self.running and self.pid is not None and not self.server.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    self.server.run(
                        "exec sh -c " + shlex.quote(kill_group_script(self.pid)),
                        timeout=KILL_TIMEOUT,
                    )
                )
        if self._process is not None:
            self._process.close()


@dataclass(frozen=True)
class BoundedRun:
    """What a command wrote (stdout and stderr, bytes), how it exited, whether it flooded."""

    output: bytes
    exit_status: int | None
    flooded: bool

    @property
    def text(self) -> str:
        """The output as text (UTF-8, invalid bytes replaced), without the pid line."""
        return _PID_LINE.sub("", self.output.decode("utf-8", "replace"), count=1)


async def run_bounded(
    server: ServerConnection,
    command: str,
    *,
    stdin: str = "",
    timeout: float,
    max_output: int = MAX_OUTPUT,
) -> BoundedRun:
    """Run a command, its output bounded (a flood is stopped); sends `stdin` without an end
    of file and closes the channel when done or given up (TimeoutError, cancellation). Raises
    TimeoutError and ConnectionLost."""
    process = GroupProcess(server, command, pty=False, max_output=max_output, binary=True)
    try:
        async with asyncio.timeout(timeout):
            await process.start(stdin=stdin.encode())
            output = await process.output()
            if not process.flooded:
                await process.wait_exit(timeout)
    except TimeoutError:
        raise  # an OSError too, but we gave up: not a lost connection
    except (asyncssh.Error, OSError) as exc:
        raise ConnectionLost(str(exc)) from None
    finally:
        await process.stop()
    return BoundedRun(output, process.exit_status, process.flooded)


async def run_guarded(
    server: ServerConnection, script: str, *, timeout: float, max_output: int = MAX_OUTPUT
) -> BoundedRun:
    """Run a multi-line POSIX sh script on the server as its own process group (see
    guarded_command), its output bounded; the group is killed when it ends, when we give up
    and when the connection goes. Raises TimeoutError and ConnectionLost."""
    script = script if script.endswith("\n") else script + "\n"
    command = guarded_command(script)
    return await run_bounded(server, command, stdin=script, timeout=timeout, max_output=max_output)
