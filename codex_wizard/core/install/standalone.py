"""Install the standalone Codex over the one SSH connection: fetched on the server, or uploaded.

    result = await install_standalone(conn, probe, version=None, on_progress=show)

First the server fetches the package documents from its own registry (`~/.npmrc`). When it can't
reach that registry (or `upload="always"`), this computer fetches and verifies the tarball from
its registry (`npm_config_registry`, `~/.npmrc`, else npmjs) and streams it over an exec channel's
stdin (no SFTP needed). Either way the server verifies the sha512 again, unpacks and switches
stdin (no SFTP needed). Either way the server verifies the sha512 again, unpacks and switches
(core/install/scripts.py). Progress reports bytes, total and rate; cancelling the awaiting
task stops the download, the upload or the script on the server (its process group is killed)
and removes the temp dir: nothing half-installed is left, the previous codex stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Literal

import asyncssh

from ..server.actions import run_streaming
from ..server.probe import ProbeResult, ServerEnv
from ..server.remote import group_command
from .download import (
    HTTP_TIMEOUT,
    METADATA_TIMEOUT,
    FetchFailed,
    fetch_error,
    local_registry_url,
    local_tarball,
    server_registry_url,
    server_tarball,
)
from .plan import BIN_LINK, StandaloneError, path_advice, platform_for
from .registry import Tarball, integrity_matches
from .scripts import MARK, cleanup_script, install_script, upload_script

INSTALL_TIMEOUT = 3600.0  # a 150 MB download on a slow link, then unpacking
UPLOAD_CHUNK = 256 * 1024
Upload = Literal["auto", "never", "always"]


class Phase(StrEnum):
    METADATA = "asking the registry"
    DOWNLOAD = "downloading on the server"
    DOWNLOAD_HERE = "downloading on this computer"
    UPLOAD = "uploading to the server"
    VERIFY = "checking the sha512"
    UNPACK = "unpacking"
    CHECK = "running codex --version"
    SWITCH = "switching ~/.local/bin/codex"


@dataclass(frozen=True)
class InstallProgress:
    phase: Phase
    done: int = 0
    total: int | None = None
    rate: float | None = None  # bytes per second

    def describe(self) -> str:
        """'downloading on the server: 12.0 of 150.3 MB, 8.1 MB/s'."""
        if not self.done and not self.total:
            return f"{self.phase}…"
        amount = f"{_mb(self.done)} of {_mb(self.total)}" if self.total else _mb(self.done)

        rate = f", {_mb(self.rate)} MB/s" if self.rate else ""
        return f"{self.phase}: {amount} MB{rate}"


def _mb(count: float | None) -> str:
    return f"{(count or 0) / 1e6:.1f}"


ProgressCallback = Callable[[InstallProgress], None]


class _Meter:
    """Turns byte counts into InstallProgress with a rate, at most ~5 reports a second."""

    def __init__(self, phase: Phase, report: ProgressCallback | None) -> None:
        self.phase, self.report = phase, report
        self.start = self.last = time.monotonic()

    def announce(self) -> None:
        if self.report is not None:
            self.report(InstallProgress(self.phase))

    def update(self, done: int, total: int | None, *, final: bool = False) -> None:
        now = time.monotonic()
        if self.report is None or (now - self.last < 0.2 and not final):
            return
        self.last = now
        rate = done / (now - self.start) if now > self.start else None
        self.report(InstallProgress(self.phase, done, total or None, rate))


@dataclass(frozen=True)
class StandaloneResult:
    """How the install ended: where codex went, how it got there, or what went wrong."""

    ok: bool
    version: str | None = None
    entrypoint: str | None = None  # absolute path of the binary on the server
    link: str | None = None  # ~/.local/bin/codex, absolute
    via: Literal["server", "upload"] = "server"
    error: str | None = None
    path_hint: str | None = None  # which rc file to add ~/.local/bin to (None: on PATH)

    def summary(self) -> str:
        """One line for the user: where it went, or why it failed."""
        if not self.ok:
            return self.error or "the install failed"
        how = "downloaded by the server" if self.via == "server" else "uploaded from here"
        return f"codex {self.version} installed ({how}) in {self.entrypoint}; {self.link} -> it"


# --- entry point ---------------------------------------------------------------------------


async def install_standalone(
    conn,  # ServerConnection
    probe: ProbeResult,
    *,
    version: str | None = None,
    registry: str | None = None,
    upload: Upload = "auto",
    on_progress: ProgressCallback | None = None,
    timeout: float = INSTALL_TIMEOUT,
) -> StandaloneResult:
    """Install the standalone codex `version` (default: the registry's latest) on the server.

    Never raises for a server, registry or package problem (see StandaloneResult.error);
    cancelling the task stops it and cleans up, then re-raises CancelledError.
    """
    token = secrets.token_hex(6)
    try:
        result = await _install(conn, probe, token, version, registry, upload, on_progress, timeout)
    except StandaloneError as exc:
        result = StandaloneResult(False, error=str(exc))
    finally:
        await _cleanup(conn, token)
    if result.ok:
        result = _with_path_hint(probe, result)
    return result


async def _install(
    conn,
    probe: ProbeResult,
    token: str,
    version: str | None,
    registry: str | None,
    upload: Upload,
    on_progress: ProgressCallback | None,
    timeout: float,
) -> StandaloneResult:
    platform = platform_for(probe.os, probe.arch)
    _Meter(Phase.METADATA, on_progress).announce()
    if upload != "always":
        server_registry = registry or await server_registry_url(conn)
        try:
            tarball = await server_tarball(conn, server_registry, version, platform)
        except FetchFailed as exc:
            if exc.kind == "http" or upload == "never":
                raise StandaloneError(fetch_error(exc, server_registry)) from None
        else:
            return await _run_install(conn, probe, tarball, token, True, on_progress, timeout)
    local_registry = registry or local_registry_url()
    tarball = await asyncio.to_thread(local_tarball, local_registry, version, platform)
    with tempfile.TemporaryDirectory(prefix="codex-wizard-") as tmp:
        path = Path(tmp) / "pkg.tgz"
        await _download_here(tarball, path, on_progress)
        await _upload(conn, path, token, on_progress)
    result = await _run_install(conn, probe, tarball, token, False, on_progress, timeout)
    return replace(result, via="upload")


async def _cleanup(conn, token: str) -> None:
    """Remove the install's temp dir on the server (a cancel or a failure). Never raises."""
    if conn.is_closed():
        return
    with contextlib.suppress(Exception):
        await asyncio.shield(conn.run(cleanup_script(token), timeout=15))


# --- this computer: download and upload ----------------------------------------------------


async def _download_here(tarball: Tarball, dest: Path, report: ProgressCallback | None) -> None:
    """Fetch the tarball here (a thread), verify its sha512; cancellable."""
    meter = _Meter(Phase.DOWNLOAD_HERE, report)
    meter.announce()
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def progress(done: int, total: int | None) -> None:
        loop.call_soon_threadsafe(meter.update, done, total)

    task = asyncio.ensure_future(asyncio.to_thread(_fetch_file, tarball.url, dest, stop, progress))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()
        with contextlib.suppress(Exception):
            await task
        raise
    _Meter(Phase.VERIFY, report).announce()
    if not await asyncio.to_thread(integrity_matches, dest, tarball.integrity):
        raise StandaloneError(
            f"the tarball from {tarball.url} does not match the registry's sha512: refused, "
            "nothing installed"
        )


def _fetch_file(
    url: str, dest: Path, stop: threading.Event, progress: Callable[[int, int | None], None]
) -> None:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as reply, dest.open("wb") as out:
            total = int(reply.headers.get("Content-Length") or 0) or None
            done = 0
            while block := reply.read(1 << 16):
                if stop.is_set():
                    return
                out.write(block)
                done += len(block)
                progress(done, total)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StandaloneError(f"downloading {url} here failed: {reason}") from None


async def _upload(conn, path: Path, token: str, report: ProgressCallback | None) -> None:
    """Stream `path` into the install's temp dir on the server through an exec channel."""
    meter = _Meter(Phase.UPLOAD, report)
    meter.announce()
    total = path.stat().st_size
    command = group_command(ServerEnv(), upload_script(token))
    process = await conn.start_process(command, pty=False, binary=True)
    try:
        await _send_file(process, path, meter, total)
        process.stdin.write_eof()
        output = await asyncio.wait_for(process.stdout.read(), METADATA_TIMEOUT)
        await process.wait_closed()
    except (asyncssh.Error, OSError, TimeoutError) as exc:
        raise StandaloneError(f"the upload to the server failed: {exc}") from None
    finally:
        process.close()
    if f"{MARK} received".encode() not in output or process.exit_status != 0:
        raise StandaloneError("the server could not store the upload (disk full? permissions?)")


async def _send_file(process, path: Path, meter: _Meter, total: int) -> None:
    done = 0
    with path.open("rb") as fh:
        while chunk := fh.read(UPLOAD_CHUNK):
            process.stdin.write(chunk)
            await process.stdin.drain()
            done += len(chunk)
            meter.update(done, total, final=done == total)


# --- the server: install script ------------------------------------------------------------

_PHASES = {
    "download": Phase.DOWNLOAD,
    "verify": Phase.VERIFY,
    "unpack": Phase.UNPACK,
    "check": Phase.CHECK,
    "switch": Phase.SWITCH,
}


class _ScriptWatcher:
    """Reads the install script's marker lines: phases, progress, the outcome."""

    def __init__(self, report: ProgressCallback | None) -> None:
        self.report = report
        self.meter = _Meter(Phase.DOWNLOAD, report)
        self.output: list[str] = []
        self.fail: list[str] | None = None
        self.done: str | None = None

    def line(self, line: str) -> None:
        if not line.startswith(MARK):
            if line.strip():
                self.output.append(line.strip())
            return
        words = line.split()
        kind, args = (words[1], words[2:]) if len(words) > 1 else ("", [])
        if kind == "phase" and args and args[0] in _PHASES:
            self.meter = _Meter(_PHASES[args[0]], self.report)
            self.meter.announce()
        elif kind == "progress" and len(args) == 2 and all(a.isdigit() for a in args):
            self.meter.update(int(args[0]), int(args[1]))
        elif kind in ("fail", "fetchfail"):
            self.fail = self.fail or [kind, *args]
        elif kind == "done" and args:
            self.done = line.split(" done ", 1)[1]


async def _run_install(
    conn,
    probe: ProbeResult,
    tarball: Tarball,
    token: str,
    download: bool,
    report: ProgressCallback | None,
    timeout: float,
) -> StandaloneResult:
    watcher = _ScriptWatcher(report)
    script = install_script(tarball, token, download=download)
    code, _, error = await run_streaming(
        conn, group_command(ServerEnv(), script), on_line=watcher.line, timeout=timeout
    )
    if watcher.done and code == 0:
        link = f"{probe.home.rstrip('/')}/{BIN_LINK}" if probe.home else f"~/{BIN_LINK}"
        return StandaloneResult(True, tarball.version, watcher.done, link)
    return StandaloneResult(False, tarball.version, error=error or _failure(watcher, tarball))


def _failure(watcher: _ScriptWatcher, tarball: Tarball) -> str:
    kind, *args = watcher.fail or ["", ""]
    last = watcher.output[-1] if watcher.output else ""
    if kind == "fetchfail":
        return f"the server could not download {tarball.url}: {last or 'no answer'}"
    why = args[0] if args else ""
    messages = {
        "mkdir": "could not create ~/.local/lib/codex-standalone or ~/.local/bin on the server",
        "space": _space_message(args),
        "nohash": "the server has no sha512sum, shasum, openssl or python3 to check the download",
        "integrity": "the download does not match the registry's sha512: refused, nothing "
        "installed (a proxy or mirror changed it?)",
        "notar": "the server has no tar to unpack the package",
        "layout": f"the package has no vendor/{tarball.platform.triple}/ with codex-package.json",
        "runs": f"the new codex does not run on the server ({last or 'no output'}); the old one "
        "was kept",
        "place": "could not move the new codex into ~/.local/lib/codex-standalone",
        "link": "could not switch ~/.local/bin/codex",
    }
    return messages.get(why, last or "the install script stopped without saying why")


def _space_message(args: list[str]) -> str:
    free, need = (int(a) // 1024 for a in args[1:3]) if len(args) >= 3 else (0, 0)
    return f"not enough disk space in ~/.local on the server: {free} MB free, {need} MB needed"


# --- PATH ----------------------------------------------------------------------------------


def _with_path_hint(probe: ProbeResult, result: StandaloneResult) -> StandaloneResult:
    """Add where to put ~/.local/bin on PATH when the user's shells (as probed) don't have it."""
    if not probe.home:
        return result
    bin_dir = f"{probe.home.rstrip('/')}/.local/bin"
    plain = probe.path or ""
    login = probe.login_path or probe.interactive_path or ""
    hint = path_advice(probe.shell, bin_dir in plain.split(":"), bin_dir in login.split(":"))
    return replace(result, path_hint=hint)
