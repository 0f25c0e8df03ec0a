"""The live check: one short `codex exec` prompt on the server, to prove the login works.

It uses a little of the plan's quota (say so first: QUOTA_NOTE). It runs in a throwaway
directory, with a read-only sandbox, `--ephemeral` (no session files), stdin closed and a
timeout, and reads codex's JSONL events (`--json`): an `agent_message` item is the reply;
`error` / `turn.failed` messages are classified into plain words. Offline, codex retries for
about a minute and then says `Reconnecting... waiting for network` forever: that line ends the
check at once as "no network". Logged in, the real 0.169.0 offline keeps saying `Reconnecting...
N/5 (workspace routing discovery failed)` past 90 s: at the timeout, those retries mean no network.
A check that worked may have renewed the token: re-read it.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from dataclasses import dataclass, field
from enum import StrEnum

from ..server.actions import run_streaming
from ..server.probe import ServerEnv
from ..server.remote import group_command

PROMPT = "Reply with the single word OK."
LIVE_TIMEOUT = 120.0
QUOTA_NOTE = (
    "This sends one short prompt to Codex on the server: it uses a little of the plan's quota."
)
_GIVE_UP = "waiting for network"


class LiveOutcome(StrEnum):
    REPLY = "reply"
    LOGIN_AGAIN = "login_again"  # refresh token already used, revoked, or not logged in
    USAGE_LIMIT = "usage_limit"
    NO_NETWORK = "no_network"
    TIMEOUT = "timeout"
    FAILED = "failed"


_RULES: tuple[tuple[LiveOutcome, re.Pattern[str]], ...] = (
    (
        LiveOutcome.LOGIN_AGAIN,
        re.compile(
            r"refresh token was already used|log out and sign in again|sign in again|"
            r"401 Unauthorized|not logged in|Missing bearer|token_expired|invalid_grant",
            re.IGNORECASE,
        ),
    ),
    (
        LiveOutcome.USAGE_LIMIT,
        re.compile(r"usage limit|rate limit|429 Too Many Requests|out of credits", re.IGNORECASE),
    ),
    (
        LiveOutcome.NO_NETWORK,
        re.compile(
            r"failed to lookup address|error sending request|waiting for network|"
            r"Connection (?:failed|refused|reset)|dns error|network is unreachable|"
            r"stream disconnected|routing discovery failed|Reconnecting\.\.\.",
            re.IGNORECASE,
        ),
    ),
)

_ADVICE = {
    LiveOutcome.LOGIN_AGAIN: "Codex on the server is not logged in any more (the refresh token "
    "was used elsewhere, revoked, or expired): log in again with codex-wizard login HOST.",
    LiveOutcome.USAGE_LIMIT: "The login works, but the plan's usage limit is reached: try again "
    "after it resets.",
    LiveOutcome.NO_NETWORK: "codex on the server cannot reach OpenAI (no network, DNS or a "
    "proxy): the login can't be proven from there.",
    LiveOutcome.TIMEOUT: "codex gave no answer in time.",
    LiveOutcome.FAILED: "codex exec failed.",
}


@dataclass
class LiveCheck:
    """The reply, or what went wrong, from one `codex exec`."""

    outcome: LiveOutcome
    reply: str = ""
    detail: str = ""  # codex's own last error message, when there was one
    exit_code: int | None = None
    output: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome is LiveOutcome.REPLY

    def summary(self) -> str:
        """In plain words: the reply, or the problem and what to do."""
        if self.ok:
            return f"codex answered: {self.reply}"
        advice = _ADVICE[self.outcome]
        return f"{advice} (codex said: {self.detail})" if self.detail else advice


def live_check_command(env: ServerEnv, prompt: str = PROMPT) -> str:
    """`codex exec` in a fresh temp dir (removed after), read-only, JSON events, no stdin."""
    exec_args = (
        "codex exec --json --skip-git-repo-check --ephemeral --sandbox read-only "
        f'--color never -C "$d" {shlex.quote(prompt)} </dev/null'
    )
    script = (
        'd=$(mktemp -d 2>/dev/null || echo "/tmp/cw-live.$$"); mkdir -p "$d"; '
        "trap 'rm -rf \"$d\"' EXIT; trap 'exit 130' INT TERM HUP; "
        f"{env.command(exec_args)}"
    )
    return group_command(ServerEnv(), script)


class _EventReader:
    """Reads codex's JSONL events (and stray stderr lines) as they arrive."""

    def __init__(self) -> None:
        self.reply = ""
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.completed = False
        self.gave_up = False

    def line(self, line: str) -> None:
        self.lines.append(line)
        event = _json(line)
        if event is None:
            if line.strip().startswith(("ERROR:", "Error:", "error:")):
                self.errors.append(line.strip())
            self.gave_up = self.gave_up or _GIVE_UP in line
            return
        kind = event.get("type")
        item = event.get("item") if isinstance(event.get("item"), dict) else {}
        if kind == "item.completed" and item.get("type") == "agent_message":
            self.reply = str(item.get("text", "")).strip()
        elif kind == "turn.completed":
            self.completed = True
        elif kind in ("error", "turn.failed"):
            self.errors.append(_message(event))
            self.gave_up = self.gave_up or _GIVE_UP in self.errors[-1]


def _json(line: str) -> dict | None:
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _message(event: dict) -> str:
    error = event.get("error")
    text = error.get("message") if isinstance(error, dict) else event.get("message")
    return str(text or "").strip()


def classify(errors: list[str]) -> LiveOutcome:
    """The outcome the errors name (the most telling one wins), FAILED when none."""
    for outcome, pattern in _RULES:
        if any(pattern.search(text) for text in errors):
            return outcome
    return LiveOutcome.FAILED


async def live_check(
    conn,  # ServerConnection
    env: ServerEnv,
    *,
    prompt: str = PROMPT,
    timeout: float = LIVE_TIMEOUT,
) -> LiveCheck:
    """Run the prompt once; never raises for a server or codex problem."""
    reader = _EventReader()
    code, error = await _run_until_given_up(conn, live_check_command(env, prompt), reader, timeout)
    if reader.reply and (reader.completed or code == 0):
        return LiveCheck(LiveOutcome.REPLY, reader.reply, exit_code=code, output=reader.lines)
    outcome = classify(reader.errors)
    if outcome is LiveOutcome.FAILED and error and "stopped after" in error:
        outcome = LiveOutcome.TIMEOUT
    detail = reader.errors[-1] if reader.errors else (error or "")
    if not detail and reader.lines:
        detail = reader.lines[-1]
    return LiveCheck(outcome, detail=detail, exit_code=code, output=reader.lines)


async def _run_until_given_up(
    conn, command: str, reader: _EventReader, timeout: float
) -> tuple[int | None, str | None]:
    """run_streaming, stopped early (remote process group killed) once codex gives up."""
    task: asyncio.Task | None = None

    def on_line(line: str) -> None:
        reader.line(line)
        if reader.gave_up and task is not None:
            task.cancel()

    task = asyncio.ensure_future(run_streaming(conn, command, on_line=on_line, timeout=timeout))
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.wait({task})  # its clean-up kills codex on the server
        raise
    if task.cancelled():
        return None, None
    code, _, error = task.result()
    return code, error
