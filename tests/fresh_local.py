"""This computer's side for the fresh-login tests: the fake codex as the LOCAL codex (on a
private PATH), a temporary CODEX_HOME with this computer's own login, and a browser that
follows codex's login URL to its callback."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.lab.fake_tokens import make_auth_json
from tests.test_e2e_core import browser_callback

HERE = Path(__file__).resolve().parent / "lab"


@dataclass(frozen=True)
class LocalSide:
    """Paths of a test's "this computer": its codex, its own login, its temporary folder."""

    bin_dir: Path
    codex_home: Path
    tmp_dir: Path
    knobs: Path

    @property
    def own_auth(self) -> Path:
        return self.codex_home / "auth.json"

    def env(self, *, with_codex: bool = True) -> dict[str, str]:
        path = os.environ.get("PATH", "/usr/bin:/bin")
        return {
            **os.environ,
            "PATH": f"{self.bin_dir}:{path}" if with_codex else "/nonexistent",
            "CODEX_HOME": str(self.codex_home),
            "TMPDIR": str(self.tmp_dir),
            "FAKE_CODEX_KNOBS": str(self.knobs),
        }

    def leftovers(self) -> list[Path]:
        """What a fresh login left in the temporary folder (nothing, when it cleaned up)."""
        return list(self.tmp_dir.iterdir())

    def codex_processes(self) -> list[psutil.Process]:
        """Local processes whose CODEX_HOME is one of this side's temporary folders (the
        codex a fresh login started: launcher and native binary, fake or real)."""
        found = []
        for process in psutil.process_iter():
            try:
                home = process.environ().get("CODEX_HOME", "")
            except psutil.Error:
                continue
            if home.startswith(f"{self.tmp_dir}/"):
                found.append(process)
        return found


def kill_leftovers(side: LocalSide) -> None:
    """After a test (one that failed, above all): no codex of ours left running."""
    for process in side.codex_processes():
        with contextlib.suppress(psutil.Error):
            process.kill()


def make_local_side(root: Path, *, own_login: bool = True, codex: Path | None = None) -> LocalSide:
    bin_dir, home, tmp = root / "bin", root / "codex-home", root / "tmp"
    for folder in (bin_dir, home, tmp):
        folder.mkdir(parents=True)
    if codex is not None:  # a real codex
        (bin_dir / "codex").symlink_to(codex)
    else:
        shutil.copy(HERE / "fake_codex.py", bin_dir / "codex")
        (bin_dir / "codex").chmod(0o755)
        shutil.copy(HERE / "fake_tokens.py", bin_dir / "fake_tokens.py")
    if own_login:
        (home / "auth.json").write_text(make_auth_json(tag="this-computer"))
    knobs = root / "fake-codex.json"
    knobs.write_text("{}")
    return LocalSide(bin_dir, home, tmp, knobs)


def sign_in(url: str) -> int:
    """The browser: codex's callback with the URL's state, then its /success redirect."""
    state = re.search(r"[?&]state=([^&\s]+)", url)
    port = re.search(r"redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A(\d+)", url)
    assert state and port, url
    return browser_callback(int(port.group(1)), f"/auth/callback?code=c0de&state={state.group(1)}")
