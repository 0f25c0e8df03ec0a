"""Hosts: parse what the user typed (``user@host:port``) and list ``Host`` aliases of ~/.ssh/config.

The name in a :class:`HostTarget` is passed to ``asyncssh.connect`` as typed, so the user's
ssh_config (HostName, User, Port, IdentityFile, ProxyJump ...) still applies to an alias.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HostArgError",
    "HostTarget",
    "default_ssh_config_path",
    "list_config_hosts",
    "parse_host_arg",
]


class HostArgError(ValueError):
    """The text typed as a host is not something we will hand to SSH."""


@dataclass(frozen=True)
class HostTarget:
    """One SSH destination: an ssh_config alias or a host name / IP address, plus overrides.

    ``ssh_options`` are ssh_config lines ("Port 2222") that come before every ssh_config file,
    as ``ssh -o`` options do (an Ansible inventory's settings for the host, core/ssh/inventory);
    ``alias`` is then the name the user knows it by (the inventory's host name).
    """

    name: str
    user: str | None = None
    port: int | None = None
    ssh_options: tuple[str, ...] = ()
    alias: str | None = None

    def label(self) -> str:
        """``alias``, else ``name``, ``user@name``, ``user@name:2222``; IPv6 with a port as
        ``[::1]:22``."""
        if self.alias:
            return self.alias
        host = self.name
        if self.port is not None:
            if ":" in host:
                host = f"[{host}]"
            host = f"{host}:{self.port}"
        return f"{self.user}@{host}" if self.user else host


# Host names and aliases: letters, digits, dot, dash, underscore (no leading dash or dot).
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
# User names: the portable POSIX set plus '+' (no leading dash).
_USER_RE = re.compile(r"[A-Za-z0-9_.+][A-Za-z0-9_.+-]*")
_PORT_RE = re.compile(r"[0-9]{1,5}")
_SCOPE_RE = re.compile(r"[A-Za-z0-9._-]+")
_SHELL_META = set("`$;&|<>(){}'\"\\*?!#~^,=\n\r\t")
_MAX_NAME = 253


def parse_host_arg(text: str) -> HostTarget:
    """Parse ``name``, ``user@name``, ``user@name:port``, ``[v6]:port``, a bare IPv6 address or
    ssh(1)'s ``ssh://[user@]host[:port]`` URI.

    Outer whitespace is ignored. Raises :class:`HostArgError` with a message fit for the user.
    """
    text = text.strip()
    if not text:
        raise HostArgError("Enter a host: an ssh_config alias, host name or user@host[:port].")
    _reject_unsafe(text)
    user, hostport = _split_user(_without_uri_scheme(text))
    name, port = _split_host_port(hostport)
    return HostTarget(name=name, user=user, port=port)


def _without_uri_scheme(text: str) -> str:
    """``ssh://[user@]host[:port][/]`` as ``[user@]host[:port]``, as ssh(1) reads it; any other
    text as it is. A path after the host is refused, as ssh refuses it."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    if scheme.lower() != "ssh":
        raise HostArgError(f"{text!r}: only ssh:// addresses name an SSH host.")
    rest = rest.removesuffix("/")
    if "/" in rest:
        raise HostArgError(f"{text!r}: an ssh:// address has no path after the host.")
    return rest


def _split_user(text: str) -> tuple[str | None, str]:
    """``user@rest`` -> (user, rest); no '@' -> (None, text)."""
    if "@" not in text:
        return None, text
    user, _, hostport = text.partition("@")
    if "@" in hostport:
        raise HostArgError(f"{text!r} has more than one '@'.")
    if not user:
        raise HostArgError(f"{text!r} has an empty user name before '@'.")
    if not _USER_RE.fullmatch(user):
        raise HostArgError(f"{user!r} is not a valid user name.")
    if not hostport:
        raise HostArgError(f"{text!r} has no host after '@'.")
    return user, hostport


def _reject_unsafe(text: str) -> None:
    """Refuse spaces, control characters, shell metacharacters and option-like leading dashes."""
    if any(ch.isspace() for ch in text):
        raise HostArgError(f"{text!r} contains spaces; a host is a single word.")
    if text.startswith("-"):
        raise HostArgError(f"{text!r} starts with '-', which SSH would read as an option.")
    bad = sorted({ch for ch in text if ch in _SHELL_META or not ch.isprintable()})
    if bad:
        shown = " ".join(repr(ch) for ch in bad)
        raise HostArgError(f"{text!r} contains characters not allowed in a host: {shown}.")


def _split_host_port(hostport: str) -> tuple[str, int | None]:
    """Split ``host[:port]``; ``[v6]:port`` and a bare IPv6 address (two or more ':') too."""
    if hostport.startswith("["):
        inner, close, rest = hostport[1:].partition("]")
        if not close:
            raise HostArgError(f"{hostport!r} has '[' without a closing ']'.")
        _check_ipv6(inner)
        if rest and not rest.startswith(":"):
            raise HostArgError(f"Unexpected {rest!r} after ']' in {hostport!r}.")
        return inner, _parse_port(rest[1:]) if rest else None
    if "]" in hostport:
        raise HostArgError(f"{hostport!r} has ']' without an opening '['.")
    if hostport.count(":") >= 2:
        _check_ipv6(hostport)
        return hostport, None
    name, colon, port_text = hostport.partition(":")
    _check_name(name)
    return name, _parse_port(port_text) if colon else None


def _check_name(name: str) -> None:
    if not name:
        raise HostArgError("The host name is empty.")
    if name.startswith("-"):
        raise HostArgError(f"{name!r} starts with '-', which SSH would read as an option.")
    if len(name) > _MAX_NAME:
        raise HostArgError(f"The host name is too long ({len(name)} characters).")
    if not _NAME_RE.fullmatch(name):
        raise HostArgError(
            f"{name!r} is not a valid host name (letters, digits, '.', '-' and '_' only)."
        )


def _check_ipv6(addr: str) -> None:
    """Brackets and bare multi-colon hosts must be IPv6 addresses (with an optional %zone)."""
    bare, pct, scope = addr.partition("%")
    if pct and not _SCOPE_RE.fullmatch(scope):
        raise HostArgError(f"{addr!r} has an invalid interface after '%'.")
    try:
        ipaddress.IPv6Address(bare)
    except ValueError:
        raise HostArgError(f"{addr!r} is not a valid IPv6 address.") from None


def _parse_port(text: str) -> int:
    if not text:
        raise HostArgError("The port after ':' is empty.")
    if not _PORT_RE.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise HostArgError(f"{text!r} is not a valid port (1-65535).")
    return int(text)


# --------------------------------------------------------------------------- ssh_config


_MAX_INCLUDE_DEPTH = 16  # OpenSSH's READCONF_MAX_DEPTH
_MAX_FILE_BYTES = 4 * 1024 * 1024


def default_ssh_config_path() -> Path:
    """The user's OpenSSH client config, ``~/.ssh/config``."""
    return Path.home() / ".ssh" / "config"


def list_config_hosts(path: Path | None = None) -> list[str]:
    """Concrete ``Host`` aliases in an OpenSSH client config, in file order, without duplicates.

    Patterns (``*``, ``?``) and negations (``!name``) are skipped, ``Include`` is followed
    (globs; relative paths are taken from ~/.ssh as OpenSSH does for user configs), ``Match``
    lines name nothing. A missing, unreadable or malformed file never raises.
    """
    names: dict[str, None] = {}
    for name in _hosts_in_file(path or default_ssh_config_path(), depth=0, seen=set()):
        names.setdefault(name, None)
    return list(names)


def _hosts_in_file(path: Path, depth: int, seen: set[str]) -> Iterator[str]:
    """Hosts of one file, inlining its includes. Each file is read once: no cycles, no blow-up."""
    key = _file_key(path)
    if key is None or key in seen or depth > _MAX_INCLUDE_DEPTH:
        return
    seen.add(key)
    text = _read_text(path)
    if text is None:
        return
    for keyword, args in _directives(text):
        if keyword == "host":
            yield from (arg for arg in args if _is_concrete(arg))
        elif keyword == "include":
            for included in _expand_includes(args):
                yield from _hosts_in_file(included, depth + 1, seen)


def _file_key(path: Path) -> str | None:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return None


def _read_text(path: Path) -> str | None:
    """Read a regular file (never a FIFO or device); a BOM is dropped, junk bytes replaced."""
    try:
        if not path.is_file():
            return None
        with path.open("rb") as fh:
            data = fh.read(_MAX_FILE_BYTES)
    except (OSError, ValueError):
        return None
    return data.decode("utf-8-sig", errors="replace")


def _is_concrete(pattern: str) -> bool:
    return bool(pattern) and not pattern.startswith("!") and not any(c in pattern for c in "*?")


def _expand_includes(args: list[str]) -> Iterator[Path]:
    """Each Include argument: ``~`` expanded, relative to ~/.ssh, globbed and sorted."""
    ssh_dir = Path.home() / ".ssh"
    for arg in args:
        try:
            expanded = os.path.expanduser(arg)
            pattern = expanded if os.path.isabs(expanded) else str(ssh_dir / expanded)
            matches = sorted(glob.glob(pattern))
        except (OSError, ValueError):
            continue
        yield from (Path(match) for match in matches)


def _directives(text: str) -> Iterator[tuple[str, list[str]]]:
    """Yield (lower-case keyword, arguments) for each directive line of an ssh_config."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"([^\s=]+)\s*(?:=\s*|\s|$)(.*)", line, re.DOTALL)
        if match:
            yield match.group(1).lower(), _split_args(match.group(2))


def _split_args(text: str) -> list[str]:
    """Split arguments like OpenSSH's argv_split: quotes group words, '#' starts a comment."""
    args: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] == "#":
            break
        word: list[str] = []
        quote: str | None = None
        while i < n and (quote or not text[i].isspace()):
            ch = text[i]
            if ch == "\\" and i + 1 < n and text[i + 1] in "\"'\\ ":
                word.append(text[i + 1])
                i += 2
                continue
            if quote and ch == quote:
                quote = None
            elif not quote and ch in "\"'":
                quote = ch
            else:
                word.append(ch)
            i += 1
        args.append("".join(word))
    return args


def config_targets(
    path: Path | None = None, on_skip: Callable[[str, HostArgError], None] | None = None
) -> list[HostTarget]:
    """list_config_hosts as targets; a Host name that is no valid target is left out (and
    given to on_skip): one odd Host line never stops the rest."""
    targets: list[HostTarget] = []
    for name in list_config_hosts(path):
        try:
            targets.append(parse_host_arg(name))
        except HostArgError as exc:
            if on_skip is not None:
                on_skip(name, exc)
    return targets
