"""The login's progress reducer (core.progress): every event, immutably, and the one place
where success is decided (codex's claim counts once the flow has verified it)."""

from __future__ import annotations

import pytest

from codex_wizard.core.progress import LoginMode, LoginPhase, LoginProgress
from codex_wizard.core.server.events import (
    CallbackSeen,
    DeviceAuthDisabled,
    DeviceCodeReady,
    ForwardRefused,
    LoginCancelled,
    LoginError,
    LoginExited,
    LoginSucceeded,
    LoginUnverified,
    LoginVerified,
    OutputLine,
    PortsBusy,
    RelayAnswered,
    RelayFailed,
    RelayResult,
    RelayStarted,
    StateMismatch,
    TokenExchangeFailed,
    UrlReady,
)
from codex_wizard.core.server.login import DEVICE_AUTH_HELP
from tests.tui_fakes import URL, record


def progress(*events, mode: LoginMode = LoginMode.TUNNEL) -> LoginProgress:
    login = LoginProgress.starting(mode)
    for event in events:
        login = login.apply(event)
    return login


def test_apply_never_mutates():
    start = LoginProgress.starting(LoginMode.TUNNEL)
    after = start.apply(UrlReady(URL, 1455))
    assert start.phase is LoginPhase.STARTING and start.url is None
    assert after.phase is LoginPhase.WAITING and after.url == URL
    with pytest.raises(AttributeError):
        after.phase = LoginPhase.IDLE  # type: ignore[misc]


def test_codex_saying_success_is_only_a_claim_until_verified():
    claimed = progress(UrlReady(URL, 1457), CallbackSeen("/auth/callback"), LoginSucceeded())
    assert claimed.phase is LoginPhase.VERIFYING
    assert not claimed.succeeded
    exited = claimed.apply(LoginExited(0))
    assert exited.phase is LoginPhase.VERIFYING and not exited.ended  # the flow reads it back
    verified = exited.apply(LoginVerified(record()))
    assert verified.succeeded and verified.ended and verified.record is not None
    assert not verified.active and not verified.offer_fresh
    assert (verified.url, verified.port) == (URL, 1457)


def test_a_claim_without_a_login_on_disk_fails():
    login = progress(UrlReady(URL, 1455), LoginSucceeded(), LoginExited(0))
    failed = login.apply(LoginUnverified("holds no ChatGPT login"))
    assert failed.phase is LoginPhase.FAILED and failed.ended and not failed.succeeded
    assert failed.offer_fresh and "no ChatGPT login" in failed.message


def test_a_claim_then_a_non_zero_exit_is_a_failure():
    login = progress(UrlReady(URL, 1455), LoginSucceeded(), LoginExited(1))
    assert login.phase is LoginPhase.EXITED and login.ended


def test_state_mismatch_keeps_waiting_but_offers_a_fresh_login():
    login = progress(UrlReady(URL, 1455), StateMismatch())
    assert login.phase is LoginPhase.MISMATCH
    assert login.offer_fresh and login.active and not login.ended
    assert "State mismatch" in login.message


@pytest.mark.parametrize(
    ("event", "phase", "words"),
    [
        (TokenExchangeFailed("dns"), LoginPhase.EXCHANGE_FAILED, "dns"),
        (LoginCancelled(), LoginPhase.CANCELLED, "cancelled"),
        (PortsBusy("1457 busy"), LoginPhase.FAILED, "1457 busy"),
        (LoginError("Error logging in: x"), LoginPhase.FAILED, "Error logging in"),
        (ForwardRefused("refused"), LoginPhase.FAILED, "refused"),
    ],
)
def test_failures_keep_their_phase_after_exit(event, phase, words):
    login = progress(UrlReady(URL, 1455), event, LoginExited(1))
    assert login.phase is phase
    assert words in login.message
    assert login.offer_fresh and login.ended
    assert login.exited and login.exit_code == 1


