"""Token state of one host or a fleet, checked concurrently over one connection per host.

Besides auth.json, each check reads, in the same exec, where the login lives (the
server's identity and the file's device:inode, so two names of one server are one login) and
config.toml's credential store. Only when that store is the OS keyring and there is no
auth.json does it ask `codex login status` (one more round trip). A fleet's results are then
compared by login_id, with this computer's own auth.json: one login in two places is SHARED.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import asyncssh

from .. import clock
from ..sanitize import printable
from ..server.actions import verify_login
from ..server.probe import ServerEnv
from ..ssh.connection import connect
from ..ssh.hosts import HostTarget
from ..ssh.server import ServerConnection
from ..ssh.types import ConnectError, ConnectErrorKind, ConnectSettings
from ..tokens.auth import MAX_AUTH_BYTES, AuthKind, AuthRecord, parse_auth_json
from ..tokens.state import Storage, TokenState, describe_state, renews_on_use, token_state
from .authfile import MACHINE_ID_FILES, AuthPlace, read_server_auth
from .push import local_auth_path

DEFAULT_CONCURRENCY = 32
DEFAULT_HOST_TIMEOUT = 20.0
FINE_STATES = frozenset({TokenState.OK, TokenState.RENEWS, TokenState.API_KEY})
THIS_COMPUTER = "this computer"
KEYRING_STORES = frozenset({"keyring", "auto"})


@dataclass(frozen=True)
class HostStatus:
    """What `status` knows about one host; `state` is a TokenState or ERROR when unchecked.

    `file_id` names the file holding the login: the machine (its boot id or machine id, else
    its host key) and the file (device:inode, else its absolute path). Two host names with one
    file_id reach one file, so they are one login, never a shared one.
    """

    host: str
    state: TokenState
    auth: AuthRecord | None = None
    error: str | None = None
    codex_home: str | None = None
    storage: Storage = Storage.FILE
    file_id: str | None = None
    shared_with: tuple[str, ...] = ()
    unreached: ConnectErrorKind | None = None  # why the connection failed, when it did
    check_s: float | None = None  # how long the check took, connection included

    @property
    def reachable(self) -> bool:
        return self.auth is not None

    @property
    def login_id(self) -> str | None:
        return self.auth.login_id if self.auth else None

    def at(self, now: datetime | None = None, warn_days: float = 3.0) -> HostStatus:
        """This status judged again at `now` (a list left open ages), from its record; what a
        record alone can't tell (unreachable, keyring, shared) stays as it was."""
        keep = self.storage is Storage.KEYRING or self.state is TokenState.SHARED
        if self.auth is None or keep:
            return self
        return replace(self, state=token_state(self.auth, now, warn_days))

    def describe(self, now: datetime | None = None, *, brief: bool = False) -> str:
        """The state in words, the same in `status` and (brief) in the wizard's host list."""
        return describe_state(
            self.state,
            self.auth,
            now,
            storage=self.storage,
            shared_with=self.shared_with,
            error=self.error,
            brief=brief,
        )

    def as_json(self, now: datetime | None = None) -> dict[str, object]:
        auth = self.auth
        access = auth.access if auth else None
        expires_at = access.expires_at if access else None
        expires_in = auth.expires_in_s(now) if auth else None
        return {
            "host": self.host,
            "state": self.state.value,
            "auth_mode": auth.auth_mode if auth else None,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "expires_in_s": round(expires_in) if expires_in is not None else None,
            "last_refresh": auth.last_refresh.isoformat() if auth and auth.last_refresh else None,
            "plan": auth.plan if auth else None,
            "email": auth.email_masked if auth else None,
            "file_mode": f"{auth.file_mode:04o}" if auth and auth.file_mode is not None else None,
            "error": self.error or (auth.problem if auth else None),
            "renews_on_use": bool(auth and renews_on_use(auth, now)),
            "login_id": self.login_id,
            "shared_with": list(self.shared_with),
            "codex_home": self.codex_home,
            "storage": self.storage.value if self.reachable or self.codex_home else None,
            "check_s": round(self.check_s, 3) if self.check_s is not None else None,
        }


# ---------------------------------------------------------------------------- one host


def credentials_store(config_text: str) -> str:
    """config.toml's `cli_auth_credentials_store` ("file", codex's default, when unset/bad)."""
    try:
        value = tomllib.loads(config_text).get("cli_auth_credentials_store", "file")
    except tomllib.TOMLDecodeError:
        return "file"
    return value.strip().lower() if isinstance(value, str) else "file"


def _host_key(conn: ServerConnection) -> str | None:
    key = conn.host_key()
    return key.get_fingerprint("sha256") if key else None


async def _check_on(
    conn: ServerConnection, label: str, codex_home: str | None, warn_days: float
) -> HostStatus:
    # One exec: CODEX_HOME as the user's shells set it, auth.json, and where it lives.
    found = await read_server_auth(conn, codex_home, with_place=True)
    if found.error:
        return HostStatus(label, TokenState.ERROR, error=found.error)
    record, codex_home = found.record, found.codex_home or codex_home
    place = found.place or AuthPlace(None, None, None, "")
    home = place.codex_home or _shown_home(codex_home)
    if record.kind is AuthKind.MISSING and credentials_store(place.config) in KEYRING_STORES:
        return await _check_keyring(conn, label, codex_home, home, record)
    return HostStatus(
        label,
        token_state(record, clock.now(), warn_days),
        auth=record,
        codex_home=home,
        file_id=place.file_id(_host_key(conn)),
    )


