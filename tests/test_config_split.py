"""ssh_config lines are split once for every host (core/ssh/config.py split_each_line_once): what
asyncssh then reads for each host is still what OpenSSH's `ssh -G` reads, and a line with bad
quotes is refused every time, not remembered as fine."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from codex_wizard.core.ssh.config import resolve_options
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.types import ConnectSettings

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs OpenSSH's ssh")


def ssh_g(config: Path, host: str) -> dict[str, str]:
    argv = ["ssh", "-G", "-F", str(config), host]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return dict(line.partition(" ")[::2] for line in out.splitlines())


def test_each_host_reads_its_own_values_as_ssh_does(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    blocks = [
        f'Host web{n}\n  HostName "10.0.0.{n}"\n  User "ops {n}"\n  Port {2200 + n}\n'
        for n in range(1, 6)
    ]
    config.write_text("".join(blocks) + "Host *\n  ProxyJump bastion.example\n")
    settings = ConnectSettings(ssh_config=config)
    for n in (1, 2, 5, 2):
        ours = resolve_options(HostTarget(f"web{n}"), settings).options
        ssh = ssh_g(config, f"web{n}")
        assert (ours.host, ours.username, str(ours.port), ours.tunnel) == (
            ssh["hostname"],
            ssh["user"],
            ssh["port"],
            ssh["proxyjump"],
        )
        assert ours.username == f"ops {n}"


def test_a_line_with_bad_quotes_is_refused_each_time(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text('Host web\n  User "unclosed\n')
    refused = subprocess.run(["ssh", "-G", "-F", str(config), "web"], capture_output=True)
    assert refused.returncode != 0  # OpenSSH refuses the file too
    for _ in range(2):
        with pytest.raises(ValueError):
            resolve_options(HostTarget("web"), ConnectSettings(ssh_config=config))


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    settings = ConnectSettings(ssh_config=config)
    for user in ("first", "second-user"):
        config.write_text(f"Host web\n  User {user}\n")
        assert resolve_options(HostTarget("web"), settings).options.username == user


TRICKY = """\
# a comment, then a blank line

Host=web* !web9
  User=ops
  Port = 2201
  ProxyCommand ssh -W %h:%p  "jump host"
  IdentityFile ~/.ssh/id_%r
  SendEnv LANG LC_*
Match host web2 user ops
  HostName 10.0.0.2
Host db
  Hostname db.example
Include {include}
Host *
  Compression yes
  SendEnv TZ
"""


def asyncssh_reads(config: Path, host: str, *, original: bool) -> dict[str, object]:
    """The options asyncssh's config reader gives host: ours, or asyncssh's own parse."""
    import asyncssh.config

    from codex_wizard.core.ssh.configparse import parse_each_file_once

    parse_each_file_once()
    ours = asyncssh.config.SSHConfig.parse
    if original:
        asyncssh.config.SSHConfig.parse = ours.asyncssh_parse
    try:
        found = asyncssh.config.SSHClientConfig.load(
            None, [config], False, False, False, "local", (), host, ()
        )
    except asyncssh.config.ConfigParseError as exc:
        return {"error": str(exc)}
    finally:
        asyncssh.config.SSHConfig.parse = ours
    return dict(found._options)


@pytest.mark.parametrize("host", ["web1", "web2", "web9", "db", "inc", "other"])
def test_lines_split_once_read_as_asyncssh_reads_them(tmp_path: Path, host: str) -> None:
    include = tmp_path / "included"
    include.write_text("Host inc\n  User included\n  Port 2299\n")
    config = tmp_path / "ssh_config"
    config.write_text(TRICKY.format(include=include))
    assert asyncssh_reads(config, host, original=False) == asyncssh_reads(
        config, host, original=True
    )
    bad = tmp_path / "bad_config"
    bad.write_text(TRICKY.format(include=include) + "Host late\n  User 'open\n  Port x y\n")
    error = asyncssh_reads(bad, host, original=False)
    assert error == asyncssh_reads(bad, host, original=True)
    assert error["error"].endswith("line 18: No closing quotation")
