"""Start-up speed: importing asyncssh without its slow search for an optional library."""

from __future__ import annotations

import contextlib
import glob
import os
import sys
from collections.abc import Iterator


# asyncssh looks for liboqs (post-quantum sntrup761 key exchange) when it is imported, with
# ctypes.util.find_library("oqs") and ("liboqs"). On Linux each call runs `ldconfig -p`, then gcc,
# then ld: up to six processes and 20-30 ms on every start (issue 6, bench/). When the library is
# neither in the loader's cache nor in a directory the environment adds, the answer is None
# anyway; whenever it might be there, the real lookup runs.
def _library_may_exist(name: str) -> bool:
    base = name if name.startswith("lib") else f"lib{name}"
    try:
        with open("/etc/ld.so.cache", "rb") as cache:
            if f"{base}.so".encode() in cache.read():
                return True
    except OSError:
        return True  # no cache to go by: let find_library look
    extra = os.environ.get("LD_LIBRARY_PATH", "") + ":" + os.environ.get("LIBRARY_PATH", "")
    dirs = [*filter(None, extra.split(":")), "/usr/local/lib", "/usr/local/lib64"]
    return any(glob.glob(os.path.join(glob.escape(d), f"{base}.so*")) for d in dirs)


@contextlib.contextmanager
def _quick_library_lookup() -> Iterator[None]:
    """While the SSH modules import: skip find_library's processes for libraries not there."""
    if not sys.platform.startswith("linux") or "asyncssh" in sys.modules:
        yield
        return
    import ctypes.util

    real = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        return real(name) if _library_may_exist(name) else None

    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = real


def import_asyncssh_quickly() -> None:
    """Import asyncssh now, skipping find_library's processes where they can't find anything."""
    with _quick_library_lookup():
        import asyncssh  # noqa: F401
