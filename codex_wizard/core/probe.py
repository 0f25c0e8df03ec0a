"""One batched probe of the server: a single exec round trip answers every install question.

The script is fed on stdin to `sh -s`, so it runs the same whatever the user's login shell is
(bash, zsh, fish, csh). Slow version checks run concurrently on the server.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from .authfile import auth_path_for
from .ports import (
    CODEX_PORTS,
    PortOwner,
    owners_of,
    parse_lsof_listeners,
    parse_proc_net_tcp,
    parse_ss_listeners,
)
from .sanitize import printable

NODE_REQUIRED_MAJOR = 16
NODE_RECOMMENDED_MAJOR = 22
_MARK = "@@cw:"

# Prints the PATH a login shell would have (nvm, ~/.npm-global/bin, ~/.local/bin ...).
LOGIN_SHELL_PATH = (
    """"${SHELL:-/bin/sh}" -lc 'printf "\\n@@LP@@%s\\n" "$PATH"' </dev/null 2>/dev/null"""
    " | sed -n 's/^@@LP@@//p' | tail -n 1"
)

PROBE_SCRIPT = r"""
mark() { printf '\n@@cw:%s\n' "$1"; }
versions() {
  t=$(mktemp -d 2>/dev/null || echo /tmp/cw.$$); mkdir -p "$t"
  for tool in node npm codex; do
    ( p=$(command -v "$tool" 2>/dev/null) || exit 0
      printf 'path=%s\n' "$p" > "$t/$tool"
      out=$("$tool" --version 2>&1 </dev/null); rc=$?
      printf 'exit=%s\n%s\n' "$rc" "$out" | head -n 6 >> "$t/$tool" ) &
  done
  wait
  for tool in node npm codex; do mark "$1.$tool"; cat "$t/$tool" 2>/dev/null; done
  rm -rf "$t"
}
mark os; uname -sm 2>/dev/null
mark home; printf '%s\n' "$HOME"
mark shell; printf '%s\n' "${SHELL:-}"
mark codex_home; printf '%s\n' "${CODEX_HOME:-}"
mark path; printf '%s\n' "$PATH"
versions plain
if ! command -v codex >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  lp=$(%(login_path)s)
  mark login_path; printf '%s\n' "$lp"
  if [ -n "$lp" ] && [ "$lp" != "$PATH" ]; then PATH=$lp; export PATH; versions login; fi
fi
mark tools; for t in curl wget python3; do command -v "$t" >/dev/null 2>&1 && echo "$t"; done
if command -v ss >/dev/null 2>&1; then mark ss; ss -Hltnp 2>/dev/null
elif command -v lsof >/dev/null 2>&1; then mark lsof; lsof -nP -iTCP -sTCP:LISTEN -Fpcn 2>/dev/null
else mark proc; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
fi
mark end
"""

PROBE_SCRIPT = PROBE_SCRIPT.replace("%(login_path)s", LOGIN_SHELL_PATH)

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> str | None:
    """The first x.y.z in text: 'codex-cli 0.169.0', '@openai/codex v0.98.0', 'v22.1.0'."""
    found = _VERSION.search(text or "")
    return found.group(0) if found else None


def version_major(version: str | None) -> int | None:
    return int(version.split(".")[0]) if version else None


@dataclass(frozen=True)
class ToolInfo:
    """Where a tool is on the server, its version, and whether only a login shell finds it."""

    name: str
    path: str | None = None
    version: str | None = None
    output: str = ""
    exit_code: int | None = None
    via_login_shell: bool = False

    @property
    def found(self) -> bool:
        return self.path is not None

    @property
    def works(self) -> bool:
        return self.found and self.exit_code == 0 and self.version is not None


@dataclass
class ProbeResult:
    """Everything the install check and the doctor need to know about the server."""

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
    port_source: str = ""

    @property
    def needs_login_path(self) -> bool:
        """codex (or node) is only reachable with the login shell's PATH."""
        return self.codex.via_login_shell or self.node.via_login_shell

    @property
    def node_major(self) -> int | None:
        return version_major(self.node.version)


def _split_sections(text: str) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(_MARK):
            current = sections.setdefault(line[len(_MARK) :].strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).strip("\n") for name, lines in sections.items()}


def _parse_tool(name: str, body: str | None, via_login_shell: bool) -> ToolInfo | None:
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
        via_login_shell=via_login_shell,
    )


def _tool(sections: dict[str, str], name: str) -> ToolInfo:
    plain = _parse_tool(name, sections.get(f"plain.{name}"), via_login_shell=False)
    login = _parse_tool(name, sections.get(f"login.{name}"), via_login_shell=True)
    candidates = [info for info in (plain, login) if info is not None]
    working = [info for info in candidates if info.works]
    return (working or candidates or [ToolInfo(name)])[0]


def _port_owners(sections: dict[str, str]) -> tuple[dict[int, PortOwner | None], str]:
    for source, parser in (("ss", parse_ss_listeners), ("lsof", parse_lsof_listeners)):
        if source in sections:
            return owners_of(parser(sections[source]), CODEX_PORTS), source
    return owners_of(parse_proc_net_tcp(sections.get("proc", "")), CODEX_PORTS), "proc"


def parse_probe_output(text: str) -> ProbeResult:
    """Turn the probe script's output into a ProbeResult (tolerant of missing sections).

    The text is made printable first: versions, paths and process names come from the server.
    """
    sections = _split_sections(printable(text))
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
    )


class ProbeError(Exception):
    """The probe could not run (connection lost, no POSIX sh)."""


async def probe_server(conn) -> ProbeResult:  # conn: ServerConnection (no import cycle)
    """Run the batched probe over the connection: one exec channel, one round trip."""
    try:
        result = await conn.ssh.run("sh -s", input=PROBE_SCRIPT, check=False)
    except Exception as exc:  # asyncssh.Error, OSError: the message is what matters here
        raise ProbeError(printable(f"Could not probe {conn.label}: {exc}")) from None
    stdout = result.stdout if isinstance(result.stdout, str) else ""
    if _MARK + "end" not in stdout:
        raise ProbeError(
            f"The probe on {conn.label} did not finish (exit {result.exit_status}): "
            f"{printable(str(result.stderr)).strip()[:300] or 'no POSIX sh?'}"
        )
    return parse_probe_output(stdout)


@dataclass(frozen=True)
class ServerEnv:
    """How to run codex on this server: the PATH it needs and the CODEX_HOME to use.

    With `auto_path`, the command finds codex itself (plain PATH, else the login shell's), so a
    login can start before the probe has answered.
    """

    login_path: str | None = None
    codex_home: str | None = None
    auto_path: bool = False

    @classmethod
    def from_probe(cls, probe: ProbeResult, codex_home: str | None = None) -> ServerEnv:
        return cls(
            login_path=probe.login_path if probe.needs_login_path else None,
            codex_home=codex_home or probe.codex_home_env or None,
        )

    def command(self, args: str) -> str:
        """A POSIX sh command line running `args` with this environment."""
        prefix = ""
        if self.login_path:
            prefix += f"PATH={shlex.quote(self.login_path)}; export PATH; "
        elif self.auto_path:
            prefix += (
                "command -v codex >/dev/null 2>&1 || "
                f'{{ lp=$({LOGIN_SHELL_PATH}); [ -n "$lp" ] && PATH=$lp && export PATH; }}; '
            )
        if self.codex_home:
            prefix += f"CODEX_HOME={shlex.quote(self.codex_home)}; export CODEX_HOME; "
        return prefix + args

    def auth_path(self) -> str:
        return auth_path_for(self.codex_home)
