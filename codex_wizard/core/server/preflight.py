"""What the server must allow for a login to finish, asked inside the one probe exec.

A login can pass the browser sign-in and still die on the server: codex cannot write its login
(CODEX_HOME missing, read-only, a full disk), cannot load its configuration (`codex login status`
says why), cannot reach auth.openai.com for the token exchange (offline, a dead proxy, a missing
CA file), or its start cancels another user's pending `codex login` on 1455. PREFLIGHT_SCRIPT
finds all of that in the probe's round trip (core/server/probe.py runs it last); ServerPreflight
is what it found. Judging it (pass, warn, fail, the fix) is core/preflight.py's job.

Every step is bounded: `codex login status` by STATUS_TIMEOUT, the reach test by REACH_LIMIT; the
two run side by side while the rest is read.
The reach test sends nothing but a TCP connect (through a proxy: its CONNECT request).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field

AUTH_ADDRESS = ("auth.openai.com", 443)
"""Where codex exchanges the code for tokens, from the server."""
AUTH_ADDRESS_VARIABLE = "CODEX_WIZARD_AUTH_ADDRESS"
"""host:port to test instead (an OpenAI-compatible issuer behind a firewall, the test lab)."""
STATUS_TIMEOUT = 5
REACH_TIMEOUT = 2  # s per connect attempt
REACH_LIMIT = 3  # s for the whole test, name lookup included

_REACH_PY = r"""
import os, socket, sys, urllib.parse
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def env(name):
    return os.environ.get(name) or os.environ.get(name.lower()) or ""
def bypass(no_proxy):
    for item in (i.strip().lower().lstrip(".") for i in no_proxy.split(",")):
        if item == "*" or (item and (host == item or host.endswith("." + item))):
            return True
    return False
proxy = env("HTTPS_PROXY") or env("ALL_PROXY")
if proxy and bypass(env("NO_PROXY")):
    proxy = ""
try:
    if not proxy:
        print("via=direct")
        socket.create_connection((host, port), timeout=limit).close()
        print("reach=ok")
        sys.exit()
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
    print("via=proxy " + (parts.hostname or "?") + ":" + str(parts.port or 1080))
    sock = socket.create_connection((parts.hostname, parts.port or 1080), timeout=limit)
    if not parts.scheme.startswith("http"):
        print("reach=ok proxy answers (" + parts.scheme + ", not tested further)")
        sys.exit()
    target = host + ":" + str(port)
    sock.sendall(("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n").encode())
    answer = sock.recv(200).decode("latin-1").split("\r\n")[0]
    said = "reach=fail the proxy said: " + answer
    print("reach=ok" if answer.split(" ")[1:2] == ["200"] else said)
except OSError as exc:
    print("reach=fail " + (exc.strerror or str(exc) or type(exc).__name__))
except IndexError:
    print("reach=fail the proxy gave no answer")
"""

PREFLIGHT_SCRIPT = r"""
cw_bounded() { cw_t=$1; shift; cw_bo=$(mktemp 2>/dev/null || echo /tmp/cw-b.$$)
  "$@" </dev/null >"$cw_bo" 2>&1 & cw_bp=$!
  ( sleep "$cw_t"; kill -9 $cw_bp ) >/dev/null 2>&1 & cw_bw=$!
  wait $cw_bp; cw_brc=$?; kill $cw_bw 2>/dev/null; wait $cw_bw 2>/dev/null
  printf 'exit=%s\n' "$cw_brc"; head -n 6 "$cw_bo" | cut -c1-300 |
    LC_ALL=C tr -d '\000-\010\013-\037\177-\377'; rm -f "$cw_bo"; }
cw_pf_path=; for cw_p in "$PATH" "$cw_lp" "$cw_ip" "${cw_hp-}"; do
  [ -n "$cw_p" ] && cw_finds "$cw_p" codex && { cw_pf_path=$cw_p; break; }; done
