"""Who holds the Codex login ports (127.0.0.1:1455 / :1457), here and on a server.

Here: psutil, portably, with fallbacks when the OS hides other users' sockets. There: the text
of ``ss -Hltnp``, ``lsof -nP -iTCP -sTCP:LISTEN -Fpcn`` or ``/proc/net/tcp{,6}`` (the probe runs
them remotely; this module only parses). Parsers never raise on odd input: they skip lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import os
import re
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import psutil

__all__ = [
    "CODEX_PORTS",
    "LocalPortState",
    "PortOwner",
    "cancel_pending_login",
    "is_windows_excluded",
    "local_port_owners",
    "local_port_state",
    "owners_of",
    "parse_lsof_listeners",
    "parse_proc_net_tcp",
    "parse_ss_listeners",
    "port_is_free",
    "wait_port_free",
]

CODEX_PORTS = (1455, 1457)

# Bound addresses that a connection to 127.0.0.1 reaches ("::" assuming the usual v6only=0).
_REACHES_LOOPBACK = frozenset(
    {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("0.0.0.0"),
        ipaddress.ip_address("::"),
    }
)


@dataclass(frozen=True)
class PortOwner:
    """A TCP listener: the address it is bound to and, when visible, its process."""

    port: int
    address: str
    pid: int | None = None
    process: str | None = None

    def describe(self) -> str:
        """``codex (pid 4242) on 127.0.0.1:1455``, ``another program on 127.0.0.1:1455``."""
        if self.pid is None:
            who = self.process or "another program"  # e.g. macOS hides other users' sockets
        else:
            who = f"{self.process or 'unknown process'} (pid {self.pid})"
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{who} on {host}:{self.port}"


# --------------------------------------------------------------------------- parsers


def _split_addr_port(text: str) -> tuple[str, int] | None:
    """``127.0.0.1:1455``, ``[::1]:1455``, ``:::22`` (old ss), ``*:1455``, ``1.2.3.4%lo:53``."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
        return None
    port = int(port_text)
    if not 0 < port <= 65535:
        return None
    if host.startswith("["):
        inner, close, _zone = host[1:].partition("]")
        if not close:
            return None
        host = inner
    host = host.partition("%")[0]
    return (host, port) if host else None


