"""The reducer and helpers behind the ways in and reconnect (no Textual)."""

from __future__ import annotations

import pytest

from codex_wizard.core.progress import LoginMode, LoginPhase, LoginProgress
from codex_wizard.core.server.tunnel import ForwardingCheck, ForwardingState
from codex_wizard.tui.state import (
    LostConnection,
    Step,
    WizardState,
    forwarding_refused,
    resume_step,
)
from codex_wizard.tui.text import login_summary
from tests.tui_fakes import NOW, record


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
