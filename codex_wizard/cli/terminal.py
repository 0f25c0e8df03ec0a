"""The plain terminal: lines out, answers in, and the Prompter the login flow asks through."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
import threading
from dataclasses import replace
from typing import TextIO

from ..core.laptop.clipboard import Copied, copy_text
from ..core.laptop.ports import PortOwner
from ..core.progress import LoginProgress
from ..core.server.relay import CALLBACK_PATH
from ..core.ssh.types import ConnectSettings, HostKeyInfo
from ..settings import connect_settings as shared_connect_settings


def say(text: str = "") -> None:
    print(text, flush=True)


COPIED_WORDS = {
    Copied.CLIPBOARD: "(copied to the clipboard)",
    Copied.OSC52: "(sent to your terminal's clipboard with OSC 52, unconfirmed: if pasting "
    "gives nothing, select the line above)",
    Copied.TMUX_DROPS: "(not copied: tmux ignores programs' clipboard requests unless "
    "`tmux set -g set-clipboard on`; select the line above)",
    Copied.NOTHING: "(not copied: no clipboard here; select the line above)",
}


def show_copyable(text: str) -> None:
    """text alone on its line, unindented (the terminal wraps it: a selection stays one line),
    then what became of copying it, in words that claim only what we know."""
    say()
    say(text)
    say()
    say(COPIED_WORDS[copy_text(text)])


async def ask_yes_no(question: str) -> bool:
    """A y/N question on the terminal; no terminal means no.

    Read like read_line (a daemon thread): Ctrl-C at the question leaves at once. With
    asyncio.to_thread(input) asyncio.run waited at exit for that thread, that is for Enter.
    """
    if not sys.stdin.isatty():
        return False
    answer = await read_line(f"{question} [y/N] ")
    return (answer or "").strip().lower() in ("y", "yes")


async def read_line(prompt: str, out: TextIO | None = None) -> str | None:
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

    print(prompt, end="", flush=True, file=out or sys.stdout)
    threading.Thread(target=reader, daemon=True).start()
    return await answer


async def read_secret(prompt: str, out: TextIO | None = None) -> str | None:
    """read_line with the terminal's echo off, restored however the read ends (Ctrl-C too)."""
    try:
        import termios
    except ImportError:  # Windows: getpass reads the console without echo
        return await asyncio.to_thread(getpass.getpass, prompt)
    old = termios.tcgetattr(0)
    quiet = termios.tcgetattr(0)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(0, termios.TCSAFLUSH, quiet)
    try:
        return await read_line(prompt, out)
    finally:
        termios.tcsetattr(0, termios.TCSAFLUSH, old)
        print(file=out or sys.stdout, flush=True)  # the Enter the user typed was not echoed


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


class TerminalPrompter:
    """The login flow's questions, asked on this terminal (no terminal: the safe answer)."""

    def __init__(self) -> None:
        self._explained_paste = False

    async def confirm_host_key(self, key: HostKeyInfo) -> bool:
        role = "jump host" if key.jump_host else "host"
        say(f"The authenticity of {role} {key.host_label} can't be established.")
        say(f"{key.key_type} key fingerprint is {key.fingerprint}.")
        return await ask_yes_no(f"Trust it and add it to {key.known_hosts}?")

    async def passphrase(self, key_path: str) -> str | None:
        """An encrypted key's passphrase, typed without echo; no terminal means none."""
        if not sys.stdin.isatty():
            return None
        return await read_secret(f"Enter passphrase for key '{key_path}': ")

    async def credentials(self, label: str, *, retry: bool) -> tuple[str, str] | None:
        return None  # the terminal's own ssh-agent / keys are what the CLI uses

    async def stop_pending_login(self, port: int, owner: PortOwner) -> bool:
        say(f"Port {port} on this computer is held by {owner.describe()}.")
        return await ask_yes_no("If that is a pending Codex login, stop it (it gets GET /cancel)?")

    async def cancel_other_users_login(self, user: str, port: int) -> bool:
        say(
            f"{user} has a Codex login waiting on the server's port {port}. Starting one now "
            f'cancels theirs: codex sends it GET /cancel and {user} sees "Login cancelled".'
        )
        return await ask_yes_no(f"Go ahead (no: wait until {user} is done)?")

    async def pasted_address(self, progress: LoginProgress, problem: str | None) -> str | None:
        if problem:
            say(problem)
        if not self._explained_paste:
            self._explained_paste = True
            say(
                "After you sign in, the browser ends on an address starting with "
                f"http://127.0.0.1:{progress.port}{CALLBACK_PATH} that does not load. "
                "Copy that whole address and paste it here."
            )
        line = await read_line("Address: ")
        if line is None:
            say("(no input: waiting for codex)")
        return line


_ONE_QUESTION_AT_A_TIME = asyncio.Lock()  # a fleet's hosts connect at once


async def answer_server_prompt(prompt: str, echo: bool) -> str | None:
    """A password or keyboard-interactive answer, asked as ssh asks it: on the terminal (the
    prompt on stderr, so `--json` output stays clean), one host at a time; no terminal: None."""
    if not sys.stdin.isatty():
        return None
    async with _ONE_QUESTION_AT_A_TIME:
        read = read_line if echo else read_secret
        return await read(prompt, sys.stderr)


def note(text: str) -> None:
    """What ssh says on stderr as it connects ("Warning: Permanently added ...")."""
    print(text, file=sys.stderr, flush=True)


def connect_settings(args: argparse.Namespace, *, interactive: bool) -> ConnectSettings:
    """The common options as ConnectSettings (settings.connect_settings, the wizard's too);
    interactive ones ask on this terminal. Passwords and keyboard-interactive questions are
    asked on a terminal by every command, as ssh does (honouring BatchMode,
    PreferredAuthentications and the rest: core/ssh/prompts.py)."""
    settings = shared_connect_settings(args, TerminalPrompter() if interactive else None)
    return replace(settings, answer_prompt=answer_server_prompt, on_note=note)
