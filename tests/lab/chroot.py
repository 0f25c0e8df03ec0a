"""A server whose users land in a chroot (sshd's ChrootDirectory) with busybox and codex's static
musl binary, and no /proc: the kind of jail a hosting provider or an appliance gives (issue 20).

    jail = BusyboxChroot().build()
    lab = SshLab(sshd_options=jail.sshd_options()).start()
    jail.add_user(lab.account)
    jail.install_codex("0.171.0")

sshd insists that the chroot and every directory above it be root's and writable by no one else,
so it lives under /var/lib (not the lab's sticky /var/tmp). Inside: busybox's applets where
`busybox --list-full` puts them, the user's home at the path passwd names, /tmp, /dev/null (the
sshd_config(5) minimum for a session), and nothing mounted: no /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
import struct
from pathlib import Path

from .account import LabAccount, real_codex_problem, real_codex_root
from .proc import alive, run

BUSYBOX = Path("/usr/bin/busybox")
CHROOT_BASE = Path(os.environ.get("CODEX_WIZARD_LAB_CHROOT_BASE", "/var/lib/codex-wizard-lab"))
MUSL_CODEX = "node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"
_PT_INTERP = 3


def musl_codex(version: str) -> Path:
    """codex's static musl binary inside the npm package of `version` in the lab's cache."""
    return real_codex_root(version) / MUSL_CODEX


def _is_static(binary: Path) -> bool:
    """An ELF64 executable without a program interpreter (it runs in an empty chroot)."""
    with binary.open("rb") as fh:
        head = fh.read(64)
        if head[:5] != b"\x7fELF\x02":
            return False
        (phoff,) = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        for index in range(phnum):
            fh.seek(phoff + index * phentsize)
            if struct.unpack("<I", fh.read(4))[0] == _PT_INTERP:
                return False
    return True


def busybox_problem() -> str | None:
    """Why no busybox chroot can be built here (no static busybox), or None."""
    if not BUSYBOX.exists():
        return f"no {BUSYBOX} (run scripts/lab-deps.sh: busybox-static)"
    if not _is_static(BUSYBOX):
        return f"{BUSYBOX} is not static (install busybox-static: scripts/lab-deps.sh)"
    return None


def chroot_unavailable_reason(version: str) -> str | None:
    """Why a busybox chroot with codex `version` cannot be built here, or None."""
    problem = busybox_problem() or real_codex_problem(version)
    if problem:
        return problem
    if not musl_codex(version).exists():
        return f"no static codex at {musl_codex(version)}"
    return None


class BusyboxChroot:
    """A chroot at `root` (under CHROOT_BASE), built by `build()`, removed by `remove()`."""

    def __init__(self, base: Path = CHROOT_BASE) -> None:
        self.base = base
        self.root = base / f"chroot-{secrets.token_hex(3)}"

    def sshd_options(self) -> tuple[str, ...]:
        """sshd_config lines putting the lab's user (cwlab…) into this chroot."""
        return ("Match User cwlab*", f"  ChrootDirectory {self.root}")

    def build(self) -> BusyboxChroot:
        cleanup_stale_chroots(self.base)
        self.base.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.base.chmod(0o755)
        self.root.mkdir(mode=0o755)
        (self.base / f"{self.root.name}.json").write_text(json.dumps({"owner_pid": os.getpid()}))
        for applet in run([str(BUSYBOX), "--list-full"]).stdout.split():
            self._dir(Path(applet).parent)
            (self.root / applet).symlink_to("/bin/busybox")
        self._dir(Path("bin"))
        (self.root / "bin" / "busybox").unlink(missing_ok=True)
        shutil.copy(BUSYBOX, self.root / "bin" / "busybox")
        (self.root / "tmp").mkdir(mode=0o1777)
        (self.root / "tmp").chmod(0o1777)
        self._dir(Path("dev"))
        null = self.root / "dev" / "null"
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        null.chmod(0o666)
        self._dir(Path("etc"))
        (self.root / "etc" / "passwd").write_text("root:x:0:0:root:/:/bin/sh\n")
        (self.root / "etc" / "group").write_text("root:x:0:\n")
        return self

    def _dir(self, rel: Path) -> Path:
        """root/rel and its parents, root's, 0755."""
        target = self.root
        for part in rel.parts:
            target = target / part
            if not target.is_dir():
                target.mkdir(mode=0o755)
        return target

    def install_codex(self, version: str) -> Path:
        """codex `version`'s static binary as /usr/local/bin/codex (a hard link when the cache
        is on the same file system: the binary is 300 MB)."""
        target = self._dir(Path("usr/local/bin")) / "codex"
        target.unlink(missing_ok=True)
        try:
            os.link(musl_codex(version), target)
        except OSError:
            shutil.copy(musl_codex(version), target)
        return target

    def add_user(self, account: LabAccount) -> Path:
        """The account's passwd entry (shell /bin/sh: busybox ash) and an empty home inside;
        the account's login shell becomes /bin/sh outside too (sshd runs it in the chroot)."""
        account.set_shell("/bin/sh")
        with (self.root / "etc" / "passwd").open("a") as fh:
            fh.write(f"{account.name}:x:{account.uid}:{account.gid}::{account.home}:/bin/sh\n")
        with (self.root / "etc" / "group").open("a") as fh:
            fh.write(f"{account.name}:x:{account.gid}:\n")
        return self.reset_home(account)

    def home(self, account: LabAccount) -> Path:
        return self.root / account.home.relative_to("/")

    def reset_home(self, account: LabAccount) -> Path:
        """The account's home inside the chroot, empty, the account's."""
        home = self.home(account)
        shutil.rmtree(home, ignore_errors=True)
        self._dir(home.parent.relative_to(self.root))
        home.mkdir(mode=0o750)
        os.chown(home, account.uid, account.gid)
        return home

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        (self.base / f"{self.root.name}.json").unlink(missing_ok=True)


def cleanup_stale_chroots(base: Path) -> None:
    """Remove chroots left by dead test sessions (their owner pid is gone)."""
    for state in base.glob("chroot-*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            if not alive(int(json.loads(state.read_text())["owner_pid"])):
                shutil.rmtree(base / state.stem, ignore_errors=True)
                state.unlink()
