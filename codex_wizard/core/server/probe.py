"""One batched probe of the server: a single exec round trip answers every install question.

The script is fed on stdin to POSIX sh (remote.run_guarded), so it runs the same whatever the
user's login shell is (bash, zsh, fish, csh), with its output bounded and nothing it started
left behind. Slow version checks run concurrently on the server. node, npm and codex
are looked for on the plain PATH, then as the user's login and interactive shells find them
(core/server/shellenv.py); those shells run at most once per connection (later probes reuse what the
first one found).
"""

from __future__ import annotations

import re
import shlex
import weakref
from dataclasses import dataclass, field

from ..laptop.ports import (
    CODEX_PORTS,
    PortOwner,
    owners_of,
    parse_lsof_listeners,
    parse_proc_net_tcp,
    parse_ss_listeners,
)
from ..sanitize import clip, printable
from ..tokens.auth import auth_path_for
from .preflight import ServerPreflight, auth_address, parse_preflight
from .probescript import MARK, probe_script
from .remote import ConnectionLost, run_guarded
from .shellenv import AUTO_ENV, Where, describe

NODE_REQUIRED_MAJOR = 16
NODE_RECOMMENDED_MAJOR = 22
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> str | None:
    """The first x.y.z in text: 'codex-cli 0.169.0', '@openai/codex v0.98.0', 'v22.1.0'."""
    found = _VERSION.search(text or "")
    return found.group(0) if found else None


def version_major(version: str | None) -> int | None:
    return int(version.split(".")[0]) if version else None


@dataclass(frozen=True)
class ToolInfo:
    """Where a tool is on the server, its version, and which of the user's environments has it."""

    name: str
    path: str | None = None
    version: str | None = None
    output: str = ""
    exit_code: int | None = None
    where: Where = Where.PATH

    @property
    def found(self) -> bool:
        return self.path is not None

    @property
    def works(self) -> bool:
        return self.found and self.exit_code == 0 and self.version is not None

    @property
    def via_login_shell(self) -> bool:
        """Only a login or interactive shell of the user's finds it, not the plain PATH."""
        return self.where is not Where.PATH


@dataclass
class ProbeResult:
    """Everything the install check and the doctor need to know about the server.

    `login_*` and `interactive_*` are what the user's login shell and interactive login shell
    said (`*_status`: ok, timeout, noanswer, none = no such shell, skipped, "" = not run).
    """

    os: str = ""
    arch: str = ""
    home: str = ""
    shell: str = ""
    codex_home_env: str = ""
    path: str = ""
    login_path: str | None = None
    node: ToolInfo = field(default_factory=lambda: ToolInfo("node"))
    npm: ToolInfo = field(default_factory=lambda: ToolInfo("npm"))
    codex: ToolInfo = field(default_factory=lambda: ToolInfo("codex"))
    tools: frozenset[str] = frozenset()
    port_owners: dict[int, PortOwner | None] = field(default_factory=dict)
    port_source: str = ""  # ss, lsof, proc, or none: the server showed no listeners at all
    login_codex_home: str = ""
    login_status: str = ""
    interactive_path: str | None = None
    interactive_codex_home: str = ""
    interactive_status: str = ""
    handover_shell: str = ""
    handover_path: str | None = None
    handover_codex_home: str = ""
    handover_status: str = ""
    taken_over: str = ""  # the shell an rc file exec'd for every command, reading this probe
    preflight: ServerPreflight = field(default_factory=ServerPreflight)

    @property
    def needs_login_path(self) -> bool:
        """codex (or node) is only reachable with a login or interactive shell's PATH."""
        return self.codex.via_login_shell or self.node.via_login_shell

    @property
    def ports_seen(self) -> bool:
        """False when the server showed no listeners at all (no ss, lsof or /proc/net/tcp)."""
        return self.port_source != "none"

    @property
    def node_major(self) -> int | None:
        return version_major(self.node.version)

    def path_for(self, tool: ToolInfo) -> str | None:
        """The PATH that found `tool`; None for the plain PATH (or when nothing found it)."""
        paths = {
            Where.LOGIN: self.login_path,
            Where.INTERACTIVE: self.interactive_path,
            Where.HANDOVER: self.handover_path,
        }
        return paths.get(tool.where) if tool.found else None

    @property
    def tools_path(self) -> str | None:
        """The PATH to run codex with: where codex was found, else where node was."""
        return self.path_for(self.codex) or self.path_for(self.node)

    @property
    def codex_home(self) -> str:
        """CODEX_HOME as the user's shells set it ("" = unset: ~/.codex)."""
        if self.codex.where is Where.HANDOVER and self.handover_codex_home:
            return self.handover_codex_home
        return self.interactive_codex_home or self.login_codex_home or self.codex_home_env

    def found_in(self, tool: ToolInfo) -> str:
        """'plain PATH', 'login shell (bash)', 'interactive shell zsh', 'interactive shell zsh
        that ~/.bashrc starts'."""
        if tool.where is Where.HANDOVER:
            return f"{describe(Where.INTERACTIVE, self.handover_shell)} that bash's rc files start"
        return describe(tool.where, self.shell)

    def searched(self) -> str:
        """The environments looked in, for "not found on any PATH (...)"."""
        places = [Where.PATH.value]
        shells = ((Where.LOGIN, self.login_status), (Where.INTERACTIVE, self.interactive_status))
        for where, status in shells:
            name = describe(where, self.shell)
            if status == "ok":
                places.append(name)
            elif status in _STATUS_WORDS:
                places.append(f"{name}: {_STATUS_WORDS[status]}")
        if self.handover_shell:
            name = f"{describe(Where.INTERACTIVE, self.handover_shell)} that bash's rc files start"
            words = _STATUS_WORDS.get(self.handover_status)
            places.append(f"{name}: {words}" if words else name)
        return ", ".join(places)

    def known_env(self) -> str:
        """sh assignments giving a later probe what the shells said, so they do not run again."""
        values = {
            "cw_known": "1",
            "cw_ls": self.login_status,
            "cw_lp": self.login_path or "",
            "cw_lh": self.login_codex_home,
            "cw_is": self.interactive_status,
            "cw_ip": self.interactive_path or "",
            "cw_ih": self.interactive_codex_home,
            "cw_hsh": self.handover_shell,
            "cw_hs": self.handover_status,
            "cw_hp": self.handover_path or "",
            "cw_hh": self.handover_codex_home,
        }
        return "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())


