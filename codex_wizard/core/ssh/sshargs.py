"""ssh's command-line options as ssh_config lines, and those lines as a file read first.

Ansible hands ssh a host's settings on the command line (`-o Port=2222 -i key -J bastion`).
OpenSSH reads command-line options before any ssh_config file, and the first value of each
option wins. Written as the lines of a file that asyncssh reads before the user's ssh_config,
they mean the same to us: core/ssh/config.py puts `options_file(target.ssh_options)` first.
"""

from __future__ import annotations

import atexit
import hashlib
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..files import atomic_write
from ..sshopts import ssh_options

__all__ = ["SshArgsError", "config_line", "options_file", "ssh_option_lines"]

# ssh(1)'s options that take a value, as the ssh_config keyword they set; -o is any keyword.
VALUE_FLAGS = {
    "o": "",
    "J": "ProxyJump",
    "p": "Port",
    "l": "User",
    "i": "IdentityFile",
    "c": "Ciphers",
    "m": "MACs",
}
# Flags that set an ssh_config keyword too.
PLAIN_FLAGS = {"4": "AddressFamily inet", "6": "AddressFamily inet6", "C": "Compression yes"}
# Flags about what ssh does once connected (a tty, a command, verbosity): nothing to us.
IGNORED_FLAGS = frozenset("AaGgKkNnqsTtvXxYy")
_KEYWORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_SPLIT_RE = re.compile(r"\s*=\s*|\s+")


class SshArgsError(ValueError):
    """ssh arguments we cannot take as they are meant: said in words for the user."""


def config_line(keyword: str, value: str) -> str:
    """One ssh_config line; a value with spaces or quotes is quoted as ssh_config quotes."""
    if any(not ch.isprintable() for ch in value):
        raise SshArgsError(f"{keyword} {value!r} has a control character")
    if value and not re.search(r"[\s\"'\\]", value):
        return f"{keyword} {value}"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{keyword} "{escaped}"'


def _option_line(text: str) -> str:
    """`-o Keyword=value` (or `Keyword value`) as the config line ssh reads it as."""
    parts = _SPLIT_RE.split(text.strip(), maxsplit=1)
    keyword, value = parts[0], parts[1] if len(parts) > 1 else ""
    if not _KEYWORD_RE.fullmatch(keyword) or not value:
        raise SshArgsError(f"-o {text!r} is not Keyword=value")
    if any(not ch.isprintable() for ch in value):
        raise SshArgsError(f"-o {text!r} has a control character")
    return f"{keyword} {value}"  # as typed: ssh parses -o with its config-line parser


def _flag_lines(words: Sequence[str]) -> Iterator[str]:
    """The config lines of ssh's options in words (walked as ssh's getopt does)."""
    for flag, value in ssh_options(words):
        if not flag:
            raise SshArgsError(f"{value!r} is not an ssh option (a host or command is not taken)")
        if flag in VALUE_FLAGS:
            if value is None:
                raise SshArgsError(f"-{flag} needs a value")
            keyword = VALUE_FLAGS[flag]
            yield config_line(keyword, value) if keyword else _option_line(value)
        elif flag in PLAIN_FLAGS:
            yield PLAIN_FLAGS[flag]
        elif flag not in IGNORED_FLAGS:
            raise SshArgsError(f"ssh option -{flag} is not supported here")


def ssh_option_lines(words: Sequence[str]) -> list[str]:
    """ssh command-line words (`-o Port=2222`, `-J bastion`, `-i key`, `-p`, `-l`) as the
    ssh_config lines they stand for, in order. Raises SshArgsError for words ssh would take
    otherwise (`-F`, `-L`, a host name), rather than connecting some other way than meant."""
    return list(_flag_lines(words))


_files_lock = threading.Lock()
_files_dir: Path | None = None


def _private_dir() -> Path:
    """This run's directory for option files (0700), removed when the process ends."""
    global _files_dir
    if _files_dir is None:
        _files_dir = Path(tempfile.mkdtemp(prefix="codex-wizard-ssh-"))
        atexit.register(shutil.rmtree, _files_dir, ignore_errors=True)
    return _files_dir


def options_file(lines: Sequence[str]) -> Path:
    """A file holding `lines` as an ssh_config, the same file for the same lines (hosts
    that share their settings share it); written whole, removed when the process ends."""
    text = "".join(f"{line}\n" for line in lines)
    name = hashlib.sha256(text.encode()).hexdigest()[:32]
    with _files_lock:  # resolve_options runs in threads: one writer per file
        path = _private_dir() / f"{name}.conf"
        if not path.exists():
            atomic_write(path, text.encode())
    return path
