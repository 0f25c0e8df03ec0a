"""SshLab: a real OpenSSH sshd in its own network namespace, reachable on a loopback port.

The laptop side (our tunnel) and the server side (`codex login`) both want 127.0.0.1:1455 on one
machine, so sshd runs in a network namespace with only `lo`, and a socat pair bridges a root-ns
loopback port to the namespace's 127.0.0.1:22 through a Unix socket. No traffic leaves loopback.

    with SshLab() as lab:
        lab.install_codex("fake")
        lab.ssh("codex --version")
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .account import SYSTEM_PATH, LabAccount
from .proc import LabError, alive, children, kill_pids, run, stop_popen, wait_until

HERE = Path(__file__).resolve().parent
HELPER_SCRIPTS = ("nshttp.py", "port_holder.py")
SSHD = "/usr/sbin/sshd"
AUTH_STAND_IN_PORT = 8443
"""In every lab namespace, a listener standing in for auth.openai.com:443 (the lab is offline):
tests/conftest.py points CODEX_WIZARD_AUTH_ADDRESS at it, so the preflight's reach test passes
where the real server would reach OpenAI."""
REQUIRED_TOOLS = ("ip", "socat", "ssh", "ssh-keygen", "useradd", "userdel", "pgrep", "ss")


class LabUnavailable(LabError):
    """This machine cannot host the lab (not root, a tool missing, no network namespaces)."""


def lab_unavailable_reason() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces, a throwaway user, sshd)"
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if not os.access(SSHD, os.X_OK):
        missing.append(SSHD)
    if missing:
        return f"lab tests need {', '.join(missing)} (run scripts/lab-deps.sh)"
    return None


@dataclass
class HttpReply:
    """An HTTP answer seen from inside the namespace (`error` set when nothing answered)."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    error: str | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _popen(cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    kwargs.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(list(cmd), text=True, start_new_session=True, **kwargs)


