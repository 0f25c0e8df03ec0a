"""Watch a running `codex login` (through ssh or directly): its lines, its URL, its exit."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO
from urllib.parse import parse_qs, urlsplit

AUTH_URL_RE = re.compile(r"https://auth\.openai\.com/oauth/authorize\?\S+")


@dataclass(frozen=True)
class LoginUrl:
    """The authorize URL `codex login` printed, with what tests need from it."""

    url: str
    port: int
    state: str
    params: dict[str, str]


def parse_login_url(url: str) -> LoginUrl:
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    port = urlsplit(params["redirect_uri"]).port
    if port is None:
        raise ValueError(f"no port in redirect_uri of {url}")
    return LoginUrl(url, port, params["state"], params)


class LoginRun:
    """Collects stdout/stderr lines of `proc` in background threads."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._cond = threading.Condition()
        self._open = 0
        for stream, sink in ((proc.stdout, self.stdout_lines), (proc.stderr, self.stderr_lines)):
            if stream is not None:
                self._open += 1
                threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    def _pump(self, stream: IO[str], sink: list[str]) -> None:
        for line in stream:
            with self._cond:
                sink.append(line.rstrip("\r\n"))
                self._cond.notify_all()
        with self._cond:
            self._open -= 1
            self._cond.notify_all()

    @property
    def stderr(self) -> str:
        with self._cond:
            return "\n".join(self.stderr_lines)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 20) -> str:
        """The first stderr/stdout line matching `predicate`; AssertionError on timeout/EOF."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.stderr_lines + self.stdout_lines:
                    if predicate(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self._open == 0 and self.proc.poll() is not None):
                    raise AssertionError(f"no matching line; stderr so far:\n{self.stderr}")
                self._cond.wait(min(left, 0.2))

    def wait_for_url(self, timeout: float = 20) -> LoginUrl:
        line = self.wait_for(lambda s: AUTH_URL_RE.search(s) is not None, timeout)
        match = AUTH_URL_RE.search(line)
        assert match is not None
        self.wait_for(lambda s: s.startswith("On a remote or headless machine?"), timeout)
        return parse_login_url(match.group(0))

    def wait(self, timeout: float = 20) -> int:
        """Exit code, after the output threads have drained."""
        code = self.proc.wait(timeout)
        deadline = time.monotonic() + 5
        with self._cond:
            while self._open and time.monotonic() < deadline:
                self._cond.wait(0.1)
        return code
