"""asyncssh's ssh_config reader, with each file's lines read and split once per process.

asyncssh reads the whole ssh_config again for every connection, and every line of it goes
through pure-Python work before asyncssh even looks at whether the line's `Host` block is
this host's: stripping, shlex, the `Key=value` forms, lower-casing the keyword. With 200
`Host` blocks that was 200 x 2,200 lines for 200 hosts, most of `status`'s own CPU
(docs/benchmarks.md). The lines' words do not depend on the host, so they are worked out once
per file (while its inode, size and mtime stay the same) and asyncssh's SSHConfig.parse is
replaced by one that walks them: the same handlers in the same order, the same errors at the
same lines (a line with bad quotes is refused each time it is reached). `Host` patterns are
compiled once too. What a config means for a host does not change: `ssh -G` still agrees host
by host (tests/test_config_split.py, tests/test_ssh_compat*.py).

The walk is asyncssh 2.24.1's parse loop; with any other asyncssh nothing is replaced and only
each line's shlex split is shared (split_each_line_once).
"""

from __future__ import annotations

import functools
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["parse_each_file_once", "split_each_line_once"]

WRITTEN_FOR = "2.24.1"  # the asyncssh whose SSHConfig.parse _parse stands in for


@dataclass(frozen=True)
class _Line:
    """One line that is not blank or a comment: its number, keyword (lower case) and
    arguments as asyncssh splits them, or why it cannot be split."""

    number: int
    option: str
    args: tuple[str, ...]
    error: str | None = None


def _words(line: str, conditionals: frozenset[str], no_split: frozenset[str]) -> _Line | str:
    """asyncssh's split of one stripped line: (keyword, args), as its parse loop does it."""
    try:
        split_args = shlex.split(line)
    except ValueError as exc:
        return str(exc)
    args: list[str] = []
    loption = ""
    allow_equal = True
    for i, arg in enumerate(split_args, 1):
        if arg.startswith("="):
            if len(arg) > 1:
                args.append(arg[1:])
        elif not allow_equal:
            args.extend(split_args[i - 1 :])
            break
        elif arg.endswith("="):
            args.append(arg[:-1])
        elif "=" in arg:
            arg, val = arg.split("=", 1)
            args.append(arg)
            args.append(val)
        else:
            args.append(arg)
        if i == 1:
            loption = args.pop(0).lower()
            allow_equal = loption in conditionals
    if loption in no_split:
        args = [line.lstrip()[len(loption) :].strip()]
    return _Line(0, loption, tuple(args))


@functools.lru_cache(maxsize=64)
def _lines(
    path: str, stamp: tuple[int, int, int], conditionals: frozenset[str], no_split: frozenset[str]
) -> tuple[_Line, ...]:
    """The file's lines that count, split; `stamp` (inode, size, mtime) keys a changed file
    afresh."""
    found = []
    with open(path) as file:
        for number, raw in enumerate(file, 1):
            line = raw.strip()
            if not line or line[0] == "#":
                continue
            words = _words(line, conditionals, no_split)
            if isinstance(words, str):
                found.append(_Line(number, "", (), error=words))
            else:
                found.append(_Line(number, words.option, words.args))
    return tuple(found)


def _parse(self: Any, path: Any, original: Callable[[Any, Any], None]) -> None:
    """SSHConfig.parse, walking the file's lines split once."""
    import asyncssh.config

    try:
        stat = os.stat(path)
    except OSError:
        original(self, path)  # asyncssh's own error for a file it cannot open
        return
    stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    lines = _lines(os.fspath(path), stamp, frozenset(self._conditionals), frozenset(self._no_split))
    self._path = path
    self._line_no = 0
    self._matching = True
    self._tokens = {"%": "%"}
    asyncssh.config.logger.debug1('Reading config from "%s"', path)
    for line in lines:
        self._line_no = line.number
        if line.error is not None:
            self._error(line.error)
        if not self._matching and line.option not in self._conditionals:
            continue
        try:
            option, handler = self._handlers[line.option]
        except KeyError:
            continue
        args = list(line.args)
        if not args:
            self._error(f"Missing {option} value")
        handler(self, option, args)
        if args:
            self._error(f"Extra data at end: {' '.join(args)}")
    self._set_tokens()
    for option in self._percent_expand:
        try:
            value = self._options[option]
        except KeyError:
            continue
        if isinstance(value, list):
            value = [self._expand_val(item) for item in value]
        elif isinstance(value, str):
            value = self._expand_val(value)
        self._options[option] = value


class _SplitOnce:
    """shlex as asyncssh.config uses it (`split` only), each distinct line split once."""

    @staticmethod
    @functools.lru_cache(maxsize=16384)
    def _split(line: str) -> tuple[str, ...]:
        return tuple(shlex.split(line))  # a line with bad quotes raises, and is never cached

    def split(self, line: str) -> list[str]:
        return list(self._split(line))


def split_each_line_once() -> None:
    """Each distinct ssh_config line split by shlex once, whatever asyncssh's version.
    Does nothing if asyncssh.config no longer splits with the shlex module."""
    import asyncssh.config

    if getattr(asyncssh.config, "shlex", None) is shlex:
        asyncssh.config.shlex = _SplitOnce()  # type: ignore[assignment]


def parse_each_file_once() -> None:
    """With asyncssh 2.24.1, its SSHConfig.parse walks each file's lines split once, and a
    `Host` line's patterns are compiled once; with another asyncssh, only the lines' shlex
    splits are shared. Idempotent."""
    import asyncssh
    import asyncssh.config

    split_each_line_once()
    config = asyncssh.config.SSHConfig
    if asyncssh.__version__ != WRITTEN_FOR or getattr(config.parse, "split_once", False):
        return
    original = config.parse

    def parse(self: Any, path: Any) -> None:
        _parse(self, path, original)

    parse.split_once = True  # type: ignore[attr-defined]
    parse.asyncssh_parse = original  # type: ignore[attr-defined]  # for the tests to compare
    config.parse = parse  # type: ignore[method-assign]
    patterns = asyncssh.config.WildcardPatternList
    asyncssh.config.WildcardPatternList = functools.lru_cache(maxsize=4096)(patterns)  # type: ignore[misc]
