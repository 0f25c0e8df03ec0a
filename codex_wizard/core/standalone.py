"""The standalone Codex (no Node.js): which package, from which registry, checked how, and the
shell scripts that fetch, verify and install it on the server. Pure: no I/O here.

`@openai/codex` is a small Node launcher. Its `optionalDependencies` name one platform package
per OS/CPU, published as versions of the same npm package with a suffix (`@openai/codex-linux-x64`
is `npm:@openai/codex@0.169.0-linux-x64`), each with its own tarball and `dist.integrity`. The
tarball's `package/vendor/<target-triple>/` is self-contained: `codex-package.json` (naming the
`entrypoint`, bin/codex), a static binary, `codex-path/rg` and `codex-resources/`.

On the server the tree goes to `~/.local/lib/codex-standalone/<version>-<suffix>/` and
`~/.local/bin/codex` becomes a symlink to its entrypoint. The tarball is fetched into a temp dir
beside the versioned dirs (same filesystem: the final `mv` is a rename), checked against the
sha512 of `dist.integrity`, unpacked, asked `--version`, moved into place, and only then is the
link switched, atomically (a new symlink renamed over the old). A failure at any step leaves the
old link and its tree as they were and removes the temp dir (a trap; the caller also removes it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .probe import NODE_REQUIRED_MAJOR, ProbeResult, version_major

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
PACKAGE = "@openai/codex"
INSTALL_ROOT = ".local/lib/codex-standalone"  # under $HOME
BIN_LINK = ".local/bin/codex"  # under $HOME
MARK = "@@cwsa"  # prefix of the lines our scripts print for us (not shown to the user)
FETCH_CONNECT_TIMEOUT = 15

_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
_TOKEN = re.compile(r"^[0-9a-f]{8,32}$")


class StandaloneError(Exception):
    """A problem with the package or its metadata, in words meant for the user."""


@dataclass(frozen=True)
class Platform:
    """One platform package: its npm name suffix and the vendor/ dir (Rust target triple)."""

    suffix: str  # linux-x64
    triple: str  # x86_64-unknown-linux-musl

    @property
    def alias(self) -> str:
        """The optional dependency's name in the launcher's package.json."""
        return f"{PACKAGE}-{self.suffix}"


_PLATFORMS = {
    ("linux", "x64"): Platform("linux-x64", "x86_64-unknown-linux-musl"),
    ("linux", "arm64"): Platform("linux-arm64", "aarch64-unknown-linux-musl"),
    ("darwin", "x64"): Platform("darwin-x64", "x86_64-apple-darwin"),
    ("darwin", "arm64"): Platform("darwin-arm64", "aarch64-apple-darwin"),
}
_CPUS = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


def platform_for(os_name: str, machine: str) -> Platform:
    """The platform package for `uname -s` / `uname -m` (Linux x86_64, Darwin arm64 ...)."""
    key = (os_name.strip().lower(), _CPUS.get(machine.strip().lower(), ""))
    found = _PLATFORMS.get(key)
    if found is None:
        raise StandaloneError(
            f"no standalone codex for {os_name or '?'} {machine or '?'}: OpenAI publishes it for "
            "Linux and macOS on x86-64 and arm64. Install Node.js and use npm instead."
        )
    return found


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
    platform = next((p for p in _PLATFORMS.values() if p.suffix == suffix), None)
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


# --- the server-side scripts -----------------------------------------------------------------

# fetch URL FILE: with curl, wget or python3; headers go to FILE.h (for Content-Length).
# Prints `@@cwsa fetchfail <net|http|none> <rc>` when it fails.
_FETCH = r"""
fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --connect-timeout @CT@ -D "$2.h" -o "$2" "$1"; rc=$?
    case $rc in 0) return 0 ;; 22) kind=http ;; *) kind=net ;; esac
  elif command -v wget >/dev/null 2>&1; then
    wget -nv -S -T @CT@ -O "$2" "$1" 2>"$2.h"; rc=$?
    [ $rc -eq 0 ] && return 0; tail -n 2 "$2.h"
    case $rc in 8) kind=http ;; *) kind=net ;; esac
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c "$PYFETCH" "$1" "$2"; rc=$?
    case $rc in 0) return 0 ;; 2) kind=http ;; *) kind=net ;; esac
  else
    rc=127; kind=none
  fi
  printf '\n@MARK@ fetchfail %s %s\n' "$kind" "$rc"; return 1
}
PYFETCH='
import shutil, sys, urllib.error, urllib.request
url, out = sys.argv[1], sys.argv[2]
try:
    with urllib.request.urlopen(url, timeout=@CT@) as r, open(out, "wb") as f:
        open(out + ".h", "w").write("Content-Length: %s\n" % r.headers.get("Content-Length", ""))
        shutil.copyfileobj(r, f, 1 << 16)
