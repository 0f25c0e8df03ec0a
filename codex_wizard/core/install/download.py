"""Ask the registry for the standalone Codex's package documents and so its Tarball: from the
server (over the SSH connection, its ~/.npmrc) or from this computer (npm_config_registry,
~/.npmrc, else npmjs). core/install/standalone.py decides which.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from ..server.actions import run_streaming
from ..server.probe import ServerEnv
from ..server.remote import group_command
from .plan import StandaloneError
from .registry import (
    DEFAULT_REGISTRY,
    Tarball,
    document_url,
    platform_version,
    registry_from_env,
    registry_from_npmrc,
    tarball_from,
)
from .scripts import MARK, metadata_script

METADATA_TIMEOUT = 60.0
HTTP_TIMEOUT = 30.0


class FetchFailed(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind  # net | http | none


def fetch_error(exc: FetchFailed, registry: str) -> str:
    if exc.kind == "none":
        return "the server has none of curl, wget or python3 to download with"
    if exc.kind == "http":
        return f"the registry {registry} answered: {exc}"
    return f"the server cannot reach the registry {registry}: {exc}"


async def server_registry_url(conn) -> str:
    """The registry the server's ~/.npmrc names (for @openai, else `registry=`), or npmjs."""
    result = await conn.run('cat "$HOME/.npmrc" 2>/dev/null', timeout=METADATA_TIMEOUT)
    text = result.stdout if isinstance(result.stdout, str) else ""
    return registry_from_npmrc(text) or DEFAULT_REGISTRY


def local_registry_url() -> str:
    """This computer's npm registry: npm_config_registry, ~/.npmrc, else npmjs."""
    npmrc = Path.home() / ".npmrc"
    try:
        text = npmrc.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return registry_from_env(dict(os.environ)) or registry_from_npmrc(text) or DEFAULT_REGISTRY


async def _server_document(conn, url: str) -> dict[str, object]:
    lines: list[str] = []
    _, _, error = await run_streaming(
        conn,
        group_command(ServerEnv(), metadata_script(url)),
        on_line=lines.append,
        timeout=METADATA_TIMEOUT,
    )
    if error:
        raise StandaloneError(f"asking the registry from the server failed: {error}")
    return _parse_document(lines, url)


def _parse_document(lines: list[str], url: str) -> dict[str, object]:
    marks = [i for i, line in enumerate(lines) if line.startswith(MARK)]
    failed = next((lines[i].split() for i in marks if " fetchfail " in lines[i]), None)
    if failed is not None:
        detail = next((ln.strip() for ln in lines if ln.strip() and MARK not in ln), "")
        raise FetchFailed(failed[2], detail or f"{url}: no answer")
    try:
        start = next(i for i in marks if lines[i] == f"{MARK} doc")
        end = next(i for i in marks if lines[i] == f"{MARK} end")
        doc = json.loads("\n".join(lines[start + 1 : end]))
    except (StopIteration, ValueError):
        doc = None
    if not isinstance(doc, dict):
        raise StandaloneError(f"the registry's answer for {url} is not a package document")
    return doc


async def server_tarball(conn, registry: str, version: str | None, platform) -> Tarball:
    launcher = await _server_document(conn, document_url(registry, version or "latest"))
    pinned = platform_version(launcher, platform)
    package = await _server_document(conn, document_url(registry, pinned))
    return tarball_from(launcher, package)


def _get_json(url: str) -> dict[str, object]:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as reply:
            doc = json.load(reply)
    except urllib.error.HTTPError as exc:
        raise StandaloneError(f"the registry answered {exc.code} for {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StandaloneError(f"this computer cannot reach {url} either: {reason}") from None
    except ValueError:
        raise StandaloneError(f"the registry's answer for {url} is not JSON") from None
    if not isinstance(doc, dict):
        raise StandaloneError(f"the registry's answer for {url} is not a package document")
    return doc


def local_tarball(registry: str, version: str | None, platform) -> Tarball:
    launcher = _get_json(document_url(registry, version or "latest"))
    package = _get_json(document_url(registry, platform_version(launcher, platform)))
    return tarball_from(launcher, package)
