"""The cases of the OpenSSH differential suite, and the compat table made from them.

Each case is an ssh_config Host block (the lab's, changed), a prepared folder (known_hosts
state, keys), maybe an agent and sshd settings, and the outcome both `ssh` and we must have.
tests/test_ssh_compat.py runs them in the lab; docs/ssh-compat.md is rendered from the same
cases (scripts/ssh-compat-doc.py writes it, tests/test_ssh_compat_doc.py fails when stale).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tests.lab.compat import PASSWORD

if TYPE_CHECKING:
    from tests.lab.sshlab import SshLab

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "ssh-compat.md"
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBTlvFGuKYxDw2Yv0Hzs1hzHl3FoE4zYMv7VA3JqE5W"

# A folder's preparation, for the lab it runs against.
Setup = Callable[[Path, "SshLab"], None]


def _lab_line(lab: SshLab) -> str:
    """The lab host key's known_hosts line."""
    return lab.known_hosts.read_text()


def _lab_key(lab: SshLab) -> str:
    """The lab host key as `type base64` (and a newline)."""
    return _lab_line(lab).split(None, 1)[1]


def no_files(folder: Path, lab: SshLab) -> None:
    """Nothing: no known_hosts at all."""


def empty_known(folder: Path, lab: SshLab) -> None:
    (folder / "known_hosts").write_text("")


def lab_known(folder: Path, lab: SshLab) -> None:
    (folder / "known_hosts").write_text(_lab_line(lab))


def changed_known(folder: Path, lab: SshLab) -> None:
    """known_hosts lists another key for the lab's host."""
    (folder / "known_hosts").write_text(f"{_lab_line(lab).split()[0]} {OTHER_KEY}\n")


def null_device(folder: Path, lab: SshLab) -> None:
    """A private /dev/null (c 1 3): a regression must never touch the machine's own."""
    os.mknod(folder / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))


def symlinked_known(folder: Path, lab: SshLab) -> None:
    """known_hosts is a (relative) symlink into a dotfiles folder, as dotfiles managers make."""
    (folder / "dotfiles").mkdir()
    (folder / "dotfiles" / "known_hosts").write_text("")
    (folder / "known_hosts").symlink_to("dotfiles/known_hosts")


def folder_known(folder: Path, lab: SshLab) -> None:
    """known_hosts is a folder: no keys, and nothing can be added."""
    (folder / "known_hosts").mkdir()


def global_known(folder: Path, lab: SshLab) -> None:
    (folder / "global_known_hosts").write_text(_lab_line(lab))


def alias_known(folder: Path, lab: SshLab) -> None:
    """The key is listed under a HostKeyAlias only."""
    (folder / "known_hosts").write_text(f"shared-alias {_lab_key(lab)}")


def second_file_known(folder: Path, lab: SshLab) -> None:
    (folder / "known_hosts").write_text("")
    (folder / "known_hosts2").write_text(_lab_line(lab))


def encrypted_key(folder: Path, lab: SshLab) -> None:
    """The lab's key, encrypted with the case's password as its passphrase."""
    lab_known(folder, lab)
    copy = folder / "id_enc"
    shutil.copy(lab.client_key, copy)
    copy.chmod(0o600)
    shutil.copy(f"{lab.client_key}.pub", f"{copy}.pub")
    subprocess.run(
        ["ssh-keygen", "-q", "-p", "-P", "", "-N", PASSWORD, "-f", str(copy)],
        check=True,
        capture_output=True,
    )


def jump_known(folder: Path, lab: SshLab) -> None:
    """The lab's key for the jump host ([127.0.0.1]:port) and for the target behind it
    (127.0.0.1, port 22 inside the lab's namespace: the same sshd)."""
    (folder / "known_hosts").write_text(_lab_line(lab) + f"127.0.0.1 {_lab_key(lab)}")


