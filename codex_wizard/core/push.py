"""Push this computer's Codex auth.json to a server: backed up, atomic, 0600 in a 0700 dir."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncssh

from .auth import MAX_AUTH_BYTES, AuthKind, AuthRecord, parse_auth_json
from .authfile import not_a_regular_file, read_remote_auth
from .connection import ServerConnection
from .probe import ServerEnv
from .sanitize import printable


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


async def _ensure_private_dir(sftp: asyncssh.SFTPClient, directory: str) -> None:
    try:
        attrs = await sftp.stat(directory)
    except asyncssh.SFTPNoSuchFile:
        await sftp.makedirs(directory, attrs=asyncssh.SFTPAttrs(permissions=0o700))
        attrs = await sftp.stat(directory)
    if attrs.permissions is not None and attrs.permissions & 0o077:
        await sftp.chmod(directory, 0o700)


async def _write_private(sftp: asyncssh.SFTPClient, path: str, data: bytes) -> None:
    attrs = asyncssh.SFTPAttrs(permissions=0o600)
    async with sftp.open(path, "wb", attrs) as handle:
        await handle.write(data)
        with contextlib.suppress(asyncssh.SFTPError):  # fsync is an OpenSSH extension
            await handle.fsync()
    await sftp.chmod(path, 0o600)  # whatever the server's umask did


async def _backup_existing(sftp: asyncssh.SFTPClient, path: str) -> str | None:
    """Copy the current file to a new auth.json.bak-<UTC stamp> (atomically, 0600)."""
    try:
        attrs = await sftp.stat(path)
    except asyncssh.SFTPNoSuchFile:
        return None
    not_a_file = not_a_regular_file(attrs)
    if not_a_file:  # a FIFO would block the read forever; a device never ends
        raise PushError(f"{path} is {not_a_file}, not a regular file; nothing was copied.")
    async with sftp.open(path, "rb") as handle:
        old = await handle.read()
    backup = await _unused_backup_name(sftp, path)
    await _replace_atomically(sftp, backup, old if isinstance(old, bytes) else b"")
    return backup


async def _unused_backup_name(sftp: asyncssh.SFTPClient, path: str) -> str:
    """auth.json.bak-<stamp>, with -2, -3 ... when a push in the same second made one."""
    base = f"{path}.bak-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    name, count = base, 1
    while await sftp.exists(name):
        count += 1
        name = f"{base}-{count}"
    return name


async def _replace_atomically(sftp: asyncssh.SFTPClient, path: str, data: bytes) -> None:
    directory = path.rsplit("/", 1)[0] if "/" in path else "."
    temp = f"{directory}/.auth.json.cw-{secrets.token_hex(4)}.tmp"
    try:
        await _write_private(sftp, temp, data)
        await sftp.posix_rename(temp, path)
    except BaseException:
        with contextlib.suppress(asyncssh.SFTPError, OSError):
            await sftp.remove(temp)
        raise


async def push_auth(conn: ServerConnection, env: ServerEnv, data: bytes) -> PushResult:
    """Copy data to the server's auth.json, then ask codex there whether it is logged in."""
    path = env.auth_path()
    directory = path.rsplit("/", 1)[0]
    sftp = await conn.sftp()
    backup: str | None = None
    try:
        await _ensure_private_dir(sftp, directory)
        backup = await _backup_existing(sftp, path)
        await _replace_atomically(sftp, path, data)
    except asyncssh.SFTPError as exc:
        if backup is not None:  # the old file is still in place: the copy is not needed
            with contextlib.suppress(asyncssh.SFTPError, OSError):
                await sftp.remove(backup)
        reason = printable(exc.reason)
        raise PushError(f"could not write {path} on {conn.label}: {reason}") from None
    status = await conn.run(env.command("codex login status 2>&1"), timeout=60)
    said = printable(str(status.stdout or "")).strip().splitlines()
    record = await read_remote_auth(conn, path)
    return PushResult(path, backup, record, said[-1] if said else f"exit {status.exit_status}")
