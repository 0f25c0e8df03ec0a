"""Secrets and trust: no token (access, id, refresh) in any output, log, screen, snapshot or
screenshot; a changed host key is refused everywhere and never written; the files the wizard
writes are private and atomic, even when a write fails midway."""

from __future__ import annotations

import errno
import html
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import asyncssh
import pytest

from codex_wizard.core import files
from codex_wizard.core.logins.push import PushError, push_auth
from codex_wizard.core.server.probe import ServerEnv
from codex_wizard.core.ssh import knownhosts
from codex_wizard.core.ssh.connection import append_known_host
from codex_wizard.core.ssh.hosts import HostTarget
from codex_wizard.core.ssh.remembered import RememberedHosts
from codex_wizard.core.ssh.types import HostKeyInfo
from tests.lab.fake_tokens import make_auth_json, secrets_in
from tests.lab.sshlab import SshLab
from tests.test_e2e_cli import CLI, URL_LINE, cli, run_cli, state_of
from tests.test_e2e_core import LAB, browser_callback, no_codex_left, settings_for
from tests.test_faults_more import laptop_login_port_free  # noqa: F401  (autouse)

ROOT = Path(__file__).resolve().parent.parent
JWT_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.")
REFRESH_SHAPED = re.compile(r"\brt_[A-Za-z0-9_-]{8,}")


def leaks(text: str, secrets: Iterable[str] = ()) -> list[str]:
    """Every secret (or JWT- / refresh-token-shaped string) found in text."""
    found = [secret[:16] + "…" for secret in secrets if secret and secret in text]
    found += [match[:16] + "…" for match in JWT_SHAPED.findall(text)]
    found += [match[:16] + "…" for match in REFRESH_SHAPED.findall(text)]
    return found


def test_the_scan_would_see_the_fixture_tokens() -> None:
    doc = make_auth_json(tag="scan")
    secrets = secrets_in(doc)
    assert len(secrets) == 3
    for secret in secrets:
        assert leaks(f"xx {secret} yy"), secret
    assert not leaks("eyJhbG…x9Qk ad***@example.com rt_… present")


# ------------------------------------------------------------------------------ CLI output


def server_secrets(lab: SshLab) -> list[str]:
    return secrets_in(lab.read_server_file(".codex/auth.json"))


def cli_login(lab: SshLab, *extra: str) -> str:
    """A complete `login --no-tui` through the tunnel; returns everything it printed."""
    with cli(lab, "login", "lab", "--no-tui", "--timeout", "60", *extra) as run:
        url = run.wait_for(URL_LINE.pattern)
        run.wait_for("Waiting for the browser")
        assert browser_callback(1455, f"/auth/callback?code=c0de&state={state_of(url)}") == 302
        code, out = run.finish()
    assert code == 0, out
    return out


DEBUG_CLI = [
    sys.executable,
    "-c",
    "import logging, sys\n"
    "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)\n"
    "import asyncssh\n"
    "asyncssh.set_log_level(logging.DEBUG)\n"
    "asyncssh.set_debug_level(2)\n"
    "from codex_wizard.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n",
]


def test_no_token_in_the_output_of_any_command_after_a_login(lab: SshLab, tmp_path: Path) -> None:
    lab.install_codex("fake", "path")
    outputs = {"login --no-tui": cli_login(lab)}
    secrets = server_secrets(lab)
    for argv in (
        ["status"],
        ["status", "--json"],
        ["status", "lab", "--debug"],
        ["doctor", "lab"],
        ["doctor", "lab", "--json"],
        ["login", "lab", "--no-tui", "--timeout", "2"],
        ["login", "lab", "--relay", "--timeout", "2"],
    ):
        result = run_cli(lab, *argv)
        outputs[" ".join(argv)] = result.stdout + result.stderr
    source = tmp_path / "auth.json"
    source.write_text(make_auth_json(tag="pushed"))
    pushed = run_cli(lab, "push-auth", "lab", "--from", str(source))
    assert pushed.returncode == 0, pushed.stderr
    outputs["push-auth"] = pushed.stdout + pushed.stderr
    secrets += secrets_in(source.read_text())
    lab.set_fake_knobs(device="success", device_delay_s=0.5)
    device = run_cli(lab, "login", "lab", "--device-auth")
    assert device.returncode == 0, device.stderr
    outputs["login --device-auth"] = device.stdout + device.stderr
    secrets += server_secrets(lab)
    for name, text in outputs.items():
        assert not leaks(text, secrets), name
        assert "Traceback" not in text, name
    assert "Logged in on lab" in outputs["login --no-tui"]  # the scan saw real output


