"""known_hosts as OpenSSH reads and writes it.

Every file of UserKnownHostsFile and GlobalKnownHostsFile (``~``, %-tokens and ${VAR} expanded
in the user files, as ssh does), ``none`` for no file, a missing or empty file giving no keys and
never a fall-back to ~/.ssh/known_hosts. Lines are matched on ``host`` or ``[host]:port`` only
(no port-less fall-back), on HostKeyAlias when set, and on the address only with CheckHostIP
yes. New keys go to the first user file, hashed with HashKnownHosts yes.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import os
import re
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncssh

__all__ = [
    "KnownHostsPolicy",
    "Lookup",
    "add_openssh_options",
    "append_lines",
    "expand_user_path",
    "hash_name",
    "known_hosts_pattern",
    "lines_for",
    "lookup",
    "policy_from_config",
]

DEFAULT_USER_FILES = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")
DEFAULT_GLOBAL_FILES = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")
_MAX_FILE_BYTES = 16 * 1024 * 1024


def known_hosts_pattern(host: str, port: int) -> str:
    """The known_hosts host field OpenSSH writes for host:port."""
    return host if port == 22 else f"[{host}]:{port}"


def add_openssh_options() -> None:
    """Teach asyncssh's ssh_config parser the options it skips but we need (a workaround:
    asyncssh has no handler for them and ignores them).

    They then read like its other options (first value wins, Host/Match blocks apply).
    """
    from asyncssh.config import SSHClientConfig, SSHConfig

    for option, handler in (
        ("CheckHostIP", SSHConfig._set_bool),
        ("HashKnownHosts", SSHConfig._set_bool),
        ("BatchMode", SSHConfig._set_bool),
        ("StrictHostKeyChecking", SSHConfig._set_string),
        ("NumberOfPasswordPrompts", SSHConfig._set_int),
    ):
        SSHClientConfig._handlers.setdefault(option.lower(), (option, handler))


@dataclass(frozen=True)
class KnownHostsPolicy:
    """Which files hold the trusted keys for one host, and how to look it up and write it."""

    user_files: tuple[Path, ...]
    global_files: tuple[Path, ...]
    host_key_alias: str | None = None
    check_host_ip: bool = False
    hash_known_hosts: bool = False
    strict: str = "ask"  # StrictHostKeyChecking: yes, ask, accept-new or no (BatchMode: no ask)

    @property
    def asks(self) -> bool:
        """An unknown key is shown and needs a yes (StrictHostKeyChecking ask, no BatchMode).
        With UserKnownHostsFile none there is nowhere to record it: ssh refuses it unasked."""
        return self.strict == "ask" and self.append_to is not None

    @property
    def adds_unknown(self) -> bool:
        """An unknown key is recorded without a question (accept-new, no; not with none)."""
        return self.strict in ("accept-new", "no") and self.append_to is not None

    @property
    def files(self) -> tuple[Path, ...]:
        return self.user_files + self.global_files

    @property
    def append_to(self) -> Path | None:
        """Where an accepted key is written (None with UserKnownHostsFile none)."""
        return self.user_files[0] if self.user_files else None

    def names(self, host: str, port: int, addr: str = "") -> list[str]:
        """The known_hosts names this host is looked up (and written) under."""
        if self.host_key_alias:
            return [self.host_key_alias]
        names = [known_hosts_pattern(host, port)]
        if self.check_host_ip and addr and addr != host:
            names.append(known_hosts_pattern(addr, port))
        return names


def policy_from_config(
    options: asyncssh.SSHClientConnectionOptions, original_host: str
) -> KnownHostsPolicy:
    """The policy ssh_config gives for one host (its options read once by asyncssh)."""
    config = options.config
    alias = config.get("HostKeyAlias")
    tokens = _tokens(options, original_host, alias)
    user = config.get("UserKnownHostsFile", DEFAULT_USER_FILES)
    global_files = config.get("GlobalKnownHostsFile", DEFAULT_GLOBAL_FILES)
    return KnownHostsPolicy(
        user_files=tuple(Path(expand_user_path(name, tokens)) for name in user),
        global_files=tuple(Path(name) for name in global_files),
        host_key_alias=alias,
        check_host_ip=bool(config.get("CheckHostIP", False)),
        hash_known_hosts=bool(config.get("HashKnownHosts", False)),
        strict=strict_host_key_checking(
            config.get("StrictHostKeyChecking"), batch_mode=bool(config.get("BatchMode", False))
        ),
    )


_STRICT_WORDS = {
    "yes": "yes",
    "true": "yes",
    "ask": "ask",
    "accept-new": "accept-new",
    "no": "no",
    "off": "no",
    "false": "no",
}


def strict_host_key_checking(value: object, *, batch_mode: bool) -> str:
    """ssh_config's StrictHostKeyChecking as ssh reads it (ask when unset or unknown); with
    BatchMode nobody is asked, so ask refuses as yes does."""
    strict = _STRICT_WORDS.get(str(value).lower(), "ask") if value else "ask"
    return "yes" if strict == "ask" and batch_mode else strict


def _tokens(
    options: asyncssh.SSHClientConnectionOptions, original_host: str, alias: str | None
) -> dict[str, str]:
    """ssh_config(5)'s TOKENS for UserKnownHostsFile."""
    local_host = socket.gethostname()
    jump = options.config.get("ProxyJump") or ""
    host, port, user = options.host, str(options.port or 22), options.username
    tokens = {
        "%": "%",
        "C": hashlib.sha1(f"{local_host}{host}{port}{user}{jump}".encode()).hexdigest(),
        "d": os.path.expanduser("~"),
        "h": host,
        "j": jump,
        "k": alias or original_host,
        "L": local_host.split(".")[0],
        "l": local_host,
        "n": original_host,
        "p": port,
        "r": user,
        "u": getpass.getuser(),
    }
    if hasattr(os, "getuid"):
        tokens["i"] = str(os.getuid())
    return tokens


