"""Tests for codex_wizard.core.laptop.ports: listener parsers, local owners, and /cancel.

Real-socket tests only ever use ephemeral ports (bind to port 0), never 1455/1457.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from codex_wizard.core.laptop.ports import (
    CODEX_PORTS,
    PortOwner,
    cancel_pending_login,
    local_port_owners,
    owners_of,
    parse_lsof_listeners,
    parse_proc_net_tcp,
    parse_ss_listeners,
    port_is_free,
    wait_port_free,
)

# --------------------------------------------------------------------------- PortOwner


def test_codex_ports() -> None:
    assert CODEX_PORTS == (1455, 1457)


@pytest.mark.parametrize(
    ("owner", "text"),
    [
        (PortOwner(1455, "127.0.0.1", 4242, "codex"), "codex (pid 4242) on 127.0.0.1:1455"),
        (PortOwner(1455, "127.0.0.1", None, None), "another program on 127.0.0.1:1455"),
        (PortOwner(1457, "0.0.0.0", None, "node"), "node on 0.0.0.0:1457"),
        (PortOwner(1455, "::", 7, None), "unknown process (pid 7) on [::]:1455"),
        (PortOwner(1455, "*", 9, "codex"), "codex (pid 9) on *:1455"),
    ],
)
def test_describe(owner: PortOwner, text: str) -> None:
    assert owner.describe() == text


# --------------------------------------------------------------------------- ss

SS_SAMPLE = """\
LISTEN 0      128        127.0.0.1:1455       0.0.0.0:*    users:(("codex",pid=4242,fd=9))
LISTEN 0      4096       127.0.0.53%lo:53     0.0.0.0:*    users:(("systemd-resolve",pid=612,fd=14))
LISTEN 0      128          0.0.0.0:22         0.0.0.0:*    users:(("sshd",pid=901,fd=3))
LISTEN 0      511   [::1]:1457 [::]:* users:(("node",pid=5001,fd=21),("codex",pid=5002,fd=22))
LISTEN 0      128             [::]:22            [::]:*    users:(("sshd",pid=901,fd=4))
LISTEN 0      128                *:8080             *:*
LISTEN 0      128    [fe80::1]%eth0:2200         [::]:*
LISTEN 0      128      192.168.1.5:1455       0.0.0.0:*
"""


def test_parse_ss_sample() -> None:
    assert parse_ss_listeners(SS_SAMPLE) == [
        PortOwner(1455, "127.0.0.1", 4242, "codex"),
        PortOwner(53, "127.0.0.53", 612, "systemd-resolve"),
        PortOwner(22, "0.0.0.0", 901, "sshd"),
        PortOwner(1457, "::1", 5001, "node"),
        PortOwner(22, "::", 901, "sshd"),
        PortOwner(8080, "*", None, None),
        PortOwner(2200, "fe80::1", None, None),
        PortOwner(1455, "192.168.1.5", None, None),
    ]


def test_parse_ss_real_capture() -> None:
    # Captured from `ss -Hltnp` (iproute2 6.x) with a Python process holding three sockets.
    text = (
        "LISTEN 0      128      0.0.0.0:2024  0.0.0.0:*                                 \n"
        'LISTEN 0      128    127.0.0.1:44441 0.0.0.0:* users:(("python",pid=4353,fd=3))\n'
        'LISTEN 0      128        [::1]:51231    [::]:* users:(("python",pid=4353,fd=4))\n'
        'LISTEN 0      128            *:46091       *:* users:(("python",pid=4353,fd=5))\n'
    )
    assert parse_ss_listeners(text) == [
        PortOwner(2024, "0.0.0.0", None, None),
        PortOwner(44441, "127.0.0.1", 4353, "python"),
        PortOwner(51231, "::1", 4353, "python"),
        PortOwner(46091, "*", 4353, "python"),
    ]


def test_parse_ss_with_header_and_unprivileged() -> None:
    text = textwrap.dedent(
        """\
        State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process
        LISTEN 0      128        127.0.0.1:1455       0.0.0.0:*
        LISTEN 0      128        127.0.0.1:1457       0.0.0.0:*
        """
    )
    assert parse_ss_listeners(text) == [
        PortOwner(1455, "127.0.0.1", None, None),
        PortOwner(1457, "127.0.0.1", None, None),
    ]


def test_parse_ss_netid_column_and_old_ipv6_format() -> None:
    text = textwrap.dedent(
        """\
        Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port
        tcp   LISTEN 0      128    127.0.0.1:1455     0.0.0.0:*  users:(("codex",pid=1,fd=2))
        tcp   LISTEN 0      128    :::22              :::*
        tcp   LISTEN 0      128    ::1:1457           :::*
        udp   UNCONN 0      0      0.0.0.0:68         0.0.0.0:*
        tcp   ESTAB  0      0      127.0.0.1:1455     127.0.0.1:50000
        """
    )
    assert parse_ss_listeners(text) == [
        PortOwner(1455, "127.0.0.1", 1, "codex"),
        PortOwner(22, "::", None, None),
        PortOwner(1457, "::1", None, None),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "",
        "LISTEN",
        "LISTEN 0 128",
        "LISTEN 0 128 nonsense 0.0.0.0:*",
        "LISTEN 0 128 127.0.0.1:* 0.0.0.0:*",
        "LISTEN 0 128 127.0.0.1:0 0.0.0.0:*",
        "LISTEN 0 128 127.0.0.1:65536 0.0.0.0:*",
        "LISTEN 0 128 127.0.0.1:70000 0.0.0.0:*",
        "LISTEN 0 128 [::1:1455 [::]:*",
        "LISTEN 0 128 :1455 0.0.0.0:*",
    ],
)
def test_parse_ss_bad_lines_hold_no_port(line: str) -> None:
    assert parse_ss_listeners(line) == []


@pytest.mark.parametrize("port", [1, 65535])
def test_parse_ss_ports_at_the_ends_of_the_range(port: int) -> None:
    line = f"LISTEN 0 128 127.0.0.1:{port} 0.0.0.0:*"
    assert parse_ss_listeners(line) == [PortOwner(port, "127.0.0.1", None, None)]


def test_parse_ss_absurd_pid_keeps_the_port_without_a_pid() -> None:
    line = 'LISTEN 0 128 127.0.0.1:1455 0.0.0.0:* users:(("codex",pid=99999999999999999999,fd=1))'
    assert parse_ss_listeners(line) == [PortOwner(1455, "127.0.0.1", None, "codex")]


# --------------------------------------------------------------------------- lsof

LSOF_SAMPLE = """\
p4242
ccodex
f9
n127.0.0.1:1455
p5001
cnode
f21
n[::1]:1457
f22
n*:1457
p901
csshd
f3
n*:22
f4
n*:22
p77
cweird
f5
n127.0.0.1:1455->127.0.0.1:50000
f6
nlocalhost:http
"""


def test_parse_lsof_sample() -> None:
    assert parse_lsof_listeners(LSOF_SAMPLE) == [
        PortOwner(1455, "127.0.0.1", 4242, "codex"),
        PortOwner(1457, "::1", 5001, "node"),
        PortOwner(1457, "*", 5001, "node"),
        PortOwner(22, "*", 901, "sshd"),
    ]


def test_parse_lsof_real_capture() -> None:
    # Captured from `lsof -nP -iTCP -sTCP:LISTEN -Fpcn` (lsof 4.95, no 'f' lines).
    text = "p4353\ncpython\nn127.0.0.1:44441\nn[::1]:51231\nn*:46091\n"
    assert parse_lsof_listeners(text) == [
        PortOwner(44441, "127.0.0.1", 4353, "python"),
        PortOwner(51231, "::1", 4353, "python"),
        PortOwner(46091, "*", 4353, "python"),
    ]


def test_parse_lsof_new_process_resets_command() -> None:
    text = "p1\ncfirst\np2\nn127.0.0.1:1455\npbad\nn127.0.0.1:1457\n"
    assert parse_lsof_listeners(text) == [
        PortOwner(1455, "127.0.0.1", 2, None),
        PortOwner(1457, "127.0.0.1", None, None),
    ]


# --------------------------------------------------------------------------- /proc/net/tcp

PROC_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:05AF 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 41234 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1061 1 000000004948556c 100 0 0 10 0
   2: 3500007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 2345 1 0000000000000000 100 0 0 10 5
   3: 0100007F:05AF 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 41240 1 0000000000000000 20 4 30 10 -1
   4: 0501A8C0:05B1 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 41299 1 0000000000000000 100 0 0 10 0
"""  # noqa: E501