_STATUS_WORDS = {"timeout": "did not start in time", "noanswer": "printed no PATH"}


def _split_sections(text: str) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(MARK):
            current = sections.setdefault(line[len(MARK) :].strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).strip("\n") for name, lines in sections.items()}


def _parse_tool(name: str, body: str | None, where: Where) -> ToolInfo | None:
    if not body or not body.startswith("path="):
        return None
    lines = body.splitlines()
    path = lines[0][len("path=") :].strip() or None
    exit_code = None
    if len(lines) > 1 and lines[1].startswith("exit="):
        exit_code = int(lines[1][5:]) if lines[1][5:].strip().isdigit() else None
    output = "\n".join(lines[2:]).strip()
    return ToolInfo(
        name=name,
        path=path,
        version=parse_version(output) if exit_code == 0 else None,
        output=output,
        exit_code=exit_code,
        where=where,
    )


_SECTION_OF = {
    Where.PATH: "plain",
    Where.LOGIN: "login",
    Where.INTERACTIVE: "interactive",
    Where.HANDOVER: "handover",
}


def _tool(sections: dict[str, str], name: str) -> ToolInfo:
    found = (_parse_tool(name, sections.get(f"{_SECTION_OF[w]}.{name}"), w) for w in Where)
    candidates = [info for info in found if info is not None]
    working = [info for info in candidates if info.works]
    return (working or candidates or [ToolInfo(name)])[0]


def _port_owners(sections: dict[str, str]) -> tuple[dict[int, PortOwner | None], str]:
    for source, parser in (("ss", parse_ss_listeners), ("lsof", parse_lsof_listeners)):
        if source in sections:
            return owners_of(parser(sections[source]), CODEX_PORTS), source
    text = sections.get("proc", "")
    if text.startswith("unseen"):  # no ss, no lsof, no /proc (a chroot): nothing is known
        return dict.fromkeys(CODEX_PORTS), "none"
    return owners_of(parse_proc_net_tcp(text), CODEX_PORTS), "proc"


MAX_FIELD = 4096
"""Characters kept of one answer of the probe (a path, a version), but the socket lists."""
_LISTS = frozenset({"ss", "lsof", "proc"})