class SshLab:
    """sshd in netns `netns`, user `user` (home `home`), client config `ssh_config` (Host lab)."""

    alias = "lab"

    def __init__(
        self,
        *,
        allow_tcp_forwarding: bool = True,
        base_dir: Path | None = None,
        sshd_options: Sequence[str] = (),
    ) -> None:
        self.allow_tcp_forwarding = allow_tcp_forwarding
        self.sshd_options = tuple(sshd_options)  # extra sshd_config lines (DisableForwarding…)
        self.base_dir = base_dir or Path(os.environ.get("CODEX_WIZARD_LAB_BASE", "/var/tmp"))
        tag = secrets.token_hex(3)
        self.netns = f"cwlab-{tag}"
        self.user = f"cwlab{tag}"
        self.dir = Path()
        self.port = 0
        self.host_key_fingerprint = ""
        self._sshd: subprocess.Popen[str] | None = None
        self._ns_socat: subprocess.Popen[str] | None = None
        self._bridge: subprocess.Popen[str] | None = None
        self._tracked: list[subprocess.Popen[str]] = []
        self._aliases = 0
        self._started = False
        self._account = LabAccount(self.user, Path("/nonexistent"))  # real home set in _build

    # --- paths -------------------------------------------------------------------------------

    @property
    def home(self) -> Path:
        return self.dir / "home" / self.user

    @property
    def ssh_config(self) -> Path:
        return self.dir / "ssh_config"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    @property
    def client_key(self) -> Path:
        return self.dir / "client_ed25519"

    @property
    def sshd_log(self) -> Path:
        return self.dir / "sshd.log"

    @property
    def account(self) -> LabAccount:
        return self._account

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> SshLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> SshLab:
        reason = lab_unavailable_reason()
        if reason:
            raise LabUnavailable(reason)
        cleanup_stale_labs(self.base_dir)
        self._make_dir()
        atexit.register(self.stop)
        self._started = True
        try:
            self._build()
        except BaseException:
            self.stop()
            raise
        return self

    def _build(self) -> None:
        self._make_netns()
        self._make_keys()
        self._account = LabAccount(self.user, self.home)
        self._account.create()
        self._write_sshd_config()
        self.start_sshd()
        self._start_auth_stand_in()
        self._start_bridge()
        self._write_known_hosts()
        self.write_ssh_config()
        self._save_state()

    def stop(self) -> None:
        """Kill every lab process, delete the namespace, the user and the temp dir. Idempotent."""
        if not self._started:
            return
        self._started = False
        atexit.unregister(self.stop)
        errors: list[str] = []
        for step in (self._stop_tracked, self._delete_account, self._destroy_ns, self._stop_bridge):
            try:
                step()
            except Exception as err:  # keep tearing down; report at the end
                errors.append(f"{step.__name__}: {err}")
        shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise LabError("lab teardown incomplete: " + "; ".join(errors))

    def _stop_tracked(self) -> None:
        for proc in self._tracked:
            stop_popen(proc)
        self._tracked.clear()

    def _delete_account(self) -> None:
        self._account.delete()

    def _destroy_ns(self) -> None:
        _destroy_netns(self.netns)

    def _stop_bridge(self) -> None:
        if self._bridge is not None:
            stop_popen(self._bridge)

    def reset(self) -> None:
        """Between tests: no user processes, fresh home, plain ssh_config, sshd running."""
        self._stop_tracked()
        if not self.sshd_running():
            self.start_sshd()
        self._account.reset_home()
        self._aliases = 0
        self.write_ssh_config()

    def _make_dir(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.netns}-", dir=self.base_dir))
        self.dir.chmod(0o711)  # the lab user must reach its home and the helper scripts
        (self.dir / "home").mkdir(mode=0o711)
        (self.dir / "bin").mkdir(mode=0o755)
        for name in HELPER_SCRIPTS:
            shutil.copy(HERE / name, self.dir / "bin" / name)
            (self.dir / "bin" / name).chmod(0o644)

    def _save_state(self) -> None:
        state = {"netns": self.netns, "user": self.user, "owner_pid": os.getpid()}
        if self._bridge is not None:
            state["bridge_pid"] = self._bridge.pid
        (self.dir / "lab.json").write_text(json.dumps(state))

    def _make_netns(self) -> None:
        proc = run(["ip", "netns", "add", self.netns], check=False)
        if proc.returncode != 0:
            raise LabUnavailable(f"ip netns add failed: {proc.stderr.strip()}")
        run(["ip", "-n", self.netns, "link", "set", "lo", "up"])

    def _make_keys(self) -> None:
        host_key = self.dir / "ssh_host_ed25519_key"
        for path, comment in ((host_key, "lab-host"), (self.client_key, "lab-client")):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
        out = run(["ssh-keygen", "-l", "-E", "sha256", "-f", f"{host_key}.pub"]).stdout
        self.host_key_fingerprint = out.split()[1]
        authorized = self.dir / "authorized_keys"
        shutil.copy(f"{self.client_key}.pub", authorized)
        authorized.chmod(0o644)

    # --- sshd --------------------------------------------------------------------------------

    def _write_sshd_config(self) -> None:
        forwarding = "yes" if self.allow_tcp_forwarding else "no"
        lines = [
            "ListenAddress 127.0.0.1:22",
            f"HostKey {self.dir}/ssh_host_ed25519_key",
            f"PidFile {self.dir}/sshd.pid",
            f"AuthorizedKeysFile {self.dir}/authorized_keys",
            f"AllowUsers {self.user}",
            "StrictModes no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no",
            "UsePAM no",
            "Subsystem sftp internal-sftp",
            "PermitUserEnvironment yes",
            f"AllowTcpForwarding {forwarding}",
            "X11Forwarding no",
            "PrintMotd no",
            "PrintLastLog no",
            "MaxStartups 200:30:400",
            "MaxSessions 64",
            "LogLevel VERBOSE",
            *self.sshd_options,
        ]
        (self.dir / "sshd_config").write_text("\n".join(lines) + "\n")

    def start_sshd(self) -> None:
        """Start (or restart after `stop_sshd`) sshd and the in-namespace socat."""
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        cfg = str(self.dir / "sshd_config")
        run(["ip", "netns", "exec", self.netns, SSHD, "-t", "-f", cfg])
        cmd = [SSHD, "-D", "-e", "-f", cfg, "-E", str(self.sshd_log)]
        self._sshd = _popen(["ip", "netns", "exec", self.netns, *cmd])
        wait_until(lambda: self._ns_listening(22), timeout=10, what="sshd listening")
        sock = self.dir / "ssh.sock"
        listen = f"UNIX-LISTEN:{sock},fork,unlink-early,mode=600,backlog=128"
        socat = ["socat", listen, "TCP:127.0.0.1:22"]
        self._ns_socat = _popen(["ip", "netns", "exec", self.netns, *socat])
        wait_until(sock.exists, timeout=10, what="socat unix socket")

    def _start_auth_stand_in(self) -> None:
        """A TCP listener in the namespace where the preflight's reach test is pointed."""
        script = str(self.dir / "bin" / "port_holder.py")
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        cmd = [python, script, str(AUTH_STAND_IN_PORT), "http"]
        _popen(["ip", "netns", "exec", self.netns, *cmd])  # ends with the namespace
        wait_until(lambda: self._ns_listening(AUTH_STAND_IN_PORT), timeout=10, what="stand-in")

    def sshd_pid(self) -> int:
        """The listening sshd's pid (its mount namespace is the one sessions see)."""
        return int((self.dir / "sshd.pid").read_text().split()[0])

    def sshd_running(self) -> bool:
        return self._sshd is not None and self._sshd.poll() is None

    def stop_sshd(self) -> None:
        """The server dies: every sshd (listener and sessions) and the in-namespace socat."""
        pids = [p for p in netns_pids(self.netns) if _comm(p) in ("sshd", "socat")]
        kill_pids(pids, timeout=0)
        for proc in (self._sshd, self._ns_socat):
            if proc is not None:
                proc.wait(5)

    def drop_connections(self) -> None:
        """Cut every established connection (both socat sides) but keep sshd listening."""
        for proc in (self._bridge, self._ns_socat):
            if proc is not None:
                kill_pids(children(proc.pid), timeout=0)

    def _ns_listening(self, port: int) -> bool:
        out = self.ns_run(["ss", "-Hltn", f"sport = :{port}"]).stdout
        return bool(out.strip())

    # --- bridge and client side --------------------------------------------------------------

    def _start_bridge(self) -> None:
        for _ in range(20):
            port = _free_port()
            # socat's listen backlog is 5: 20 SYNs at once would wait out a 1 s retransmit,
            # which no real sshd (backlog 128) makes a parallel fleet check pay
            listen = f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,backlog=128"
            proc = _popen(["socat", listen, f"UNIX-CONNECT:{self.dir}/ssh.sock"])
            with contextlib.suppress(LabError):
                wait_until(lambda p=port, s=proc: _root_listening(p) or s.poll() is not None)
            if proc.poll() is None and _root_listening(port):
                self._bridge, self.port = proc, port
                return
            stop_popen(proc)
        raise LabError("could not start the loopback bridge")

    def _write_known_hosts(self) -> None:
        key = (self.dir / "ssh_host_ed25519_key.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {key[0]} {key[1]}\n")

    def _host_block(self, alias: str) -> str:
        return (
            f"Host {alias}\n"
            "  HostName 127.0.0.1\n"
            f"  Port {self.port}\n"
            f"  User {self.user}\n"
            f"  IdentityFile {self.client_key}\n"
            "  IdentitiesOnly yes\n"
            "  IdentityAgent none\n"
            f"  UserKnownHostsFile {self.known_hosts}\n"
            "  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking ask\n"  # ssh's default; BatchMode makes it refuse
            "  UpdateHostKeys no\n"
        )

    def write_ssh_config(self) -> None:
        self.ssh_config.write_text(self._host_block(self.alias))

    def add_aliases(self, n: int) -> list[str]:
        """Append `Host labK` blocks (same sshd) for fleet tests; returns the new aliases."""
        names = [f"lab{k}" for k in range(self._aliases + 1, self._aliases + n + 1)]
        with self.ssh_config.open("a") as fh:
            for name in names:
                fh.write("\n" + self._host_block(name))
        self._aliases += n
        return names

    # --- running things ----------------------------------------------------------------------

    def ssh_argv(
        self,
        command: str,
        *,
        alias: str | None = None,
        tty: bool = False,
        options: Sequence[str] = (),
    ) -> list[str]:
        """OpenSSH client argv for `command` on the lab (BatchMode, our config only)."""
        argv = ["ssh", "-F", str(self.ssh_config), "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
        argv += ["-tt"] if tty else ["-T"]
        return [*argv, *options, alias or self.alias, *([command] if command else [])]

    def ssh(
        self,
        command: str,
        *,
        alias: str | None = None,
        tty: bool = False,
        timeout: float = 60,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `command` through OpenSSH `ssh -F ssh_config lab` and wait for it."""
        return run(
            self.ssh_argv(command, alias=alias, tty=tty), check=False, timeout=timeout, input=input
        )

    def ssh_popen(
        self,
        command: str,
        *,
        alias: str | None = None,
        tty: bool = False,
        options: Sequence[str] = (),
    ) -> subprocess.Popen[str]:
        """Start `ssh lab command` (pipes on stdin/stdout/stderr); ended at reset/stop."""
        argv = self.ssh_argv(command, alias=alias, tty=tty, options=options)
        pipes = {k: subprocess.PIPE for k in ("stdin", "stdout", "stderr")}
        return self.track(_popen(argv, **pipes))

    def track(self, proc: subprocess.Popen[str]) -> subprocess.Popen[str]:
        self._tracked.append(proc)
        return proc

    def ns_run(
        self, cmd: Sequence[str], *, timeout: float = 60, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `cmd` as root inside the namespace."""
        return run(
            ["ip", "netns", "exec", self.netns, *cmd], check=False, timeout=timeout, input=input
        )

    def user_argv(self, cmd: Sequence[str], env: dict[str, str] | None = None) -> list[str]:
        """argv running `cmd` as the lab user inside the namespace, with a clean environment."""
        base = {
            "HOME": str(self.home),
            "USER": self.user,
            "LOGNAME": self.user,
            "SHELL": "/bin/bash",
            "PATH": f"{self.home}/bin:{SYSTEM_PATH}",
        }
        pairs = [f"{k}={v}" for k, v in {**base, **(env or {})}.items()]
        user = ["runuser", "-u", self.user, "--", "env", "-i", *pairs, *cmd]
        return ["ip", "netns", "exec", self.netns, *user]

    def user_run(
        self, cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return run(self.user_argv(cmd, env), check=False, timeout=timeout)

    def user_popen(
        self, cmd: Sequence[str], *, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        pipes = {k: subprocess.PIPE for k in ("stdin", "stdout", "stderr")}
        return self.track(_popen(self.user_argv(cmd, env), **pipes))

    def http(self, port: int, path: str, *, method: str = "GET", timeout: float = 15) -> HttpReply:
        """One HTTP request to 127.0.0.1:port *inside* the namespace (no redirects followed)."""
        script = str(self.dir / "bin" / "nshttp.py")
        argv = [sys.executable, script, method, str(port), path, str(timeout)]
        out = self.ns_run(argv, timeout=timeout + 10).stdout
        doc = json.loads(out)
        return HttpReply(
            doc.get("status"), doc.get("headers", {}), doc.get("body", ""), doc.get("error")
        )

    # --- ports and processes -----------------------------------------------------------------

    @contextlib.contextmanager
    def hold_port(self, port: int, *, mode: str = "http", as_user: bool = False) -> Iterator[int]:
        """Hold 127.0.0.1:port in the namespace with a non-codex process; yields its pid."""
        script = str(self.dir / "bin" / "port_holder.py")
        cmd = ["/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable]
        cmd += [script, str(port), mode]
        argv = self.user_argv(cmd) if as_user else ["ip", "netns", "exec", self.netns, *cmd]
        proc = self.track(_popen(argv))
        try:
            wait_until(lambda: self._ns_listening(port) or proc.poll() is not None, timeout=10)
            if proc.poll() is not None:
                raise LabError(f"could not hold port {port} (in use?)")
            yield proc.pid
        finally:
            stop_popen(proc)

    def port_owner(self, port: int) -> list[tuple[str, int]]:
        """(process name, pid) of whoever listens on 127.0.0.1:port in the namespace."""
        out = self.ns_run(["ss", "-Hltnp", f"sport = :{port}"]).stdout
        return [(name, int(pid)) for name, pid in re.findall(r'\("([^"]+)",pid=(\d+)', out)]

    def server_processes(self, pattern: str | None = None) -> list[str]:
        """`pid cmdline` of the lab user's processes matching `pattern` (pgrep -f)."""
        return self._account.processes(pattern)

    def server_pids(self, pattern: str | None = None) -> list[int]:
        return self._account.pids(pattern)

    def kill_server_processes(self) -> None:
        self._account.kill_processes()

    # --- the server user's files and codex -----------------------------------------------------

    def read_server_file(self, rel: str) -> str:
        return self._account.read(rel)

    def write_server_file(self, rel: str, text: str, mode: int = 0o644) -> Path:
        return self._account.write(rel, text, mode)

    def server_path(self, rel: str) -> Path:
        return self._account.path(rel)

    def install_codex(self, kind: str = "fake", where: str = "path") -> Path:
        """`codex` in ~/bin; `where`: 'path' (non-login PATH) or 'login-shell' (.profile only)."""
        return self._account.install_codex(kind, where)

    def install_fake_codex_in(self, rel_dir: str) -> Path:
        return self._account.install_fake_codex_in(rel_dir)

    def set_shell(self, shell: str) -> None:
        self._account.set_shell(shell)

    def remove_codex(self) -> None:
        self._account.remove_codex()

    def fake_node(self, version: str) -> Path:
        return self._account.fake_node(version)

    def set_fake_knobs(self, **knobs: Any) -> None:
        self._account.set_fake_knobs(**knobs)


# --- module helpers ------------------------------------------------------------------------------


def _root_listening(port: int) -> bool:
    out = run(["ss", "-Hltn", f"sport = :{port}"], check=False).stdout
    return "127.0.0.1" in out


def netns_pids(netns: str) -> list[int]:
    """Every process inside network namespace `netns`."""
    out = run(["ip", "netns", "pids", netns], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _destroy_netns(netns: str) -> None:
    for _ in range(5):
        pids = netns_pids(netns)
        if not pids:
            break
        kill_pids(pids, timeout=2)
    run(["ip", "netns", "del", netns], check=False)


def cleanup_stale_labs(base: Path) -> None:
    """Tear down labs left by dead test sessions (their owner pid is gone)."""
    for state_file in base.glob("cwlab-*/lab.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            state = json.loads(state_file.read_text())
            if not alive(int(state["owner_pid"])):
                _cleanup_one(state_file.parent, state)


def _cleanup_one(lab_dir: Path, state: dict[str, Any]) -> None:
    user = str(state["user"])
    account = LabAccount(user, lab_dir / "home" / user, created=True)
    with contextlib.suppress(LabError):
        account.delete()
    _destroy_netns(str(state["netns"]))
    bridge = int(state.get("bridge_pid", 0))
    if bridge and alive(bridge) and str(lab_dir) in _cmdline(bridge):
        os.kill(bridge, signal.SIGKILL)
    shutil.rmtree(lab_dir, ignore_errors=True)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""
