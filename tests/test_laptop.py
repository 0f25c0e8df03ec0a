"""The laptop as it is: Windows' excluded ports and macOS' hidden sockets, with the real errors."""

from __future__ import annotations

import asyncio
import socket

import psutil
import pytest

from codex_wizard.core.laptop import ports
from codex_wizard.core.laptop.ports import LocalPortState, local_port_owners, local_port_state
from codex_wizard.core.server.tunnel import PortBusyError, PortExcludedError, Tunnel

# What Windows raises for bind(("127.0.0.1", 1455)) inside an excluded port range.
WIN_10013_TEXT = (
    "An attempt was made to access a socket in a way forbidden by its access permissions"
)


def _winerror_10013() -> OSError:
    exc = OSError(10013, WIN_10013_TEXT)
    exc.winerror = 10013  # set by CPython on Windows only; errno is the WSA code there as well
    return exc


@pytest.fixture
def windows_excludes_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    def bind(self: socket.socket, address: object) -> None:
        raise _winerror_10013()

    monkeypatch.setattr(socket.socket, "bind", bind)


def _addr_in_use() -> OSError:
    return OSError(10048, "Only one usage of each socket address is normally permitted")


def test_windows_excluded_port_is_its_own_state(windows_excludes_ports: None) -> None:
    assert local_port_state(1455) is LocalPortState.EXCLUDED
    assert not ports.port_is_free(1455)


def test_port_in_use_on_windows_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    def bind(self: socket.socket, address: object) -> None:
        raise _addr_in_use()

    monkeypatch.setattr(socket.socket, "bind", bind)
    assert local_port_state(1455) is LocalPortState.BUSY


async def test_tunnel_on_an_excluded_port_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def start_server(*args: object, **kwargs: object) -> None:
        raise _winerror_10013()

    monkeypatch.setattr(asyncio, "start_server", start_server)
    tunnel = Tunnel(server=None, port=1455)  # type: ignore[arg-type]  # never reached
    with pytest.raises(PortExcludedError) as caught:
        await tunnel.start()
    assert isinstance(caught.value, PortBusyError)  # callers that handle "busy" still do
    assert caught.value.port == 1455
    assert caught.value.owner is None


def _macos_access_denied(*_args: object, **_kwargs: object) -> None:
    # psutil on macOS without root: net_connections walks every pid and meets launchd first.
    raise psutil.AccessDenied(pid=1, name="launchd")


def test_macos_hidden_listener_is_another_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "net_connections", _macos_access_denied)
    monkeypatch.setattr(psutil.Process, "net_connections", _macos_access_denied)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        owner = local_port_owners([port])[port]
    assert owner is not None
    assert (owner.pid, owner.process) == (None, None)
    assert "another program" in owner.describe()


def test_macos_excluded_free_port_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "net_connections", _macos_access_denied)
    monkeypatch.setattr(psutil.Process, "net_connections", _macos_access_denied)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert local_port_owners([port]) == {port: None}