cw_pf_home=${cw_home_override:-${cw_ih:-${cw_lh:-${CODEX_HOME:-}}}}
cw_pf_dir=${cw_pf_home:-$HOME/.codex}
mark pf.home
printf 'dir=%s\nset=%s\n' "$cw_pf_dir" "${cw_pf_home:+yes}"
if [ -d "$cw_pf_dir" ]; then echo exists=yes; cw_pf_at=$cw_pf_dir
else echo exists=no; cw_pf_at=$(dirname "$cw_pf_dir"); fi
[ -w "$cw_pf_at" ] && [ -x "$cw_pf_at" ] && echo writable=yes || echo writable=no
df -Pk "$cw_pf_at" 2>/dev/null | awk 'NR==2 {print "free_kb=" $4}'
cw_pf_t=$(mktemp -d 2>/dev/null || echo /tmp/cw-pf.$$); mkdir -p "$cw_pf_t"
if [ -n "$cw_pf_path" ]; then
  ( PATH=$cw_pf_path; export PATH
    [ -n "$cw_pf_home" ] && { CODEX_HOME=$cw_pf_home; export CODEX_HOME; }
    cw_bounded __STATUS_TIMEOUT__ codex login status ) >"$cw_pf_t/status" & fi
if command -v python3 >/dev/null 2>&1; then
  cw_bounded __REACH_LIMIT__ python3 -c "$cw_reach_py" __REACH__ >"$cw_pf_t/reach" &
else printf 'exit=127\nreach=unknown no python3 to test it with\n' >"$cw_pf_t/reach"; fi
mark pf.ca
for cw_v in CODEX_CA_CERTIFICATE SSL_CERT_FILE; do eval "cw_f=\${$cw_v-}"
  [ -n "$cw_f" ] || continue
  if [ ! -e "$cw_f" ]; then cw_s=missing; elif [ -d "$cw_f" ]; then cw_s=directory
  elif [ ! -r "$cw_f" ]; then cw_s=unreadable
  elif [ -f "$cw_f" ] && ! grep -q -e '-----BEGIN CERTIFICATE-----' "$cw_f" 2>/dev/null
  then cw_s=nocerts; else cw_s=ok; fi; echo "$cw_v $cw_s $cw_f"; break; done
mark pf.uid; id -u
mark pf.listeners; [ -r /proc/net/tcp ] || echo unseen
awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); p = a[2]
  if (p == "05AF" || p == "05B1") print p, $8 }' /proc/net/tcp 2>/dev/null |
  while read -r cw_port cw_uid; do
    printf '%s %s %s\n' $((0x$cw_port)) "$cw_uid" "$(getent passwd "$cw_uid" | cut -d: -f1)"; done
mark pf.logins
ps -eo uid=,args= 2>/dev/null | grep -E '(^|[ /])[c]odex(\.js)? login( |$)' |
  grep -Ev ' login (status|logout)' | head -n 8
wait
[ -f "$cw_pf_t/status" ] && { mark pf.status; cat "$cw_pf_t/status"; }
mark pf.reach; cat "$cw_pf_t/reach"; rm -rf "$cw_pf_t"
"""
"""POSIX sh, run by the probe after the tools were found (it needs cw_finds and their PATHs)."""


def auth_address(environ: dict[str, str] | None = None) -> tuple[str, int]:
    """auth.openai.com:443, or the host:port CODEX_WIZARD_AUTH_ADDRESS names."""
    value = (environ if environ is not None else os.environ).get(AUTH_ADDRESS_VARIABLE, "")
    host, _, port = value.rpartition(":")
    if host and port.isdigit():
        return host, int(port)
    return AUTH_ADDRESS


def preflight_script(reach: tuple[str, int], codex_home: str | None = None) -> str:
    """PREFLIGHT_SCRIPT testing `reach`, with --codex-home's value when one was given."""
    host, port = reach
    script = (
        PREFLIGHT_SCRIPT.replace("__STATUS_TIMEOUT__", str(STATUS_TIMEOUT))
        .replace("__REACH_LIMIT__", str(REACH_LIMIT))
        .replace("__REACH__", f"{shlex.quote(host)} {port} {REACH_TIMEOUT}")
    )
    prefix = f"cw_reach_py={shlex.quote(_REACH_PY)}\n"
    if codex_home:
        prefix += f"cw_home_override={shlex.quote(codex_home)}\n"
    return prefix + script


@dataclass(frozen=True)
class CodexHomeState:
    """The directory codex writes its login to, as the server's user sees it."""

    path: str = ""
    set_by_user: bool = False
    exists: bool | None = None
    writable: bool | None = None
    free_kb: int | None = None


@dataclass(frozen=True)
class CommandAnswer:
    """A bounded command's exit code (None: not run, or killed) and first lines."""

    exit_code: int | None = None
    output: str = ""


CA_VARIABLES = ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE")
"""codex reads the CA file of the first of these that is set and not empty, at the token
exchange, and fails the login if it cannot ("Failed to read CA certificate file ... selected by
SSL_CERT_FILE"); the other is then ignored. Measured on codex 0.169 and 0.171."""


