"""The user's shells, run for real on this machine: where node/codex are found, CODEX_HOME, noise.

Each case writes the rc files a user of that shell has, then runs the probe script (`sh -s`)
and ServerEnv(auto_path=True)'s command with that `$SHELL`. Shells not installed here skip
(scripts/lab-deps.sh installs zsh, fish, dash and ksh).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from codex_wizard.core.doctor import check_codex, check_path
from codex_wizard.core.server.probe import ProbeResult, ServerEnv, parse_probe_output
from codex_wizard.core.server.probescript import PROBE_SCRIPT
from codex_wizard.core.server.shellenv import (
    SHELL_TIMEOUT,
    Where,
    describe,
    interactive_rc,
    plain_rc,
)

DEBIAN_GUARD = "case $- in\n    *i*) ;;\n      *) return;;\nesac\n"
PLAIN_PATH = "/usr/bin:/bin"


def _shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (scripts/lab-deps.sh)")
    return found


def _tools(bindir: Path) -> Path:
    bindir.mkdir(parents=True)
    for name, out in (("node", "v22.11.0"), ("npm", "10.9.0"), ("codex", "codex-cli 0.171.0")):
        tool = bindir / name
        tool.write_text(f'#!/bin/sh\necho "{out}"\necho "home=${{CODEX_HOME-}}" >&2\n')
        tool.chmod(0o755)
    return bindir


def _probe(home: Path, shell: str) -> ProbeResult:
    env = {"HOME": str(home), "SHELL": shell, "PATH": PLAIN_PATH}
    out = subprocess.run(
        ["sh", "-s"], input=PROBE_SCRIPT, capture_output=True, text=True, env=env, timeout=60
    )
    return parse_probe_output(out.stdout)


def _auto(home: Path, shell: str, args: str = "codex --version 2>&1") -> str:
    env = {"HOME": str(home), "SHELL": shell, "PATH": PLAIN_PATH}
    command = ServerEnv(auto_path=True).command(args)
    return subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, env=env, timeout=60
    ).stdout


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_nvm_below_debians_bashrc_guard(tmp_path: Path) -> None:
    bindir = _tools(tmp_path / ".nvm/versions/node/v22.11.0/bin")
    _write(tmp_path / ".profile", '[ -n "$BASH_VERSION" ] && . "$HOME/.bashrc"\n')
    _write(tmp_path / ".bashrc", DEBIAN_GUARD + f'echo "Welcome!"\nexport PATH="{bindir}:$PATH"\n')
    probe = _probe(tmp_path, _shell("bash"))
    assert probe.codex.where is Where.INTERACTIVE and probe.codex.version == "0.171.0"
    assert probe.found_in(probe.codex) == "interactive shell bash"
    assert ServerEnv.from_probe(probe).login_path == probe.interactive_path
    assert str(bindir) in (probe.interactive_path or "")
    assert _auto(tmp_path, _shell("bash")).splitlines()[0] == "codex-cli 0.171.0"


def test_zsh_with_path_in_zshrc(tmp_path: Path) -> None:
    bindir = _tools(tmp_path / "zbin")
    _write(tmp_path / ".zshrc", f'print -- "zsh says hi"\nexport PATH="{bindir}:$PATH"\n')
    probe = _probe(tmp_path, _shell("zsh"))
    assert probe.codex.where is Where.INTERACTIVE and probe.codex.works
    fix = check_path(probe).fix
    assert "~/.zshenv" in fix and "~/.bashrc" not in fix
    assert _auto(tmp_path, _shell("zsh")).splitlines()[0] == "codex-cli 0.171.0"


def test_fish_with_path_in_config_fish(tmp_path: Path) -> None:
    bindir = _tools(tmp_path / "fbin")
    config = f"echo fish noise\nif status is-interactive\n  set -gx PATH {bindir} $PATH\nend\n"
    _write(tmp_path / ".config/fish/config.fish", config)
    probe = _probe(tmp_path, _shell("fish"))
    assert probe.codex.where is Where.INTERACTIVE and probe.codex.works
    assert "config.fish" in check_path(probe).fix
    assert _auto(tmp_path, _shell("fish")).splitlines()[0] == "codex-cli 0.171.0"


def test_dash_login_shell_reads_profile(tmp_path: Path) -> None:
    bindir = _tools(tmp_path / "dbin")
    _write(tmp_path / ".profile", f'echo "profile noise"\nPATH="{bindir}:$PATH"; export PATH\n')
    probe = _probe(tmp_path, _shell("dash"))
    assert probe.codex.where is Where.LOGIN and probe.found_in(probe.codex) == "login shell (dash)"
    assert "reads no rc file" in check_path(probe).fix
    assert probe.interactive_status == ""  # the login shell sufficed: no interactive shell


def test_codex_home_exported_in_profile(tmp_path: Path) -> None:
    bindir = _tools(tmp_path / "bin")
    _write(tmp_path / ".profile", f'export PATH="{bindir}:$PATH"\nexport CODEX_HOME="$HOME/ch"\n')
    probe = _probe(tmp_path, _shell("bash"))
    assert probe.codex_home == f"{tmp_path}/ch"
    assert ServerEnv.from_probe(probe).auth_path() == f"{tmp_path}/ch/auth.json"
    assert ServerEnv.from_probe(probe, "/override").codex_home == "/override"
    assert f"home={tmp_path}/ch" in _auto(tmp_path, _shell("bash"))


def test_codex_home_in_zshrc_asks_the_interactive_shell(tmp_path: Path) -> None:
    _tools(tmp_path / "bin")
    _write(tmp_path / ".zshenv", f'export PATH="{tmp_path}/bin:$PATH"\n')
    _write(tmp_path / ".zshrc", 'export CODEX_HOME="$HOME/zc"\n')
    probe = _probe(tmp_path, _shell("zsh"))
    assert probe.codex.where is Where.LOGIN
    assert probe.codex_home == f"{tmp_path}/zc"


def test_nothing_anywhere_is_not_found_on_any_path(tmp_path: Path) -> None:
    probe = _probe(tmp_path, _shell("bash"))
    assert not probe.codex.found
    assert probe.searched() == "plain PATH, login shell (bash), interactive shell bash"
    found = check_codex(probe.codex, probe).found
    assert "not found on any PATH" in found and "not installed" not in found


def _processes_with_home(home: Path) -> list[str]:
    """Live processes whose environment has HOME=home (the shells the probe started there)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"HOME={home}".encode() in environ.read_bytes().split(b"\0"):
                found.append(environ.parent.name)
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def test_a_hanging_rc_file_is_killed(tmp_path: Path) -> None:
    """A shell killed mid-rc gives no answer, even one it printed before it hung (or that the
    command after the hang printed: killing the hang first let bash run on and print the
    PATH of a half-read profile, "ok" on an idle machine), and runs nothing after the hang."""
    cut_short = 'printf "\\n@@cwenv:p=/half/read\\n"; sleep 300; touch "$HOME/ran-on"\n'
    _write(tmp_path / ".profile", cut_short)
    started = time.monotonic()
    probe = _probe(tmp_path, _shell("bash"))
    assert time.monotonic() - started < SHELL_TIMEOUT + 10
    assert probe.login_status == "timeout" and probe.interactive_status == "skipped"
    assert probe.login_path is None and "did not start in time" in probe.searched()
    assert not (tmp_path / "ran-on").exists() and _processes_with_home(tmp_path) == []


