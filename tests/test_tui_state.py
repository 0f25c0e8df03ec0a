"""The wizard's plain parts: the login-progress reducer and the words/colours for core results."""

from __future__ import annotations

from datetime import timedelta

import pytest

from codex_wizard.core.doctor import Verdict
from codex_wizard.core.laptop.ports import PortOwner
from codex_wizard.core.logins.status import HostStatus
from codex_wizard.core.progress import LoginMode, LoginPhase
from codex_wizard.core.tokens.auth import AuthKind, AuthRecord, parse_auth_json
from codex_wizard.core.tokens.state import TokenState
from codex_wizard.tui.screens.install import check_os, install_checks
from codex_wizard.tui.state import Step, WizardState
from codex_wizard.tui.text import ago, auth_kind_text, owner_text, token_summary, urgency
from tests.tui_fakes import NOW, probe, record


def test_steps_are_numbered_in_order():
    assert [step.value for step in Step] == [1, 2, 3, 4, 5, 6]
    assert Step.LOGIN.title == "Sign in"


def test_forget_server_resets_everything():
    state = WizardState(target=None, record=record(), mode=LoginMode.RELAY)
    state.flow = object()  # type: ignore[assignment]
    state.forget_server()
    assert state.flow is None and state.conn is None and state.probe is None
    assert state.record is None and state.mode is LoginMode.TUNNEL
    assert state.login.phase is LoginPhase.IDLE and not state.user_prefix


@pytest.mark.parametrize(
    ("seconds", "colour"),
    [(None, "dim"), (-5, "bad"), (3600, "bad"), (2 * 86400, "warn"), (5 * 86400, "ok")],
)
def test_urgency(seconds, colour):
    assert urgency(seconds) == colour


def test_token_summary_for_each_state():
    ok = HostStatus("h", TokenState.OK, auth=record())
    assert token_summary(ok, NOW) == ("expires in 9 days 4 hours", "ok")
    soon = HostStatus("h", TokenState.OK, auth=record(access_ttl_s=86400 * 2))
    assert token_summary(soon, NOW) == ("expires in 2 days", "ok")  # codex renews it
    # the state is worked out at the injected now, not when the check ran
    text, style = token_summary(ok, NOW + timedelta(days=10))
    assert text == "expired 19 hours 30 minutes ago, codex renews it on next use" and style == "ok"
    shared = HostStatus("h", TokenState.SHARED, auth=record(), shared_with=("this computer",))
    text, style = token_summary(shared, NOW)
    assert text == "shared with this computer: log each in on its own" and style == "warn"
    api = HostStatus("h", TokenState.API_KEY, auth=AuthRecord(AuthKind.API_KEY))
    assert token_summary(api, NOW)[0].startswith("API key")
    bad = HostStatus("h", TokenState.ERROR, auth=parse_auth_json(b"{"))
    text, style = token_summary(bad, NOW)
    assert text.startswith("auth.json is not valid JSON") and style == "bad"


def test_small_texts():
    assert ago(NOW - timedelta(hours=26), NOW) == "1 day 2 hours ago"
    assert ago(NOW + timedelta(hours=1), NOW) == "in 1 hour"
    assert owner_text(1455, None) == "127.0.0.1:1455 is free"
    owner = PortOwner(1455, "127.0.0.1", 7, "codex")
    assert owner_text(1455, owner) == "held by codex (pid 7) on 127.0.0.1:1455"
    assert "not logged in" in auth_kind_text(parse_auth_json(None))
    assert "ChatGPT sign-in" in auth_kind_text(record())


def test_install_checks():
    result = probe()
    result.os = "SunOS"
    assert check_os(result).verdict is Verdict.WARN
    result.os = ""
    assert check_os(result).verdict is Verdict.WARN
    names = [check.name for check in install_checks(probe())]
    assert names == ["OS", "node", "npm", "codex", "PATH"]
    assert install_checks(probe(codex=False))[3].verdict is Verdict.FAIL
    assert install_checks(probe(codex=False), user_prefix=True)[3].verdict is Verdict.WARN