@dataclass(frozen=True)
class CaFile:
    """The CA file codex will read for the token exchange, and what is wrong with it."""

    variable: str
    path: str
    state: str  # ok, missing, directory, unreadable, nocerts (no PEM CERTIFICATE block)

    @property
    def ok(self) -> bool:
        return self.state == "ok"


@dataclass(frozen=True)
class Listener:
    """A listener on the server's 127.0.0.1:1455 or 1457, by user."""

    port: int
    uid: int
    user: str


@dataclass(frozen=True)
class PendingLogin:
    """A `codex login` process running on the server, and whose it is."""

    uid: int
    command: str


@dataclass(frozen=True)
class ServerPreflight:
    """What PREFLIGHT_SCRIPT found; `checked` is False when the probe did not run it."""

    checked: bool = False
    codex_home: CodexHomeState = field(default_factory=CodexHomeState)
    login_status: CommandAnswer | None = None
    ca_file: CaFile | None = None  # None: neither CA variable is set
    via: str = ""
    reach: str = ""  # "ok", "fail <why>", "unknown <why>", "" when not tested
    uid: int | None = None
    listeners: tuple[Listener, ...] = ()
    listeners_seen: bool = True  # False: no /proc/net/tcp (a chroot): listeners, logins unknown
    pending_logins: tuple[PendingLogin, ...] = ()

    def other_users_login(self, port: int) -> Listener | None:
        """Another user's listener on `port` that is a `codex login` of theirs, else None."""
        for listener in self.listeners:
            theirs = any(login.uid == listener.uid for login in self.pending_logins)
            if listener.port == port and listener.uid != self.uid and theirs:
                return listener
        return None

    def other_user_on(self, port: int) -> Listener | None:
        """Another user's listener on `port`, whatever it is."""
        return next((x for x in self.listeners if x.port == port and x.uid != self.uid), None)


def _pairs(text: str) -> dict[str, str]:
    return dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)


def _flag(value: str | None) -> bool | None:
    return None if value is None else value == "yes"


def _home(text: str) -> CodexHomeState:
    values = _pairs(text)
    free = values.get("free_kb", "")
    return CodexHomeState(
        path=values.get("dir", ""),
        set_by_user=values.get("set") == "yes",
        exists=_flag(values.get("exists")),
        writable=_flag(values.get("writable")),
        free_kb=int(free) if free.isdigit() else None,
    )


def _answer(text: str | None) -> CommandAnswer | None:
    if text is None:
        return None
    first, _, rest = text.partition("\n")
    code = first.removeprefix("exit=")
    exit_code = int(code) if code.isdigit() and int(code) < 128 else None  # 137: killed
    return CommandAnswer(exit_code, rest.strip())


def _ints(text: str) -> list[list[str]]:
    """The lines of `text` that start with a number, split into words."""
    rows = (line.split() for line in text.splitlines())
    return [row for row in rows if row and row[0].isdigit()]


def parse_preflight(sections: dict[str, str]) -> ServerPreflight:
    """The pf.* sections of the probe's output (already printable) as a ServerPreflight."""
    if "pf.home" not in sections:
        return ServerPreflight()
    reach = _pairs(sections.get("pf.reach", ""))
    uid = sections.get("pf.uid", "").strip()
    ca = next(iter(sections.get("pf.ca", "").splitlines()), "").split(" ", 2)
    ca_file = CaFile(ca[0], ca[2], ca[1]) if len(ca) == 3 and ca[0] in CA_VARIABLES else None
    listeners = tuple(
        Listener(int(p[0]), int(p[1]), p[2] if len(p) > 2 else p[1])
        for p in _ints(sections.get("pf.listeners", ""))
        if len(p) >= 2 and p[1].isdigit()
    )
    logins = tuple(
        PendingLogin(int(p[0]), " ".join(p[1:])) for p in _ints(sections.get("pf.logins", ""))
    )
    return ServerPreflight(
        checked=True,
        codex_home=_home(sections["pf.home"]),
        login_status=_answer(sections.get("pf.status")),
        ca_file=ca_file,
        via=reach.get("via", ""),
        reach=reach.get("reach", f"unknown no answer within {REACH_LIMIT} s" if reach else ""),
        uid=int(uid) if uid.isdigit() else None,
        listeners=listeners,
        listeners_seen=not sections.get("pf.listeners", "").startswith("unseen"),
        pending_logins=logins,
    )