def _normalise_address(host: str) -> str:
    """Canonical text for an IP address (``::`` for ``0:0::0``); other text unchanged."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def _make_owner(addr_text: str, pid: int | None, process: str | None) -> PortOwner | None:
    split = _split_addr_port(addr_text)
    if split is None:
        return None
    host, port = split
    return PortOwner(port=port, address=_normalise_address(host), pid=pid, process=process)


_SS_USERS_RE = re.compile(r'users:\(\("((?:[^"\\]|\\.)*)",pid=(\d+)')
_SS_NETIDS = frozenset({"tcp", "tcp6", "tcp4", "mptcp"})


def parse_ss_listeners(text: str) -> list[PortOwner]:
    """Listeners in ``ss -Hltnp`` output (a header line, a Netid column and no users ok)."""
    owners: list[PortOwner] = []
    for line in text.splitlines():
        owner = _parse_ss_line(line)
        if owner is not None:
            owners.append(owner)
    return owners


def _parse_ss_line(line: str) -> PortOwner | None:
    tokens = line.split()
    if tokens and tokens[0].lower() in _SS_NETIDS:
        tokens = tokens[1:]
    if len(tokens) < 4 or tokens[0].upper() != "LISTEN":
        return None
    pid: int | None = None
    process: str | None = None
    users = _SS_USERS_RE.search(line)
    if users:
        process, pid = users.group(1), _small_int(users.group(2))
    return _make_owner(tokens[3], pid, process)


def _small_int(text: str) -> int | None:
    """A pid-sized int, or None for absurdly long digit strings."""
    return int(text) if len(text) <= 10 else None


def parse_lsof_listeners(text: str) -> list[PortOwner]:
    """Listeners in ``lsof -nP -iTCP -sTCP:LISTEN -Fpcn`` output (``p``/``c``/``f``/``n`` lines)."""
    owners: list[PortOwner] = []
    pid: int | None = None
    process: str | None = None
    for line in text.splitlines():
        field, value = line[:1], line[1:]
        if field == "p":
            pid = _small_int(value) if value.isascii() and value.isdigit() else None
            process = None
        elif field == "c":
            process = value or None
        elif field == "n" and "->" not in value:
            owner = _make_owner(value, pid, process)
            if owner is not None and owner not in owners:
                owners.append(owner)
    return owners


_PROC_LISTEN = "0A"


def parse_proc_net_tcp(text: str) -> list[PortOwner]:
    """LISTEN rows of ``/proc/net/tcp`` and ``/proc/net/tcp6`` (either or both, any order)."""
    owners: list[PortOwner] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or not fields[0].endswith(":") or fields[3].upper() != _PROC_LISTEN:
            continue
        owner = _parse_proc_local(fields[1])
        if owner is not None:
            owners.append(owner)
    return owners


def _parse_proc_local(field: str) -> PortOwner | None:
    """``0100007F:05AF`` -> 127.0.0.1:1455; 32 hex digits are IPv6 in 4 host-order words."""
    addr_hex, sep, port_hex = field.partition(":")
    try:
        raw = bytes.fromhex(addr_hex)
        port = int(port_hex, 16) if sep and len(port_hex) == 4 else 0
    except ValueError:
        return None
    if len(raw) not in (4, 16) or not port:
        return None
    # The kernel prints each 32-bit word in host order: little-endian on every common CPU.
    swapped = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return PortOwner(port=port, address=str(ipaddress.ip_address(swapped)), pid=None)


# --------------------------------------------------------------------------- who holds a port


def _reaches_loopback(owner: PortOwner) -> bool:
    """Bound to 127.0.0.1 or a wildcard (``*``, 0.0.0.0, ``::``, their IPv4-mapped forms)."""
    if owner.address in ("*", "localhost"):
        return True
    try:
        ip = ipaddress.ip_address(owner.address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip in _REACHES_LOOPBACK


def owners_of(listeners: list[PortOwner], ports: Iterable[int]) -> dict[int, PortOwner | None]:
    """For each port, the listener a connection to 127.0.0.1:port would reach (or None).

    Listeners on other addresses (192.0.2.7, ::1) do not count. When several match, one with a
    known process wins, so the message can name it.
    """
    result: dict[int, PortOwner | None] = {}
    for port in ports:
        candidates = [o for o in listeners if o.port == port and _reaches_loopback(o)]
        candidates.sort(key=lambda o: (o.pid is None, o.process is None))
        result[port] = candidates[0] if candidates else None
    return result


def local_port_owners(ports: Iterable[int] = CODEX_PORTS) -> dict[int, PortOwner | None]:
    """Who holds each port on 127.0.0.1 on this computer.

    psutil's system-wide table first; where the OS denies it (macOS without root), a scan of the
    processes we may inspect, then a bind test for ports still unexplained (pid/process None).
    """
    ports = list(ports)
    names: dict[int, str | None] = {}
    try:
        listeners = list(_system_listeners(names))
        complete = True
    except (psutil.Error, OSError):
        listeners = list(_per_process_listeners())
        complete = False
    owners = owners_of(listeners, ports)
    if not complete:
        for port, owner in owners.items():
            if owner is None and local_port_state(port) is LocalPortState.BUSY:
                owners[port] = PortOwner(port=port, address="127.0.0.1")
    return owners


def _conn_owner(conn: object, pid: int | None, process: str | None) -> PortOwner | None:
    """A PortOwner for a psutil connection in LISTEN state, else None."""
    laddr = getattr(conn, "laddr", None)
    if getattr(conn, "status", None) != psutil.CONN_LISTEN or not laddr:
        return None
    address = _normalise_address(laddr[0].partition("%")[0])
    return PortOwner(port=laddr[1], address=address, pid=pid, process=process)


def _system_listeners(names: dict[int, str | None]) -> Iterator[PortOwner]:
    for conn in psutil.net_connections(kind="tcp"):
        pid = conn.pid or None
        owner = _conn_owner(conn, pid, _process_name(pid, names) if pid else None)
        if owner is not None:
            yield owner


def _process_name(pid: int, cache: dict[int, str | None]) -> str | None:
    if pid not in cache:
        try:
            cache[pid] = psutil.Process(pid).name() or None
        except (psutil.Error, OSError):
            cache[pid] = None
    return cache[pid]


def _per_process_listeners() -> Iterator[PortOwner]:
    """Listening sockets of every process we may look at, skipping those we may not."""
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            conns = proc.net_connections(kind="tcp")
        except (psutil.Error, OSError):
            continue
        for conn in conns:
            owner = _conn_owner(conn, proc.info["pid"], proc.info.get("name"))
            if owner is not None:
                yield owner


class LocalPortState(enum.Enum):
    """Whether a listener could bind 127.0.0.1:port on this computer."""

    FREE = "free"
    BUSY = "busy"  # another socket holds it
    EXCLUDED = "excluded"  # Windows reserves it (an excluded port range, WinError 10013)


# WSAEACCES: Windows' answer to a bind inside an excluded port range (Hyper-V, WSL 2, Docker
# reserve ranges at boot; `netsh interface ipv4 show excludedportrange protocol=tcp` lists them).
WSAEACCES = 10013


def is_windows_excluded(exc: OSError) -> bool:
    """True when a bind failed because Windows excludes the port (not because it is in use)."""
    return WSAEACCES in (exc.errno, getattr(exc, "winerror", None))


def local_port_state(port: int, host: str = "127.0.0.1") -> LocalPortState:
    """Try to bind host:port as the Codex login server does, and say how that went.

    On POSIX that is with SO_REUSEADDR (so TIME_WAIT leftovers do not count as busy); on
    Windows SO_REUSEADDR would let us share a live port, so it is left off there.
    """
    if not 0 < port <= 65535:
        raise ValueError(f"port out of range: {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            if os.name != "nt":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(1)
    except OSError as exc:
        return LocalPortState.EXCLUDED if is_windows_excluded(exc) else LocalPortState.BUSY
    return LocalPortState.FREE


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if a listener could take host:port now (see local_port_state)."""
    return local_port_state(port, host) is LocalPortState.FREE


async def cancel_pending_login(port: int, timeout: float = 2.0) -> bool:
    """Ask a Codex login server on 127.0.0.1:port to give up (``GET /cancel``).

    A real one answers and exits, freeing the port. True if anything answered HTTP; False when
    nothing listens, the peer is not HTTP, or it is too slow. Never raises for network errors.
    Only call this with the user's consent: it ends someone's pending login.
    """
    request = (
        f"GET /cancel HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
    except (OSError, TimeoutError, ValueError, EOFError):
        return False
    finally:
        if writer is not None:
            await _close_quietly(writer)
    return status_line.startswith(b"HTTP/")


async def _close_quietly(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(0.5):
            await writer.wait_closed()


async def wait_port_free(port: int, timeout: float = 3.0, interval: float = 0.05) -> bool:
    """Poll until 127.0.0.1:port can be bound; False if it is still taken after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if port_is_free(port):
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(interval)
