"""End-to-end test lab: OpenSSH sshd in a network namespace, a throwaway server user, and a
faithful fake `codex` (plus the pinned real one when installed). See `SshLab`."""

from .account import (
    REAL_CODEX_BIN,
    REAL_CODEX_KINDS,
    REAL_CODEX_ROOT,
    REAL_CODEX_VERSION,
    real_codex_problem,
)
from .login_run import LoginRun, LoginUrl, parse_login_url
from .proc import LabError
from .sshlab import HttpReply, LabUnavailable, SshLab, lab_unavailable_reason

__all__ = [
    "REAL_CODEX_BIN",
    "REAL_CODEX_KINDS",
    "REAL_CODEX_ROOT",
    "REAL_CODEX_VERSION",
    "HttpReply",
    "LabError",
    "LabUnavailable",
    "LoginRun",
    "LoginUrl",
    "SshLab",
    "lab_unavailable_reason",
    "parse_login_url",
    "real_codex_problem",
]
