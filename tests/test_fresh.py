"""core.logins.fresh without a server: the fake codex as this computer's codex, in its temporary
CODEX_HOME, with a browser that signs in; Ctrl-C, a busy port, no codex at all; and the
logout warning's sharers (core.logins.sharers)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_wizard.cli.main import main
from codex_wizard.core.laptop.ports import port_is_free
from codex_wizard.core.logins.fresh import (
    TEMP_PREFIX,
    FreshLogin,
    FreshLoginError,
    LocalCodex,
    find_local_codex,
    fresh_auth,
)
from codex_wizard.core.logins.sharers import logout_notice, logout_warning, sharers
from codex_wizard.core.logins.status import THIS_COMPUTER, HostStatus
from codex_wizard.core.server.events import SessionEvent, UrlReady
from codex_wizard.core.tokens.auth import parse_auth_json
from codex_wizard.core.tokens.state import TokenState
from tests.fresh_local import LocalSide, kill_leftovers, make_local_side, sign_in
from tests.lab.account import REAL_CODEX_BIN
from tests.lab.fake_tokens import make_auth_json


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalSide]:
    side = make_local_side(tmp_path)
    for name, value in side.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("tempfile.tempdir", None)  # TMPDIR is read again
    yield side
    kill_leftovers(side)


def codex_of(side: LocalSide) -> LocalCodex:
    return LocalCodex((str(side.bin_dir / "codex"),))


async def test_fresh_login_writes_its_own_login_then_removes_its_home(local: LocalSide) -> None:
    seen: list[SessionEvent] = []

    def on_event(event: SessionEvent) -> None:
        seen.append(event)
        if isinstance(event, UrlReady):  # the browser, as a user's would, off the loop
            asyncio.get_running_loop().run_in_executor(None, sign_in, event.url)

    data = await fresh_auth(codex_of(local), on_event, timeout=60)
    fresh = parse_auth_json(data)
    own = parse_auth_json(local.own_auth.read_bytes())
    assert fresh.login_id and fresh.login_id != own.login_id
    assert any(isinstance(event, UrlReady) and event.port == 1455 for event in seen)
    assert local.leftovers() == []
    assert local.codex_processes() == []


async def test_cancelled_fresh_login_leaves_no_home_and_no_codex(local: LocalSide) -> None:
    url = asyncio.Event()

    def on_event(event: SessionEvent) -> None:
        if isinstance(event, UrlReady):
            url.set()

    task = asyncio.create_task(fresh_auth(codex_of(local), on_event, timeout=60))
    await asyncio.wait_for(url.wait(), 30)
    homes = [path.name for path in local.leftovers()]
    assert len(homes) == 1 and homes[0].startswith(TEMP_PREFIX)
    assert (local.tmp_dir / homes[0]).stat().st_mode & 0o777 == 0o700
    assert len(local.codex_processes()) == 2  # the npm-like launcher and the native child
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert local.leftovers() == []
    assert local.codex_processes() == []


async def test_cancelled_twice_while_codex_stops_still_cleans_up(local: LocalSide) -> None:
    """A wizard quitting cancels its workers more than once: the second cancel comes while
    codex is still stopping, and the folder and the process group must still go."""
    url = asyncio.Event()
    task = asyncio.create_task(
        fresh_auth(codex_of(local), lambda e: isinstance(e, UrlReady) and url.set(), timeout=60)
    )
    await asyncio.wait_for(url.wait(), 30)
    task.cancel()
    for _ in range(5):  # a few loop turns: codex has had SIGTERM, not the time to exit
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert local.leftovers() == []
    for _ in range(50):  # SIGKILLed: gone as soon as the kernel has reaped them
        if not local.codex_processes():
            break
        await asyncio.sleep(0.1)
    assert local.codex_processes() == []


async def test_real_codex_here_prints_its_url_and_is_stopped_with_its_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_codex_available: bool
) -> None:
    side = make_local_side(tmp_path / "real", codex=REAL_CODEX_BIN)
    for name, value in side.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("tempfile.tempdir", None)
    urls: list[UrlReady] = []
    ready = asyncio.Event()

    def on_event(event: SessionEvent) -> None:
        if isinstance(event, UrlReady):
            urls.append(event)
            ready.set()

    task = asyncio.create_task(fresh_auth(codex_of(side), on_event, timeout=120))
    await asyncio.wait_for(ready.wait(), 60)
    assert urls[0].port == 1455 and side.codex_processes()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert side.leftovers() == []
    assert side.codex_processes() == []
    assert port_is_free(1455)


async def test_failed_exchange_says_why_and_cleans_up(local: LocalSide) -> None:
    local.knobs.write_text(json.dumps({"exchange": "fail"}))

    def on_event(event: SessionEvent) -> None:
        if isinstance(event, UrlReady):
            asyncio.get_running_loop().run_in_executor(None, sign_in, event.url)

    with pytest.raises(FreshLoginError, match="error sending request"):
        await fresh_auth(codex_of(local), on_event, timeout=60)
    assert local.leftovers() == []


async def test_busy_port_is_named_before_codex_starts(local: LocalSide) -> None:
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 1455))
        holder.listen(1)
        with pytest.raises(FreshLoginError, match=r"127\.0\.0\.1:1455 on this computer is in use"):
            async with FreshLogin(codex_of(local)):
                pass
    assert local.leftovers() == []


def test_finding_codex_here() -> None:
    paths = {"codex": "/opt/bin/codex", "npx": "/usr/bin/npx"}
    assert find_local_codex(paths.get).argv == ("/opt/bin/codex",)
    npx_only = {"npx": "/usr/bin/npx"}
    assert find_local_codex(npx_only.get).argv == ("/usr/bin/npx", "-y", "@openai/codex")
    with pytest.raises(FreshLoginError, match="neither codex nor npx") as missing:
        find_local_codex({}.get)
    assert str(missing.value).count(". ") == 0  # one sentence


def test_push_auth_without_a_choice_names_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["push-auth", "web"]) == 2
    err = capsys.readouterr().err
    assert "--fresh" in err and "--copy" in err and "--from FILE" in err


def test_push_auth_fresh_without_codex_says_what_is_missing(
    local: LocalSide, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["push-auth", "web", "--fresh"]) == 1
    err = capsys.readouterr().err
    assert "neither codex nor npx (Node.js) is on this PATH" in err
    assert "Traceback" not in err


def test_copy_without_a_terminal_warns_and_needs_yes(
    local: LocalSide, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push-auth", "web", "--copy"]) == 1
    out, err = capsys.readouterr()
    assert "will then share one login" in out and "logs the other out" in out
    assert "add --yes" in err


# ------------------------------------------------------------------------------ sharers


def status_of(host: str, text: str, file_id: str) -> HostStatus:
    return HostStatus(host, TokenState.OK, parse_auth_json(text.encode()), file_id=file_id)


def test_sharers_are_other_files_with_the_same_login() -> None:
    one, other = make_auth_json(tag="one"), make_auth_json(tag="other")
    web1 = status_of("web1", one, "m1/1:2")
    known = [
        status_of("web1-alias", one, "m1/1:2"),  # the same file: one login, not shared
        status_of("web2", one, "m2/1:2"),
        status_of("web3", other, "m3/1:2"),
        status_of(THIS_COMPUTER, one, "here/5:6"),
    ]
    assert sharers(web1, known) == ("web2", THIS_COMPUTER)
    assert sharers(HostStatus("gone", TokenState.ERROR), known) == ()
    assert "these hold a copy: web2, this computer." in logout_notice(web1, ["web2", THIS_COMPUTER])


def test_logout_notice_for_what_is_there() -> None:
    unreachable = HostStatus("web9", TokenState.ERROR, error="no answer within 8 s")
    assert "copies are unknown" in logout_notice(unreachable, [])
    nothing = HostStatus("web8", TokenState.LOGGED_OUT, parse_auth_json(None))
    assert "changes nothing" in logout_notice(nothing, [])
    api_key = parse_auth_json(b'{"OPENAI_API_KEY": "sk-test-not-a-real-key"}')
    key = HostStatus("web7", TokenState.API_KEY, api_key)
    assert "nothing is revoked" in logout_notice(key, [])


def test_logout_warning_says_it_revokes_everywhere() -> None:
    named = logout_warning("web1", ["web2", THIS_COMPUTER])
    assert "revokes" in named and "web2, this computer" in named
    assert "no copy was found in the 3 other places" in logout_warning("web1", [], checked=3)
    assert "no other copy is known" in logout_warning("web1", [])
