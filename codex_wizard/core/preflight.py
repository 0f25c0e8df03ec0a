"""The login's preflight: every cause a login can die of after the sign-in, judged before it.

The probe (core/server/probe.py, with core/server/preflight.py's part) and the forwarding test
of both ports codex may use answer in one round trip; this module turns what they found into
checks with a verdict and the fix. The login (core/flow.py, both faces) stops before the URL on a
FAIL and shows a WARN; `doctor` prints the same checks, so its "Next: login" means the login gets
through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from enum import StrEnum

from .install.plan import codex_runs_without_node
from .laptop.ports import CODEX_PORTS
from .server.actions import USER_PREFIX
from .server.preflight import CodexHomeState, ServerPreflight, auth_address
from .server.probe import (
    NODE_RECOMMENDED_MAJOR,
    NODE_REQUIRED_MAJOR,
    ProbeResult,
    ToolInfo,
    version_major,
)
from .server.shellenv import interactive_rc
from .server.tunnel import ForwardingCheck, ForwardingState

INSTALL_CODEX = "npm install -g @openai/codex"
MIN_FREE_KB = 64
"""Below this, codex cannot be sure to write auth.json (a few KB) and its lock files."""
PUSH_FRESH = "codex-wizard push-auth {host} --fresh"


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    found: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}


async def forward_both_ports(
    check: Callable[[int], Awaitable[ForwardingCheck]],
) -> dict[int, ForwardingCheck]:
    """The forward of 1455 and of 1457 tested at once (channels on the one connection): the
    port codex takes is known only once the probe has seen who holds 1455."""
    results = await asyncio.gather(*(check(port) for port in CODEX_PORTS))
    return dict(zip(CODEX_PORTS, results, strict=True))


def landing_port(probe: ProbeResult) -> int:
    """The port codex will listen on: 1455 unless something that is not a codex login holds it
    (codex cancels a pending login through GET /cancel and takes 1455; anything else stays)."""
    main = CODEX_PORTS[0]
    owner = probe.port_owners.get(main)
    held = owner is not None or any(x.port == main for x in probe.preflight.listeners)
    if not held or probe.preflight.other_users_login(main) is not None:
        return main
    process = owner.process or "" if owner is not None else ""
    return main if process.startswith(("codex", "node")) else CODEX_PORTS[1]


def forwarding_check(results: dict[int, ForwardingCheck], port: int, host: str) -> Check:
    """The forward of `port`, the one codex will use, and which sshd_config line refuses it."""
    result = results.get(port)
    if result is None or result.state is ForwardingState.UNKNOWN:
        return Check("forwarding", Verdict.WARN, result.detail if result else "not tested")
    if result.state is ForwardingState.ALLOWED:
        return Check("forwarding", Verdict.PASS, f"allowed to 127.0.0.1:{port}")
    others = [p for p, r in results.items() if p != port and r.state is ForwardingState.ALLOWED]
    if others:
        cause = (
            f"the server allows forwarding to 127.0.0.1:{others[0]} but not to :{port}, where "
            f"codex will listen: its sshd_config has PermitOpen (or a `permitopen=` key option) "
            "naming other ports"
        )
    else:
        cause = (
            f"the server refuses forwarding to 127.0.0.1:{port} (administratively prohibited): "
            "its sshd_config has DisableForwarding yes, AllowTcpForwarding no (or remote), or "
            "PermitOpen none"
        )
    fix = (
        f"Log in without a tunnel: {PUSH_FRESH.format(host=host)} (codex logs in on this "
        f"computer), or codex-wizard login {host} --relay (paste the address the browser ends "
        "on)."
    )
    return Check("forwarding", Verdict.FAIL, cause, fix)


def _home_check(home: CodexHomeState, user_home: str) -> Check:
    where = home.path or "~/.codex"
    if home.exists is False and home.set_by_user:
        return Check(
            "login file",
            Verdict.FAIL,
            f"CODEX_HOME is {where}, which does not exist (codex will not start its login)",
            f"mkdir -p {where}",
        )
    if home.writable is False:
        at = where if home.exists else f"{where.rsplit('/', 1)[0] or '/'} (to create {where})"
        return Check(
            "login file",
            Verdict.FAIL,
            f"{at} is not writable: codex could not save the login after you sign in",
            f"Make it writable (chmod u+w, or a writable CODEX_HOME); under {user_home or '~'}.",
        )
    if home.free_kb is not None and home.free_kb < MIN_FREE_KB:
        return Check(
            "login file",
            Verdict.FAIL,
            f"the disk holding {where} is full ({home.free_kb} KB free): codex could not save "
            "the login after you sign in",
            "Free some space on that file system, then log in.",
        )
    free = f", {home.free_kb // 1024} MB free" if home.free_kb is not None else ""
    return Check("login file", Verdict.PASS, f"{where} writable{free}")


def _error_line(output: str) -> str | None:
    """The first line where codex names an error. Its warnings are not one: without /proc it
    prints "WARNING: proceeding, even though we could not create PATH aliases: no
    /proc/self/exe available..." first, then what stops it ("Error loading configuration: ...")."""
    lines = (line.strip() for line in output.splitlines() if not line.startswith("WARNING"))
    return next((line for line in lines if "error" in line.lower()), None)


