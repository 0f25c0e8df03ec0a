"""After codex accepted the sign-in and closed its login server, a browser tab that comes to
/success late (it followed the redirect slowly, or was reloaded) gets a page saying the sign-in
worked, not our "nothing answers on the server's 127.0.0.1:1455" error. Through the real tunnel
to the lab's sshd, with the fake codex (the real one can't complete a sign-in offline)."""

from __future__ import annotations

import asyncio

from codex_wizard.core.server.events import LoginExited, UrlReady
from codex_wizard.core.server.login import LoginSession, url_state
from codex_wizard.core.server.probe import ServerEnv
from codex_wizard.core.server.signed_in_page import redirects_to_success
from codex_wizard.core.ssh.connection import connect
from tests.lab.sshlab import SshLab
from tests.test_e2e_core import (
    LAB,
    browser_callback,
    ephemeral_ports,
    http_get,
    next_event,
    settings_for,
)


async def test_a_late_success_tab_after_codex_closed_reads_signed_in(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    ports = ephemeral_ports()
    async with (
        await connect(LAB, settings_for(lab)) as conn,
        LoginSession(conn, ServerEnv(auto_path=True), local_port_for=ports) as login,
    ):
        events = login.events()
        ready = await next_event(events, UrlReady)
        local = ports(1455)
        callback = f"/auth/callback?code=c&state={url_state(ready.url)}"
        assert await asyncio.to_thread(browser_callback, local, callback) == 302
        assert (await next_event(events, LoginExited)).exit_code == 0  # its server is gone
        status, page = await asyncio.to_thread(http_get, local, "/success?id_token=x")
        assert status == 200 and "Signed in" in page and "close this tab" in page
        assert "nothing answers" not in page
        status, other = await asyncio.to_thread(http_get, local, "/favicon.ico")
        assert status == 502 and "nothing answers" in other  # only /success is answered so


async def test_a_failed_sign_in_leaves_the_error_standing(lab: SshLab) -> None:
    """codex's token exchange failed (no redirect to /success) and codex exited: nothing says
    the sign-in worked, so a GET of /success still reads that nothing answers."""
    lab.install_codex("fake", "path")
    lab.set_fake_knobs(exchange="fail")
    ports = ephemeral_ports()
    async with (
        await connect(LAB, settings_for(lab)) as conn,
        LoginSession(conn, ServerEnv(auto_path=True), local_port_for=ports) as login,
    ):
        events = login.events()
        ready = await next_event(events, UrlReady)
        callback = f"/auth/callback?code=c&state={url_state(ready.url)}"
        assert await asyncio.to_thread(browser_callback, ports(1455), callback) != 302
        assert (await next_event(events, LoginExited)).exit_code != 0
        status, page = await asyncio.to_thread(http_get, ports(1455), "/success")
    assert status == 502 and "nothing answers" in page


def test_only_a_redirect_to_success_counts() -> None:
    found = b"HTTP/1.1 302 Found\r\nLocation: http://localhost:1455/success?id_token=a\r\n\r\n"
    assert redirects_to_success(found)
    assert not redirects_to_success(b"HTTP/1.1 302 Found\r\nLocation: /error\r\n\r\n")
    assert not redirects_to_success(b"HTTP/1.1 400 Bad Request\r\n\r\nState mismatch")
    assert not redirects_to_success(b"body text 302 Location: /success\r\n\r\n")
