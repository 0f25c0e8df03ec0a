"""Doctor predicts the login: for each server flavour, `doctor` and then the login with a
simulated browser, against real OpenSSH sshd in the lab (issue 20).

Where doctor says "Next: codex-wizard login", the login completes; where it says FAIL, the login
stops before its URL with the same cause. For forwarding, `ssh -W` on the same config against the
same sshd must agree with the verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from codex_wizard.core.doctor import DoctorReport, Verdict, run_doctor
from codex_wizard.core.flow import FailureKind, FlowError, LoginFlow
from codex_wizard.core.progress import LoginMode
from codex_wizard.core.server.login import url_state
from codex_wizard.core.services import Services
from tests.conftest import skip_or_fail
from tests.lab.account import REAL_CODEX_KINDS, LabAccount, real_codex_problem
from tests.lab.chroot import BusyboxChroot, busybox_problem, chroot_unavailable_reason
from tests.lab.login_run import LoginRun
from tests.lab.proc import run, wait_until
from tests.lab.sshlab import SshLab
from tests.test_e2e_core import LAB, ephemeral_ports, http_get_full, settings_for

pytestmark = pytest.mark.lab


class Answers:
    """The user at the keyboard: trusts nothing new, and answers the other-login question."""

    def __init__(self, go_ahead: bool = False) -> None:
        self.go_ahead = go_ahead
        self.asked: list[str] = []

    async def confirm_host_key(self, key) -> bool:
        return False

    async def passphrase(self, key_path: str) -> None:
        return None

    async def credentials(self, label: str, *, retry: bool) -> None:
        return None

    async def stop_pending_login(self, port: int, owner) -> bool:
        return False

    async def cancel_other_users_login(self, user: str, port: int) -> bool:
        self.asked.append(user)
        return self.go_ahead

    async def pasted_address(self, progress, problem) -> None:
        return None


@dataclass
class Pair:
    """What doctor said, and how the login then went."""

    report: DoctorReport
    error: FlowError | None
    url_shown: bool

    def __repr__(self) -> str:  # what a failed assertion needs: the doubtful checks
        doubts = [c for c in self.report.checks if c.verdict in (Verdict.WARN, Verdict.FAIL)]
        return f"Pair({self.report.recommendation()!r}, {doubts}, {self.error!r})"

    def check(self, name: str):
        return next(check for check in self.report.checks if check.name == name)

    @property
    def next_is_login(self) -> bool:
        """doctor's "Next:" is the login, the laptop's port 1455 aside: these logins tunnel
        from an ephemeral port (other tests on this machine may hold 1455)."""
        server_side = [check for check in self.report.checks if check.name != "local port"]
        return (
            DoctorReport(self.report.host, server_side).recommendation() == "codex-wizard login lab"
        )


async def doctor_then_login(
    lab: SshLab, answers: Answers | None = None, *, meanwhile: Callable[[], None] = lambda: None
) -> Pair:
    """doctor, then a tunnel login whose browser signs in as soon as the URL is out (after
    `meanwhile`: what changes on the server between the URL and the sign-in)."""
    report = await run_doctor(LAB, settings_for(lab))
    ports = ephemeral_ports()
    shown = asyncio.Event()
    flow = LoginFlow(
        LAB,
        settings_for(lab),
        Services(),
        answers or Answers(),
        local_port_for=ports,
        on_change=lambda flow: shown.set() if flow.progress.url else None,
    )
    await flow.connect()
    login = asyncio.create_task(flow.run(LoginMode.TUNNEL, timeout=60))
    try:
        url = asyncio.create_task(shown.wait())
        await asyncio.wait({login, url}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        url.cancel()
        url_shown = shown.is_set()
        if url_shown and not login.done():
            meanwhile()
            progress = flow.progress
            path = f"/auth/callback?code=c0de&state={url_state(progress.url)}"
            await asyncio.to_thread(sign_in, ports(progress.port), path)
        try:
            await login
            error = None
        except FlowError as exc:
            error = exc
    finally:
        await flow.close()
    return Pair(report, error, url_shown)


def sign_in(local_port: int, callback: str) -> None:
    """The browser: the callback, then codex's /success page (which may close as it ends)."""
    status, location, _ = http_get_full(local_port, callback)
    if status != 302:
        return  # codex's error page: the login's outcome says why
    with contextlib.suppress(OSError, http.client.HTTPException):
        http_get_full(local_port, location.split("1455", 1)[-1])


