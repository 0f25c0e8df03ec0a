"""Where the user really is (core.laptop.seat): run over SSH without a display, the browser is on
another computer; the `ssh -L` we offer is read by OpenSSH itself as the forward we mean; and the
wizard says so before the URL (Pilot)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from codex_wizard.core.laptop.seat import remote_seat
from codex_wizard.core.server.events import UrlReady
from tests.test_tui_screens import URL, login_screen
from tests.tui_fakes import fake_backend, make_app, text_of, wait_for

OVER_SSH = {"SSH_CONNECTION": "192.0.2.7 53122 198.51.100.4 2222", "USER": "alice"}


def test_an_ssh_session_without_a_display_is_a_remote_seat() -> None:
    seat = remote_seat(OVER_SSH)
    assert seat is not None
    assert (seat.client, seat.address, seat.ssh_port, seat.user) == (
        "192.0.2.7",
        "198.51.100.4",
        2222,
        "alice",
    )
    assert "127.0.0.1:1455" in seat.warning(1455) and "192.0.2.7" in seat.warning(1455)


@pytest.mark.parametrize(
    "env",
    [
        {},  # at the computer itself
        {**OVER_SSH, "DISPLAY": "localhost:10.0"},  # X11 forwarding: the browser shows there
        {**OVER_SSH, "WAYLAND_DISPLAY": "wayland-0"},
        {"SSH_CONNECTION": "garbage"},
    ],
)
def test_no_remote_seat_where_a_browser_here_reaches_our_port(env: dict[str, str]) -> None:
    assert remote_seat(env) is None


def test_a_server_sent_looking_value_is_made_printable() -> None:
    seat = remote_seat({"SSH_CONNECTION": "1.2.3.4 1 \x1b[31mx 22", "USER": "a"})
    assert seat is not None and "\x1b" not in seat.forward_command(1455)


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs OpenSSH's ssh")
@pytest.mark.parametrize("ssh_port", [22, 2222])
def test_openssh_reads_the_offered_command_as_the_forward_we_mean(ssh_port: int) -> None:
    """`ssh -G` prints the configuration ssh would use, without connecting anywhere."""
    env = {"SSH_CONNECTION": f"192.0.2.7 53122 198.51.100.4 {ssh_port}", "USER": "alice"}
    seat = remote_seat(env)
    assert seat is not None
    argv = seat.forward_command(1455).split()
    assert argv[0] == "ssh"
    shown = subprocess.run(
        ["ssh", "-F", "/dev/null", "-G", *argv[1:]],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.splitlines()
    assert "localforward 1455 [127.0.0.1]:1455" in shown
    assert {"user alice", "hostname 198.51.100.4", f"port {ssh_port}"} <= set(shown)


async def url_label_at_80x24() -> str:
    """What the tunnel's sign-in step says just above the URL, once codex has printed it."""
    backend, calls = fake_backend()
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        session = await login_screen(pilot, app, calls)
        session.push(UrlReady(URL, 1455))
        await wait_for(pilot, lambda: app.state.login.url is not None)
        await pilot.pause()
        return text_of(app, "#url-label")


async def test_the_wizard_says_so_before_the_url_at_80x24(monkeypatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in OVER_SSH.items():
        monkeypatch.setenv(name, value)
    label = await url_label_at_80x24()
    assert "over SSH (from 192.0.2.7)" in label
    assert "ssh -L 1455:127.0.0.1:1455 -p 2222 alice@198.51.100.4" in label
    assert "press w" in label
    assert label.rstrip().endswith("Then open this URL in your browser and sign in:")


async def test_at_the_computer_itself_the_url_stands_alone(monkeypatch) -> None:
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    assert await url_label_at_80x24() == "Open this URL in your browser and sign in:"
