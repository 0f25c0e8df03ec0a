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


async def after_the_callback(lab: SshLab, *paths: str) -> tuple[int, list[tuple[int, str]]]:
    """A login through the tunnel whose browser comes back with the right state; once codex
    has exited, a tab asks for each of `paths`. The callback's status, then the answers."""
    lab.install_codex("fake", "path")
    ports = ephemeral_ports()
    async with (
        await connect(LAB, settings_for(lab)) as conn,
        LoginSession(conn, ServerEnv(auto_path=True), local_port_for=ports) as login,
    ):
        events = login.events()
        ready = await next_event(events, UrlReady)
        callback = f"/auth/callback?code=c&state={url_state(ready.url)}"
        status = await asyncio.to_thread(browser_callback, ports(1455), callback)
        await next_event(events, LoginExited)  # codex's login server is gone
        answers = [await asyncio.to_thread(http_get, ports(1455), path) for path in paths]
    return status, answers


async def test_a_late_success_tab_after_codex_closed_reads_signed_in(lab: SshLab) -> None:
    status, [(code, page), (other_code, other)] = await after_the_callback(
        lab, "/success?id_token=x", "/favicon.ico"
    )
    assert status == 302  # codex sent the browser on to /success: the sign-in worked
    assert code == 200 and "Signed in" in page and "close this tab" in page
    assert "nothing answers" not in page
    assert other_code == 502 and "nothing answers" in other  # only /success is answered so


async def test_a_failed_sign_in_leaves_the_error_standing(lab: SshLab) -> None:
    """codex's token exchange failed (no redirect to /success) and codex exited: nothing says
    the sign-in worked, so a GET of /success still reads that nothing answers."""
    lab.set_fake_knobs(exchange="fail")
    status, [(code, page)] = await after_the_callback(lab, "/success")
    assert status != 302
    assert code == 502 and "nothing answers" in page


def test_only_a_redirect_to_success_counts() -> None:
    found = b"HTTP/1.1 302 Found\r\nLocation: http://localhost:1455/success?id_token=a\r\n\r\n"
    assert redirects_to_success(found)
    assert not redirects_to_success(b"HTTP/1.1 302 Found\r\nLocation: /error\r\n\r\n")
    assert not redirects_to_success(b"HTTP/1.1 400 Bad Request\r\n\r\nState mismatch")
    assert not redirects_to_success(b"body text 302 Location: /success\r\n\r\n")
