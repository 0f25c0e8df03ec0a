"""The login, once: connect → probe → ports → tunnel (or relay / device code / push) → the
`codex login` session → the verified outcome. Both faces drive this one object.

The flow keeps what it learns (the connection, the probe, the server's environment, the
forwarding check) and the login's immutable progress; `on_change` is called whenever any of it
changes, and the faces render from there. Questions go to a Prompter (host key, credentials,
"stop the pending login on port N?", the pasted redirect address). Success is decided in one
place, here: codex's "Successfully logged in" counts once the server's auth.json has been read
back as a ChatGPT login.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from .laptop.ports import CODEX_PORTS, PortOwner, port_is_free
from .preflight import Check, first_failure, forward_both_ports, landing_port, login_checks
from .progress import LoginMode, LoginPhase, LoginProgress
from .prompter import FailureKind, FlowError, Prompter
from .server.events import (
    LoginError,
    LoginEvent,
    LoginExited,
    LoginUnverified,
    LoginVerified,
    RelayAnswered,
    RelayFailed,
    RelayStarted,
)
from .server.probe import ProbeError, ProbeResult, ServerEnv
from .server.relay import PastedAddressError, validate_pasted_callback
from .ssh.auth import with_credentials
from .ssh.forwards import SshForward, usable_ssh_forward
from .ssh.types import ConnectError, ConnectSettings
from .tasks import running_or_new
from .tokens.auth import AuthKind

if TYPE_CHECKING:
    from .logins.push import PushResult
    from .server.login import LoginSession
    from .server.tunnel import ForwardingCheck
    from .services import Services
    from .ssh.hosts import HostTarget
    from .ssh.server import ServerConnection

CLOSE_TIMEOUT = 10.0
MAX_CREDENTIAL_TRIES = 3


class LoginFlow:
    """One host's login, from the connection to the verified outcome."""

    def __init__(
        self,
        target: HostTarget,
        settings: ConnectSettings,
        services: Services,
        prompter: Prompter,
        *,
        codex_home: str | None = None,
        local_port_for: Callable[[int], int] = lambda port: port,
        on_change: Callable[[LoginFlow], None] = lambda flow: None,
        login_timeout: float | None = None,
    ) -> None:
        self.target = target
        self.settings = settings
        self.services = services
        self.prompter = prompter
        self.codex_home = codex_home
        self.local_port_for = local_port_for
        self.on_change = on_change
        self.login_timeout = login_timeout  # a login started later is stopped after it
        self.conn: ServerConnection | None = None
        self.probe: ProbeResult | None = None
        self._probing: asyncio.Future[ProbeResult] | None = None
        self.env = ServerEnv(codex_home=codex_home, auto_path=True)
        self.user_prefix = False  # codex was installed into ~/.local by us
        self.forwarding: ForwardingCheck | None = None
        self.forwardings: dict[int, ForwardingCheck] = {}
        self.checks: list[Check] = []
        self.cleared: LoginMode | None = None  # the preflight passed for a login this way
        self.ssh_forward: SshForward | None = None  # the seed guide's `ssh -L`: our tunnel
        self.progress = LoginProgress()
        self.session: LoginSession | None = None
        self.pushed: PushResult | None = None
        self._follower: asyncio.Task[None] | None = None
        self._deadline: asyncio.Task[None] | None = None
        self._change = asyncio.Event()

    @property
    def label(self) -> str:
        return self.conn.label if self.conn is not None else self.target.label()

    def _changed(self) -> None:
        self.on_change(self)
        self._change.set()

    async def _until(self, done: Callable[[], bool]) -> None:
        """Wait until done() holds, checked after every change."""
        while not done():
            self._change.clear()
            await self._change.wait()

    def _apply(self, event: LoginEvent) -> None:
        self.progress = self.progress.apply(event)
        self._changed()

    # ------------------------------------------------------------------ connect and probe

    async def connect(self) -> ServerConnection:
        """The one connection; an unknown key is confirmed, refused keys ask for credentials."""
        settings = replace(
            self.settings,
            confirm_host_key=self.prompter.confirm_host_key,
            ask_passphrase=self.prompter.passphrase,
        )
        for tries in range(MAX_CREDENTIAL_TRIES + 1):
            try:
                self.conn = await self.services.connect(self.target, settings)
                break
            except ConnectError as exc:
                answer = None
                if exc.refused_our_keys and tries < MAX_CREDENTIAL_TRIES:
                    answer = await self.prompter.credentials(self.label, retry=tries > 0)
                if answer is None:
                    raise
                settings = with_credentials(settings, *answer)
        self._changed()
        return self.conn

    async def run_probe(self) -> ProbeResult:
        """What the server has (raises ProbeError); a caller while one runs shares it."""
        options = {"codex_home": self.codex_home} if self.codex_home else {}
        self._probing = running_or_new(
            self._probing, lambda: self.services.probe(self.conn, **options)
        )
        self.set_probe(await asyncio.shield(self._probing))
        return self.probe

    def set_probe(self, probe: ProbeResult) -> None:
        self.probe = probe
        self.env = self._env_for(probe)
        self._changed()

    def _env_for(self, probe: ProbeResult) -> ServerEnv:
        from .server.actions import with_user_prefix

        env = ServerEnv.from_probe(probe, self.codex_home)
        return with_user_prefix(probe, env) if self.user_prefix else env

    def installed_to_user_prefix(self) -> None:
        """codex now lives in ~/.local/bin: run it from there."""
        self.user_prefix = True
        if self.probe is not None:
            self.env = self._env_for(self.probe)

    # ------------------------------------------------------------------ preflight and ports

    @property
    def landing_port(self) -> int:
        """The server port codex will listen on, as far as the probe tells."""
        return landing_port(self.probe) if self.probe is not None else CODEX_PORTS[0]

    async def preflight(self, mode: LoginMode) -> list[Check]:
        """Before any URL: the probe (with its preflight part) and, for a tunnel, the forward of
        both ports, at once. Raises FlowError for what would fail after the sign-in; asks
        before a login that would cancel another user's. self.checks holds the verdicts."""
        tunnel = mode is LoginMode.TUNNEL
        forwarding = asyncio.create_task(self.check_forwarding()) if tunnel else None
        with contextlib.suppress(ProbeError):  # without it, the login finds codex itself
            self.probe or await self.run_probe()
        if forwarding is not None:
            await forwarding
            self.forwarding = self.forwardings[self.landing_port]  # now that the probe said
        self.checks = login_checks(
            self.probe,
            self.forwardings if tunnel else None,
            self.label,
            user_prefix=self.user_prefix,
        )
        self._changed()
        if (failed := first_failure(self.checks)) is not None:
            kind = FailureKind.of_check(failed.name)
            said = failed.found if failed.found.endswith((".", "?", "!")) else failed.found + "."
            raise FlowError(kind, f"{self.label}: {said} {failed.fix}".strip(" ."))
        other = self.probe.preflight.other_users_login(CODEX_PORTS[0]) if self.probe else None
        if other and not await self.prompter.cancel_other_users_login(other.user, other.port):
            raise FlowError(
                FailureKind.PORT_BUSY,
                f"{self.label}: {other.user} is signing in to Codex there (port {other.port}); "
                "try again when they are done.",
            )
        self.cleared = mode
        return self.checks

    async def check_forwarding(self) -> ForwardingCheck:
        """The forward of both ports codex may take; `forwarding`: the one it will use."""
        check = partial(self.services.check_forwarding, self.conn)
        self.forwardings = await forward_both_ports(check)
        self.forwarding = self.forwardings[self.landing_port]
        self._changed()
        return self.forwarding

    async def local_owners(self, ports: list[int]) -> dict[int, PortOwner | None]:
        return await asyncio.to_thread(self.services.local_port_owners, ports)

    def holds_local_port(self, port: int) -> bool:
        """Our own login's tunnel listens on `port` here (it stays up after codex exits, for
        the browser's last page): not a pending login to stop, a new login replaces it."""
        return self.session is not None and port in self.session.local_ports

    async def stop_pending_login(self, port: int) -> bool:
        """GET /cancel to what holds the port here; True once the port is free."""
        cancelled = await self.services.cancel_pending_login(port)
        return cancelled and bool(await self.services.wait_port_free(port))

    async def ssh_forward_on(self, owner: PortOwner | None) -> SshForward | str | None:
        """owner as the user's `ssh -L` to this server's codex port (str: why it is not one)."""
        return await usable_ssh_forward(owner, self.target, self.settings, CODEX_PORTS[0])

    async def free_local_port(self, port: int) -> None:
        """Make sure the browser's port is free here, or held by the user's own `ssh -L` to
        this server (`ssh_forward`, the tunnel then), stopping a pending login on a yes."""
        self.ssh_forward = None  # looked for afresh: the ssh of a login before may be gone
        if port_is_free(port):  # a bind test: far cheaper than psutil's scan of every socket
            return
        owner = (await self.local_owners([port])).get(port)
        found = await self.ssh_forward_on(owner)
        if isinstance(found, str):
            raise FlowError(FailureKind.PORT_BUSY, found)
        self.ssh_forward = found
        if owner is None or found is not None:
            return
        if not await self.prompter.stop_pending_login(port, owner):
            raise FlowError(
                FailureKind.PORT_BUSY,
                f"port {port} is busy here: stop {owner.describe()} and try again.",
            )
        if not await self.stop_pending_login(port):
            raise FlowError(
                FailureKind.PORT_BUSY,
                f"{owner.describe()} did not let go of port {port}; stop it by hand.",
            )

    # ------------------------------------------------------------------ the login session

    async def start_login(self, mode: LoginMode, *, free_port: bool = False) -> None:
        """A fresh `codex login` (stopping any earlier one): tunnel, relay or device code. With
        free_port (the wizard's; run() calls it itself) a tunnel's first free_local_port."""
        await self.stop_login()
        self.progress = LoginProgress.starting(mode, self.services.remote_seat())
        self._changed()
        try:
            if self.cleared is not mode:
                await self.preflight(mode)
            if free_port and mode is LoginMode.TUNNEL:
                await self.free_local_port(self.local_port_for(self.landing_port))
        except FlowError as exc:
            self._apply(LoginError(str(exc)))
            self._apply(LoginExited(None, str(exc)))
            return
        self.cleared = None  # a login after this one looks again
        session = self.services.login_session(
            self.conn,
            self.env,
            local_port_for=self.local_port_for,
            forward=mode is LoginMode.TUNNEL and self.ssh_forward is None,
            device_auth=mode is LoginMode.DEVICE,
        )
        self.session = session
        try:
            await session.start()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._apply(LoginError(f"could not start codex login: {exc}"))
            self._apply(LoginExited(None, str(exc)))
            return
        self._follower = asyncio.create_task(self._follow(session))
        if self.login_timeout is not None:
            self._deadline = asyncio.create_task(self._give_up_after(self.login_timeout))

    async def _follow(self, session: LoginSession) -> None:
        async for event in session.events():
            if session is not self.session:
                return
            self._apply(event)
            if isinstance(event, LoginExited) and self.progress.phase is LoginPhase.VERIFYING:
                await self._verify()

    async def _give_up_after(self, timeout: float) -> None:
        """A login not ended after `timeout` s is stopped, saying so in run()'s words."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wait_ended(), timeout)
            return
        message = self.progress.timed_out(timeout)
        self._deadline = None  # stop_login cancels a pending deadline: not this one
        await self.stop_login()
        self._apply(LoginError(message))
        self._apply(LoginExited(None, message))

    async def _verify(self) -> None:
        """codex said it logged in and exited 0: the server must now hold a ChatGPT login, in
        the auth.json codex uses (CODEX_HOME as given, else as the user's shells set it)."""
        found = await self.services.read_login(self.conn, self.env.codex_home)
        if found.record.kind is AuthKind.CHATGPT:
            self._apply(LoginVerified(found.record))
            return
        self._apply(
            LoginUnverified(
                f"codex said it logged in, but {found.path} on {self.label} holds no ChatGPT "
                f"login ({found.record.problem or found.record.kind.value}). Run the login again."
            )
        )

    async def wait_ended(self) -> LoginProgress:
        """Until codex has exited and its claim, if any, was checked."""
        await self._until(lambda: self.progress.ended)
        return self.progress

    async def paste(self, text: str) -> str | None:
        """Relay: check a pasted address and replay it on the server. What is wrong with it,
        or None once it was replayed (the answer is in progress.relay_note)."""
        progress = self.progress
        if not progress.can_paste or progress.url is None or progress.port is None:
            return "This login is not waiting for an address now."
        from .server.login import url_state

        try:
            callback = validate_pasted_callback(
                text, state=url_state(progress.url) or "", port=progress.port
            )
        except PastedAddressError as exc:
            return str(exc)
        session = self.session
        self._apply(RelayStarted())
        try:
            probe = self.probe or await self.run_probe()
            result = await self.services.relay(self.conn, callback, probe.tools, self.env)
        except Exception as exc:  # not CancelledError (a BaseException): that one goes up
            if session is self.session:
                self._apply(RelayFailed(f"The relay could not run on {self.label}: {exc}"))
            return None
        if session is self.session:
            self._apply(RelayAnswered(result, self.label))
        return None

    async def push(self, data: bytes) -> PushResult:
        """Copy an auth.json to the server (backed up, atomic, 0600); raises PushError."""
        await self.stop_login()
        if self.probe is None:
            with contextlib.suppress(ProbeError):  # without it, the env finds codex itself
                await self.run_probe()
        self.pushed = await self.services.push_auth(self.conn, self.env, data)
        self._changed()
        return self.pushed

    # ------------------------------------------------------------------ the CLI's whole run

    async def run(self, mode: LoginMode, *, timeout: float) -> LoginProgress:
        """Everything after connect(), without stopping between steps: raises FlowError
        unless the login ends verified. The preflight comes first: what would fail after the
        sign-in stops the run before the URL is shown."""
        relay: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(timeout):
                await self.preflight(mode)
                if mode is LoginMode.TUNNEL:
                    await self.free_local_port(self.local_port_for(self.landing_port))
                await self.start_login(mode)
                if mode is LoginMode.RELAY:
                    relay = asyncio.create_task(self._relay_pasted())
                progress = await self.wait_ended()
        except TimeoutError:
            raise FlowError(FailureKind.TIMEOUT, self.progress.timed_out(timeout)) from None
        finally:
            if relay is not None:
                relay.cancel()
            await self.stop_login()
        if not progress.succeeded:
            raise FlowError(FailureKind.LOGIN, f"login failed: {progress.message}")
        return progress

    async def _relay_pasted(self) -> None:
        """Relay: read pasted addresses until one reaches codex on the server."""
        problem: str | None = None
        while not self.progress.relay_ok:
            await self._until(lambda: self.progress.can_paste or self.progress.ended)
            if self.progress.ended:
                return
            text = await self.prompter.pasted_address(self.progress, problem)
            if text is None:
                return
            problem = await self.paste(text)

    # ------------------------------------------------------------------ stopping

    async def stop_login(self) -> None:
        session, self.session = self.session, None
        follower, self._follower = self._follower, None
        deadline, self._deadline = self._deadline, None
        for task in filter(None, (follower, deadline)):
            task.cancel()
        if session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.close(), CLOSE_TIMEOUT)

    async def close(self) -> None:
        """No `codex login` left on the server, no connection left open. Idempotent."""
        await self.stop_login()
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), CLOSE_TIMEOUT)
