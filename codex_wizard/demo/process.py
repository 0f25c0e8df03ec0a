"""A simulated server process: a pid, its terminal, and how it ends (exit code or signal)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncssh

Outcome = int | str
"""An exit status, or the name of the signal that ended the process ("TERM", "HUP")."""


class Terminal:
    """Writes lines to an SSH session the way a program on the server would.

    Under a PTY, stdout and stderr both reach the terminal (the client reads them as stdout)
    and lines end in CRLF; without one, stderr stays stderr unless redirected (`stderr` is
    "stdout" for `2>&1`, "null" for `2>/dev/null`).
    """

    def __init__(self, process: asyncssh.SSHServerProcess, stderr: str = "stderr") -> None:
        self.process = process
        self.pty = process.get_terminal_type() is not None
        self.stderr = "stdout" if self.pty and stderr == "stderr" else stderr

    def out(self, line: str = "") -> None:
        self._write(self.process.stdout, line)

    def err(self, line: str = "") -> None:
        if self.stderr != "null":
            stream = self.process.stdout if self.stderr == "stdout" else self.process.stderr
            self._write(stream, line)

    def _write(self, stream: asyncssh.SSHWriter, line: str) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionError, asyncssh.Error):
            stream.write(line + ("\r\n" if self.pty else "\n"))

    async def hangup(self) -> str:
        """Wait until the client closes the session: what a PTY turns into SIGHUP."""
        await self.process.channel.wait_closed()
        return "HUP"


class SimProcess:
    """A long-running simulated program that can exit by itself or be killed by its pid."""

    def __init__(self, pid: int, terminal: Terminal) -> None:
        self.pid = pid
        self.terminal = terminal
        self.outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

    @property
    def running(self) -> bool:
        return not self.outcome.done()

    def finish(self, outcome: Outcome) -> None:
        """End with an exit status or a signal name; later calls are ignored."""
        if not self.outcome.done():
            self.outcome.set_result(outcome)

    async def wait(self) -> Outcome:
        """The outcome, or "HUP" when the client hangs up first."""
        hangup = asyncio.ensure_future(self.terminal.hangup())
        try:
            await asyncio.wait({self.outcome, hangup}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hangup.cancel()
        if not self.outcome.done():
            self.finish("HUP")
        return self.outcome.result()


async def supervise(
    procs: dict[int, SimProcess],
    pid: int,
    terminal: Terminal,
    play: Callable[[SimProcess], Awaitable[None]],
) -> Outcome:
    """Run play(proc) as process `pid`, listed in `procs` (for kills) until it ends: by itself
    (play finishes proc), by a kill, or by a hang-up."""
    proc = SimProcess(pid, terminal)
    procs[pid] = proc
    flow = asyncio.create_task(play(proc))
    try:
        return await proc.wait()
    finally:
        flow.cancel()
        procs.pop(pid, None)


def end_process(process: asyncssh.SSHServerProcess, outcome: Outcome) -> None:
    """Report the outcome to the client and close the session (quietly if already gone)."""
    with contextlib.suppress(BrokenPipeError, ConnectionError, asyncssh.Error, OSError):
        if isinstance(outcome, str):
            process.exit_with_signal(outcome)
        else:
            process.exit(outcome)
