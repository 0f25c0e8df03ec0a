"""Read the server's auth.json with one exec (no SFTP, no stdin) into an AuthRecord.

A small sh script, passed in the exec command itself (stdin would cost a round trip), refuses
what is not a regular file (a FIFO would block, a device never ends), bounds the read
(head -c), reports the mode (GNU, BSD/macOS stat, else ls -l), and wraps everything
in markers unique to the call, so text that the user's rc files print (sshd runs the
login shell for exec) never corrupts what we read. `read_server_auth` also finds CODEX_HOME as
the user's shells set it, and (for `status`) where the file lives, in the same command.
"""

from __future__ import annotations

import re
import secrets
import shlex
from dataclasses import dataclass

from ..sanitize import printable
from ..server.remote import run_bounded
from ..server.shellenv import ENV_FUNCS
from ..ssh.server import ServerConnection
from ..tokens.auth import MAX_AUTH_BYTES, AuthKind, AuthRecord, auth_path_for, parse_auth_json

READ_TIMEOUT = 30.0
MAX_CONFIG_BYTES = 65536
MAX_READ_BYTES = MAX_AUTH_BYTES + MAX_CONFIG_BYTES + 65536
"""Bytes the read may bring back: the files, markers, and what rc files print around them."""
MACHINE_ID_FILES = ("/proc/sys/kernel/random/boot_id", "/etc/machine-id")

# One line of POSIX sh each (the script goes inside `sh -c '...'` as the exec command, so the
# user's login shell passes it on whatever it is; csh cannot split a quoted string over lines).
_SAY = 'f=$cw_auth; say() { printf \'\\n%s:%s\\n\' "$m" "$1"; }; '
_READ_BODY = (
    'case $(readlink -f "$f" 2>/dev/null) in /dev/*|/proc/*|/sys/*) '
    "say 'notfile a device'; exit 0;; esac; "
    'if [ -f "$f" ]; then :; '
    "elif [ -d \"$f\" ]; then say 'notfile a directory'; exit 0; "
    "elif [ -p \"$f\" ]; then say 'notfile a named pipe (FIFO)'; exit 0; "
    'elif [ -c "$f" ] || [ -b "$f" ]; then say \'notfile a device\'; exit 0; '
    "elif [ -S \"$f\" ]; then say 'notfile a socket'; exit 0; "
    'elif [ -e "$f" ] || [ -L "$f" ]; then say \'notfile something else\'; exit 0; '
    "else say missing; exit 0; fi; "
    '[ -r "$f" ] || { say unreadable; exit 0; }; '
    'mode=$(stat -L -c %a "$f" 2>/dev/null || stat -L -f %Lp "$f" 2>/dev/null || ls -lLd "$f"); '
    """say "ok $(printf '%s' "$mode" | head -n 1 | cut -c1-10)"; """
    f'head -c {MAX_AUTH_BYTES + 1} "$f"; say end'
)
_READ = _SAY + _READ_BODY
_IDS = " || ".join(f"cat {path} 2>/dev/null" for path in MACHINE_ID_FILES)
_PLACE = (
    # Where the file lives (before the read, which may exit): the absolute CODEX_HOME, a
    # machine id, auth.json's device:inode, and config.toml (a regular file only).
    # A CODEX_HOME not made yet is named as absolute too: one account, one path, however reached.
    'd=${f%/*}; say "place:home=$(cd "$d" 2>/dev/null && pwd -P || '
    'case $d in (/*) printf %s "$d";; (*) printf %s "$(pwd -P)/$d";; esac)"; '
    f'say "place:machine=$({_IDS})"; '
    'say "place:file=$(stat -L -c %d:%i "$f" 2>/dev/null || stat -L -f %d:%i "$f" 2>/dev/null)"; '
    f'say place:config; [ -f "$d/config.toml" ] && head -c {MAX_CONFIG_BYTES} "$d/config.toml"; '
    "say place:config-end; "
)

_HOME = (
    ENV_FUNCS
    + '[ -n "${cw_home-}" ] || { cw_env; cw_home=${cw_ih:-${cw_lh:-${CODEX_HOME-}}}; }; '
    + 'printf \'\\n%s:home=%s\\n\' "$m" "$cw_home"; '
    + "cw_auth=${cw_home:-.codex}/auth.json; "
)


@dataclass(frozen=True)
class AuthPlace:
    """Where auth.json lives on the server, read in the same command as the file."""

    codex_home: str | None
    machine: str | None
    file: str | None
    config: str

    def file_id(self, host_key: str | None) -> str | None:
        """The machine (else its host key) and the file (device:inode, else its path)."""
        machine = self.machine or (f"key:{host_key}" if host_key else None)
        where = self.file or (f"{self.codex_home}/auth.json" if self.codex_home else None)
        return f"{machine}/{where}" if machine and where else None


@dataclass(frozen=True)
class ServerAuth:
    """What read_server_auth found: the record, the CODEX_HOME used ("" = ~/.codex), its path.

    `error` is set (and `record` MALFORMED) when the server could not be asked at all; `place`
    only when asked for (with_place).
    """

    record: AuthRecord
    codex_home: str = ""
    path: str = ".codex/auth.json"
    error: str | None = None
    place: AuthPlace | None = None