def _config_check(pre: ServerPreflight) -> Check:
    answer = pre.login_status
    if answer is None:
        return Check("codex config", Verdict.SKIP, "codex not found")
    said = [line for line in answer.output.splitlines() if not line.startswith("WARNING")]
    first = (said or answer.output.splitlines() or ["no output"])[0]
    if answer.exit_code is None:
        return Check("codex config", Verdict.WARN, "`codex login status` did not answer in time")
    if (error := _error_line(answer.output)) is not None:
        fix = (
            "codex needs /proc (a chroot or container without it): have /proc mounted where "
            "codex runs (mount -t proc proc /proc there), then log in."
            if "/proc" in error
            else "codex cannot load its configuration: fix what it names (config.toml under "
            "CODEX_HOME), then log in."
        )
        return Check("codex config", Verdict.FAIL, f"`codex login status` says: {error}", fix)
    if answer.exit_code not in (0, 1):  # 1: "Not logged in"
        found = f"`codex login status` exited {answer.exit_code}: {first}"
        return Check("codex config", Verdict.WARN, found, "Run it on the server to see why.")
    return Check("codex config", Verdict.PASS, f"`codex login status`: {first}")


_CA_STATES = {
    "missing": "does not exist",
    "directory": "is a directory",
    "unreadable": "you cannot read",
    "nocerts": "holds no PEM CERTIFICATE block",
}


def _reach_check(pre: ServerPreflight, reach: tuple[str, int], host: str) -> Check:
    target = f"{reach[0]}:{reach[1]}"
    fix = (
        f"The server does the token exchange after you sign in: {PUSH_FRESH.format(host=host)} "
        "does it on this computer instead."
    )
    ca = pre.ca_file
    if ca is not None and not ca.ok:
        codex_says = (  # its words, 0.169 and 0.171
            f"Failed to load CA certificates from {ca.path}"
            if ca.state == "nocerts"
            else f"Failed to read CA certificate file {ca.path}"
        )
        found = (
            f"{ca.variable} names {ca.path}, which {_CA_STATES.get(ca.state, ca.state)}: codex "
            "reads it for the token exchange after you sign in, and would fail there "
            f'("{codex_says} selected by {ca.variable}")'
        )
        fix += (
            f" Or point {ca.variable} at a PEM file of CA certificates, or unset it, where it "
            "is set (sshd_config SetEnv, ~/.ssh/environment, your shell's rc files)."
        )
        return Check("auth server", Verdict.FAIL, found, fix)
    verdict, _, why = pre.reach.partition(" ")
    via = pre.via.removeprefix("proxy ")
    route = "through the proxy " + via if pre.via.startswith("proxy") else "directly"
    if verdict == "ok":
        return Check("auth server", Verdict.PASS, f"{target} reachable {route}")
    if verdict == "fail":
        return Check("auth server", Verdict.FAIL, f"cannot reach {target} {route}: {why}", fix)
    return Check("auth server", Verdict.WARN, f"{target} not tested: {why or 'no answer'}")


def other_login_check(pre: ServerPreflight) -> Check:
    """Another user's pending `codex login` on 1455: a login now cancels it."""
    port = CODEX_PORTS[0]
    if not pre.listeners_seen:
        return Check(
            "other logins",
            Verdict.WARN,
            f"not seen: the server has no /proc/net/tcp to show who listens on its "
            f"127.0.0.1:{port} (another user's pending `codex login` there would get GET /cancel)",
        )
    other = pre.other_users_login(port)
    if other is None:
        return Check("other logins", Verdict.PASS, "no other user's login pending")
    return Check(
        "other logins",
        Verdict.WARN,
        f"{other.user} has a `codex login` waiting on the server's 127.0.0.1:{port}: starting "
        f'one now sends it GET /cancel and ends {other.user}\'s login ("Login cancelled")',
        f"Wait until {other.user} has signed in, or go ahead (the login asks).",
    )


