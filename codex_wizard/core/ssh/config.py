"""A host's ssh_config, read once per connection: asyncssh's options, known_hosts, ProxyJump."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import knownhosts
from .configparse import parse_each_file_once
from .hosts import HostArgError, HostTarget, default_ssh_config_path, parse_host_arg
from .knownhosts import KnownHostsPolicy
from .prompts import DEFAULT_PASSWORD_PROMPTS
from .sshargs import options_file
from .types import ConnectSettings

if TYPE_CHECKING:
    import asyncssh  # imported where it runs: the wizard's first frame doesn't wait for it

__all__ = ["ResolvedHost", "identity_files", "resolve_options"]

MAX_JUMPS = 8
# OpenSSH's default IdentityFiles, in its order (ssh -G HOST | grep identityfile).
DEFAULT_IDENTITY_FILES = ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk")


@dataclass(frozen=True)
class ResolvedHost:
    """A host's ssh_config, read once: asyncssh's options, known_hosts policy, ProxyJump hops."""

    options: asyncssh.SSHClientConnectionOptions
    kwargs: dict[str, object]
    policy: KnownHostsPolicy
    jumps: tuple[HostTarget, ...]
    reuse: bool  # asyncssh.connect can take `options` as they are, without reading the config
    key_files: tuple[Path, ...] = ()  # the IdentityFiles that exist (none: no file keys)
    identity_keys: frozenset[bytes] = frozenset()  # the IdentityFiles' public keys
    batch_mode: bool = False  # BatchMode yes: nobody is asked anything
    password_prompts: int = DEFAULT_PASSWORD_PROMPTS  # NumberOfPasswordPrompts


def resolve_options(target: HostTarget, settings: ConnectSettings) -> ResolvedHost:
    """Read the ssh_config for target (the only time per connection: it is slow to parse)."""
    import asyncssh

    knownhosts.add_openssh_options()
    parse_each_file_once()
    config = config_files(target, settings)
    kwargs: dict[str, object] = {}
    if target.port:
        kwargs["port"] = target.port
    if target.user:
        kwargs["username"] = target.user
    # No keys read here: asyncssh fails on a missing IdentityFile (ssh skips it), so the
    # files that exist are given to it below, and IdentitiesOnly's agent keys too.
    options = asyncssh.SSHClientConnectionOptions(
        host=target.name, config=config, agent_identities=None, client_keys=None, **kwargs
    )
    policy = knownhosts.policy_from_config(options, target.name)
    jumps = _jump_hosts(options.tunnel)
    key_files = tuple(path for path in identity_files(options) if path.is_file())
    identity_keys = identity_public_keys(identity_files(options))
    kwargs.update(client_keys=[str(path) for path in key_files], ignore_encrypted=True)
    kwargs.update(_agent_option(options.config.get("IdentityAgent")))
    if options.config.get("IdentitiesOnly"):
        kwargs.update(_identities_only(identity_keys))
    if options.config.get("Ciphers") is None:
        kwargs["encryption_algs"] = gcm_first()
    # Canonicalisation or `Match final` re-read the config after resolving the name: those
    # must get the paths again.
    reuse = not (
        options.config.has_match_final()
        or (options.canonicalize_hostname and options.canonical_domains)
    )
    if not reuse:
        kwargs["config"] = config
    return ResolvedHost(
        options,
        kwargs,
        policy,
        jumps,
        reuse,
        key_files=key_files,
        identity_keys=frozenset(key.public_data for key in identity_keys),
        batch_mode=bool(options.config.get("BatchMode", False)),
        password_prompts=int(
            options.config.get("NumberOfPasswordPrompts", DEFAULT_PASSWORD_PROMPTS)
        ),
    )


def gcm_first() -> list[str]:
    """asyncssh's default ciphers, AES-GCM first, for a host whose ssh_config names no Ciphers.

    The same ciphers OpenSSH offers by default, in another order: asyncssh's chacha20-poly1305
    builds two cipher objects and a Poly1305 for every packet (19 us a packet here against
    2.8 us for AES-GCM, which is one AEAD object per direction), most of a check's crypto after
    the key exchange. A Ciphers line in ssh_config is used as written."""
    from asyncssh.encryption import get_default_encryption_algs

    algs = [alg.decode() for alg in get_default_encryption_algs()]
    gcm = [alg for alg in algs if alg.endswith("-gcm@openssh.com")]
    return gcm + [alg for alg in algs if alg not in gcm]


def config_files(target: HostTarget, settings: ConnectSettings) -> list[str] | tuple[()]:
    """The ssh_config files asyncssh reads for target, in order (() for its default).

    The target's own options (an inventory's settings) come first, as ssh's command-line
    options do, then the user's ssh_config: -F, else ~/.ssh/config when readable.
    """
    user = [str(settings.ssh_config)] if settings.ssh_config else []
    if not target.ssh_options:
        return user or ()
    if not user and os.access(default_ssh_config_path(), os.R_OK):
        user = [str(default_ssh_config_path())]
    return [str(options_file(target.ssh_options)), *user]


def _jump_hosts(tunnel: object) -> tuple[HostTarget, ...]:
    """ProxyJump's hops, in order (`[user@]host[:port]` or `ssh://` URIs, `none` for none)."""
    if not isinstance(tunnel, str) or tunnel.lower() == "none":
        return ()
    hops = [hop.removeprefix("ssh://") for hop in tunnel.split(",") if hop]
    if len(hops) > MAX_JUMPS:
        raise ValueError(f"ProxyJump has more than {MAX_JUMPS} hops")
    try:
        return tuple(parse_host_arg(hop) for hop in hops)
    except HostArgError as exc:
        raise ValueError(f"ProxyJump {tunnel!r}: {exc}") from None


def _agent_option(identity_agent: object) -> dict[str, object]:
    """IdentityAgent's words asyncssh takes for a socket path: `none`, `SSH_AUTH_SOCK`."""
    if not isinstance(identity_agent, str):
        return {}
    if identity_agent.lower() == "none":
        return {"agent_path": None}
    if identity_agent == "SSH_AUTH_SOCK":
        return {"agent_path": os.environ.get("SSH_AUTH_SOCK") or None}
    return {}


def _identities_only(keys: list[asyncssh.SSHKey]) -> dict[str, object]:
    """IdentitiesOnly: the agent offers only these keys; none of them, no agent at all."""
    return {"agent_identities": keys} if keys else {"agent_path": None}


def identity_public_keys(paths: list[Path]) -> list[asyncssh.SSHKey]:
    """The public keys of these key files, as ssh loads them to find them among the agent's
    keys: from `<file>.pub`, else the private key when it is not encrypted (else skipped)."""
    return [key for key in map(_public_key, paths) if key is not None]


def _public_key(path: Path) -> asyncssh.SSHKey | None:
    import asyncssh

    problems = (OSError, ValueError, asyncssh.KeyImportError, asyncssh.KeyEncryptionError)
    try:
        return asyncssh.read_public_key(f"{path}.pub")
    except problems:
        pass
    try:
        return asyncssh.read_private_key(path).convert_to_public()
    except problems:
        return None


def identity_files(options: asyncssh.SSHClientConnectionOptions) -> list[Path]:
    """The key files OpenSSH would try after the agent: IdentityFile, else its defaults."""
    named = options.config.get("IdentityFile")
    if named:
        return [Path(name).expanduser() for name in named]
    return [Path.home() / ".ssh" / name for name in DEFAULT_IDENTITY_FILES]
