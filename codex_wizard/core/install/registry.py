"""The npm registry side of the standalone Codex: which registry, the package documents
(packuments) and the Tarball they name, and its sha512 integrity. Pure: no I/O but reading a
downloaded file's digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .plan import PACKAGE, PLATFORMS, Platform, StandaloneError

DEFAULT_REGISTRY = "https://registry.npmjs.org/"

_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")

# --- which registry ------------------------------------------------------------------------


def _npmrc_pairs(text: str) -> Iterable[tuple[str, str]]:
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, _, value = line.partition("=")
        yield key.strip(), value.strip().strip("\"'")


def registry_from_npmrc(text: str) -> str | None:
    """The registry an .npmrc names for @openai packages (`@openai:registry=` first)."""
    pairs = dict(_npmrc_pairs(text))
    url = pairs.get("@openai:registry") or pairs.get("registry")
    return normalize_registry(url) if url else None


def registry_from_env(environ: dict[str, str]) -> str | None:
    """npm's environment override, `npm_config_registry` (any case)."""
    for key, value in environ.items():
        if key.lower() == "npm_config_registry" and value.strip():
            return normalize_registry(value.strip())
    return None


def normalize_registry(url: str) -> str:
    if not re.match(r"^https?://[^\s/]+", url):
        raise StandaloneError(f"not a registry URL: {url!r} (want http(s)://host/...)")
    return url.rstrip("/") + "/"


def document_url(registry: str, spec: str) -> str:
    """URL of one version's (or dist-tag's) document: <registry>@openai%2fcodex/<spec>."""
    return f"{normalize_registry(registry)}{quote(PACKAGE, safe='@')}/{quote(spec, safe='')}"


# --- the package -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tarball:
    """The platform package to install: version, tarball URL and its published sha512."""

    version: str  # the launcher's version: 0.169.0
    platform: Platform
    package_version: str  # 0.169.0-linux-x64
    url: str
    integrity: str
    unpacked_size: int | None = None

    @property
    def dir_name(self) -> str:
        return f"{self.version}-{self.platform.suffix}"

    @property
    def sha512_hex(self) -> str:
        return sha512_hex(self.integrity)


def check_version(version: str) -> str:
    if not _VERSION.match(version):
        raise StandaloneError(f"not a codex version: {version!r} (want e.g. 0.169.0)")
    return version


def platform_version(launcher_doc: dict[str, object], platform: Platform) -> str:
    """The platform package's version, from the launcher's optionalDependencies."""
    version = check_version(str(launcher_doc.get("version", "")))
    deps = launcher_doc.get("optionalDependencies")
    spec = deps.get(platform.alias) if isinstance(deps, dict) else None
    if not isinstance(spec, str):
        raise StandaloneError(
            f"codex {version} has no standalone package for {platform.suffix} (its launcher "
            f"names no {platform.alias}); pick a newer --version."
        )
    name, _, pinned = spec.removeprefix("npm:").rpartition("@")
    if name != PACKAGE:
        raise StandaloneError(f"{platform.alias} points at {spec!r}, not {PACKAGE}")
    return check_version(pinned)


def tarball_from(launcher_doc: dict[str, object], package_doc: dict[str, object]) -> Tarball:
    """The Tarball of a platform package document, checked against what the launcher named."""
    version = check_version(str(launcher_doc.get("version", "")))
    package_version = check_version(str(package_doc.get("version", "")))
    suffix = package_version.removeprefix(f"{version}-")
    platform = next((p for p in PLATFORMS.values() if p.suffix == suffix), None)
    dist = package_doc.get("dist")
    if platform is None or not isinstance(dist, dict):
        raise StandaloneError(f"unexpected package document for {PACKAGE}@{package_version}")
    url, integrity = dist.get("tarball"), dist.get("integrity")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise StandaloneError(f"{PACKAGE}@{package_version} has no tarball URL")
    if not isinstance(integrity, str):
        raise StandaloneError(f"the registry publishes no integrity for {package_version}")
    sha512_hex(integrity)  # refuse now rather than after the download
    size = dist.get("unpackedSize")
    return Tarball(
        version, platform, package_version, url, integrity, size if isinstance(size, int) else None
    )


# --- integrity -------------------------------------------------------------------------------


def sha512_hex(integrity: str) -> str:
    """The sha512 digest (hex) in a Subresource-Integrity string (`sha512-<base64> ...`)."""
    for item in integrity.split():
        algo, _, digest = item.partition("-")
        if algo != "sha512":
            continue
        try:
            raw = base64.b64decode(digest.split("?")[0], validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == hashlib.sha512().digest_size:
            return raw.hex()
        raise StandaloneError(f"malformed sha512 integrity: {item[:24]}...")
    raise StandaloneError("the registry publishes no sha512 integrity for this package")


def file_sha512_hex(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def integrity_matches(path: Path, integrity: str) -> bool:
    return file_sha512_hex(path) == sha512_hex(integrity)
