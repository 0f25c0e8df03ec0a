"""The install step's standalone offer after npm failed, with canned core results (no network)."""

from __future__ import annotations

from codex_wizard.core.server.actions import InstallResult
from codex_wizard.tui.state import Step
from tests.tui_fakes import ADA, SIZE, at_step, fake_backend, make_app, probe, text_of, wait_for

OFFLINE = [
    "npm error code EAI_AGAIN",
    "npm error request to https://registry.npmjs.org/@openai%2fcodex failed, reason: getaddrinfo "
    "EAI_AGAIN registry.npmjs.org",
]


async def test_npm_without_a_registry_recommends_the_standalone_codex():
    failed = InstallResult("npm install -g @openai/codex", 1, OFFLINE)
    backend, _ = fake_backend(
        probes=[probe(codex=False)], install_results=[failed], install_lines=OFFLINE
    )
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        app.start_flow(ADA).set_probe(probe(codex=False))
        await at_step(pilot, app, Step.INSTALL)
        assert "Or install the standalone codex (s)" in text_of(app, "#standalone-offer")
        await pilot.press("i")
        await wait_for(pilot, lambda: "npm can't reach" in text_of(app, "#standalone-offer"))
        assert "Recommended: the standalone codex (s)" in text_of(app, "#standalone-offer")