except urllib.error.HTTPError as e:
    sys.exit(print(url, e, file=sys.stderr) or 2)
except Exception as e:
    sys.exit(print(url, e, file=sys.stderr) or 1)
'
""".replace("@CT@", str(FETCH_CONNECT_TIMEOUT)).replace("@MARK@", MARK)

_SHA512 = r"""
sha512_of() {
  if command -v sha512sum >/dev/null 2>&1; then sha512sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then shasum -a 512 "$1" | cut -d' ' -f1
  elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha512 "$1" | sed 's/.*= *//'
  elif command -v python3 >/dev/null 2>&1; then python3 -c '
import hashlib, sys
h = hashlib.sha512()
with open(sys.argv[1], "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""): h.update(b)
print(h.hexdigest())' "$1"
  else echo none; fi
}
"""

# Prints `@@cwsa progress <bytes> <total or 0>` about twice a second while FILE grows.
_WATCH = r"""
watch() {
  while kill -0 "$1" 2>/dev/null; do
    got=$(wc -c 2>/dev/null < "$2" || echo 0)
    tot=$(sed -n "s/^ *[Cc]ontent-[Ll]ength: *\([0-9]*\).*/\1/p" "$2.h" 2>/dev/null | tail -n 1)
    printf '@MARK@ progress %s %s\n' $got "${tot:-0}"
    sleep 0.5 2>/dev/null || sleep 1
  done
}
""".replace("@MARK@", MARK)


def metadata_script(url: str) -> str:
    """Fetch one JSON document on the server and print it between marker lines."""
    return (
        _FETCH
        + 'd=$(mktemp -d 2>/dev/null || echo "/tmp/cwsa.$$"); mkdir -p "$d"\n'
        + "trap 'rm -rf \"$d\"' EXIT\n"
        + f'fetch {shlex.quote(url)} "$d/doc" || exit 1\n'
        + f'printf "\\n{MARK} doc\\n"; cat "$d/doc"; printf "\\n{MARK} end\\n"\n'
    )


def temp_dir(token: str) -> str:
    """The temp dir of one install, as a sh word (`$HOME` expands on the server)."""
    if not _TOKEN.match(token):
        raise ValueError(f"bad token {token!r}")
    return f'"$HOME/{INSTALL_ROOT}/.tmp-{token}"'


def upload_script(token: str) -> str:
    """Receive the tarball on stdin into the install's temp dir."""
    tmp = temp_dir(token)
    return f"umask 077; mkdir -p {tmp} && cat > {tmp}/pkg.tgz && echo {MARK} received"


def cleanup_script(token: str) -> str:
    return f"rm -rf {temp_dir(token)}"


def install_script(tarball: Tarball, token: str, *, download: bool) -> str:
    """Fetch (when `download`), verify, unpack, check and switch; see the module docstring."""
    steps = [
        _FETCH,
        _SHA512,
        _WATCH,
        _install_setup(tarball, token),
        _download_step(tarball) if download else "",
        _verify_step(tarball),
        _unpack_step(tarball),
        _switch_step(tarball, token),
    ]
    return "".join(steps)


def _install_setup(tarball: Tarball, token: str) -> str:
    return f"""
say() {{ printf '\\n{MARK} %s\\n' "$*"; }}
fail() {{ say fail "$@"; exit 1; }}
base="$HOME/{INSTALL_ROOT}"; t={temp_dir(token)}; final="$base/{tarball.dir_name}"
link="$HOME/{BIN_LINK}"
trap 'rm -rf "$t" "$link.cw-{token}"' EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$t" "$HOME/.local/bin" || fail mkdir
{_space_check(tarball)}
"""


def _space_check(tarball: Tarball) -> str:
    if not tarball.unpacked_size:
        return ""
    need_kb = tarball.unpacked_size * 2 // 1024  # the tarball and its unpacked tree
    return (
        f"""avail=$(df -Pk "$base" 2>/dev/null | awk 'NR==2 {{print $4}}')\n"""
        f'[ -n "$avail" ] && [ "$avail" -lt {need_kb} ] && fail space "$avail" {need_kb}\n'
    )


def _download_step(tarball: Tarball) -> str:
    return f"""say phase download
fetch {shlex.quote(tarball.url)} "$t/pkg.tgz" &
fp=$!
watch $fp "$t/pkg.tgz"
wait $fp || exit 1
"""


def _verify_step(tarball: Tarball) -> str:
    return f"""say phase verify
sum=$(sha512_of "$t/pkg.tgz")
[ "$sum" = none ] && fail nohash
[ "$sum" = {tarball.sha512_hex} ] || fail integrity "$sum"
"""


def _unpack_step(tarball: Tarball) -> str:
    tree = f'"$t/x/package/vendor/{tarball.platform.triple}"'
    return f"""say phase unpack
command -v tar >/dev/null 2>&1 || fail notar
mkdir "$t/x" && tar -xzf "$t/pkg.tgz" -C "$t/x" package/vendor 2>&1 | tail -n 3
[ -f {tree}/codex-package.json ] || fail layout
entry=$(sed -n 's/.*"entrypoint" *: *"\\([^"]*\\)".*/\\1/p' {tree}/codex-package.json)
case "$entry" in ""|/*|*..*) entry=bin/codex ;; esac
[ -x {tree}/"$entry" ] || fail layout
rm -f "$t/pkg.tgz"
say phase check
out=$({tree}/"$entry" --version </dev/null 2>&1 | head -n 3)
case "$out" in *{tarball.version}*) ;; *) fail runs "$out" ;; esac
"""


def _switch_step(tarball: Tarball, token: str) -> str:
    tree = f'"$t/x/package/vendor/{tarball.platform.triple}"'
    return f"""say phase switch
prev=$(readlink "$link" 2>/dev/null)
[ -e "$final" ] && {{ mv "$final" "$t/replaced" || fail place; }}
mv {tree} "$final" || fail place
ln -s "$final/$entry" "$link.cw-{token}" || fail link
mv -f "$link.cw-{token}" "$link" || fail link
for d in "$base"/*; do
  [ -d "$d" ] || continue
  case "$prev" in "$d"/*) continue ;; esac
  [ "$d" = "$final" ] || rm -rf "$d"
done
say done "$final/$entry"
"""


# --- when to offer it ------------------------------------------------------------------------


def codex_runs_without_node(probe: ProbeResult) -> bool:
    """codex works while no node does: the standalone codex, so node's absence is fine."""
    return probe.codex.works and not probe.node.works


def standalone_reason(probe: ProbeResult) -> str | None:
    """Why the standalone install fits this server better than npm, or None when npm works."""
    node = probe.node
    if not node.found:
        return "Node.js is not installed on the server (the standalone codex does not need it)"
    if not node.works:
        return f"node on the server does not run ({node.path}); the standalone codex needs no Node"
    major = version_major(node.version)
    if major is not None and major < NODE_REQUIRED_MAJOR:
        return (
            f"node {node.version} is too old for npm's codex (needs >= {NODE_REQUIRED_MAJOR}); "
            "the standalone codex needs no Node"
        )
    if not probe.npm.works:
        return "npm is not installed on the server (the standalone codex does not need it)"
    return None


def path_advice(shell: str, on_plain_path: bool, on_login_path: bool) -> str | None:
    """Which rc file to put ~/.local/bin on PATH in (None when plain `ssh host codex` works)."""
    if on_plain_path:
        return None
    name = shell.rsplit("/", 1)[-1]
    if name == "fish":
        where, line = "~/.config/fish/config.fish", "fish_add_path $HOME/.local/bin"
    else:
        rc = {"bash": "~/.bashrc", "zsh": "~/.zshenv"}.get(name, "~/.profile")
        where, line = rc, 'export PATH="$HOME/.local/bin:$PATH"'
    scope = "codex-wizard finds it (a login shell's PATH has it); " if on_login_path else ""
    return f"{scope}for `ssh HOST codex` and new shells, add to {where}: {line}"