def parse_probe_output(text: str) -> ProbeResult:
    """Turn the probe script's output into a ProbeResult (tolerant of missing sections).

    The text is made printable first: versions, paths and process names come from the server.
    """
    sections = {
        name: body if name in _LISTS else clip(body, MAX_FIELD)
        for name, body in _split_sections(printable(text)).items()
    }
    os_arch = sections.get("os", "").split()
    owners, source = _port_owners(sections)
    return ProbeResult(
        os=os_arch[0] if os_arch else "",
        arch=os_arch[1] if len(os_arch) > 1 else "",
        home=sections.get("home", ""),
        shell=sections.get("shell", ""),
        codex_home_env=sections.get("codex_home", ""),
        path=sections.get("path", ""),
        login_path=sections.get("login_path") or None,
        node=_tool(sections, "node"),
        npm=_tool(sections, "npm"),
        codex=_tool(sections, "codex"),
        tools=frozenset(sections.get("tools", "").split()),
        port_owners=owners,
        port_source=source,
        login_codex_home=sections.get("login_codex_home", ""),
        login_status=sections.get("login_status", ""),
        interactive_path=sections.get("interactive_path") or None,
        interactive_codex_home=sections.get("interactive_codex_home", ""),
        interactive_status=sections.get("interactive_status", ""),
        handover_shell=sections.get("handover_shell", ""),
        handover_path=sections.get("handover_path") or None,
        handover_codex_home=sections.get("handover_codex_home", ""),
        handover_status=sections.get("handover_status", ""),
        taken_over=sections.get("taken_over", ""),
        preflight=parse_preflight(sections),
    )


PROBE_TIMEOUT = 60.0  # s: the user's shells may take SHELL_TIMEOUT each
PROBE_MAX_OUTPUT = 1024 * 1024
"""Characters the probe may write (its listening-sockets list is the long part)."""


class ProbeError(Exception):
    """The probe could not run (connection lost, no POSIX sh)."""


_KNOWN_ENV: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
"""Per connection: what its first probe's shells said (ProbeResult.known_env)."""


async def probe_server(
    conn,  # ServerConnection (no import cycle)
    *,
    codex_home: str | None = None,
    reach: tuple[str, int] | None = None,
) -> ProbeResult:
    """Run the batched probe over the connection: one exec channel, one round trip, with the
    login's preflight (CODEX_HOME as `codex_home` or the shells say, `reach` or auth.openai.com).

    The user's login and interactive shells run in the first probe of a connection only. The
    output is bounded (each version in 1 KB on the server, the whole in PROBE_MAX_OUTPUT here)
    and everything the probe started is killed when it ends or we give up.
    """
    script = _KNOWN_ENV.get(conn, "") + probe_script(reach or auth_address(), codex_home)
    try:
        result = await run_guarded(conn, script, timeout=PROBE_TIMEOUT, max_output=PROBE_MAX_OUTPUT)
    except TimeoutError:
        raise ProbeError(
            f"The probe on {conn.label} did not finish in {PROBE_TIMEOUT:g} s; "
            "what it started there was stopped."
        ) from None
    except ConnectionLost as exc:
        raise ProbeError(printable(f"Could not probe {conn.label}: {exc}")) from None
    output = result.text
    if result.flooded or MARK + "end" not in output:
        said = printable(output).strip()[-300:] or "no POSIX sh?"
        why = "wrote too much" if result.flooded else f"did not finish (exit {result.exit_status})"
        raise ProbeError(f"The probe on {conn.label} {why}: {said}")
    probe = parse_probe_output(output)
    _KNOWN_ENV[conn] = probe.known_env()
    return probe


@dataclass(frozen=True)
class ServerEnv:
    """How to run codex on this server: the PATH it needs and the CODEX_HOME to use.

    `from_probe` takes both from where the user's shells found codex (and set CODEX_HOME). With
    `auto_path`, the command finds them itself (plain PATH, login shell, interactive shell), so a
    login can start before the probe has answered.
    """

    login_path: str | None = None
    codex_home: str | None = None
    auto_path: bool = False

    @classmethod
    def from_probe(cls, probe: ProbeResult, codex_home: str | None = None) -> ServerEnv:
        """The probe's PATH and CODEX_HOME; `codex_home` (--codex-home) overrides the latter."""
        return cls(login_path=probe.tools_path, codex_home=codex_home or probe.codex_home or None)

    def command(self, args: str) -> str:
        """A POSIX sh command line running `args` with this environment."""
        prefix = ""
        if self.login_path:
            prefix += f"PATH={shlex.quote(self.login_path)}; export PATH; "
        elif self.auto_path:
            prefix += AUTO_ENV
        if self.codex_home:
            prefix += f"CODEX_HOME={shlex.quote(self.codex_home)}; export CODEX_HOME; "
        return prefix + args

    def auth_path(self) -> str:
        return auth_path_for(self.codex_home)
