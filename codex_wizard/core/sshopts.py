"""ssh(1)'s command line walked as OpenSSH's getopt walks it, for the two readers of ssh's
option letters: core/ssh/sshargs.py (Ansible's ssh arguments, as ssh_config lines) and
core/laptop/sshforward.py (a running `ssh -L`'s argv). Base layer: imports nothing of ours.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

__all__ = ["WITH_ARGUMENT", "ssh_options"]

WITH_ARGUMENT = frozenset("BbcDEeFIiJLlmOoPpQRSWw")
"""The letters OpenSSH's getopt string marks as taking an argument."""


def ssh_options(words: Sequence[str]) -> Iterator[tuple[str, str | None]]:
    """(letter, value) for each option in words, as ssh reads them: flags grouped (`-4C`), a
    value attached (`-p22`) or the next word (`-p 22`); the value is None for a flag and for a
    letter that wants one at the very end. The first word that is no option comes as
    ("", word), and the walk ends there (it is the destination)."""
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("-") or word == "-":
            yield "", word
            return
        for position, letter in enumerate(word[1:], start=2):
            if letter not in WITH_ARGUMENT:
                yield letter, None
                continue
            value: str | None = word[position:]
            if not value:
                value = words[index] if index < len(words) else None
                index += 1
            yield letter, value
            break
