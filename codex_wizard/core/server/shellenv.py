"""PATH and CODEX_HOME as the user's own shells set them, found the way the user finds them.

`ssh host` then `codex` runs in an interactive login shell of the user's `$SHELL`; nvm's lines sit
in ~/.bashrc below Debian's `case $-` guard, zsh reads ~/.zshrc only when interactive. So the
search goes: the plain PATH of an exec channel, then a login shell, then an interactive login shell
of `$SHELL` (each with stdin from /dev/null, killed after SHELL_TIMEOUT seconds, its values read
between markers so rc files that print cannot corrupt them).

ENV_FUNCS is POSIX sh on one line (it also goes inside `sh -c '...'`, which csh cannot split
over lines, and it has no `\\\\` or `!`, which fish and csh would rewrite).
"""

from __future__ import annotations

from enum import StrEnum

SHELL_TIMEOUT = 8
"""Seconds a login or interactive shell may take to start (nvm, oh-my-zsh) before it is killed."""

_SH_FAMILY = "bash|zsh|ksh|ksh93|mksh|pdksh|dash|sh|ash|yash|busybox"

_HANDOVER_SHELLS = "zsh|bash|fish|ksh|mksh|yash|tcsh|csh"

_FUNCS = (
    # cw_flags l|i: the flags making $SHELL a login (l) / interactive login (i) shell running -c
    # (csh cannot be a login shell with -c: it reads ~/.cshrc, ~/.tcshrc anyway).
    f"cw_flags() {{ case ${{SHELL##*/}} in fish|{_SH_FAMILY}) cw_l=-l;; tcsh|csh) cw_l=;; "
    "*) return 1;; esac; if [ $1 = l ]; then echo $cw_l -c; else echo $cw_l -i -c; fi; }",
    # cw_shell l|i: run that shell once; sets cw_rp (PATH), cw_rh (CODEX_HOME), cw_rs (how it went).
    "cw_shell() { cw_rp=; cw_rh=; cw_f=$(cw_flags $1) || { cw_rs=none; return 1; }; "
    "cw_o=$(mktemp 2>/dev/null || echo /tmp/cw-env.$$.$1); "
    'CW_PRINT=\'printf "\\n@@cwenv:p=%s\\n@@cwenv:h=%s\\n" "$PATH" "${CODEX_HOME-}"\'; '
    "export CW_PRINT; "
    '"$SHELL" $cw_f \'/bin/sh -c "$CW_PRINT"\' </dev/null >"$cw_o" 2>/dev/null & cw_pid=$!; '
    "( trap 'kill $cw_s 2>/dev/null; exit 0' TERM; "
    f"sleep {SHELL_TIMEOUT} & cw_s=$!; wait $cw_s; "
    # frozen and marked before any kill: it cannot start its next command once its children
    # die, and the mark is written before the `wait` below can return
    'kill -STOP $cw_pid && echo x >"$cw_o.t"; pkill -9 -P $cw_pid; kill -9 $cw_pid '
    ") >/dev/null 2>&1 & cw_w=$!; "
    "wait $cw_pid 2>/dev/null; kill $cw_w 2>/dev/null; wait $cw_w 2>/dev/null; "
    # a shell killed mid-rc has no answer, whatever it printed before (its rc never finished)
    'if [ -f "$cw_o.t" ]; then cw_rs=timeout; '
    "elif grep -q '^@@cwenv:p=' \"$cw_o\"; then cw_rs=ok; "
    "cw_rp=$(sed -n 's/^@@cwenv:p=//p' \"$cw_o\" | tail -n 1); "
    "cw_rh=$(sed -n 's/^@@cwenv:h=//p' \"$cw_o\" | tail -n 1); "
    "else cw_rs=noanswer; fi; "
    'rm -f "$cw_o" "$cw_o.t"; [ "$cw_rs" = ok ]; }',
    # cw_finds PATH TOOL...: every TOOL is on that PATH.
    'cw_finds() { ( PATH=$1; shift; for t in "$@"; do command -v "$t" || exit 1; done ) '
    ">/dev/null 2>&1; }",
    # cw_rc_home: an interactive-only rc file mentions CODEX_HOME (so ask an interactive shell).
    'cw_rc_home() { grep -qs CODEX_HOME "$HOME/.bashrc" "${ZDOTDIR:-$HOME}/.zshrc" '
    '"$HOME/.config/fish/config.fish" "$HOME/.kshrc" "$HOME/.mkshrc" "$HOME/.tcshrc" '
    '"$HOME/.cshrc"; }',
    # cw_env: the login shell always (CODEX_HOME in ~/.profile); the interactive one when needed
    # (not after the login shell hung: it reads the same profile).
    "cw_env() { cw_ip=; cw_ih=; cw_is=; cw_shell l; cw_ls=$cw_rs; cw_lp=$cw_rp; cw_lh=$cw_rh; "
    'if cw_finds "$PATH" codex node || cw_finds "${cw_lp:-$PATH}" codex node; '
    'then cw_rc_home || return 0; fi; [ "$cw_ls" = timeout ] && cw_is=skipped && return 0; '
    "cw_shell i; cw_is=$cw_rs; cw_ip=$cw_rp; cw_ih=$cw_rh; }",
    # cw_handover: a bash rc file that hands over to another shell (`exec zsh -l`): that shell,
    # run as an interactive login shell, sets cw_hp/cw_hh/cw_hs like cw_env (cw_hsh: its path).
    "cw_handover() { cw_hp=; cw_hh=; cw_hs=; cw_hsh=$(sed -n -E "
    "'s/^[^#]*(^|[;&|[:space:]])exec[[:space:]]+(-[^[:space:]]+[[:space:]]+)*"
    "([^-][^[:space:]]*).*/\\3/p' "
    '"$HOME/.bashrc" "$HOME/.bash_profile" "$HOME/.bash_login" "$HOME/.profile" 2>/dev/null '
    f"| grep -E '(^|/)({_HANDOVER_SHELLS})$' | head -n 1); "
    '[ -n "$cw_hsh" ] && cw_hsh=$(command -v "$cw_hsh") || { cw_hsh=; return 0; }; '
    "cw_save=$SHELL; SHELL=$cw_hsh; cw_shell i; cw_hs=$cw_rs; cw_hp=$cw_rp; cw_hh=$cw_rh; "
    "SHELL=$cw_save; }",
)
ENV_FUNCS = "; ".join(_FUNCS) + "; "
"""Defines cw_env, which sets cw_lp/cw_lh/cw_ls (login shell PATH, CODEX_HOME, how it went) and
cw_ip/cw_ih/cw_is (the same for the interactive login shell, when it had to run)."""