def jump_only_known(folder: Path, lab: SshLab) -> None:
    """Only the jump host's key is known; the target's is not."""
    lab_known(folder, lab)


def name_known(folder: Path, lab: SshLab) -> None:
    """The key under `[localhost]:port` only (not under its address)."""
    (folder / "known_hosts").write_text(_lab_line(lab).replace("[127.0.0.1]", "[localhost]", 1))


def user_certificate(folder: Path, lab: SshLab) -> None:
    """A key sshd's authorized_keys does not list, with a certificate from the user CA (made
    once per lab, so both sides offer the same key)."""
    lab_known(folder, lab)
    cert_key, ca = lab.dir / "compat-cert-key", lab.dir / "compat-user-ca"
    if not cert_key.exists():
        for argv in (
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(cert_key)],
            ["ssh-keygen", "-q", "-s", str(ca), "-I", "compat", "-n", lab.user, f"{cert_key}.pub"],
        ):
            subprocess.run(argv, check=True, capture_output=True)
    for suffix in ("", ".pub", "-cert.pub"):
        shutil.copy(f"{cert_key}{suffix}", folder / f"id_cert{suffix}")


def key_named_for_user(folder: Path, lab: SshLab) -> None:
    """The lab's key as `<remote user>.key`, for IdentityFile's %r."""
    lab_known(folder, lab)
    shutil.copy(lab.client_key, folder / f"id-{lab.user}.key")
    (folder / f"id-{lab.user}.key").chmod(0o600)


def include_file(folder: Path, lab: SshLab) -> None:
    """An included file holds the known_hosts setting."""
    lab_known(folder, lab)
    (folder / "included.conf").write_text(f"UserKnownHostsFile {folder}/known_hosts\n")


@dataclass(frozen=True)
class Case:
    """One setup; `connected` is the outcome ssh and we must both have (`ours` when we differ
    on purpose, `why` saying why)."""

    name: str
    option: str
    ssh_does: str
    options: dict[str, str | None] = field(default_factory=dict)
    setup: Setup = lab_known
    connected: bool = True
    trust: bool = True  # the answer to the host key question
    password: str | None = None  # the answer to password / passphrase / kbd-int prompts
    sshd: dict[str, str] = field(default_factory=dict)
    agent_keys: int = -1  # -1: no agent; n: n other keys, then the lab's key
    tail: str = ""  # lines after the Host block (Match ...)
    target: str = "compat"  # what is typed after `ssh` ({user}, {port} filled in)
    ours: bool | None = None  # our outcome when it differs on purpose
    why: str = ""

    @property
    def our_outcome(self) -> bool:
        return self.connected if self.ours is None else self.ours


PASSWORD_SSHD = {"PasswordAuthentication": "yes"}
KBDINT_SSHD = {"UsePAM": "yes", "KbdInteractiveAuthentication": "yes"}
NO_KEY = {"IdentityFile": "{dir}/no-such-key"}


JUMP_HOST = (
    "Host jump\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {key}\n"
    "  IdentitiesOnly yes\n  IdentityAgent none\n  UserKnownHostsFile {dir}/known_hosts\n"
    "  GlobalKnownHostsFile /dev/null\n  UpdateHostKeys no\n"
)


def asking(name: str, option: str, ssh_does: str, options: dict, **more: object) -> Case:
    """A case whose sshd takes a password (or, with sshd=KBDINT_SSHD, asks through PAM) and
    whose prompts answer PASSWORD unless told otherwise."""
    more = {"password": PASSWORD, "sshd": PASSWORD_SSHD, **more}
    return Case(name, option, ssh_does, options, **more)  # type: ignore[arg-type]