PROC_TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:C81F 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9196 1 000000000cdcadf2 100 0 0 10 0
   1: 00000000000000000000000000000000:05B1 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9197 1 0000000025de150d 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:05AF 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9198 1 0000000025de150d 100 0 0 10 0
   3: 000080FE000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9199 1 0000000025de150d 100 0 0 10 0
"""  # noqa: E501


def test_parse_proc_net_tcp() -> None:
    assert parse_proc_net_tcp(PROC_TCP) == [
        PortOwner(1455, "127.0.0.1", None, None),
        PortOwner(22, "0.0.0.0", None, None),
        PortOwner(53, "127.0.0.53", None, None),
        PortOwner(1457, "192.168.1.5", None, None),
    ]


def test_parse_proc_net_tcp6() -> None:
    owners = parse_proc_net_tcp(PROC_TCP6)
    assert [(o.port, o.address) for o in owners] == [
        (51231, "::1"),
        (1457, "::"),
        (1455, str(ipaddress.ip_address("::ffff:127.0.0.1"))),
        (22, "fe80::1"),
    ]
    assert all(o.pid is None and o.process is None for o in owners)


def test_parse_proc_net_tcp_both_files_concatenated() -> None:
    assert len(parse_proc_net_tcp(PROC_TCP + PROC_TCP6)) == 8


@pytest.mark.parametrize(
    "line",
    [
        "   0: 0100007F 00000000:0000 0A",
        "   0: 0100007F:0000 00000000:0000 0A",
        "   0: 0100007:05AF 00000000:0000 0A",
        "   0: ZZ00007F:05AF 00000000:0000 0A",
        "   0: 0100007F:5AF 00000000:0000 0A",
        "   0: 0100007F01:05AF 00000000:0000 0A",
        "   0: 0100007F:05AF",
    ],
)
def test_parse_proc_net_tcp_bad_lines(line: str) -> None:
    assert parse_proc_net_tcp(line) == []


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="Linux only")
def test_parse_proc_net_tcp_sees_our_listener() -> None:
    with listening_socket() as (_sock, port):
        paths = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
        text = "".join(path.read_text(encoding="ascii") for path in paths if path.exists())
        assert PortOwner(port, "127.0.0.1", None, None) in parse_proc_net_tcp(text)


# --------------------------------------------------------------------------- parsers never raise

_PARSER_BITS = st.sampled_from(
    [
        "LISTEN",
        "0",
        "128",
        " ",
        "\n",
        ":",
        "[",
        "]",
        "%",
        "*",
        "::",
        "1455",
        "99999999999",
        "127.0.0.1",
        'users:(("',
        '",pid=',
        ",fd=",
        "))",
        "p",
        "c",
        "n",
        "->",
        "0A",
        "0100007F",
        "05AF",
        "FFFFFFFF",
        "\x00",
        "é",
    ]
)
_PARSER_TEXT = st.one_of(st.text(), st.lists(_PARSER_BITS, max_size=40).map("".join))


@given(_PARSER_TEXT)
def test_parsers_never_raise(text: str) -> None:
    for parse in (parse_ss_listeners, parse_lsof_listeners, parse_proc_net_tcp):
        owners = parse(text)
        assert all(isinstance(o, PortOwner) and 0 < o.port <= 65535 for o in owners)
        assert all(o.describe() for o in owners)


@given(st.lists(st.builds(PortOwner, st.integers(1, 65535), st.text(), st.none(), st.none())))
def test_owners_of_never_raises(listeners: list[PortOwner]) -> None:
    result = owners_of(listeners, [1455, 1457])
    assert set(result) == {1455, 1457}


# --------------------------------------------------------------------------- owners_of


@pytest.mark.parametrize(
    ("address", "reachable"),
    [
        ("127.0.0.1", True),
        ("0.0.0.0", True),
        ("::", True),
        ("*", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:7f00:1", True),
        ("localhost", True),
        ("::1", False),
        ("192.168.1.5", False),
        ("127.0.0.2", False),
        ("10.0.0.1", False),
        ("fe80::1", False),
        ("garbage", False),
    ],
)
def test_owners_of_reachability(address: str, reachable: bool) -> None:
    owner = PortOwner(1455, address, 1, "x")
    assert owners_of([owner], [1455]) == {1455: owner if reachable else None}


def test_owners_of_prefers_known_process_and_keeps_order() -> None:
    anonymous = PortOwner(1455, "0.0.0.0", None, None)
    named = PortOwner(1455, "127.0.0.1", 10, "codex")
    other_port = PortOwner(1457, "*", 11, "node")
    elsewhere = PortOwner(1457, "192.168.0.2", 12, "nginx")
    result = owners_of([anonymous, elsewhere, named, other_port], [1455, 1457, 9999])
    assert result == {1455: named, 1457: other_port, 9999: None}


def test_owners_of_from_parsed_ss() -> None:
    result = owners_of(parse_ss_listeners(SS_SAMPLE), CODEX_PORTS)
    # 1455: codex on 127.0.0.1 (the 192.168.1.5 listener does not count); 1457 only on ::1.
    assert result == {1455: PortOwner(1455, "127.0.0.1", 4242, "codex"), 1457: None}


# --------------------------------------------------------------------------- real sockets


@contextlib.contextmanager
def listening_socket(host: str = "127.0.0.1") -> Iterator[tuple[socket.socket, int]]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        sock.listen(5)
        yield sock, sock.getsockname()[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_local_port_owners_finds_this_process() -> None:
    with listening_socket() as (_sock, port):
        owner = local_port_owners([port])[port]
    assert owner is not None
    assert owner.pid == os.getpid()
    assert owner.process == psutil.Process().name()
    assert owner.address == "127.0.0.1"
    assert owner.port == port


def test_local_port_owners_wildcard_listener() -> None:
    with listening_socket("0.0.0.0") as (_sock, port):
        owner = local_port_owners([port])[port]
    assert owner is not None
    assert owner.pid == os.getpid()


def test_local_port_owners_free_port() -> None:
    port = free_port()
    assert local_port_owners([port]) == {port: None}


def test_local_port_owners_default_ports() -> None:
    assert set(local_port_owners()) == set(CODEX_PORTS)


def test_local_port_owners_ignores_other_loopback_addresses() -> None:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.2", 0))
        except OSError:
            pytest.skip("127.0.0.2 is not a local address here")
        sock.listen(1)
        port = sock.getsockname()[1]
        assert local_port_owners([port]) == {port: None}


def _deny(*_args: object, **_kwargs: object) -> None:
    raise psutil.AccessDenied()


def test_local_port_owners_falls_back_to_process_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "net_connections", _deny)
    with listening_socket() as (_sock, port):
        owner = local_port_owners([port])[port]
    assert owner is not None
    assert owner.pid == os.getpid()
    assert owner.process == psutil.Process().name()


def test_local_port_owners_falls_back_to_bind_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "net_connections", _deny)
    monkeypatch.setattr(psutil.Process, "net_connections", _deny)
    free = free_port()
    with listening_socket() as (_sock, port):
        result = local_port_owners([port, free])
    assert result == {port: PortOwner(port, "127.0.0.1", None, None), free: None}
    assert result[port] is not None
    assert result[port].describe() == f"another program on 127.0.0.1:{port}"


def test_port_is_free() -> None:
    with listening_socket() as (_sock, port):
        assert not port_is_free(port)
    assert port_is_free(port)


def test_port_is_free_bound_wildcard() -> None:
    with listening_socket("0.0.0.0") as (_sock, port):
        assert not port_is_free(port)


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_port_is_free_ipv6() -> None:
    with socket.socket(socket.AF_INET6) as sock:
        try:
            sock.bind(("::1", 0))
        except OSError:
            pytest.skip("no ::1 here")
        sock.listen(1)
        port = sock.getsockname()[1]
        assert not port_is_free(port, "::1")
    assert port_is_free(port, "::1")


@pytest.mark.skipif(os.name == "nt", reason="SO_REUSEADDR semantics differ on Windows")
def test_port_is_free_despite_time_wait() -> None:
    """A server that closes first leaves TIME_WAIT behind; like codex, we can bind anyway.

    The listener sets SO_REUSEADDR as the Rust login server does (its TIME_WAIT children
    inherit it); a bind without SO_REUSEADDR would still fail.
    """
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = listener.accept()
        conn.close()  # the server closes first: its side goes to TIME_WAIT
        client.recv(1)
        client.close()
    if sys.platform.startswith("linux"):
        with socket.socket() as plain, pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
    assert port_is_free(port)


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_port_is_free_rejects_bad_ports(port: int) -> None:
    with pytest.raises(ValueError):
        port_is_free(port)


# --------------------------------------------------------------------------- /cancel


@contextlib.asynccontextmanager
async def fake_login_server() -> AsyncIterator[tuple[int, list[str]]]:
    """A stand-in for the Codex login server: answers /cancel and then stops listening."""
    requests: list[str] = []
    server: asyncio.Server | None = None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode()
        while (await reader.readline()).strip():
            pass
        requests.append(request_line.strip())
        if request_line.startswith("GET /cancel "):
            body = b"Login cancelled"
            status = b"200 OK"
        else:
            body, status = b"Not Found", b"404 Not Found"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()
        if request_line.startswith("GET /cancel ") and server is not None:
            server.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, requests
    finally:
        server.close()


async def test_cancel_pending_login_frees_port() -> None:
    async with fake_login_server() as (port, requests):
        assert not port_is_free(port)
        assert await cancel_pending_login(port) is True
        assert await wait_port_free(port, timeout=3.0)
        assert requests == ["GET /cancel HTTP/1.1"]


async def test_cancel_pending_login_subprocess_exits() -> None:
    """The stand-in runs as its own process and exits on /cancel, like `codex login`."""
    script = textwrap.dedent(
        """
        import asyncio, sys

        async def main():
            done = asyncio.Event()

            async def handle(reader, writer):
                line = await reader.readline()
                writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 15\\r\\n\\r\\nLogin cancelled")
                await writer.drain()
                writer.close()
                if line.startswith(b"GET /cancel "):
                    done.set()

            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            print(server.sockets[0].getsockname()[1], flush=True)
            await done.wait()
            server.close()
            sys.exit(1)

        asyncio.run(main())
        """
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        port = int(await asyncio.wait_for(proc.stdout.readline(), 10))
        owner = local_port_owners([port])[port]
        assert owner is not None and owner.pid == proc.pid
        assert await cancel_pending_login(port) is True
        assert await asyncio.wait_for(proc.wait(), 10) == 1
        assert await wait_port_free(port)
        assert local_port_owners([port]) == {port: None}
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_cancel_pending_login_nothing_listening() -> None:
    assert await cancel_pending_login(free_port()) is False


async def test_cancel_pending_login_not_http() -> None:
    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        assert await cancel_pending_login(port) is False


async def test_cancel_pending_login_closes_without_answer() -> None:
    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        assert await cancel_pending_login(port) is False


async def test_cancel_pending_login_silent_peer_times_out() -> None:
    with listening_socket() as (_sock, port):  # accepts (backlog) but never answers
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await cancel_pending_login(port, timeout=0.3) is False
        assert loop.time() - start < 2.0


async def test_wait_port_free_when_released() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    asyncio.get_running_loop().call_later(0.2, sock.close)
    assert await wait_port_free(port, timeout=3.0)


async def test_wait_port_free_times_out() -> None:
    with listening_socket() as (_sock, port):
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await wait_port_free(port, timeout=0.3) is False
        assert 0.25 <= loop.time() - start < 2.0