def expand_user_path(text: str, tokens: dict[str, str]) -> str:
    """``~``, then %-tokens and ${VAR}, as ssh expands UserKnownHostsFile (ValueError if not)."""

    def token(match: re.Match[str]) -> str:
        if match.group(1) not in tokens:
            raise ValueError(f"unknown token %{match.group(1)} in {text!r}")
        return tokens[match.group(1)]

    def env(match: re.Match[str]) -> str:
        if match.group(1) not in os.environ:
            raise ValueError(f"${{{match.group(1)}}} in {text!r} is not set")
        return os.environ[match.group(1)]

    expanded = re.sub(r"%(.)", token, os.path.expanduser(text))
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", env, expanded)


@dataclass(frozen=True)
class Lookup:
    """What the files say about one host: asyncssh's three lists, and where keys were found."""

    host_keys: list[asyncssh.SSHKey]
    ca_keys: list[asyncssh.SSHKey]
    revoked: list[asyncssh.SSHKey]
    listed_in: Path | None  # the first file with a plain key for this host

    def as_asyncssh(self) -> tuple[list, list, list]:
        return self.host_keys, self.ca_keys, self.revoked


def lookup(policy: KnownHostsPolicy, names: list[str]) -> Lookup:
    """Every file's keys for any of names (exact ``[host]:port`` forms, hashed or not)."""
    host_keys: list = []
    ca_keys: list = []
    revoked: list = []
    listed_in: Path | None = None
    for path in policy.files:
        known = _load(path)
        if known is None:
            continue
        for name in names:
            keys, cas, bad, *_ = known.match(name, "", None)  # name carries the port
            if keys and listed_in is None:
                listed_in = path
            host_keys += keys
            ca_keys += cas
            revoked += bad
    return Lookup(host_keys, ca_keys, revoked, listed_in)


def _load(path: Path) -> asyncssh.SSHKnownHosts | None:
    """One file's entries; lines OpenSSH would skip (bad markers, junk) are skipped."""
    import asyncssh

    try:
        if not path.is_file():
            return None
        with path.open("rb") as fh:
            text = fh.read(_MAX_FILE_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
    try:
        return asyncssh.import_known_hosts(text)
    except ValueError:
        known = asyncssh.import_known_hosts("")
        for line in text.splitlines():
            try:
                known.load(line)
            except ValueError:
                continue
        return known


def hash_name(name: str, salt: bytes | None = None) -> str:
    """``|1|salt|hmac`` as ``ssh-keygen -H`` and HashKnownHosts write a host name."""
    salt = os.urandom(20) if salt is None else salt
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def lines_for(line: str, hashed: bool) -> list[str]:
    """The lines OpenSSH writes for the plain line ``name[,name] key``: one per name if hashed."""
    names, key_text = line.split(None, 1)
    if hashed:
        return [f"{hash_name(name)} {key_text}" for name in names.split(",")]
    return [line]


def append_lines(path: Path, lines: list[str]) -> bool:
    """Append lines to a known_hosts file in place, as ssh does (hostfile.c).

    A symlink stays a symlink (its target grows), a newline is added first when the file lacks
    its last one. Nothing is written to what is not a regular file: /dev/null (or a FIFO)
    records nothing, as it does for ssh. Two differences on purpose: a new file is 0600
    whatever the umask (ssh follows the umask), and missing folders are made (0700), where ssh
    makes only ~/.ssh and otherwise records nothing. False when nothing was recorded; OSError
    when the file can't be written.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    new = not os.path.lexists(path)
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            return False
        if new:
            os.fchmod(fd, 0o600)
        data = "".join(f"{line}\n" for line in lines).encode()
        if found.st_size and os.pread(fd, 1, found.st_size - 1) != b"\n":
            data = b"\n" + data
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)
    return True