TAKEOVER_GUARD = 'if [ -n "${ZSH_VERSION-}" ]; then emulate sh; cw_taken=zsh; fi\n'
"""The probe's first line. With `exec zsh -l` unguarded in ~/.bashrc, the bash sshd starts for
`sh -s` reads ~/.bashrc and hands over to a zsh that reads the probe from stdin: it then runs in
sh emulation and says so (cw_taken), since such a server runs no command given to ssh."""

AUTO_ENV = (
    ENV_FUNCS + "cw_env; "
    'for cw_p in "$PATH" "$cw_lp" "$cw_ip"; do '
    '[ -n "$cw_p" ] && cw_finds "$cw_p" codex && { PATH=$cw_p; export PATH; break; }; done; '
    'cw_h=${cw_ih:-$cw_lh}; [ -n "$cw_h" ] && { CODEX_HOME=$cw_h; export CODEX_HOME; }; '
)
"""A command prefix: PATH where a shell of the user's finds codex, CODEX_HOME as they set it."""


class Where(StrEnum):
    """Which of the user's environments found a tool."""

    PATH = "plain PATH"
    LOGIN = "login shell"
    INTERACTIVE = "interactive shell"
    HANDOVER = "shell an rc file starts"


def shell_name(shell: str) -> str:
    """'zsh' for '/usr/bin/zsh' ('sh' when unknown)."""
    return shell.rstrip("/").rsplit("/", 1)[-1] or "sh"


def describe(where: Where, shell: str) -> str:
    """'plain PATH', 'login shell (bash)', 'interactive shell zsh'."""
    if where is Where.PATH:
        return where.value
    name = shell_name(shell)
    return f"{where.value} {name}" if where is Where.INTERACTIVE else f"{where.value} ({name})"


_INTERACTIVE_RC = {
    "bash": "~/.bashrc",
    "zsh": "~/.zshrc",
    "fish": "~/.config/fish/config.fish",
    "ksh": "~/.kshrc",
    "mksh": "~/.mkshrc",
    "tcsh": "~/.tcshrc",
    "csh": "~/.cshrc",
}
_PLAIN_RC = {
    "bash": "~/.bashrc above its `case $- in *i*` guard (sshd's bash reads it)",
    "zsh": "~/.zshenv (zsh reads ~/.zshrc only when interactive)",
    "fish": "~/.config/fish/config.fish outside `if status is-interactive`",
    "tcsh": "~/.tcshrc outside `if ($?prompt)`",
    "csh": "~/.cshrc outside `if ($?prompt)`",
}
_NO_RC = (
    "~/.ssh/environment (if sshd has PermitUserEnvironment yes), or link codex and node into "
    "/usr/local/bin: `{name} -c` reads no rc file"
)


def interactive_rc(shell: str) -> str:
    """The file an interactive shell of this kind reads (~/.profile for sh, dash)."""
    return _INTERACTIVE_RC.get(shell_name(shell), "~/.profile")


def plain_rc(shell: str) -> str:
    """Where to set PATH so that `ssh host codex` (no terminal, not a login shell) finds it."""
    name = shell_name(shell)
    return _PLAIN_RC.get(name) or _NO_RC.format(name=name)
