"""A hop's authentication beyond its keys: encrypted keys to unlock, passwords and answers.

What connection.py asks when the server refuses the keys it could offer: an encrypted
IdentityFile's passphrase (a few tries, each key once per run), the prompts of core/ssh/prompts.py
for this hop (none with BatchMode), and the refusal in words that say how to fix it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .config import ResolvedHost, identity_files
from .prompts import AuthPrompts
from .types import ConnectError, ConnectErrorKind, ConnectSettings, PassphrasePrompt

if TYPE_CHECKING:
    import asyncssh

__all__ = [
    "HopCheck",
    "NeedsPassphrase",
    "prompts_for",
    "refused",
    "unlock",
    "with_credentials",
]

PASSPHRASE_TRIES = 3  # OpenSSH's NumberOfPasswordPrompts


class HopCheck(Protocol):
    """The hop being connected, as connection.py's host-key check describes it."""

    label: str
    jump: bool

    def describe(self) -> str: ...

    def error(self, message: str, kind: ConnectErrorKind) -> ConnectError: ...

    def problem(self, message: str, kind: ConnectErrorKind) -> ConnectError: ...


class NeedsPassphrase(ConnectError):
    """The server refused the keys we could use, and encrypted keys are left to unlock."""

    def __init__(self, message: str, paths: list[Path], jump_host: str | None) -> None:
        super().__init__(message, ConnectErrorKind.NEEDS_PASSPHRASE, jump_host=jump_host)
        self.paths = paths


def _is_encrypted(path: Path) -> bool:
    """True for a private key file that needs a passphrase (asyncssh skipped it)."""
    import asyncssh

    try:
        asyncssh.read_private_key(path, passphrase="\0not-the-passphrase")
    except asyncssh.KeyEncryptionError:
        return True
    except (OSError, ValueError, asyncssh.KeyImportError):
        return False
    return False


async def unlock(
    path: Path,
    ask: PassphrasePrompt,
    unlocked: dict[str, asyncssh.SSHKeyPair],
    declined: set[str],
) -> None:
    """Ask for path's passphrase (a few tries); declined or wrong, it is not asked again."""
    import asyncssh

    for _ in range(PASSPHRASE_TRIES):
        passphrase = await ask(str(path))
        if passphrase is None:
            break
        try:
            key = await asyncio.to_thread(asyncssh.load_keypairs, str(path), passphrase)
        except asyncssh.KeyEncryptionError:
            continue
        except (OSError, ValueError, asyncssh.KeyImportError):
            break
        unlocked[str(path)] = key[0]
        return
    declined.add(str(path))


def with_credentials(settings: ConnectSettings, kind: str, secret: str) -> ConnectSettings:
    """settings plus asyncssh's `password=` or `passphrase=` option (the wizard's dialog)."""
    return replace(settings, extra_options={**settings.extra_options, kind: secret})


def prompts_for(resolved: ResolvedHost, settings: ConnectSettings) -> AuthPrompts:
    """Who answers this hop's password and keyboard-interactive questions (BatchMode: none)."""
    options = resolved.options
    return AuthPrompts(
        user=str(options.username),
        host=resolved.policy.host_key_alias or str(options.host),
        ask=None if resolved.batch_mode else settings.answer_prompt,
        limit=resolved.password_prompts,
    )


async def refused(
    resolved: ResolvedHost, check: HopCheck, prompts: AuthPrompts, tried: set[str]
) -> ConnectError:
    """PermissionDenied: encrypted keys left to unlock (`tried`: unlocked or declined ones), or
    plainly refused, in words that say what would have worked."""
    candidates = [p for p in identity_files(resolved.options) if str(p) not in tried]
    locked = [p for p in candidates if await asyncio.to_thread(_is_encrypted, p)]
    if locked and resolved.batch_mode:  # BatchMode: no passphrase asked, as ssh asks none
        return check.error(
            f"{check.describe()} refused the keys we could use, and {locked[0]} is encrypted "
            f"(BatchMode asks no passphrase). Add it to ssh-agent (ssh-add {locked[0]}).",
            ConnectErrorKind.NEEDS_PASSPHRASE,
        )
    if locked:
        return NeedsPassphrase(
            f"{check.describe()} refused the keys we could use, and {locked[0]} is encrypted. "
            f"Add it to ssh-agent (ssh-add {locked[0]}) or run codex-wizard in a terminal to "
            "type its passphrase.",
            locked,
            check.label if check.jump else None,
        )
    fix = (
        "Check IdentityFile in your ssh_config or ssh-agent, or install your key with ssh-copy-id."
    )
    if prompts.answered:
        said = f"{check.describe()} refused the password (or answers) we gave, and our SSH keys."
    elif prompts.server_asked:
        how = (
            "BatchMode is on in your ssh_config (turn it off for this host to type it)"
            if resolved.batch_mode
            else "there is no terminal to ask on (run codex-wizard in a terminal to type it)"
        )
        said = f"{check.describe()} refused our SSH keys; it takes a password, but {how}."
        fix = "Or install your key with ssh-copy-id."
    else:
        said = f"{check.describe()} refused our SSH keys."
    return check.problem(f"{said} {fix}", ConnectErrorKind.AUTH_REFUSED)