CASES = [
    # --- StrictHostKeyChecking, every value -------------------------------------------------
    Case(
        "strict-yes-unknown",
        "StrictHostKeyChecking",
        "`yes`: an unknown key is refused without a question",
        {"StrictHostKeyChecking": "yes"},
        empty_known,
        connected=False,
    ),
    Case(
        "strict-ask-unknown-yes",
        "StrictHostKeyChecking",
        "`ask` (the default): the key is shown, and added after a yes",
        {"StrictHostKeyChecking": "ask"},
        empty_known,
    ),
    Case(
        "strict-ask-unknown-no",
        "StrictHostKeyChecking",
        "`ask`: after a no, nothing is added and the connection is refused",
        {"StrictHostKeyChecking": "ask"},
        empty_known,
        connected=False,
        trust=False,
    ),
    Case(
        "strict-accept-new-unknown",
        "StrictHostKeyChecking",
        "`accept-new`: an unknown key is added without a question",
        {"StrictHostKeyChecking": "accept-new"},
        empty_known,
    ),
    Case(
        "strict-accept-new-changed",
        "StrictHostKeyChecking",
        "`accept-new`: a changed key is refused",
        {"StrictHostKeyChecking": "accept-new"},
        changed_known,
        connected=False,
    ),
    Case(
        "strict-no-unknown",
        "StrictHostKeyChecking",
        "`no`: an unknown key is added without a question",
        {"StrictHostKeyChecking": "no"},
        no_files,
    ),
    Case(
        "strict-off-unknown",
        "StrictHostKeyChecking",
        "`off`: as `no`",
        {"StrictHostKeyChecking": "off"},
        empty_known,
    ),
    Case(
        "strict-no-changed",
        "StrictHostKeyChecking",
        "`no`: a changed key is warned about, and the connection goes on with keys only",
        {"StrictHostKeyChecking": "no"},
        changed_known,
        ours=False,
        why="a changed host key may be an attack: codex-wizard is about to copy a login "
        "token to that server, so it refuses whatever the config says and names the "
        "`ssh-keygen -R` command that removes the old key",
    ),
    Case(
        "batchmode-unknown",
        "BatchMode",
        "`yes`: nothing is asked; an unknown key is refused (`ask` acts as `yes`)",
        {"BatchMode": "yes", "StrictHostKeyChecking": "ask"},
        empty_known,
        connected=False,
    ),
    # --- UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias, HashKnownHosts -------------
    Case(
        "known-dev-null",
        "UserKnownHostsFile",
        "`/dev/null` with `StrictHostKeyChecking no` (ephemeral VMs): connects, records nothing "
        "and the device stays a device (tested on a private copy of /dev/null)",
        {"UserKnownHostsFile": "{dir}/null", "StrictHostKeyChecking": "no"},
        null_device,
    ),
    Case(
        "known-symlink",
        "UserKnownHostsFile",
        "a symlink (dotfiles managers): the key is appended to its target, the link stays",
        {"StrictHostKeyChecking": "accept-new"},
        symlinked_known,
    ),
    Case(
        "known-missing",
        "UserKnownHostsFile",
        "a missing file: created when a key is added",
        {"StrictHostKeyChecking": "accept-new"},
        no_files,
    ),
    Case(
        "known-several",
        "UserKnownHostsFile",
        "several files: a key in any of them is known; none is written",
        {"UserKnownHostsFile": "{dir}/known_hosts {dir}/known_hosts2"},
        second_file_known,
    ),
    Case(
        "known-not-a-file",
        "UserKnownHostsFile",
        "a folder instead of a file: no keys; an unknown key can't be added, so `yes` refuses",
        {"StrictHostKeyChecking": "yes"},
        folder_known,
        connected=False,
    ),
    Case(
        "known-none",
        "UserKnownHostsFile",
        "`none` with `accept-new`: nowhere to add an unknown key, so it is refused",
        {"UserKnownHostsFile": "none", "StrictHostKeyChecking": "accept-new"},
        no_files,
        connected=False,
    ),
    Case(
        "known-none-ask",
        "UserKnownHostsFile",
        "`none` with `ask`: an unknown key is refused without a question",
        {"UserKnownHostsFile": "none", "StrictHostKeyChecking": "ask"},
        no_files,
        connected=False,
    ),
    Case(
        "known-none-no",
        "UserKnownHostsFile",
        "`none` with `no`: refused as well (there is nowhere to record it)",
        {"UserKnownHostsFile": "none", "StrictHostKeyChecking": "no"},
        no_files,
        connected=False,
    ),
    Case(
        "known-tokens",
        "UserKnownHostsFile",
        "%-tokens expanded (`%n`: the name as typed)",
        {"UserKnownHostsFile": "{dir}/kh-%n", "StrictHostKeyChecking": "accept-new"},
        no_files,
    ),
    Case(
        "global-known",
        "GlobalKnownHostsFile",
        "a key listed there is known; nothing is written",
        {"GlobalKnownHostsFile": "{dir}/global_known_hosts", "StrictHostKeyChecking": "yes"},
        global_known,
    ),
    Case(
        "host-key-alias",
        "HostKeyAlias",
        "the key is looked up (and added) under the alias",
        {"HostKeyAlias": "shared-alias", "StrictHostKeyChecking": "yes"},
        alias_known,
    ),
    Case(
        "hash-known-hosts",
        "HashKnownHosts",
        "`yes`: an added key's host name is written hashed",
        {"HashKnownHosts": "yes", "StrictHostKeyChecking": "accept-new"},
        empty_known,
    ),
    # --- keys and agents ---------------------------------------------------------------------
    Case(
        "identity-several",
        "IdentityFile",
        "several, the first missing: the next one is tried",
        {"IdentityFile": "{dir}/no-such-key", "IdentityFile ": "{key}"},
    ),
    Case(
        "identity-tokens",
        "IdentityFile",
        "%-tokens expanded (`%r`: the remote user)",
        {"IdentityFile": "{dir}/id-%r.key"},
        key_named_for_user,
    ),
    Case(
        "identity-missing",
        "IdentityFile",
        "only a missing one (and no agent): refused",
        NO_KEY,
        connected=False,
    ),
    Case(
        "identity-encrypted",
        "IdentityFile",
        "an encrypted key without an agent: its passphrase is asked",
        {"IdentityFile": "{dir}/id_enc"},
        encrypted_key,
        password=PASSWORD,
    ),
    Case(
        "agent-key-order",
        "IdentityAgent",
        "the agent holds the IdentityFile's key after 3 others, sshd has `MaxAuthTries 3`: "
        "that key is offered first and accepted",
        {"IdentityAgent": "{agent}", "IdentitiesOnly": "no"},
        sshd={"MaxAuthTries": "3"},
        agent_keys=3,
    ),
    Case(
        "identities-only-agent",
        "IdentitiesOnly",
        "`yes` with a full agent: only the IdentityFile's key is offered",
        {"IdentityAgent": "{agent}", "IdentitiesOnly": "yes"},
        sshd={"MaxAuthTries": "2"},
        agent_keys=4,
    ),
    Case(
        "identity-agent-none",
        "IdentityAgent",
        "`none`: the agent is not used, even when it holds the key",
        {"IdentityAgent": "none", **NO_KEY},
        agent_keys=0,
        connected=False,
    ),
    # --- passwords and keyboard-interactive --------------------------------------------------
    asking(
        "password-asked",
        "PasswordAuthentication",
        "the server takes a password and no key works: `user@host's password:` is asked",
        NO_KEY,
    ),
    asking(
        "password-off",
        "PasswordAuthentication",
        "`no`: never asked",
        {"PasswordAuthentication": "no", **NO_KEY},
        connected=False,
    ),
    asking(
        "preferred-password",
        "PreferredAuthentications",
        "`password` first: the password is asked although a key would work",
        {"PreferredAuthentications": "password,publickey"},
    ),
    asking(
        "password-prompts",
        "NumberOfPasswordPrompts",
        "`2` with a wrong password: asked twice, then refused",
        {"NumberOfPasswordPrompts": "2", **NO_KEY},
        password="wrong",
        connected=False,
    ),
    asking(
        "batchmode-password",
        "BatchMode",
        "`yes`: no password is asked; refused",
        {"BatchMode": "yes", **NO_KEY},
        connected=False,
    ),
    asking(
        "kbdint-asked",
        "KbdInteractiveAuthentication",
        "the server asks through PAM: `(user@host) Password:` is asked",
        NO_KEY,
        sshd=KBDINT_SSHD,
    ),
    asking(
        "kbdint-off",
        "KbdInteractiveAuthentication",
        "`no`: the server's questions are never asked",
        {"KbdInteractiveAuthentication": "no", **NO_KEY},
        sshd=KBDINT_SSHD,
        connected=False,
    ),
    # --- the rest of ssh_config --------------------------------------------------------------
    Case(
        "include",
        "Include",
        "an included file's options apply",
        {"UserKnownHostsFile": None, "Include": "{dir}/included.conf"},
        include_file,
    ),
    Case(
        "match-host",
        "Match",
        "`Match host` blocks apply after the Host block",
        {"StrictHostKeyChecking": None},
        empty_known,
        tail="Match host 127.0.0.1\n  StrictHostKeyChecking accept-new\n",
    ),
    Case(
        "proxy-jump",
        "ProxyJump",
        "through a jump host (the lab's sshd, then its own 127.0.0.1:22): both keys checked",
        {"Port": "22", "ProxyJump": "jump", "StrictHostKeyChecking": "yes"},
        jump_known,
        tail=JUMP_HOST,
    ),
    Case(
        "proxy-jump-new-target",
        "ProxyJump",
        "the target's key unknown, `accept-new`: added under the target's name",
        {"Port": "22", "ProxyJump": "jump", "StrictHostKeyChecking": "accept-new"},
        jump_only_known,
        tail=JUMP_HOST,
    ),
    Case(
        "ssh-uri",
        "ssh:// targets",
        "`ssh ssh://user@host:port` (ssh(1)'s URI form) connects as user to host:port",
        {"User": None, "Port": None},
        target="ssh://{user}@127.0.0.1:{port}",
    ),
    Case(
        "check-host-ip",
        "CheckHostIP",
        "`yes` toward a loopback address: no address line is checked or added (ssh skips "
        "CheckHostIP for loopback)",
        {"HostName": "localhost", "CheckHostIP": "yes", "StrictHostKeyChecking": "yes"},
        name_known,
    ),
    Case(
        "certificate-file",
        "CertificateFile",
        "a user certificate from a CA sshd trusts logs in with a key sshd does not list",
        {"IdentityFile": "{dir}/id_cert", "CertificateFile": "{dir}/id_cert-cert.pub"},
        user_certificate,
        sshd={"TrustedUserCAKeys": "{ca}"},
    ),
    Case(
        "proxy-command",
        "ProxyCommand",
        "the connection goes through the command (`socat` here), %h and %p expanded",
        {"ProxyCommand": "socat - TCP:%h:%p"},
    ),
    Case(
        "connect-timeout",
        "ConnectTimeout",
        "a reachable host connects within it",
        {"ConnectTimeout": "5"},
    ),
    Case(
        "local-forward",
        "LocalForward",
        "a free port: forwarded while the session lasts",
        {"LocalForward": "127.0.0.1:{free} localhost:1455"},
        ours=True,
        why="codex-wizard connects but opens no forward from the config: its own tunnel is "
        "opened when a login needs it, and an `ssh -L` the user already runs to the same "
        "server's codex port is used as that tunnel",
    ),
    Case(
        "exit-on-forward-failure",
        "ExitOnForwardFailure",
        "`yes` with a LocalForward whose port is taken: ssh exits",
        {"LocalForward": "127.0.0.1:{busy} localhost:1455", "ExitOnForwardFailure": "yes"},
        connected=False,
        ours=True,
        why="as for LocalForward, codex-wizard opens no forward from the config, so a host "
        "entry made for `ssh -L` never makes our connection fail",
    ),
]


