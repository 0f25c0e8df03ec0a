"""The POSIX-sh scripts that fetch, verify and install the standalone Codex on the server.
Pure: they are only built here (core/install/standalone.py runs them).

The tarball is fetched into a temp dir beside the versioned dirs (same filesystem: the final `mv`
is a rename), checked against the sha512 of `dist.integrity`, unpacked, asked `--version`, moved
into place, and only then is the link switched, atomically (a new symlink renamed over the old).
A failure at any step leaves the old link and its tree as they were and removes the temp dir (a
trap; the caller also removes it).
"""

from __future__ import annotations

import re
import shlex

from .plan import BIN_LINK, INSTALL_ROOT
from .registry import Tarball

MARK = "@@cwsa"  # prefix of the lines our scripts print for us (not shown to the user)
FETCH_CONNECT_TIMEOUT = 15

_TOKEN = re.compile(r"^[0-9a-f]{8,32}$")

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
