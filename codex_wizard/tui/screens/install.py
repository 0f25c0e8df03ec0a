"""Step 3: is codex installed and runnable? A checklist from the probe, and Install/Update
streaming npm's output live, with a user-prefix install when npm may not write globally, and
the standalone codex (no Node.js) beside it (screens/standalone.py)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Log, Static
from textual.worker import Worker

from ...core.doctor import Check, Verdict, check_codex, check_npm, check_path, node_check
from ...core.install.plan import standalone_reason
from ...core.install.standalone import StandaloneResult
from ...core.preflight import user_prefix_codex_check
from ...core.server.actions import USER_PREFIX, install_args, install_env
from ...core.server.probe import ProbeResult
from ..messages import GoTo
from ..state import Step
from ..widgets.checklist import Checklist
from .base import StepScreen, styled
from .standalone import StandalonePanel, unlisted_standalone_checks

SUPPORTED_OS = ("Linux", "Darwin")


def check_os(probe: ProbeResult) -> Check:
    where = f"{probe.os} {probe.arch}".strip()
    if probe.os in SUPPORTED_OS:
        return Check("OS", Verdict.PASS, where)
    if not probe.os:
        return Check("OS", Verdict.WARN, "unknown (uname gave nothing)")
    return Check("OS", Verdict.WARN, where, "codex ships builds for Linux, macOS and Windows.")


def install_checks(
    probe: ProbeResult, user_prefix: bool = False, standalone: StandaloneResult | None = None
) -> list[Check]:
    if standalone is not None and not probe.codex.found:
        node, codex, path = unlisted_standalone_checks(standalone)
        return [check_os(probe), node, check_npm(probe.npm, probe), codex, path]
    codex = check_codex(probe.codex, probe)
    if user_prefix and codex.verdict is Verdict.FAIL and not probe.codex.found:
        codex = user_prefix_codex_check()
    return [
        check_os(probe),
        node_check(probe),
        check_npm(probe.npm, probe),
        codex,
        check_path(probe),
    ]


class InstallScreen(StepScreen):
    STEP = Step.INSTALL
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "install", "Install/Update"),
        Binding("u", "install_user", "Install to ~/.local"),
        Binding("s", "standalone", "Standalone codex"),
        Binding("c", "cancel_standalone", "Cancel install"),
        Binding("r", "recheck", "Re-check"),
        Binding("t", "token", "Token status"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.offer_user_prefix = False
        self.npm_trouble: str | None = None  # why npm failed, when standalone is the way out

    def compose_body(self) -> ComposeResult:
        yield Static("", id="install-summary", classes="lead")
        yield Checklist(id="checklist")
        with Horizontal(id="install-actions", classes="actions"):
            yield Button("Install codex (i)", id="install")
            yield Button(f"Install to {USER_PREFIX} (u)", id="install-user")
            yield Button("Re-check (r)", id="recheck")
        yield StandalonePanel(id="standalone-panel")
        yield Static("", id="install-note")
        yield Log(id="install-log", max_lines=1000, auto_scroll=True)

    def on_mount(self) -> None:
        self.query_one("#install-log", Log).display = False
        if self.wizard.state.probe is None:
            self.recheck()
        else:
            self.render_probe()

    # ------------------------------------------------------------------ probing

    def recheck(self) -> None:
        self.query_one("#install-summary", Static).update("Checking the server…")
        self.set_next(False, "checking…")
        self.run_guarded(self._probe(), "checking the server", group="probe", exclusive=True)
        self._update_buttons()

    async def _probe(self) -> None:
        await self.wizard.state.flow.run_probe()
        self.render_probe()

    def worker_changed(self, worker: Worker) -> None:
        self._update_buttons()

    def render_probe(self) -> None:
        state = self.wizard.state
        probe = state.probe
        if probe is None:
            return
        checks = install_checks(probe, state.user_prefix, state.standalone)
        self.query_one("#checklist", Checklist).show(checks)
        codex = checks[3]
        ready = codex.verdict is not Verdict.FAIL
        summary = self.query_one("#install-summary", Static)
        if ready:
            summary.update(styled("codex is ready on the server.", "ok"))
        else:
            summary.update(styled("codex can't run on the server yet: see the fixes below.", "bad"))
        self.set_next(ready, "" if ready else "install codex first", focus=ready)
        self._update_buttons()

    # ------------------------------------------------------------------ installing

    def _npm_works(self) -> bool:
        probe = self.wizard.state.probe
        return probe is not None and probe.npm.works

    def _update_buttons(self) -> None:
        probe = self.wizard.state.probe
        install = self.query_one("#install", Button)
        install.label = (
            "Update codex (i)" if probe is not None and probe.codex.found else "Install codex (i)"
        )
        install.disabled = self._busy() or not self._npm_works()
        user = self.query_one("#install-user", Button)
        user.display = self.offer_user_prefix
        user.disabled = self._busy()
        self.query_one("#recheck", Button).disabled = self._busy()
        needed = (
            probe is not None and not probe.codex.works and self.wizard.state.standalone is None
        )
        reason = standalone_reason(probe) if needed else None
        checking = self.working("probe", "install")
        self._panel.offer(reason or self.npm_trouble, enabled=probe is not None and not checking)
        self.refresh_bindings()

    @property
    def _panel(self) -> StandalonePanel:
        return self.query_one("#standalone-panel", StandalonePanel)

    def _busy(self) -> bool:
        """npm, the probe or the standalone install is running."""
        return self.working("probe", "install") or self._panel.busy

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "install":
            return not self._busy() and self._npm_works()
        if action == "install_user":
            return (not self._busy()) if self.offer_user_prefix else False
        if action == "recheck":
            return not self._busy()
        if action == "standalone":
            return not self._busy() and self.wizard.state.probe is not None
        if action == "cancel_standalone":
            return self._panel.busy
        if action == "token":
            probe = self.wizard.state.probe
            return probe is not None and probe.codex.works and not self._busy()
        return super().check_action(action, parameters)

    def action_install(self) -> None:
        if self.check_action("install", ()):
            self.start_install(user_prefix=False)

    def action_install_user(self) -> None:
        if self.check_action("install_user", ()):
            self.start_install(user_prefix=True)

    def action_recheck(self) -> None:
        if not self._busy():
            self.recheck()

    def action_standalone(self) -> None:
        if self.check_action("standalone", ()):
            self.set_next(False, "installing…")
            self._panel.start()
            self._update_buttons()

    def action_cancel_standalone(self) -> None:
        self._panel.cancel()

    @on(StandalonePanel.Finished)
    def _standalone_finished(self, event: StandalonePanel.Finished) -> None:
        if event.result is not None and event.result.ok:
            self.npm_trouble = None
            self.wizard.state.standalone = event.result
            self.wizard.state.flow.installed_to_user_prefix()  # ~/.local/bin/codex
            self.recheck()
        else:
            self.render_probe()

    def action_token(self) -> None:
        if self.check_action("token", ()):
            self.post_message(GoTo(Step.EXPIRY))

    @on(Button.Pressed, "#install")
    def _install_pressed(self) -> None:
        self.action_install()

    @on(Button.Pressed, "#install-user")
    def _install_user_pressed(self) -> None:
        self.action_install_user()

    @on(Button.Pressed, "#recheck")
    def _recheck_pressed(self) -> None:
        self.action_recheck()

    @on(Button.Pressed, "#standalone")
    def _standalone_pressed(self) -> None:
        self.action_standalone()

    def start_install(self, *, user_prefix: bool) -> None:
        self.set_next(False, "installing…")
        log = self.query_one("#install-log", Log)
        log.display = True
        log.clear()
        self.run_guarded(self._install(user_prefix), "installing codex", group="install")
        self._update_buttons()

    async def _install(self, user_prefix: bool) -> None:
        app = self.wizard
        state = app.state
        env = install_env(state.probe, state.env) if state.probe else state.env
        self._log_line(f"$ {install_args(user_prefix)}")
        note = self.query_one("#install-note", Static)
        note.update(styled("Installing… (npm output below; it can take a minute)", "dim"))
        result = await app.backend.install(
            state.conn, env, user_prefix=user_prefix, on_line=self._log_line
        )
        if result.error:
            self._log_line(f"[codex-wizard] {result.error}")
        if result.ok:
            self._log_line("[codex-wizard] done.")
            note.update(styled("✓ Installed. Checking again…", "ok"))
            self.offer_user_prefix = False
            if user_prefix:
                state.flow.installed_to_user_prefix()
            self.recheck()
            return
        self.npm_trouble = result.npm_trouble or self.npm_trouble
        if result.offers_user_prefix:
            self.offer_user_prefix = True
            note.update(
                styled(
                    "npm may not write to its global folder (a permission error, EACCES). "
                    f"Press u to install into {USER_PREFIX} instead: no sudo needed, "
                    f"codex goes to {USER_PREFIX}/bin.",
                    "warn",
                )
            )
        else:
            note.update(styled(f"✗ The install failed: {result.summary()}", "bad"))
        self.render_probe()

    def _log_line(self, line: str) -> None:
        """A line of the install's output, and the body follows it to the end (the log grows
        inside the body rather than scrolling on its own: wizard.tcss)."""
        self.query_one("#install-log", Log).write_line(line)
        self.call_after_refresh(self.query_one("#body").scroll_end, animate=False)

    def go_next(self) -> None:
        self.post_message(GoTo(Step.TUNNEL))
