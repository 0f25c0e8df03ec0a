"""The seed guide's troubleshooting table, automated: each check with a verdict and the fix."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from . import clock
from .install.plan import codex_runs_without_node
from .laptop.ports import CODEX_PORTS, PortOwner, local_port_owners
from .logins.authfile import read_remote_auth
from .preflight import (
    INSTALL_CODEX,
    Check,
    Verdict,
    check_codex,
    check_node,
    forward_both_ports,
    forwarding_check,
    landing_port,
    not_found,
    server_checks,
)
from .server.preflight import ServerPreflight, auth_address
from .server.probe import (
    NODE_RECOMMENDED_MAJOR,
    ProbeError,
    ProbeResult,
    ServerEnv,
    ToolInfo,
    probe_server,
)
from .server.shellenv import Where, interactive_rc, plain_rc
from .server.tunnel import ForwardingCheck, ForwardingState, check_forwarding
from .ssh.connection import connect
from .ssh.hosts import HostTarget
from .ssh.types import ConnectError, ConnectErrorKind, ConnectSettings
from .tokens.auth import AuthKind, AuthRecord
from .tokens.state import TokenState, describe_state, token_state


def _skip(name: str, why: str) -> Check:
    return Check(name, Verdict.SKIP, why)


def node_check(probe: ProbeResult) -> Check:
    """check_node, except that a working codex without a usable node is the standalone one."""
    check = check_node(probe.node, probe)
    if codex_runs_without_node(probe):
        return Check("node", Verdict.PASS, f"not needed ({check.found}; codex runs without it)")
    return check


def check_npm(npm: ToolInfo, probe: ProbeResult | None = None) -> Check:
    if npm.works:
        return Check("npm", Verdict.PASS, f"npm {npm.version}")
    if npm.found:
        return Check("npm", Verdict.WARN, f"{npm.path} fails: {npm.output[:200]}")
    fix = f"npm comes with Node.js; install Node {NODE_RECOMMENDED_MAJOR}+."
    return Check("npm", Verdict.WARN, not_found("npm", probe), fix)


def check_path(probe: ProbeResult) -> Check:
    if not probe.codex.found:
        return _skip("PATH", "codex not found")
    if not probe.codex.via_login_shell:
        return Check("PATH", Verdict.PASS, "codex is on the plain PATH")
    where = probe.found_in(probe.codex)
    rc = {
        Where.INTERACTIVE: interactive_rc(probe.shell),
        Where.HANDOVER: interactive_rc(probe.handover_shell),
    }.get(probe.codex.where, "~/.profile")
    return Check(
        "PATH",
        Verdict.WARN,
        f"codex is found only by the {where} ({probe.codex.path}, PATH set in {rc}); "
        "codex-wizard uses that PATH",
        f"For plain `ssh host codex`, also set PATH in {plain_rc(probe.shell)}.",
    )


def check_codex_home(codex_home: str | None, probe: ProbeResult | None, override: bool) -> Check:
    """Which CODEX_HOME every command uses, and who set it."""
    if override:
        source = "--codex-home"
    elif probe and probe.codex_home and probe.codex_home != probe.codex_home_env:
        source = "set by the user's shells"
    elif codex_home:
        source = "set in the environment"
    else:
        return Check("CODEX_HOME", Verdict.PASS, "~/.codex (the default)")
    return Check("CODEX_HOME", Verdict.PASS, f"{codex_home} ({source})")


def _port_text(port: int, owner: PortOwner | None) -> str:
    return f"{port} free" if owner is None else owner.describe()


def _is_codex(owner: PortOwner | None) -> bool:
    return owner is not None and (owner.process or "").startswith(("codex", "node"))


def check_local_ports(owners: dict[int, PortOwner | None]) -> Check:
    found = "; ".join(_port_text(port, owners.get(port)) for port in CODEX_PORTS)
    main = owners.get(CODEX_PORTS[0])
    if main is None:
        return Check("local port", Verdict.PASS, found)
    if _is_codex(main):
        return Check(
            "local port",
            Verdict.WARN,
            found,
            "A pending Codex login holds it here; codex-wizard login offers to stop it.",
        )
    return Check("local port", Verdict.FAIL, found, "Stop that program: the browser needs 1455.")


def check_server_ports(
    owners: dict[int, PortOwner | None],
    preflight: ServerPreflight | None = None,
    *,
    seen: bool = True,
) -> Check:
    """Who holds 1455 and 1457 on the server; `seen` False: the server showed no listeners
    (no ss, lsof or /proc/net/tcp there), so nothing is known."""
    if not seen:
        return Check(
            "server port",
            Verdict.WARN,
            "not seen: the server has no ss, no lsof and no /proc/net/tcp to show them",
            "codex takes 1455, or 1457 when 1455 is busy; codex-wizard forwards the one it takes.",
        )
    found = "; ".join(_port_text(port, owners.get(port)) for port in CODEX_PORTS)
    if all(owners.get(port) is not None for port in CODEX_PORTS):
        return Check(
            "server port",
            Verdict.FAIL,
            found,
            "Both 1455 and 1457 are taken on the server; stop one of those programs.",
        )
    main = owners.get(CODEX_PORTS[0])
    if main is None:
        return Check("server port", Verdict.PASS, found)
    other = preflight.other_user_on(CODEX_PORTS[0]) if preflight else None
    if other is not None and preflight.other_users_login(CODEX_PORTS[0]):
        fix = f"{other.user}'s pending codex login: a new one cancels it (see other logins)."
    elif _is_codex(main):
        fix = "A stale codex login; a new one cancels it."
    else:
        fix = "codex will fall back to 1457; codex-wizard forwards whichever port it uses."
    if other is not None:
        found = f"{found} (user {other.user})"
    return Check("server port", Verdict.WARN, found, fix)


def check_forwarding_result(result: ForwardingCheck) -> Check:
    if result.state is ForwardingState.ALLOWED:
        return Check("forwarding", Verdict.PASS, result.detail)
    if result.state is ForwardingState.REFUSED:
        return Check(
            "forwarding",
            Verdict.FAIL,
            result.detail,
            "Allow it in the server's sshd_config (DisableForwarding, AllowTcpForwarding, "
            "PermitOpen), or log in without a tunnel (--relay, push-auth --fresh).",
        )
    return Check("forwarding", Verdict.WARN, result.detail)


def check_auth_file(record: AuthRecord, auth_path: str = "~/.codex/auth.json") -> Check:
    if record.kind is AuthKind.MISSING:
        return Check(
            "auth file",
            Verdict.WARN,
            "no auth.json (not logged in, or credentials kept in the OS keyring)",
            "Run: codex-wizard login HOST",
        )
    if record.kind is AuthKind.MALFORMED:
        return Check("auth file", Verdict.FAIL, record.problem or "unreadable", "Log in again.")
    warning = record.file_mode_warning()
    if warning:
        return Check("auth file", Verdict.WARN, warning, f"chmod 600 {auth_path}")
    mode = f"mode {record.file_mode:04o}" if record.file_mode is not None else "mode unknown"
    return Check("auth file", Verdict.PASS, f"auth.json ({record.auth_mode}, {mode})")


def check_token(record: AuthRecord, now: datetime, warn_days: float) -> Check:
    state = token_state(record, now, warn_days)
    found = describe_state(state, record, now)
    if state is TokenState.LOGGED_OUT:
        return Check("token", Verdict.SKIP, found)
    if state is TokenState.API_KEY:
        return Check(
            "token",
            Verdict.WARN,
            f"API-key mode ({record.api_key_masked}): not the ChatGPT login",
            "For ChatGPT sign-in run codex-wizard login HOST.",
        )
    if state is not TokenState.ERROR:
        found = f"access token {found}"
    if state in (TokenState.ERROR, TokenState.EXPIRED):
        return Check("token", Verdict.FAIL, found, "Log in again.")
    if state is TokenState.EXPIRING:
        return Check("token", Verdict.WARN, found, "Log in again soon.")
    return Check("token", Verdict.PASS, found)


@dataclass
class DoctorReport:
    host: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.verdict is not Verdict.FAIL for check in self.checks)

    def verdict(self, name: str) -> Verdict:
        return next((c.verdict for c in self.checks if c.name == name), Verdict.SKIP)

    def recommendation(self) -> str:
        """The one way to log in that fits what the checks found."""
        return recommend(self)

    def as_json(self) -> dict[str, object]:
        return {
            "host": self.host,
            "ok": self.ok,
            "recommendation": self.recommendation(),
            "checks": [check.as_json() for check in self.checks],
        }


def recommend(report: DoctorReport) -> str:
    """Tunnel, relay, device code or push-auth: what to run next on this host."""
    host = report.host
    failed = {c.name for c in report.checks if c.verdict is Verdict.FAIL}
    if failed & {"ssh", "host key"}:
        return "Fix the SSH connection first (see above)."
    if "node" in failed:
        return (
            f"No Node.js needed: codex-wizard install {host} --standalone (or install Node.js "
            f"22+ and {INSTALL_CODEX}), then: codex-wizard login {host}"
        )
    if "codex" in failed:
        return f"Install codex on the server ({INSTALL_CODEX}), then: codex-wizard login {host}"
    if failed & {"shell", "login file", "codex config"}:
        return f"Fix what codex needs on the server (see above), then: codex-wizard login {host}"
    if "auth server" in failed:
        return (
            "The server cannot do the token exchange with the sign-in server (see auth server): "
            f"codex-wizard push-auth {host} --fresh "
            "(codex logs in on this computer, the server gets its own login)"
        )
    if "server port" in failed:
        return f"Free port 1455 or 1457 on the server, then: codex-wizard login {host}"
    if "forwarding" in failed:
        return (
            f"No tunnel (the server refuses forwarding): codex-wizard push-auth {host} --fresh "
            "(codex logs in on this computer, the server gets its own login); or codex-wizard "
            f"login {host} --relay (paste the address the browser ends on); or --device-auth "
            "if device-code login is on in ChatGPT"
        )
    if "local port" in failed:
        return (
            f"No tunnel (1455 is busy here): codex-wizard login {host} --relay (paste the "
            "address the browser ends on); or --device-auth if device-code login is on in ChatGPT"
        )
    if report.verdict("token") is Verdict.PASS:
        return "Nothing to do: codex is logged in."
    return f"codex-wizard login {host}"


_SERVER_CHECKS = (
    "node",
    "npm",
    "codex",
    "PATH",
    "server port",
    "forwarding",
    "CODEX_HOME",
    "shell",
    "login file",
    "codex config",
    "auth server",
    "other logins",
    "auth file",
    "token",
)


_HOST_KEY_KINDS = frozenset(
    {
        ConnectErrorKind.HOST_KEY_UNKNOWN,
        ConnectErrorKind.HOST_KEY_CHANGED,
        ConnectErrorKind.HOST_KEY_REVOKED,
        ConnectErrorKind.HOST_KEY_UNVERIFIED,
    }
)


def _connect_failure(exc: ConnectError) -> list[Check]:
    if exc.kind in _HOST_KEY_KINDS:
        ssh = Check("ssh", Verdict.FAIL, "stopped at the host key")
        unknown = exc.kind is ConnectErrorKind.HOST_KEY_UNKNOWN
        fix = "Re-run with --accept-new-host-key." if unknown else ""
        key = Check("host key", Verdict.FAIL, str(exc), fix)
    else:
        ssh = Check("ssh", Verdict.FAIL, str(exc), "Check the host name, port and your keys.")
        key = _skip("host key", "no connection")
    return [ssh, key]


async def run_doctor(
    target: HostTarget,
    settings: ConnectSettings,
    *,
    codex_home: str | None = None,
    warn_days: float = 3.0,
) -> DoctorReport:
    """Every check, in the seed guide's order; never raises for a host problem."""
    local = asyncio.create_task(asyncio.to_thread(local_port_owners, CODEX_PORTS))
    try:
        conn = await connect(target, settings)
    except ConnectError as exc:
        checks = _connect_failure(exc)
        checks += [_skip(name, "no connection") for name in _SERVER_CHECKS]
        checks.insert(6, check_local_ports(await local))
        return DoctorReport(target.label(), checks)
    async with conn:
        key = conn.host_key()
        fingerprint = key.get_fingerprint("sha256") if key else "unknown"
        reach = auth_address()
        probe_task = asyncio.create_task(probe_server(conn, codex_home=codex_home, reach=reach))
        forwarding = asyncio.create_task(forward_both_ports(partial(check_forwarding, conn)))
        try:
            probe = await probe_task
        except ProbeError as exc:
            probe = None
            probe_error = str(exc)
        env = ServerEnv.from_probe(probe, codex_home) if probe else ServerEnv(None, codex_home)
        record = await read_remote_auth(conn, env.auth_path())
        checks = [
            Check("ssh", Verdict.PASS, f"connected to {conn.label}"),
            Check("host key", Verdict.PASS, f"known ({fingerprint})"),
        ]
        if probe is None:
            checks += [Check(name, Verdict.FAIL, probe_error) for name in ("node", "npm", "codex")]
            checks.append(_skip("PATH", "probe failed"))
        else:
            checks += [
                node_check(probe),
                check_npm(probe.npm, probe),
                check_codex(probe.codex, probe),
                check_path(probe),
            ]
        checks.append(check_local_ports(await local))
        if probe is None:
            checks.append(_skip("server port", "probe failed"))
        else:
            seen = probe.ports_seen
            checks.append(check_server_ports(probe.port_owners, probe.preflight, seen=seen))
        port = landing_port(probe) if probe else CODEX_PORTS[0]
        checks.append(forwarding_check(await forwarding, port, conn.label))
        checks.append(check_codex_home(env.codex_home, probe, override=bool(codex_home)))
        checks += server_checks(probe, reach, conn.label) if probe else []
        now = clock.now()
        checks += [check_auth_file(record, env.auth_path()), check_token(record, now, warn_days)]
    return DoctorReport(conn.label, checks)
