"""The probe's script: one POSIX sh text that answers every install question in one exec.

What it prints, section by section (MARK + name on a line, then the answer), core/server/probe.py
parses; the shells' environment it finds with core/server/shellenv.py's functions, and the
login's preflight (core/server/preflight.py) runs in it before its end.
"""

from __future__ import annotations

from .preflight import preflight_script
from .shellenv import ENV_FUNCS, TAKEOVER_GUARD

__all__ = ["MARK", "PROBE_SCRIPT", "probe_script"]

MARK = "@@cw:"
"""What starts each section of the output: @@cw:NAME on a line of its own."""

PROBE_SCRIPT = r"""
cw_cleanup() { [ -z "${cw_tmp-}" ] || rm -rf "$cw_tmp"
  [ -z "${cw_o-}" ] || rm -f "$cw_o" "$cw_o.t"; }
trap cw_cleanup EXIT; trap 'exit 143' TERM HUP INT
mark() { printf '\n@@cw:%s\n' "$1"; }
versions() {
  cw_tmp=$(mktemp -d 2>/dev/null || echo /tmp/cw.$$); mkdir -p "$cw_tmp"
  for tool in node npm codex; do
    ( p=$(command -v "$tool" 2>/dev/null) || exit 0
      f=$cw_tmp/$tool; printf 'path=%s\n' "$p" > "$f"
      { "$tool" --version 2>&1 </dev/null; echo $? > "$f.rc"; } | head -c 1024 > "$f.out"
      printf 'exit=%s\n' "$(cat "$f.rc" 2>/dev/null)" >> "$f"; head -n 6 "$f.out" >> "$f" ) &
  done
  wait
  for tool in node npm codex; do mark "$1.$tool"; cat "$cw_tmp/$tool" 2>/dev/null; done
  rm -rf "$cw_tmp"
}
differs() { [ -n "$1" ] && [ "$1" != "$PATH" ] && [ "$1" != "$2" ]; }
mark os; uname -sm 2>/dev/null
mark taken_over; printf '%s\n' "${cw_taken-}"
mark home; printf '%s\n' "$HOME"
mark shell; printf '%s\n' "${SHELL:-}"
mark codex_home; printf '%s\n' "${CODEX_HOME:-}"
mark path; printf '%s\n' "$PATH"
versions plain
[ -n "${cw_known-}" ] || cw_env
mark login_status; printf '%s\n' "$cw_ls"
mark login_path; printf '%s\n' "$cw_lp"
mark login_codex_home; printf '%s\n' "$cw_lh"
mark interactive_status; printf '%s\n' "$cw_is"
mark interactive_path; printf '%s\n' "$cw_ip"
mark interactive_codex_home; printf '%s\n' "$cw_ih"
if ! cw_finds "$PATH" codex node; then
  if differs "$cw_lp" ""; then (PATH=$cw_lp; export PATH; versions login); fi
  if ! cw_finds "${cw_lp:-$PATH}" codex node && differs "$cw_ip" "$cw_lp"; then
    (PATH=$cw_ip; export PATH; versions interactive)
  fi
fi
if ! cw_finds "$PATH" codex && ! cw_finds "${cw_lp:-$PATH}" codex &&
   ! cw_finds "${cw_ip:-$PATH}" codex; then
  [ -n "${cw_known-}" ] || cw_handover
  mark handover_shell; printf '%s\n' "${cw_hsh-}"
  mark handover_status; printf '%s\n' "${cw_hs-}"
  mark handover_path; printf '%s\n' "${cw_hp-}"
  mark handover_codex_home; printf '%s\n' "${cw_hh-}"
  if [ -n "${cw_hp-}" ]; then (PATH=$cw_hp; export PATH; versions handover); fi
fi
mark tools; for t in curl wget python3; do command -v "$t" >/dev/null 2>&1 && echo "$t"; done
if command -v ss >/dev/null 2>&1; then mark ss; ss -Hltnp 2>/dev/null
elif command -v lsof >/dev/null 2>&1; then mark lsof; lsof -nP -iTCP -sTCP:LISTEN -Fpcn 2>/dev/null
else mark proc; [ -r /proc/net/tcp ] || echo unseen; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
fi
"""
_END = 'mark end\n[ -z "${cw_taken-}" ] || exit 0\n'  # a shell that took over: no lifeline
PROBE_SCRIPT = TAKEOVER_GUARD + ENV_FUNCS + "\n" + PROBE_SCRIPT + _END
"""Run by POSIX sh; finds the shells' environment itself unless `cw_known` says it is known."""


def probe_script(reach: tuple[str, int], codex_home: str | None = None) -> str:
    """PROBE_SCRIPT with the login's preflight (core/server/preflight.py) before its end."""
    return PROBE_SCRIPT.removesuffix(_END) + preflight_script(reach, codex_home) + _END