def test_no_token_in_debug_logs(lab: SshLab) -> None:
    """With Python logging at DEBUG and asyncssh's debug level 2 (everything short of raw
    packet dumps), a login, status, doctor and a refused login log no token."""
    lab.install_codex("fake", "path")
    argv = [*DEBUG_CLI, "login", "lab", "--no-tui", "--timeout", "60", "-F", str(lab.ssh_config)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    try:
        url = _wait_for_url(proc)
        assert browser_callback(1455, f"/auth/callback?code=c0de&state={state_of(url)}") == 302
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "asyncssh" in err and "DEBUG" in err  # the logs are really on
    logs = {"login": out + err}
    for command in (["status", "lab"], ["doctor", "lab", "--json"]):
        result = subprocess.run(
            [*DEBUG_CLI, *command, "-F", str(lab.ssh_config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        logs[command[0]] = result.stdout + result.stderr
    secrets = server_secrets(lab)
    for name, text in logs.items():
        assert not leaks(text, secrets), name
        assert "c0de" not in text, name  # nor the OAuth code of the callback


def _wait_for_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if URL_LINE.match(line.strip()):
            for more in proc.stdout:
                if "Waiting for the browser" in more:
                    return line.strip()
    raise AssertionError("no URL")


# ------------------------------------------------------------------------------ the TUI

demo_mod = pytest.importorskip("codex_wizard.demo")


async def test_no_token_on_any_wizard_screen() -> None:
    """The demo from the host list to the token screen: every screen exported and scanned for
    the demo server's real (made-up) tokens, before and after the new login."""
    from textual.widgets import Button

    from codex_wizard.core.progress import LoginPhase
    from codex_wizard.tui.app import WizardApp
    from tests.tui_fakes import SIZE, screen_name, text_of, wait_for

    async with demo_mod.DemoServer(scenario=demo_mod.DemoScenario(pace=0.02)) as demo:
        secrets = secrets_in(demo.machine.auth_file().read_text())  # the existing login
        app = WizardApp(
            settings=demo.settings,
            hosts=[demo.target],
            local_port_for=demo.local_port_for,
            demo=demo,
        )
        app.backend.open_browser = lambda url: False
        screens: dict[str, str] = {}

        async def shoot(name: str) -> None:
            await pilot.pause()
            screens[name] = app.export_screenshot()

        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: screen_name(app) == "HostScreen")
            await pilot.pause(0.5)
            await shoot("hosts")
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "InstallScreen" and app.state.probe)
            await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
            await shoot("install")
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "TunnelScreen")
            await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
            await shoot("tunnel")
            await pilot.press("n")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING, timeout=10)
            await shoot("login")
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.login.ended, timeout=10)
            await shoot("login done")
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "ExpiryScreen" and app.state.record)
            await pilot.pause(0.3)
            await shoot("token")
            await pilot.press("v")
            await wait_for(pilot, lambda: "Logged in" in text_of(app, "#expiry-note"))
            await shoot("token verified")
            new_secrets = secrets_in(demo.machine.auth_file().read_text())
            await pilot.press("ctrl+q")
    assert set(new_secrets) != set(secrets)  # the login really wrote new tokens
    assert "ad***@example.com" in _svg_text(screens["token"])  # the scan reads the screen
    for name, svg in screens.items():
        assert not leaks(_svg_text(svg), secrets + new_secrets), name
        assert not leaks(svg, secrets + new_secrets), name


# ------------------------------------------------------------------------------ SVG files


def _svg_text(svg: str) -> str:
    """The text of a Textual SVG export, one line per <text> row, plus the raw markup."""
    rows: dict[str, list[str]] = {}
    for y, body in re.findall(r'<text[^>]*\by="([^"]+)"[^>]*>(.*?)</text>', svg, re.S):
        rows.setdefault(y, []).append(html.unescape(re.sub(r"<[^>]+>", "", body)))
    return "\n".join("".join(parts) for parts in rows.values())


SVG_FILES = sorted(
    [*(ROOT / "tests" / "__snapshots__").rglob("*.svg"), *(ROOT / "screenshots").glob("*.svg")]
)


def test_there_are_svgs_to_scan() -> None:
    assert len(SVG_FILES) >= 10
    expiry = (ROOT / "screenshots" / "09-expiry.svg").read_text()
    assert "ad***@example.com" in _svg_text(expiry)


@pytest.mark.parametrize("path", SVG_FILES, ids=[path.name for path in SVG_FILES])
def test_no_token_in_snapshots_and_screenshots(path: Path) -> None:
    svg = path.read_text()
    text = _svg_text(svg)
    assert not leaks(text), path
    assert not leaks(svg), path
    # the whole screen as one string too: a token wrapped over two rows is still found
    assert not leaks(re.sub(r"\s+", "", text)), path