async def read_remote_auth(conn: ServerConnection, auth_path: str) -> AuthRecord:
    """The auth record at auth_path (relative paths are from the login directory). Never raises:
    a missing file is MISSING, an unreadable one (or a lost connection) MALFORMED with the reason.
    """
    found = await _run_read(conn, f"cw_auth={shlex.quote(auth_path)}; ", auth_path)
    return found.record


async def read_server_auth(
    conn: ServerConnection, codex_home: str | None = None, *, with_place: bool = False
) -> ServerAuth:
    """auth.json under `codex_home` (--codex-home), else CODEX_HOME as the user's shells set it;
    with_place: where it lives too (AuthPlace).

    One exec (a channel open and the exec request); never raises (a connection problem is
    `error`).
    """
    given = f"cw_home={shlex.quote(codex_home)}; " if codex_home else ""
    path = auth_path_for(codex_home)
    return await _run_read(conn, given + _HOME, path, place=_PLACE if with_place else "")


async def _run_read(conn: ServerConnection, setup: str, path: str, place: str = "") -> ServerAuth:
    mark = f"@@cwauth-{secrets.token_hex(8)}"
    script = f"m={mark}; cd 2>/dev/null; {setup}{_SAY}{place}{_READ_BODY}"
    try:
        # In the command, not on stdin: stdin would wait for the exec's reply, one more round trip.
        command = "exec sh -c " + shlex.quote(script)
        result = await run_bounded(conn, command, timeout=READ_TIMEOUT, max_output=MAX_READ_BYTES)
    except Exception as exc:  # ConnectionLost, TimeoutError: say it, never raise
        return _failed(path, printable(f"lost the connection: {exc or type(exc).__name__}"))
    if result.flooded:
        return _failed(path, f"the server wrote more than {MAX_READ_BYTES // 1024} KB")
    return parse_read_output(result.output, mark, path)


def _failed(path: str, problem: str) -> ServerAuth:
    return ServerAuth(AuthRecord(AuthKind.MALFORMED, problem=problem), path=path, error=problem)


def parse_read_output(stdout: bytes, mark: str, path: str) -> ServerAuth:
    """Turn the read script's marked output into a ServerAuth (tolerant of noise around it)."""
    stdout = b"\n" + stdout  # a marker may open the output
    lines = _marked_lines(stdout, mark)
    home = next((value[5:] for value in lines if value.startswith("home=")), None)
    if home is not None:
        path = auth_path_for(home or None)
    status = next((v for v in lines if not v.startswith(("home=", "place:"))), "")
    record = _record(stdout, mark, status, path)
    return ServerAuth(record, home or "", path, place=_place(stdout, mark, lines))


def _place(stdout: bytes, mark: str, lines: list[str]) -> AuthPlace | None:
    fields = dict(v[6:].partition("=")[::2] for v in lines if v.startswith("place:"))
    if "config-end" not in fields:
        return None
    begin = stdout.find(f"\n{mark}:place:config\n".encode())
    end = stdout.rfind(f"\n{mark}:place:config-end\n".encode())
    config = stdout[begin + len(mark) + 15 : end] if 0 <= begin < end else b""
    return AuthPlace(
        codex_home=fields.get("home", "").strip() or None,
        machine=fields.get("machine", "").strip() or None,
        file=fields.get("file", "").strip() or None,
        config=config.decode("utf-8", "replace"),
    )


def _marked_lines(stdout: bytes, mark: str) -> list[str]:
    pattern = re.compile(rb"^" + re.escape(mark.encode()) + rb":([^\n]*)$", re.MULTILINE)
    return [m.group(1).decode("utf-8", "replace") for m in pattern.finditer(stdout)]


def _record(stdout: bytes, mark: str, status: str, path: str) -> AuthRecord:
    if status == "missing":
        return parse_auth_json(None)
    if status.startswith("notfile "):
        return AuthRecord(AuthKind.MALFORMED, problem=f"{path} is {status[8:]}, not a regular file")
    if status == "unreadable":
        return AuthRecord(AuthKind.MALFORMED, problem=f"can't read {path}: permission denied")
    if not status.startswith("ok "):
        return AuthRecord(AuthKind.MALFORMED, problem=f"can't read {path}: the server said nothing")
    begin = stdout.find(f"\n{mark}:{status}\n".encode()) + len(mark) + len(status) + 3
    end = stdout.rfind(f"\n{mark}:end\n".encode())
    if end < begin:
        return AuthRecord(AuthKind.MALFORMED, problem=f"can't read {path}: the read was cut off")
    return parse_auth_json(stdout[begin:end], file_mode=parse_mode(status[3:]))


def parse_mode(text: str) -> int | None:
    """'600' (stat -c %a), or '-rw-------' (ls -l) -> 0o600; None when neither."""
    text = text.strip()
    if re.fullmatch(r"[0-7]{3,4}", text):
        return int(text, 8) & 0o777
    if re.fullmatch(r"[-dlpscb][-rwxsStT]{9}.*", text):
        bits = 0
        for index, char in enumerate(text[1:10]):
            bits |= (char not in "-ST") << (8 - index)
        return bits
    return None