def test_an_rc_file_reading_stdin_gets_eof(tmp_path: Path) -> None:
    bindir = _tools(tmp_path / "bin")
    _write(tmp_path / ".profile", f'read answer\nexport PATH="{bindir}:$PATH"\n')
    assert _probe(tmp_path, _shell("bash")).codex.where is Where.LOGIN


def test_no_login_shell_account(tmp_path: Path) -> None:
    probe = _probe(tmp_path, "/usr/sbin/nologin")
    assert probe.login_status == "none" and probe.searched() == "plain PATH"


def test_a_later_probe_reuses_what_the_shells_said(tmp_path: Path) -> None:
    bindir = _tools(tmp_path / "bin")
    _write(tmp_path / ".profile", f'export PATH="{bindir}:$PATH"\n')
    first = _probe(tmp_path, _shell("bash"))
    (tmp_path / ".profile").write_text("sleep 300\n")  # would hang if the shell ran again
    env = {"HOME": str(tmp_path), "SHELL": _shell("bash"), "PATH": PLAIN_PATH}
    script = first.known_env() + PROBE_SCRIPT
    out = subprocess.run(["sh", "-s"], input=script, capture_output=True, text=True, env=env)
    again = parse_probe_output(out.stdout)
    assert again.codex.where is Where.LOGIN and again.login_path == first.login_path


@pytest.mark.parametrize(
    ("shell", "interactive", "plain"),
    [
        ("/bin/bash", "~/.bashrc", "above its `case $- in *i*` guard"),
        ("/usr/bin/zsh", "~/.zshrc", "~/.zshenv"),
        ("/usr/bin/fish", "~/.config/fish/config.fish", "is-interactive"),
        ("/bin/dash", "~/.profile", "reads no rc file"),
        ("/bin/tcsh", "~/.tcshrc", "~/.tcshrc"),
    ],
)
def test_rc_files_per_shell(shell: str, interactive: str, plain: str) -> None:
    assert interactive_rc(shell) == interactive
    assert plain in plain_rc(shell)


def test_describe() -> None:
    assert describe(Where.PATH, "/bin/zsh") == "plain PATH"
    assert describe(Where.LOGIN, "/bin/zsh") == "login shell (zsh)"
    assert describe(Where.INTERACTIVE, "/usr/bin/fish") == "interactive shell fish"
