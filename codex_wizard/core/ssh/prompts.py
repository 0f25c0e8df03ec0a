"""Passwords and keyboard-interactive questions, asked as ssh asks them (sshconnect2.c).

A password is asked as ``user@host's password: ``, a keyboard-interactive prompt from the server
as ``(user@host) <prompt>`` (HostKeyAlias, when set, names the host), each method at most
NumberOfPasswordPrompts times (default 3). With BatchMode nothing is asked. Without anybody to
ask (no terminal), nothing is asked either, and `server_asked` records that the server would
have taken an answer, so the refusal can say how to fix it. PasswordAuthentication,
KbdInteractiveAuthentication and PreferredAuthentications are honoured by asyncssh itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..sanitize import printable
from .types import ServerPrompt

__all__ = ["DEFAULT_PASSWORD_PROMPTS", "AuthPrompts"]

DEFAULT_PASSWORD_PROMPTS = 3  # ssh_config(5) NumberOfPasswordPrompts


@dataclass
class AuthPrompts:
    """The questions one hop's server may ask during auth, and how many were asked."""

    user: str
    host: str  # HostKeyAlias when set, else the host connected to (HostName)
    ask: ServerPrompt | None
    limit: int = DEFAULT_PASSWORD_PROMPTS
    passwords_asked: int = 0
    challenges_asked: int = 0
    answered: bool = False  # a password or an answer was given (and the server refused it)
    server_asked: bool = False  # the server takes a password or an answer nobody gave

    async def password(self) -> str | None:
        """The next password to try, or None: no more (ssh's attempt_passwd)."""
        if self.ask is None:
            self.server_asked = True
            return None
        if self.passwords_asked >= self.limit:
            return None
        self.passwords_asked += 1
        return self._given(await self.ask(f"{self.user}@{self.host}'s password: ", False))

    def _given(self, answer: str | None) -> str | None:
        """Note whether an answer came (None: nobody answered, e.g. no terminal)."""
        if answer is None:
            self.server_asked = True
        else:
            self.answered = True
        return answer

    def starts_challenge(self) -> bool:
        """keyboard-interactive may start once more (ssh's attempt_kbdint)."""
        if self.challenges_asked >= self.limit:
            return False
        self.challenges_asked += 1
        return True

    async def answers(
        self, name: str, instructions: str, prompts: Sequence[tuple[str, bool]]
    ) -> list[str] | None:
        """The answers to one keyboard-interactive challenge (None: stop this method)."""
        if self.ask is None:
            return None
        answers: list[str] = []
        heading = "\n".join(printable(text) for text in (name, instructions) if text)
        for index, (prompt, echo) in enumerate(prompts):
            shown = f"({self.user}@{self.host}) {printable(prompt)}"
            if index == 0 and heading:
                shown = f"{heading}\n{shown}"
            answer = self._given(await self.ask(shown, echo))
            if answer is None:
                return None
            answers.append(answer)
        return answers