def takeover_check(probe: ProbeResult) -> Check:
    """An rc file that starts another shell for every command, not only interactive ones."""
    if not probe.taken_over:
        return Check("shell", Verdict.PASS, f"commands run ({probe.shell or 'sh'})")
    shell = probe.taken_over
    return Check(
        "shell",
        Verdict.FAIL,
        f"~/.bashrc starts {shell} for every command (`exec {shell}` without the interactive "
        f"guard): `ssh host CMD` never runs CMD, so neither would codex login",
        f"Start {shell} for interactive shells only: put `[[ $- == *i* ]] && exec {shell} -l` "
        "(or move the line below the `case $- in` guard) in ~/.bashrc.",
    )


def server_checks(probe: ProbeResult, reach: tuple[str, int], host: str) -> list[Check]:
    """What the server's side of the preflight found, as checks (none when it did not run)."""
    pre = probe.preflight
    if not pre.checked:
        return []
    return [
        takeover_check(probe),
        _home_check(pre.codex_home, probe.home),
        _config_check(pre),
        _reach_check(pre, reach, host),
        other_login_check(pre),
    ]


def not_found(tool: str, probe: ProbeResult | None) -> str:
    """'codex not found on any PATH (plain PATH, login shell (bash), interactive shell bash)'."""
    return f"{tool} not found on any PATH ({probe.searched() if probe else 'plain PATH'})"


def _install_fix(what: str, probe: ProbeResult | None) -> str:
    rc = interactive_rc(probe.shell) if probe else "your shell's rc file"
    return f"{what}; if it is installed, put its directory on PATH in {rc}."


def check_node(node: ToolInfo, probe: ProbeResult | None = None) -> Check:
    major = version_major(node.version)
    if not node.found:
        fix = _install_fix(f"Install Node.js {NODE_RECOMMENDED_MAJOR}+ (e.g. nvm)", probe)
        return Check("node", Verdict.FAIL, not_found("node", probe), fix)
    if major is None:
        return Check("node", Verdict.FAIL, f"{node.path} does not run: {node.output[:200]}")
    if major < NODE_REQUIRED_MAJOR:
        return Check(
            "node",
            Verdict.FAIL,
            f"node {node.version} is too old (codex needs >= {NODE_REQUIRED_MAJOR})",
            f"Install Node.js {NODE_RECOMMENDED_MAJOR}+ (nvm install {NODE_RECOMMENDED_MAJOR}).",
        )
    if major < NODE_RECOMMENDED_MAJOR:
        return Check(
            "node",
            Verdict.WARN,
            f"node {node.version} works; {NODE_RECOMMENDED_MAJOR}+ is recommended",
            f"Upgrade to Node.js {NODE_RECOMMENDED_MAJOR}+ when convenient.",
        )
    return Check("node", Verdict.PASS, f"node {node.version} ({node.path})")


def check_codex(codex: ToolInfo, probe: ProbeResult | None = None) -> Check:
    if not codex.found:
        fix = _install_fix(f"Install it: {INSTALL_CODEX}", probe)
        return Check("codex", Verdict.FAIL, not_found("codex", probe), fix)
    if not codex.works:
        return Check(
            "codex",
            Verdict.FAIL,
            f"{codex.path} fails: {codex.output.splitlines()[0] if codex.output else 'no output'}",
            f"Reinstall: {INSTALL_CODEX}@latest",
        )
    return Check("codex", Verdict.PASS, f"codex {codex.version} ({codex.path})")


def user_prefix_codex_check() -> Check:
    """codex, installed by us into ~/.local/bin this session: the probe's PATH does not have
    it, but codex-wizard runs it from there (LoginFlow.user_prefix)."""
    return Check(
        "codex",
        Verdict.WARN,
        f"installed in {USER_PREFIX}/bin, which is not on the server's PATH; "
        "codex-wizard adds it for this session",
        "For your own shells: echo 'export PATH=$HOME/.local/bin:$PATH' >> ~/.profile",
    )


def login_checks(
    probe: ProbeResult | None,
    forwardings: dict[int, ForwardingCheck] | None,
    host: str,
    *,
    user_prefix: bool = False,
) -> list[Check]:
    """What a login must pass before its URL: codex runs (from ~/.local/bin when `user_prefix`:
    we installed it there), the server's side of the preflight, and (`forwardings` given: a
    tunnel) the forward of the port codex will take."""
    checks: list[Check] = []
    if probe is not None:
        if user_prefix and not probe.codex.found:
            checks.append(user_prefix_codex_check())
        elif not codex_runs_without_node(probe):
            checks += [check_node(probe.node, probe), check_codex(probe.codex, probe)]
        checks += server_checks(probe, auth_address(), host)
    if forwardings is not None:
        port = landing_port(probe) if probe is not None else CODEX_PORTS[0]
        checks.append(forwarding_check(forwardings, port, host))
    return checks


def first_failure(checks: list[Check]) -> Check | None:
    return next((check for check in checks if check.verdict is Verdict.FAIL), None)
