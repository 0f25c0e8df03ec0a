"""Read the server's auth.json over SFTP (on the one connection) into an AuthRecord."""

from __future__ import annotations

import stat

import asyncssh

from .auth import MAX_AUTH_BYTES, AuthKind, AuthRecord, parse_auth_json
from .connection import ServerConnection
from .sanitize import printable


def auth_path_for(codex_home: str | None) -> str:
    """auth.json's SFTP path: relative to the login directory unless codex_home is absolute."""
    home = (codex_home or ".codex").removeprefix("~/")
    return f"{home.rstrip('/')}/auth.json"


async def read_remote_auth(conn: ServerConnection, auth_path: str) -> AuthRecord:
    """The auth record at auth_path (relative paths are from the login directory).

    Never raises for file problems: a missing file is MISSING, an unreadable one MALFORMED
    with the reason. Connection errors do raise (the caller reports the host as unreachable).
    """
    sftp = await conn.sftp()
    try:
        attrs = await sftp.stat(auth_path)
        not_a_file = not_a_regular_file(attrs)
        if not_a_file:
            # Opening a FIFO would block forever (doctor would hang); a device never ends.
            return AuthRecord(
                AuthKind.MALFORMED, problem=f"{auth_path} is {not_a_file}, not a regular file"
            )
        async with sftp.open(auth_path, "rb") as handle:
            data = await handle.read(MAX_AUTH_BYTES + 1)
    except asyncssh.SFTPNoSuchFile:
        return parse_auth_json(None)
    except asyncssh.SFTPError as exc:
        problem = printable(f"can't read {auth_path}: {exc.reason}")
        return AuthRecord(AuthKind.MALFORMED, problem=problem)
    mode = attrs.permissions & 0o777 if attrs.permissions is not None else None
    return parse_auth_json(data if isinstance(data, bytes) else b"", file_mode=mode)


_FILE_TYPES = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def not_a_regular_file(attrs: asyncssh.SFTPAttrs) -> str | None:
    """What the path is when it is not a regular file (stat follows symlinks), else None."""
    if attrs.permissions is None:
        return None  # the server does not say: try to read it
    kind = stat.S_IFMT(attrs.permissions)
    if not kind or kind == stat.S_IFREG:
        return None
    return _FILE_TYPES.get(kind, "something else")