def test_a_failure_ends_the_login_before_codex_exits():
    """The tunnel can't be made (port busy here): nothing more will come of this login."""
    assert progress(UrlReady(URL, 1455), PortsBusy("busy")).ended
    assert not progress(UrlReady(URL, 1455), TokenExchangeFailed("x")).ended  # codex exits


def test_exit_without_outcome_uses_the_reason_or_codex_error_line():
    assert progress(LoginExited(None, "codex was stopped (SIGTERM)")).message == (
        "codex was stopped (SIGTERM)"
    )
    login = progress(OutputLine("Error: something odd"), LoginExited(2))
    assert login.phase is LoginPhase.EXITED
    assert login.message == "Error: something odd"
    assert "(exit 3) before the login finished" in progress(LoginExited(3)).message
    assert "its last words: 'bye'" in progress(OutputLine("bye"), LoginExited(4)).message


def test_output_is_bounded_and_new_lines_are_counted():
    before = progress(*(OutputLine(f"line {n}") for n in range(500)))
    assert len(before.output) == 200 and before.output[-1] == "line 499"
    after = before.apply(OutputLine("WARNING: x")).apply(OutputLine("   "))
    assert after.new_output(before) == ("WARNING: x",)


def test_device_code_events():
    login = progress(
        DeviceCodeReady("https://auth.openai.com/codex/device", "AB12-CD34"),
        mode=LoginMode.DEVICE,
    )
    assert "--device-auth" in login.history[0]
    assert login.phase is LoginPhase.WAITING
    assert (login.device_url, login.device_code) == (
        "https://auth.openai.com/codex/device",
        "AB12-CD34",
    )
    assert not login.can_paste  # not a relay
    disabled = progress(DeviceAuthDisabled(DEVICE_AUTH_HELP), LoginExited(1), mode=LoginMode.DEVICE)
    assert disabled.phase is LoginPhase.FAILED and "security settings" in disabled.message
    assert disabled.offer_fresh


@pytest.mark.parametrize(
    ("result", "phase", "ok", "words"),
    [
        (RelayResult(302, "", "curl", "/success"), LoginPhase.CALLBACK, True, "answered HTTP 302"),
        (RelayResult(400, "State mismatch", "wget"), LoginPhase.WAITING, False, "State mismatch"),
        (RelayResult(None, "refused", "node"), LoginPhase.WAITING, False, "Could not reach"),
    ],
)
def test_relay_outcomes(result, phase, ok, words):
    login = progress(UrlReady(URL, 1455), RelayStarted(), mode=LoginMode.RELAY)
    assert login.phase is LoginPhase.RELAYING and not login.can_paste
    login = login.apply(RelayAnswered(result, "lab"))
    assert login.phase is phase and login.relay_ok is ok
    assert words in login.relay_note
    assert login.can_paste is (phase is LoginPhase.WAITING)


def test_a_relay_that_could_not_run_waits_again():
    login = progress(UrlReady(URL, 1455), RelayStarted(), mode=LoginMode.RELAY)
    login = login.apply(RelayFailed("The relay could not run on lab: gone"))
    assert login.phase is LoginPhase.WAITING and not login.relay_ok and login.can_paste


def test_relay_after_codex_already_claimed_keeps_the_claim():
    login = progress(UrlReady(URL, 1455), RelayStarted(), LoginSucceeded(), mode=LoginMode.RELAY)
    login = login.apply(RelayAnswered(RelayResult(302, "", "curl", "/success"), "lab"))
    assert login.phase is LoginPhase.VERIFYING and login.relay_ok


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
    login = progress(UrlReady(URL, 1455), exited)
    assert (login.phase is LoginPhase.DISCONNECTED) is lost
    if lost:
        assert not login.offer_fresh and "Reconnect" in login.message


def test_verified_then_a_lost_connection_is_still_a_success():
    login = progress(
        UrlReady(URL, 1455),
        LoginSucceeded(),
        LoginExited(0),
        LoginVerified(record()),
        LoginExited(None, "the SSH connection was closed", connection_lost=True),
    )
    assert login.succeeded