# ------------------------------------------------------------------------------ host keys


def changed_key_config(lab: SshLab, tmp_path: Path, *, hashed: bool) -> tuple[Path, Path]:
    """An ssh_config for the lab whose known_hosts holds another key for it."""
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kh_dir = tmp_path / "kh"
    kh_dir.mkdir(mode=0o700)
    known = kh_dir / "known_hosts"
    key_type, key = other.with_suffix(".pub").read_text().split()[:2]
    known.write_text(f"[127.0.0.1]:{lab.port} {key_type} {key}\n")
    known.chmod(0o600)
    if hashed:
        subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(known)], check=True)
        (kh_dir / "known_hosts.old").unlink()
        assert known.read_text().startswith("|1|")
    config = tmp_path / "ssh_config"
    config.write_text(lab.ssh_config.read_text().replace(str(lab.known_hosts), str(known)))
    return config, known


@pytest.mark.parametrize("hashed", [False, True], ids=["plain", "hashed"])
def test_changed_host_key_is_refused_by_every_command(
    lab: SshLab, tmp_path: Path, hashed: bool
) -> None:
    lab.install_codex("fake", "path")
    config, known = changed_key_config(lab, tmp_path, hashed=hashed)
    before = known.read_bytes()
    source = tmp_path / "auth.json"
    source.write_text(make_auth_json(tag="pushed"))
    commands = {
        "login": (["login", "lab", "--no-tui"], 1),
        "login --relay": (["login", "lab", "--relay"], 1),
        "status": (["status", "lab", "--json"], 2),
        "doctor": (["doctor", "lab"], 1),
        "push-auth": (["push-auth", "lab", "--from", str(source)], 1),
    }
    for name, (argv, code) in commands.items():
        for accept in ([], ["--accept-new-host-key"]):
            result = subprocess.run(
                [*CLI, *argv, *accept, "-F", str(config)],
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )
            out = result.stdout + result.stderr
            assert result.returncode == code, (name, out)
            assert "has CHANGED" in out and "refuses to connect" in out, (name, out)
            assert "ssh-keygen -R" in out, name
            assert "Traceback" not in out
            assert known.read_bytes() == before, name  # never written
    assert sorted(p.name for p in known.parent.iterdir()) == ["known_hosts"]  # no temp files
    assert not lab.server_processes("codex")
    assert not lab.server_path(".codex/auth.json").exists()  # push-auth never got there