def render_doc(cases: list[Case] = CASES) -> str:
    """docs/ssh-compat.md: one row per option, what ssh does, what we do, and why we differ."""
    rows: dict[str, list[Case]] = {}
    for case in cases:
        rows.setdefault(case.option, []).append(case)
    lines = [
        "# codex-wizard and OpenSSH, option by option",
        "",
        "Generated from the differential suite (tests/ssh_compat_cases.py, run by",
        "tests/test_ssh_compat.py): every case runs `ssh -F config host true` (OpenSSH's client,",
        "questions recorded through SSH_ASKPASS) and codex-wizard's connection on the same",
        "config against the same lab sshd, and compares the outcome: connected or refused, what",
        "sshd accepted, the questions asked, and every known_hosts file afterwards (bytes, mode,",
        "symlink). Regenerate with `python scripts/ssh-compat-doc.py`.",
        "",
        "| Option | What ssh does | What codex-wizard does |",
        "|---|---|---|",
    ]
    for option, group in rows.items():
        ssh_does = "<br>".join(case.ssh_does for case in group)
        ours = _ours_row(group)
        lines.append(f"| `{option}` | {ssh_does} | {ours} |")
    differences = [case for case in cases if case.why]
    lines += ["", "## Deliberate differences", ""]
    lines += [f"- **{case.option}** ({case.ssh_does}): {case.why}." for case in differences]
    lines += GENERAL_DIFFERENCES
    lines += ["", "## Workarounds for asyncssh", "", *WORKAROUNDS, ""]
    return "\n".join(lines)


