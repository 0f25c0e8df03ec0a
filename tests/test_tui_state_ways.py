"""The reducer and helpers behind the ways in and reconnect (no Textual)."""

from __future__ import annotations

import pytest

from codex_wizard.core.login import (
    DEVICE_AUTH_HELP,
    DeviceAuthDisabled,
    DeviceCodeReady,
    LoginExited,
    LoginSucceeded,
    UrlReady,
    url_state,
)
from codex_wizard.core.relay import PastedAddressError, RelayResult
from codex_wizard.core.tunnel import ForwardingCheck, ForwardingState
from codex_wizard.tui.state import (
    LoginMode,
    LoginPhase,
    LoginProgress,
    LostConnection,
    Step,
    WizardState,
    forwarding_refused,
    resume_step,
)
from codex_wizard.tui.text import login_summary
from tests.tui_fakes import NOW, URL, record


def progress(mode: LoginMode, *events) -> LoginProgress:
    login = LoginProgress(mode=mode)
    login.starting()
    for event in events:
        login.apply(event)
    return login


def test_device_code_events():
    login = progress(
        LoginMode.DEVICE, DeviceCodeReady("https://auth.openai.com/codex/device", "AB12-CD34")
    )
    assert "--device-auth" in login.history[0]
    assert login.phase is LoginPhase.WAITING
    assert (login.device_url, login.device_code) == (
        "https://auth.openai.com/codex/device",
        "AB12-CD34",
    )
    assert not login.can_paste  # not a relay
    disabled = progress(LoginMode.DEVICE, DeviceAuthDisabled(DEVICE_AUTH_HELP), LoginExited(1))
    assert disabled.phase is LoginPhase.FAILED and "security settings" in disabled.message
    assert disabled.offer_fresh


def test_relay_paste_is_checked_against_this_login():
    login = progress(LoginMode.RELAY, UrlReady(URL, 1455))
    assert login.can_paste
    good = login.validate_paste(
        f"http://127.0.0.1:1455/auth/callback?code=x&state={url_state(URL)}"
    )
    assert good.code == "x"
    with pytest.raises(PastedAddressError, match="older login"):
        login.validate_paste("http://127.0.0.1:1455/auth/callback?code=x&state=nope")


@pytest.mark.parametrize(
    ("result", "phase", "ok", "words"),
    [
        (RelayResult(302, "", "curl", "/success"), LoginPhase.CALLBACK, True, "answered HTTP 302"),
        (RelayResult(400, "State mismatch", "wget"), LoginPhase.WAITING, False, "State mismatch"),
        (RelayResult(None, "refused", "node"), LoginPhase.WAITING, False, "Could not reach"),
    ],
)
def test_relay_outcomes(result, phase, ok, words):
    login = progress(LoginMode.RELAY, UrlReady(URL, 1455))
    login.relay_started()
    assert login.phase is LoginPhase.RELAYING and not login.can_paste
    login.relay_done(result, "lab")
    assert login.phase is phase and login.relay_ok is ok
    assert words in login.relay_note


def test_relay_after_codex_already_succeeded_keeps_success():
    login = progress(LoginMode.RELAY, UrlReady(URL, 1455))
    login.relay_started()
    login.apply(LoginSucceeded())
    login.relay_done(RelayResult(302, "", "curl", "/success"), "lab")
    assert login.phase is LoginPhase.SUCCEEDED and login.relay_ok


@pytest.mark.parametrize(
    ("reason", "lost"),
    [
        ("connection lost: Connection reset by peer", True),
        ("the SSH connection was closed", True),
        ("codex was stopped (SIGTERM)", False),
        ("", False),
    ],
)
def test_connection_lost_exit(reason, lost):
    exited = LoginExited(None, reason, connection_lost=lost)
    login = progress(LoginMode.TUNNEL, UrlReady(URL, 1455), exited)
    assert (login.phase is LoginPhase.DISCONNECTED) is lost
    if lost:
        assert not login.offer_fresh and "Reconnect" in login.message


def test_success_then_a_lost_connection_is_still_a_success():
    login = progress(
        LoginMode.TUNNEL,
        UrlReady(URL, 1455),
        LoginSucceeded(),
        LoginExited(None, "the SSH connection was closed", connection_lost=True),
    )
    assert login.phase is LoginPhase.SUCCEEDED


@pytest.mark.parametrize(
    ("step", "phase", "resume"),
    [
        (Step.CONNECT, LoginPhase.IDLE, Step.INSTALL),
        (Step.INSTALL, LoginPhase.IDLE, Step.INSTALL),
        (Step.TUNNEL, LoginPhase.WAITING, Step.TUNNEL),
        (Step.LOGIN, LoginPhase.WAITING, Step.LOGIN),
        (Step.LOGIN, LoginPhase.SUCCEEDED, Step.EXPIRY),
        (Step.EXPIRY, LoginPhase.SUCCEEDED, Step.EXPIRY),
    ],
)
def test_resume_step(step, phase, resume):
    assert resume_step(LostConnection(step, "x"), LoginProgress(phase=phase)) is resume


def test_forwarding_refused_and_forget_server_resets_the_ways():
    assert forwarding_refused(ForwardingCheck(ForwardingState.REFUSED, "no"))
    assert not forwarding_refused(ForwardingCheck(ForwardingState.UNKNOWN, "?"))
    assert not forwarding_refused(None)
    state = WizardState(mode=LoginMode.RELAY, lost=LostConnection(Step.LOGIN, "x"))
    state.resume = Step.LOGIN
    state.forget_server()
    assert state.mode is LoginMode.TUNNEL and state.lost is None and state.resume is None


def test_login_summary_is_masked_and_coloured_by_urgency():
    text, style = login_summary(record(access_ttl_s=2 * 86400), NOW)
    assert text == "ChatGPT sign-in, ad***@example.com, plan plus; access token expires in 2 days"
    assert style == "warn"
    expired, style = login_summary(record(access_ttl_s=-3600), NOW)
    assert "access token expired 1 hour ago" in expired and style == "bad"
    assert "ada.lovelace" not in text
