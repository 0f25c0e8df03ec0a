"""What both faces (the CLI and the wizard) share below them: the user-facing error, the exit
codes and the HOST argument's parsing. Nothing here imports a face."""

from __future__ import annotations

from .core.ssh.hosts import HostArgError, HostTarget, parse_host_arg

EXIT_OK, EXIT_ATTENTION, EXIT_UNCHECKED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 2, 130


class UserError(Exception):
    """A problem to show as one clear message (no traceback), with an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_ATTENTION) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parse_target(text: str) -> HostTarget:
    """A HOST argument (ssh_config Host or user@host:port); a bad one is a usage error."""
    try:
        return parse_host_arg(text)
    except HostArgError as exc:
        raise UserError(str(exc), EXIT_USAGE) from None
