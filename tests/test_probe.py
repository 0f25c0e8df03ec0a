"""The batched probe: its script runs under a plain POSIX sh, and its output parses loosely."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from codex_wizard.core.server.probe import (
    ServerEnv,
    parse_probe_output,
    parse_version,
)
from codex_wizard.core.server.probescript import PROBE_SCRIPT

SAMPLE = """
@@cw:os
Linux x86_64
@@cw:home
/home/ada
@@cw:shell
/bin/bash
@@cw:codex_home

@@cw:path
/usr/local/bin:/usr/bin:/bin
@@cw:plain.node
path=/usr/bin/node
exit=0
v22.11.0
@@cw:plain.npm
path=/usr/bin/npm
exit=0
10.9.0
@@cw:plain.codex
@@cw:login_path
/home/ada/.npm-global/bin:/usr/local/bin:/usr/bin:/bin
@@cw:login.node
path=/usr/bin/node
exit=0
v22.11.0
@@cw:login.npm
path=/usr/bin/npm
exit=0
10.9.0
@@cw:login.codex
path=/home/ada/.npm-global/bin/codex
exit=0
codex-cli 0.169.0
@@cw:tools
curl
python3
@@cw:ss
LISTEN 0 128 127.0.0.1:1455 0.0.0.0:* users:(("codex",pid=4242,fd=9))
LISTEN 0 128 0.0.0.0:22 0.0.0.0:*
@@cw:end
"""


def test_parse_login_shell_only_codex() -> None:
    probe = parse_probe_output(SAMPLE)
    assert (probe.os, probe.arch, probe.home) == ("Linux", "x86_64", "/home/ada")
    assert probe.node.version == "22.11.0" and not probe.node.via_login_shell
    assert probe.codex.version == "0.169.0" and probe.codex.via_login_shell
    assert probe.needs_login_path
    assert probe.tools == {"curl", "python3"}
    owner = probe.port_owners[1455]
    assert owner is not None and owner.pid == 4242 and owner.process == "codex"
    assert probe.port_owners[1457] is None
    env = ServerEnv.from_probe(probe)
    assert env.login_path == "/home/ada/.npm-global/bin:/usr/local/bin:/usr/bin:/bin"


def test_broken_codex_is_found_but_not_working() -> None:
    text = SAMPLE.replace(
        "path=/home/ada/.npm-global/bin/codex\nexit=0\ncodex-cli 0.169.0",
        "path=/home/ada/.npm-global/bin/codex\nexit=1\nMissing optional dependency "
        "@openai/codex-linux-x64. Reinstall Codex: npm install -g @openai/codex@latest",
    )
    codex = parse_probe_output(text).codex
    assert codex.found and not codex.works and codex.version is None
    assert "Missing optional dependency" in codex.output


def test_versions_are_parsed_loosely() -> None:
    assert parse_version("codex-cli 0.169.0") == "0.169.0"
    assert parse_version("@openai/codex v0.98.0") == "0.98.0"
    assert parse_version("v22.11.0\n") == "22.11.0"
    assert parse_version("bash: codex: command not found") is None


@given(st.text())
def test_parse_never_raises(text: str) -> None:
    parse_probe_output(text)


@given(st.lists(st.sampled_from(["@@cw:plain.codex", "path=", "exit=x", "@@cw:ss", "@@cw:os"])))
def test_parse_never_raises_on_section_soup(lines: list[str]) -> None:
    parse_probe_output("\n".join(lines))


def _fake_tool(bindir: Path, name: str, output: str) -> None:
    script = bindir / name
    script.write_text(f"#!/bin/sh\necho '{output}'\n")
    script.chmod(0o755)


def test_script_runs_under_posix_sh_and_finds_login_shell_codex(tmp_path: Path) -> None:
    """The real script, run by dash/sh, with codex only on the login shell's PATH."""
    plain, login = tmp_path / "plain", tmp_path / "login"
    plain.mkdir()
    login.mkdir()
    _fake_tool(plain, "node", "v14.21.3")
    _fake_tool(login, "codex", "codex-cli 0.169.0")
    profile = tmp_path / "profile.sh"
    profile.write_text(f'PATH="{login}:$PATH"; export PATH\n')
    env = {
        "HOME": str(tmp_path),
        "PATH": f"{plain}:/usr/bin:/bin",
        "SHELL": "/bin/sh",
        "ENV": str(profile),  # read by dash/sh for interactive shells only
    }
    (tmp_path / ".profile").write_text(profile.read_text())
    result = subprocess.run(
        ["sh", "-s"], input=PROBE_SCRIPT, capture_output=True, text=True, env=env, timeout=30
    )
    probe = parse_probe_output(result.stdout)
    assert probe.node.version == "14.21.3"
    assert probe.codex.version == "0.169.0" and probe.codex.via_login_shell
    assert probe.login_path and str(login) in probe.login_path


def test_server_env_command_quotes_and_finds_codex(tmp_path: Path) -> None:
    bindir = tmp_path / "odd dir's bin"
    bindir.mkdir()
    codex = bindir / "codex"
    codex.write_text('#!/bin/sh\necho "args=$* home=$CODEX_HOME"\n')
    codex.chmod(0o755)
    env = ServerEnv(login_path=f"{bindir}:/usr/bin:/bin", codex_home="/tmp/a b")
    out = subprocess.run(
        ["sh", "-c", env.command("codex login status")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=10,
    )
    assert out.stdout.strip() == "args=login status home=/tmp/a b"


def test_auto_path_uses_login_shell_when_plain_path_lacks_codex(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    _fake_tool(bindir, "codex", "found via login shell")
    (tmp_path / ".profile").write_text(f'PATH="{bindir}:$PATH"; export PATH\n')
    out = subprocess.run(
        ["sh", "-c", ServerEnv(auto_path=True).command("codex")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh"},
        timeout=10,
    )
    assert out.stdout.strip() == "found via login shell", out.stderr


def test_auth_path() -> None:
    assert ServerEnv().auth_path() == ".codex/auth.json"
    assert ServerEnv(codex_home="/srv/codex/").auth_path() == "/srv/codex/auth.json"
    assert ServerEnv(codex_home="~/alt").auth_path() == "alt/auth.json"