def openssh_forward(lab: SshLab, port: int) -> str:
    """What `ssh -W 127.0.0.1:PORT` says against the same sshd with the same config."""
    argv = ["ssh", "-F", str(lab.ssh_config), "-o", "BatchMode=yes"]
    argv += ["-W", f"127.0.0.1:{port}", lab.alias]
    done = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30
    )
    return done.stderr


def assert_stopped_before_url(pair: Pair, kind: FailureKind, *words: str) -> None:
    assert pair.error is not None and pair.error.kind is kind, pair.error
    assert not pair.url_shown
    for word in words:
        assert word in str(pair.error), str(pair.error)


# ------------------------------------------------------------------------------ lab flavours


@pytest.fixture(scope="module")
def lab_flavours(lab_prerequisites) -> Iterator[dict[str, SshLab]]:
    """sshd flavours of their own, started on first use."""
    labs: dict[str, SshLab] = {}
    yield labs
    for lab in labs.values():
        lab.stop()


def flavour(labs: dict[str, SshLab], *options: str) -> SshLab:
    key = "\n".join(options)
    if key not in labs:
        labs[key] = SshLab(sshd_options=options).start()
    lab = labs[key]
    lab.reset()
    return lab


# ------------------------------------------------------------------------------ the pairs


async def test_plain_server_doctor_says_login_and_the_login_completes(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    pair = await doctor_then_login(lab)
    assert pair.report.ok and pair.next_is_login, pair.report.checks
    assert pair.error is None and pair.url_shown


async def test_disable_forwarding_is_named_before_the_url(lab_flavours) -> None:
    lab = flavour(lab_flavours, "DisableForwarding yes")
    lab.install_codex("fake", "path")
    pair = await doctor_then_login(lab)
    forwarding = pair.check("forwarding")
    assert forwarding.verdict is Verdict.FAIL and "DisableForwarding yes" in forwarding.found
    assert "push-auth lab --fresh" in pair.report.recommendation()
    assert_stopped_before_url(pair, FailureKind.FORWARDING, "DisableForwarding", "--fresh")
    assert "administratively prohibited" in openssh_forward(lab, 1455)


async def test_permit_open_1455_while_codex_lands_on_1457(lab_flavours) -> None:
    lab = flavour(lab_flavours, "PermitOpen 127.0.0.1:1455")
    lab.install_codex("fake", "path")
    with lab.hold_port(1455):  # not a codex login: codex will fall back to 1457
        pair = await doctor_then_login(lab)
        openssh = {port: openssh_forward(lab, port) for port in (1455, 1457)}
    forwarding = pair.check("forwarding")
    assert forwarding.verdict is Verdict.FAIL and "PermitOpen" in forwarding.found
    assert ":1457" in forwarding.found
    assert_stopped_before_url(pair, FailureKind.FORWARDING, "PermitOpen")
    assert "administratively prohibited" in openssh[1457]
    assert "administratively prohibited" not in openssh[1455]


async def test_read_only_codex_home_stops_before_the_url(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    lab.server_path(".codex").mkdir(mode=0o555)
    run(["chown", lab.user, str(lab.server_path(".codex"))])
    pair = await doctor_then_login(lab)
    home = pair.check("login file")
    assert home.verdict is Verdict.FAIL and "not writable" in home.found
    assert not pair.next_is_login
    assert_stopped_before_url(pair, FailureKind.SERVER, "not writable")


async def test_codex_home_made_read_only_after_the_url_shows_codexs_words_at_once(
    lab: SshLab,
) -> None:
    lab.install_codex("fake", "path")
    home = lab.server_path(".codex")
    home.mkdir()
    run(["chown", lab.user, str(home)])
    pair = await doctor_then_login(lab, meanwhile=lambda: home.chmod(0o555))
    assert pair.next_is_login and pair.url_shown, pair.report.checks
    assert pair.error is not None and pair.error.kind is FailureKind.LOGIN
    assert "Persist error: Permission denied" in str(pair.error)  # codex's words, not a timeout


@pytest.fixture
def full_codex_home(lab: SshLab) -> Iterator[Path]:
    """~/.codex on a 64 KiB tmpfs, filled, as the lab's sshd (and its sessions) see it."""
    home = lab.server_path(".codex")
    home.mkdir()
    run(["chown", lab.user, str(home)])
    in_sshd = ["nsenter", "-t", str(lab.sshd_pid()), "-m"]
    run([*in_sshd, "mount", "-t", "tmpfs", "-o", f"size=64k,uid={lab.user}", "tmpfs", str(home)])
    try:
        run([*in_sshd, "sh", "-c", f"cat /dev/zero > {home}/fill"], check=False)
        yield home
    finally:
        run([*in_sshd, "umount", str(home)], check=False)


async def test_full_disk_stops_before_the_url(lab: SshLab, full_codex_home: Path) -> None:
    lab.install_codex("fake", "path")
    pair = await doctor_then_login(lab)
    home = pair.check("login file")
    assert home.verdict is Verdict.FAIL and "full" in home.found
    assert_stopped_before_url(pair, FailureKind.SERVER, "full")


async def test_dead_proxy_recommends_push_auth_fresh(lab: SshLab) -> None:
    lab.install_codex("fake", "path")
    env = lab.server_path(".ssh/environment")
    env.write_text(env.read_text() + "HTTPS_PROXY=http://127.0.0.1:9\n")
    pair = await doctor_then_login(lab)
    reach = pair.check("auth server")
    assert reach.verdict is Verdict.FAIL and "proxy 127.0.0.1:9" in reach.found
    assert "push-auth lab --fresh" in pair.report.recommendation()
    assert_stopped_before_url(pair, FailureKind.SERVER, "127.0.0.1:9", "push-auth lab --fresh")


CORP_CA = "/etc/ssl/certs/corp-proxy-ca.pem"
"""A CA file that sshd_config's SetEnv or a user's rc file names, and that is not there."""
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"


def real_login_dies_of(lab: SshLab, kind: str) -> str:
    """Real codex `kind`'s `codex login` through `ssh lab`, signed in with a valid state: its
    stderr once it has exited (the lab is offline: it never gets a token)."""
    problem = real_codex_problem(REAL_CODEX_KINDS[kind])
    if problem:
        skip_or_fail(problem)
    lab.install_codex(kind, "path")
    run = LoginRun(lab.ssh_popen("codex login"))
    url = run.wait_for_url()
    lab.http(url.port, f"/auth/callback?code=c0de&state={url.state}")
    run.wait(timeout=40)
    return run.stderr


@pytest.mark.parametrize("kind", sorted(REAL_CODEX_KINDS))
async def test_missing_ssl_cert_file_from_sshd_setenv_is_named_before_the_url(
    lab_flavours, kind: str
) -> None:
    lab = flavour(lab_flavours, f"SetEnv SSL_CERT_FILE={CORP_CA}")
    assert not Path(CORP_CA).exists()
    said = real_login_dies_of(lab, kind)  # codex starts, shows its URL, dies after the sign-in
    assert f"Failed to read CA certificate file {CORP_CA} selected by SSL_CERT_FILE" in said
    lab.reset()
    lab.install_codex("fake", "path")
    pair = await doctor_then_login(lab)
    reach = pair.check("auth server")
    assert reach.verdict is Verdict.FAIL, pair
    assert f"SSL_CERT_FILE names {CORP_CA}, which does not exist" in reach.found
    assert "push-auth lab --fresh" in pair.report.recommendation()
    assert_stopped_before_url(pair, FailureKind.SERVER, "SSL_CERT_FILE", "push-auth lab --fresh")


def name_codex_ca_in_bashrc(lab: SshLab, path: str) -> None:
    """`export CODEX_CA_CERTIFICATE=...` at the top of ~/.bashrc (above Debian's guard: the
    bash sshd starts for a command reads it too)."""
    bashrc = lab.server_path(".bashrc")
    bashrc.write_text(f"export CODEX_CA_CERTIFICATE={path}\n" + bashrc.read_text())


async def test_missing_codex_ca_certificate_from_bashrc_is_named_before_the_url(
    lab: SshLab,
) -> None:
    lab.install_codex("fake", "path")
    name_codex_ca_in_bashrc(lab, "$HOME/corp-ca.pem")
    pair = await doctor_then_login(lab)
    reach = pair.check("auth server")
    home = str(lab.home)
    assert reach.verdict is Verdict.FAIL, pair
    assert f"CODEX_CA_CERTIFICATE names {home}/corp-ca.pem, which does not exist" in reach.found
    assert "push-auth lab --fresh" in pair.report.recommendation()
    assert_stopped_before_url(pair, FailureKind.SERVER, "CODEX_CA_CERTIFICATE", "--fresh")


@pytest.mark.parametrize("kind", sorted(REAL_CODEX_KINDS))
async def test_a_good_codex_ca_certificate_makes_codex_ignore_a_missing_ssl_cert_file(
    lab_flavours, kind: str
) -> None:
    lab = flavour(lab_flavours, f"SetEnv SSL_CERT_FILE={CORP_CA}")
    name_codex_ca_in_bashrc(lab, SYSTEM_CA)
    said = real_login_dies_of(lab, kind)  # of the offline token exchange, not of the CA file
    assert "Token exchange failed" in said and "CA certificate" not in said, said
    lab.reset()
    name_codex_ca_in_bashrc(lab, SYSTEM_CA)
    lab.install_codex("fake", "path")
    pair = await doctor_then_login(lab)
    assert pair.check("auth server").verdict is Verdict.PASS, pair
    assert pair.next_is_login and pair.error is None and pair.url_shown, pair


def hand_over_to_zsh(lab: SshLab, *, guarded: bool) -> None:
    """codex only on zsh's PATH (~/.zshrc), and ~/.bashrc running `exec zsh -l`."""
    lab.install_fake_codex_in(".zsh-tools")
    lab.write_server_file(".zshrc", 'export PATH="$HOME/.zsh-tools:$PATH"\n')
    bashrc = lab.server_path(".bashrc")
    text = bashrc.read_text()  # Debian's: the `case $-` guard comes first
    bashrc.write_text(text + "exec zsh -l\n" if guarded else "exec zsh -l\n" + text)


async def test_bashrc_exec_zsh_after_the_guard_is_followed(lab: SshLab) -> None:
    hand_over_to_zsh(lab, guarded=True)
    pair = await doctor_then_login(lab)
    codex = pair.check("codex")
    assert codex.verdict is Verdict.PASS and ".zsh-tools" in codex.found, pair.report.checks
    assert pair.next_is_login, pair.report.checks
    assert pair.error is None and pair.url_shown


async def test_bashrc_exec_zsh_without_the_guard_is_named(lab: SshLab) -> None:
    hand_over_to_zsh(lab, guarded=False)
    pair = await doctor_then_login(lab)
    shell = pair.check("shell")
    assert shell.verdict is Verdict.FAIL and "without the interactive guard" in shell.found
    assert "npm install" not in pair.report.recommendation()
    assert_stopped_before_url(pair, FailureKind.SERVER, "exec zsh")
    done = subprocess.run(
        lab.ssh_argv("echo ran"), stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert "ran" not in done.stdout  # OpenSSH agrees: the command never runs


@pytest.fixture
def other_users_login(lab: SshLab) -> Iterator[tuple[LabAccount, subprocess.Popen[str]]]:
    """A second server user with a `codex login` (the fake) waiting on 1455."""
    name = f"{lab.user}b"
    other = LabAccount(name, lab.dir / "home" / name)
    other.create()
    try:
        codex = other.install_codex("fake", "path")
        env = [f"HOME={other.home}", f"USER={name}", "PATH=/usr/bin:/bin"]
        argv = ["ip", "netns", "exec", lab.netns, "runuser", "-u", name, "--", "env", "-i"]
        proc = subprocess.Popen(
            [*argv, *env, str(codex), "login"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lab.track(proc)
        wait_until(lambda: bool(lab.port_owner(1455)), timeout=20, what="other user's login")
        yield other, proc
    finally:
        other.delete()


async def test_another_users_pending_login_waits_when_told(lab: SshLab, other_users_login) -> None:
    other, proc = other_users_login
    lab.install_codex("fake", "path")
    answers = Answers(go_ahead=False)
    pair = await doctor_then_login(lab, answers)
    warning = pair.check("other logins")
    assert warning.verdict is Verdict.WARN and other.name in warning.found
    assert "GET /cancel" in warning.found
    assert answers.asked == [other.name]
    assert_stopped_before_url(pair, FailureKind.PORT_BUSY, other.name)
    assert proc.poll() is None  # their login goes on


async def test_another_users_pending_login_is_cancelled_on_go_ahead(
    lab: SshLab, other_users_login
) -> None:
    _, proc = other_users_login
    lab.install_codex("fake", "path")
    pair = await doctor_then_login(lab, Answers(go_ahead=True))
    assert pair.next_is_login and pair.error is None and pair.url_shown
    assert "Login cancelled" in proc.communicate(timeout=20)[0]


@pytest.mark.parametrize("kind", sorted(REAL_CODEX_KINDS))
async def test_broken_config_toml_shows_codexs_own_words(lab: SshLab, kind: str) -> None:
    problem = real_codex_problem(REAL_CODEX_KINDS[kind])
    if problem:
        skip_or_fail(problem)
    lab.install_codex(kind, "path")
    lab.write_server_file(".codex/config.toml", "model = = broken\n")
    pair = await doctor_then_login(lab)
    config = pair.check("codex config")
    assert config.verdict is Verdict.FAIL and "Error loading configuration" in config.found
    assert_stopped_before_url(pair, FailureKind.SERVER, "Error loading configuration")
    done = subprocess.run(
        lab.ssh_argv("codex login"), stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert "Error loading configuration" in done.stderr  # what the login itself would die of


@pytest.fixture(scope="module")
def chroot_lab(lab_prerequisites) -> Iterator[tuple[SshLab, BusyboxChroot]]:
    """An sshd whose user lands in a busybox chroot without /proc (ChrootDirectory)."""
    problem = busybox_problem()
    if problem:
        skip_or_fail(problem)
    jail = BusyboxChroot()
    lab = None
    try:
        jail.build()
        lab = SshLab(sshd_options=jail.sshd_options()).start()
        jail.add_user(lab.account)
        yield lab, jail
    finally:
        if lab is not None:
            lab.stop()
        jail.remove()


PROC_MISSING = "Error loading configuration: no /proc/self/exe available"
"""What codex 0.169 and 0.171 (their static musl binary) say in a chroot without /proc, to
`codex login status` and to `codex login` alike (after a WARNING about its PATH aliases)."""


@pytest.mark.parametrize("kind", sorted(REAL_CODEX_KINDS))
async def test_chroot_without_proc_stops_before_the_url_with_codexs_words(
    chroot_lab: tuple[SshLab, BusyboxChroot], kind: str
) -> None:
    lab, jail = chroot_lab
    problem = chroot_unavailable_reason(REAL_CODEX_KINDS[kind])
    if problem:
        skip_or_fail(problem)
    lab.reset()
    jail.reset_home(lab.account)
    jail.install_codex(REAL_CODEX_KINDS[kind])
    done = subprocess.run(
        lab.ssh_argv("codex login"), stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert PROC_MISSING in done.stderr and done.returncode == 1  # what the login dies of
    pair = await doctor_then_login(lab)
    config = pair.check("codex config")
    assert config.verdict is Verdict.FAIL and PROC_MISSING in config.found, pair
    assert "WARNING" not in config.found and "mount -t proc" in config.fix
    assert pair.check("codex").verdict is Verdict.PASS  # `codex --version` works there
    for unknown in ("server port", "other logins"):  # no /proc/net/tcp: not "free", not "none"
        assert pair.check(unknown).verdict is Verdict.WARN, pair.check(unknown)
        assert pair.check(unknown).found.startswith("not seen"), pair.check(unknown)
    assert not pair.next_is_login
    assert_stopped_before_url(pair, FailureKind.SERVER, PROC_MISSING, "mount -t proc")
    assert "?." not in str(pair.error)
