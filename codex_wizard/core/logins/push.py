"""Push this computer's Codex auth.json to a server: backed up, atomic, 0600 in a 0700 dir."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..sanitize import printable
from ..server.probe import ServerEnv
from ..ssh.server import ServerConnection
from ..tokens.auth import MAX_AUTH_BYTES, AuthKind, AuthRecord, parse_auth_json
from .authfile import read_remote_auth


class PushError(Exception):
    """Nothing was changed on the server (or the change was rolled back); the message says why."""


@dataclass(frozen=True)
class PushResult:
    remote_path: str
    backup_path: str | None
    record: AuthRecord
    login_status: str  # what `codex login status` said on the server


def local_auth_path() -> Path:
    """This computer's auth.json: $CODEX_HOME/auth.json, else ~/.codex/auth.json."""
    home = os.environ.get("CODEX_HOME")
    return (Path(home) if home else Path.home() / ".codex") / "auth.json"


def load_local_auth(path: Path) -> bytes:
    """The file's bytes, refused unless it parses as a Codex login (ChatGPT or API key)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_AUTH_BYTES + 1)
    except FileNotFoundError:
        raise PushError(
            f"{path} does not exist: log in with codex on this computer first."
        ) from None
    except OSError as exc:
        raise PushError(f"can't read {path}: {exc.strerror or exc}") from None
    record = parse_auth_json(data)
    if record.kind not in (AuthKind.CHATGPT, AuthKind.API_KEY):
        raise PushError(
            f"{path} is not a Codex auth file ({record.problem or record.kind.value}); "
            "nothing was copied."
        )
    return data


@dataclass(frozen=True)
class LocalAuth:
    """This computer's auth.json, for pushing (data never shown, only the record)."""

    path: str
    data: bytes | None = field(default=None, repr=False)  # the tokens: never in a repr or log
    record: AuthRecord | None = None
    error: str = ""

    @property
    def usable(self) -> bool:
        return self.data is not None and not self.error


def read_local_login(path: Path, load: Callable[[Path], bytes] = load_local_auth) -> LocalAuth:
    """The file at path, or why it can't be pushed (never raises)."""
    try:
        data = load(path)
    except PushError as exc:
        return LocalAuth(str(path), error=str(exc))
    return LocalAuth(str(path), data, parse_auth_json(data))


_WRITE = (
    "fail() { printf '\\n@@cwpush:fail %s\\n' \"$1\"; exit 1; }; umask 077; cd 2>/dev/null; "
    "p=${CODEX_HOME:-.codex}; p=${p%/}/auth.json; d=${p%/*}; "
    'mkdir -p "$d" && chmod 700 "$d" || fail "can\'t make $d"; '
    'if [ -e "$p" ] || [ -L "$p" ]; then [ -f "$p" ] || fail "$p is not a regular file"; fi; '
    't=$d/.auth.json.cw-$$.tmp; head -c SIZE >"$t" && chmod 600 "$t" '
    '&& [ "$(wc -c <"$t" | tr -d \' \')" = SIZE ] || { rm -f "$t"; fail "can\'t write $t"; }; '
    'b=; if [ -f "$p" ]; then base=$p.bak-$(date -u +%Y%m%dT%H%M%SZ); b=$base; n=1; '
    'while [ -e "$b" ]; do n=$((n+1)); b=$base-$n; done; '
    'cp "$p" "$b.tmp" && chmod 600 "$b.tmp" && mv -f "$b.tmp" "$b" '
    '|| { rm -f "$t" "$b.tmp"; fail "can\'t back up $p"; }; fi; '
    'mv -f "$t" "$p" || { rm -f "$t" "$b"; fail "can\'t replace $p"; }; '
    'printf \'\\n@@cwpush:ok %s\\n@@cwpush:path %s\\n\' "$b" "$p"'
)
"""POSIX sh on one line, data on stdin: auth.json replaced atomically (temp file, mv), 0600 in a
0700 directory, the old file kept as auth.json.bak-<UTC stamp>[-N]. No SFTP needed."""
_PUSH_MARK = re.compile(r"^@@cwpush:(ok|fail|path) ?(.*)$", re.MULTILINE)


async def _write_remote(conn: ServerConnection, env: ServerEnv, data: bytes) -> tuple[str, str]:
    """Write data as the server's auth.json; (its path, the backup's or ""). Raises PushError."""
    command = "exec sh -c " + shlex.quote(env.command(_WRITE.replace("SIZE", str(len(data)))))
    try:
        result = await conn.run(command, input=data, binary=True, timeout=120)
    except Exception as exc:  # asyncssh.Error, OSError, TimeoutError
        raise PushError(f"could not write auth.json on {conn.label}: {exc}") from None
    out = bytes(result.stdout or b"").decode("utf-8", "replace")
    said = {key: value for key, value in _PUSH_MARK.findall(out)}
    if "ok" in said and "path" in said:
        return said["path"], said["ok"]
    why = printable(
        said.get("fail") or bytes(result.stderr or b"").decode("utf-8", "replace").strip()
    )
    raise PushError(f"could not write auth.json on {conn.label}: {why or 'no answer'}")


async def push_auth(conn: ServerConnection, env: ServerEnv, data: bytes) -> PushResult:
    """Copy data to the server's auth.json, then ask codex there whether it is logged in.

    The file goes to $CODEX_HOME/auth.json as env sets it (or, with auto_path, the user's
    shells); one exec round trip, stdin carrying the bytes.
    """
    path, backup = await _write_remote(conn, env, data)
    status = await conn.run(env.command("codex login status 2>&1"), timeout=60)
    said = printable(str(status.stdout or "")).strip().splitlines()
    record = await read_remote_auth(conn, path)
    return PushResult(
        path, backup or None, record, said[-1] if said else f"exit {status.exit_status}"
    )