def test_accepted_new_host_key_is_written_privately(lab: SshLab, tmp_path: Path) -> None:
    known = tmp_path / "new-dir" / "known_hosts"
    config = tmp_path / "ssh_config"
    config.write_text(lab.ssh_config.read_text().replace(str(lab.known_hosts), str(known)))
    result = subprocess.run(
        [*CLI, "status", "lab", "--accept-new-host-key", "-F", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr  # reachable, logged out
    assert known.stat().st_mode & 0o777 == 0o600
    assert known.parent.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in known.parent.iterdir()) == ["known_hosts"]
    host_key = (lab.dir / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    assert known.read_text() == f"[127.0.0.1]:{lab.port} {' '.join(host_key)}\n"


# ------------------------------------------------------------------------------ local files


def _temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("fail_at", ["write", "fsync", "chmod", "replace", "interrupt"])
def test_atomic_write_failing_midway_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    target = tmp_path / "state.json"
    target.write_text("old contents\n")
    target.chmod(0o600)
    error: BaseException = (
        KeyboardInterrupt() if fail_at == "interrupt" else OSError(errno.ENOSPC, "No space")
    )

    def boom(*args: object, **kwargs: object) -> None:
        raise error

    if fail_at in ("write", "interrupt"):
        real_fdopen = os.fdopen

        def half_writing_fdopen(fd: int, *args: object, **kwargs: object):
            handle = real_fdopen(fd, *args, **kwargs)

            class Half:
                def __enter__(self):
                    return self

                def __exit__(self, *exc: object) -> None:
                    handle.close()

                def write(self, data: bytes) -> int:
                    handle.write(data[: len(data) // 2])
                    handle.flush()
                    raise error

            return Half()

        monkeypatch.setattr(files.os, "fdopen", half_writing_fdopen)
    else:
        monkeypatch.setattr(files.os, fail_at, boom)
    with pytest.raises(type(error)):
        files.atomic_write(target, b"new contents that will not all make it\n")
    monkeypatch.undo()
    assert target.read_text() == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_atomic_write_is_private_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("x")
    target.chmod(0o644)
    old = os.umask(0)
    try:
        files.atomic_write(target, b"secret")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o600 and target.read_bytes() == b"secret"


def _key_info(known: Path) -> HostKeyInfo:
    return HostKeyInfo(
        host_label="web",
        known_hosts_pattern="web",
        key_type="ssh-ed25519",
        fingerprint="SHA256:x",
        openssh_line="web ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFake",
        known_hosts=known,
    )


def test_known_hosts_append_failing_midway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key that can't be recorded (disk full) leaves the file as it was and no temp files,
    and the connection stands with ssh's words for it, as ssh goes on after such a failure."""
    known = tmp_path / ".ssh" / "known_hosts"
    known.parent.mkdir(mode=0o700)
    known.write_text("old.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOld\n")
    known.chmod(0o600)

    def no_space(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(knownhosts.os, "write", no_space)
    assert "Failed to add the host" in append_known_host(_key_info(known))
    monkeypatch.undo()
    assert known.read_text() == "old.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOld\n"
    assert sorted(p.name for p in known.parent.iterdir()) == ["known_hosts"]
    assert "Permanently added" in append_known_host(_key_info(known))
    assert known.read_text().splitlines()[1].startswith("web ssh-ed25519 ")
    assert known.stat().st_mode & 0o777 == 0o600


def test_remembered_hosts_save_failing_midway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "config" / "state.json"
    hosts = RememberedHosts(state)
    hosts.remember(HostTarget("web1", user="ada"))
    before = state.read_bytes()
    monkeypatch.setattr(files.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("EIO")))
    with pytest.raises(OSError):
        hosts.remember(HostTarget("web2"))
    monkeypatch.undo()
    assert state.read_bytes() == before
    assert sorted(p.name for p in state.parent.iterdir()) == ["state.json"]
    assert state.stat().st_mode & 0o777 == 0o600
    assert state.parent.stat().st_mode & 0o777 == 0o700


# ------------------------------------------------------------------------------ push-auth


def cut_push_input(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The push's bytes arrive cut in half (a connection dropping mid-copy, a full disk)."""
    real_create = asyncssh.SSHClientConnection.create_process
    cut: list[str] = []

    async def create_process(self, command=None, *args, input=None, **kwargs):
        if command and "@@cwpush:" in command and isinstance(input, bytes):
            cut.append(command)
            input = input[: len(input) // 2]
        return await real_create(self, command, *args, input=input, **kwargs)

    monkeypatch.setattr(asyncssh.SSHClientConnection, "create_process", create_process)
    return cut


def codex_dir_listing(lab: SshLab) -> list[str]:
    return sorted(p.name for p in lab.server_path(".codex").iterdir())


async def test_push_failing_midway_leaves_nothing_half_written(
    lab: SshLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = make_auth_json(tag="original")
    lab.write_server_file(".codex/auth.json", original, mode=0o600)
    cut = cut_push_input(monkeypatch)
    data = make_auth_json(tag="new").encode()
    async with await connect_lab(lab) as conn:
        with pytest.raises(PushError, match="could not write"):
            await push_auth(conn, ServerEnv(), data)
    assert cut
    assert lab.read_server_file(".codex/auth.json") == original
    assert codex_dir_listing(lab) == ["auth.json"]  # no temp file, no half backup


async def connect_lab(lab: SshLab):
    from codex_wizard.core.ssh.connection import connect

    return await connect(LAB, settings_for(lab))


async def test_two_pushes_in_one_second_keep_both_backups(lab: SshLab) -> None:
    """The backup's name has a one-second stamp: a second push (in the same second, as two
    quick pushes mostly are) must not overwrite the first backup (the user's original file)."""
    lab.install_codex("fake", "path")
    original = make_auth_json(tag="original")
    lab.write_server_file(".codex/auth.json", original, mode=0o644)
    first, second = make_auth_json(tag="first"), make_auth_json(tag="second")
    async with await connect_lab(lab) as conn:
        one = await push_auth(conn, ServerEnv(), first.encode())
        two = await push_auth(conn, ServerEnv(), second.encode())
    assert one.backup_path != two.backup_path
    home = lab.server_path("")
    assert (home / one.backup_path).read_text() == original
    assert (home / two.backup_path).read_text() == first
    assert lab.read_server_file(".codex/auth.json") == second
    for name in codex_dir_listing(lab):
        assert (lab.server_path(".codex") / name).stat().st_mode & 0o777 == 0o600, name
    assert lab.server_path(".codex").stat().st_mode & 0o777 == 0o700
    no_codex_left(lab)