async def check_connected(
    conn: ServerConnection, label: str, *, codex_home: str | None = None, warn_days: float = 3.0
) -> HostStatus:
    """check_host's reading over a connection already open (the wizard's own)."""
    return await _check_on(conn, label, codex_home, warn_days)


def _shown_home(codex_home: str | None) -> str:
    home = codex_home or "~/.codex"
    return home if home.startswith(("/", "~")) else f"~/{home}"


async def _check_keyring(
    conn: ServerConnection, label: str, codex_home: str | None, home: str, record: AuthRecord
) -> HostStatus:
    """No auth.json and config.toml keeps credentials in the keyring: ask codex itself."""
    said = await verify_login(conn, ServerEnv(codex_home=codex_home, auto_path=True))
    states = {True: TokenState.OK, False: TokenState.LOGGED_OUT, None: TokenState.ERROR}
    error = None
    if said.logged_in is None:
        error = f"credentials are in the OS keyring; codex login status said: {said.summary()}"
    return HostStatus(
        label,
        states[said.logged_in],
        auth=record,
        error=error,
        codex_home=home,
        storage=Storage.KEYRING,
    )


async def check_host(
    target: HostTarget,
    settings: ConnectSettings,
    *,
    codex_home: str | None = None,
    warn_days: float = 3.0,
    timeout: float = DEFAULT_HOST_TIMEOUT,
) -> HostStatus:
    """Connect, read auth.json and where it lives, close. Never raises: problems become ERROR.
    The result says how long it took (check_s)."""
    started = time.monotonic()
    result = await _check_target(target, settings, codex_home, warn_days, timeout)
    return replace(result, check_s=time.monotonic() - started)


async def _check_target(
    target: HostTarget,
    settings: ConnectSettings,
    codex_home: str | None,
    warn_days: float,
    timeout: float,
) -> HostStatus:
    label = target.label()
    try:
        async with asyncio.timeout(timeout):
            async with await connect(target, settings) as conn:
                return await _check_on(conn, label, codex_home, warn_days)
    except ConnectError as exc:
        return HostStatus(label, TokenState.ERROR, error=str(exc), unreached=exc.kind)
    except TimeoutError:
        error = f"no answer within {timeout:g} s"
        return HostStatus(label, TokenState.ERROR, error=error, unreached=ConnectErrorKind.TIMEOUT)
    except (asyncssh.Error, OSError) as exc:
        error = printable(f"lost the connection: {exc}")
        return HostStatus(label, TokenState.ERROR, error=error)


# ---------------------------------------------------------------------------- this computer


def _local_machine_id() -> str | None:
    for path in MACHINE_ID_FILES:
        try:
            return Path(path).read_text().strip() or None
        except OSError:
            continue
    return None


def local_login(now: datetime | None = None, warn_days: float = 3.0) -> HostStatus:
    """This computer's own Codex login ($CODEX_HOME or ~/.codex), as a HostStatus named
    THIS_COMPUTER, for comparing logins. Never raises."""
    path = local_auth_path()
    home = str(path.parent)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return HostStatus(THIS_COMPUTER, TokenState.ERROR, error=f"{path} is not a file")
        with path.open("rb") as handle:
            data = handle.read(MAX_AUTH_BYTES + 1)
    except FileNotFoundError:
        return HostStatus(
            THIS_COMPUTER, TokenState.LOGGED_OUT, parse_auth_json(None), codex_home=home
        )
    except OSError as exc:
        return HostStatus(THIS_COMPUTER, TokenState.ERROR, error=f"can't read {path}: {exc}")
    record = parse_auth_json(data, file_mode=info.st_mode)
    machine = _local_machine_id() or f"local:{os.uname().nodename}"
    return HostStatus(
        THIS_COMPUTER,
        token_state(record, now, warn_days),
        record,
        codex_home=home,
        file_id=f"{machine}/{info.st_dev}:{info.st_ino}",
    )


# ---------------------------------------------------------------------------- shared logins


def group_by_login(statuses: Iterable[HostStatus]) -> dict[str, list[HostStatus]]:
    """The statuses that have a login_id, grouped by it (in order). A group may hold several
    names of one file (aliases of one server): `shared_with` tells those apart."""
    groups: dict[str, list[HostStatus]] = {}
    for status in statuses:
        if status.login_id:
            groups.setdefault(status.login_id, []).append(status)
    return groups


def _place_key(status: HostStatus) -> str:
    return status.file_id or f"name:{status.host}"  # identity unknown: its name alone


def shared_with(status: HostStatus, group: Sequence[HostStatus]) -> tuple[str, ...]:
    """The names in `group` holding status's login in another file (machine or path)."""
    mine = _place_key(status)
    return tuple(dict.fromkeys(o.host for o in group if _place_key(o) != mine))


def mark_shared(results: Sequence[HostStatus], local: HostStatus | None = None) -> list[HostStatus]:
    """`results` with SHARED (and `shared_with`) where one login sits in several files,
    comparing with this computer's own login `local` too (which is not itself returned)."""
    groups = group_by_login([*results, *([local] if local else [])])

    def marked(result: HostStatus) -> HostStatus:
        others = shared_with(result, groups.get(result.login_id or "", ()))
        return replace(result, state=TokenState.SHARED, shared_with=others) if others else result

    return [marked(result) for result in results]


# ---------------------------------------------------------------------------- fleet


def fleet_exit_code(results: Sequence[HostStatus]) -> int:
    """0 all fine (ok, renews, api_key), 1 some need attention, 2 some could not be checked."""
    if any(result.state is TokenState.ERROR and not result.reachable for result in results):
        return 2
    if any(result.state not in FINE_STATES for result in results):
        return 1
    return 0