def _ours(case: Case) -> str:
    if case.ours is None:
        return "the same"
    return ("connects" if case.ours else "refuses") + " (on purpose, see below)"


def _ours_row(group: list[Case]) -> str:
    """One cell: "The same." when every case agrees with ssh, else case by case."""
    if all(case.ours is None for case in group):
        return "The same."
    return "<br>".join(_ours(case) for case in group)


GENERAL_DIFFERENCES = [
    "- **A new known_hosts file** is made 0600 whatever the umask (ssh follows the umask:",
    "  0644 under 022): it lists the hosts you use. The suite runs ssh under umask 077 to",
    "  compare the rest. An existing file keeps its mode, as with ssh.",
    "- **A known_hosts in a folder that does not exist yet**: the folder is made (0700) and",
    "  the key recorded; ssh makes only ~/.ssh and otherwise warns and records nothing.",
    "- **AddKeysToAgent** is not acted on (not in the suite): codex-wizard adds nothing to",
    "  your agent; a key unlocked with its passphrase is kept in memory for the run only.",
]

WORKAROUNDS = [
    "Fixes that belong in asyncssh (2.24), worked around in core/ssh:",
    "",
    "- asyncssh has no handler for `StrictHostKeyChecking`, `BatchMode`, `CheckHostIP`,",
    "  `HashKnownHosts` and `NumberOfPasswordPrompts`: knownhosts.py teaches its parser",
    "  them, so Host and Match blocks apply as for its own options.",
    "- asyncssh offers the agent's keys in the agent's order: server.py's `prefer_agent_keys`",
    "  puts the IdentityFiles' keys first (and offers none twice), as ssh does.",
    "- asyncssh fails on a missing IdentityFile (ssh skips it): config.py gives it the",
    "  IdentityFiles that exist, and IdentitiesOnly's agent keys, itself.",
    "- asyncssh's password and keyboard-interactive callbacks ask nothing by themselves:",
    "  prompts.py asks as ssh does (`user@host's password:`, `(user@host) prompt`,",
    "  NumberOfPasswordPrompts per method, nothing with BatchMode).",
]
