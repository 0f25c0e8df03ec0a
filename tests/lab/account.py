"""The lab server's Unix account: a throwaway non-root user whose home lives in the lab dir.

Everything here runs as root and hands files to the user (chown). The laptop side's HOME is never
touched: the user's home is a fresh directory under the lab's own temp dir.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
from pathlib import Path
from typing import Any

from .proc import LabError, alive, kill_pids, run

HERE = Path(__file__).resolve().parent
FAKE_CODEX_SRC = HERE / "fake_codex.py"
FAKE_TOKENS_SRC = HERE / "fake_tokens.py"
REAL_CODEX_VERSION = "0.169.0"
"""The pinned real Codex CLI ("real")."""
CODEX_LATEST_VERSION = "0.171.0"
"""The newest release the suite also runs ("real-latest"); bump with scripts/lab-deps.sh."""
REAL_CODEX_KINDS = {"real": REAL_CODEX_VERSION, "real-latest": CODEX_LATEST_VERSION}
CODEX_CACHE = Path(os.environ.get("CODEX_WIZARD_LAB_CODEX_CACHE", "/var/cache/codex-wizard-lab"))


def real_codex_root(version: str = REAL_CODEX_VERSION) -> Path:
    return CODEX_CACHE / f"codex-{version}"


REAL_CODEX_ROOT = real_codex_root()
REAL_CODEX_BIN = REAL_CODEX_ROOT / "node_modules" / ".bin" / "codex"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
PROFILE_MARK = "# codex-wizard-lab: ~/bin on the login-shell PATH"


def real_codex_problem(want: str = REAL_CODEX_VERSION) -> str | None:
    """None when that real Codex is installed and readable by everyone, else why not."""
    root = real_codex_root(want)
    pkg, binary = root / "node_modules" / "@openai" / "codex" / "package.json", real_bin(want)
    try:
        version = json.loads(pkg.read_text()).get("version")
    except (OSError, ValueError):
        return f"real codex {want} not installed at {root} (run scripts/lab-deps.sh)"
    if version != want:
        return f"{pkg} is version {version}, want {want}"
    if not binary.exists():
        return f"{binary} missing"
    if not os.stat(binary.resolve()).st_mode & 0o004:
        return f"{root} is not world-readable (chmod -R a+rX)"
    return None


def real_bin(version: str) -> Path:
    return real_codex_root(version) / "node_modules" / ".bin" / "codex"


class LabAccount:
    """A Unix user `name` with home `home`; created by `create()`, removed by `delete()`."""

    def __init__(self, name: str, home: Path, *, created: bool = False) -> None:
        self.name, self.home = name, home
        self.uid = self.gid = -1
        self.created = created  # only a user we created is ever deleted

    # --- lifecycle ---------------------------------------------------------------------------

    def create(self) -> None:
        run(["useradd", "-M", "-d", str(self.home), "-s", "/bin/bash", "-p", "*", self.name])
        self.created = True
        entry = pwd.getpwnam(self.name)
        if entry.pw_uid == 0:
            raise LabError(f"lab user {self.name} must not be root")
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.reset_home()

    def delete(self) -> None:
        if self.created:
            self.kill_processes()
            run(["userdel", self.name], check=False)
            self.created = False

    def reset_home(self) -> None:
        """No processes, a fresh home with Debian's skeleton dotfiles, nothing else."""
        self.kill_processes()
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(mode=0o750, parents=True)
        skel = Path("/etc/skel")
        if skel.is_dir():
            shutil.copytree(skel, self.home, dirs_exist_ok=True)
        self._chown_tree(self.home)

    # --- processes ---------------------------------------------------------------------------

    def pids(self, pattern: str | None = None) -> list[int]:
        return [int(line.split()[0]) for line in self.processes(pattern)]

    def processes(self, pattern: str | None = None) -> list[str]:
        """`pid cmdline` of this user's live processes (matching `pattern` as pgrep -f does)."""
        cmd = ["pgrep", "-u", self.name, "-a"] + (["-f", pattern] if pattern else [])
        out = run(cmd, check=False).stdout
        lines = [line for line in out.splitlines() if line.strip()]
        return [line for line in lines if alive(int(line.split()[0]))]

    def kill_processes(self) -> None:
        """End every process of the lab user (they were all started by the lab or its tests)."""
        for _ in range(5):
            pids = self.pids()
            if not pids:
                return
            kill_pids(pids, timeout=1)
        if self.pids():
            raise LabError(f"processes of {self.name} survive: {self.processes()}")

    # --- files -------------------------------------------------------------------------------

    def path(self, rel: str | Path) -> Path:
        return self.home / rel

    def read(self, rel: str | Path) -> str:
        return self.path(rel).read_text()

    def write(self, rel: str | Path, text: str, mode: int = 0o644) -> Path:
        """Write a file in the home, owned by the user (parents too)."""
        target = self.path(rel)
        self.mkdir(target.parent.relative_to(self.home))
        target.write_text(text)
        os.chown(target, self.uid, self.gid)
        target.chmod(mode)
        return target

    def mkdir(self, rel: str | Path, mode: int = 0o755) -> Path:
        target = self.path(rel)
        current = self.home
        for part in Path(rel).parts:
            current = current / part
            if not current.exists():
                current.mkdir(mode=mode)
                os.chown(current, self.uid, self.gid)
        return target

    def symlink(self, rel: str | Path, target: Path) -> None:
        link = self.path(rel)
        self.mkdir(link.parent.relative_to(self.home))
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
        os.lchown(link, self.uid, self.gid)

    def remove(self, rel: str | Path) -> None:
        target = self.path(rel)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.is_symlink() or target.exists():
            target.unlink()

    def _chown_tree(self, root: Path) -> None:
        os.chown(root, self.uid, self.gid)
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                os.lchown(Path(dirpath) / name, self.uid, self.gid)

    # --- PATH setup and codex ----------------------------------------------------------------

    def put_bin_on_path(self, where: str) -> None:
        """~/bin on the non-login PATH (`path`, via ~/.ssh/environment) or login shells only."""
        self.mkdir("bin")
        if where == "path":
            self.write(".ssh/environment", f"PATH={self.home}/bin:{SYSTEM_PATH}\n", 0o600)
            self.path(".ssh").chmod(0o700)
        elif where == "login-shell":
            self._profile_adds_bin()
        else:
            raise ValueError(f"where must be 'path' or 'login-shell', not {where!r}")

    def _profile_adds_bin(self) -> None:
        profile = self.path(".profile")
        text = profile.read_text() if profile.exists() else ""
        if PROFILE_MARK not in text:
            text += f'\n{PROFILE_MARK}\nexport PATH="$HOME/bin:$PATH"\n'
            self.write(".profile", text)

    def install_codex(self, kind: str = "fake", where: str = "path") -> Path:
        """Put `codex` into ~/bin: the fake (a copy, with fake_tokens), the pinned real one
        ("real") or the newest ("real-latest")."""
        self.put_bin_on_path(where)
        if kind == "fake":
            self.write(".local/share/fake-codex/codex", FAKE_CODEX_SRC.read_text(), 0o755)
            self.write(".local/share/fake-codex/fake_tokens.py", FAKE_TOKENS_SRC.read_text())
            self.symlink("bin/codex", self.path(".local/share/fake-codex/codex"))
        elif kind in REAL_CODEX_KINDS:
            problem = real_codex_problem(REAL_CODEX_KINDS[kind])
            if problem:
                raise LabError(problem)
            self.symlink("bin/codex", real_bin(REAL_CODEX_KINDS[kind]))
        else:
            raise ValueError(f"kind must be 'fake' or one of {sorted(REAL_CODEX_KINDS)}: {kind!r}")
        return self.path("bin/codex")

    def install_fake_codex_in(self, rel_dir: str) -> Path:
        """The fake codex in ~/rel_dir only (nvm-style trees); PATH is the caller's business."""
        self.write(f"{rel_dir}/codex", FAKE_CODEX_SRC.read_text(), 0o755)
        self.write(f"{rel_dir}/fake_tokens.py", FAKE_TOKENS_SRC.read_text())
        return self.path(f"{rel_dir}/codex")

    def set_shell(self, shell: str) -> None:
        """The user's login shell (what sshd runs commands with, and $SHELL)."""
        run(["usermod", "-s", shell, self.name])

    def remove_codex(self) -> None:
        self.remove("bin/codex")
        self.remove(".local/share/fake-codex")

    def fake_node(self, version: str) -> Path:
        """A `node` first on PATH that reports `version` (e.g. '14.21.3') and can do nothing."""
        self.put_bin_on_path("path")
        self._profile_adds_bin()
        script = (
            "#!/bin/sh\n"
            'case "$1" in\n'
            f"  --version|-v) echo v{version.lstrip('v')} ;;\n"
            '  *) echo "node: fake node cannot run $*" >&2; exit 1 ;;\n'
            "esac\n"
        )
        return self.write("bin/node", script, 0o755)

    def set_fake_knobs(self, **knobs: Any) -> None:
        """Behaviour knobs for the fake codex (see DEFAULT_KNOBS in fake_codex.py)."""
        self.write(".fake-codex.json", json.dumps(knobs))
