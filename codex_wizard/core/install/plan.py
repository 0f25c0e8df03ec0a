"""The standalone Codex (no Node.js): which platform package, where it goes on the server, and
when to offer it. Pure: no I/O here. The registry side is core/install/registry.py, the server-side
scripts core/install/scripts.py, the install itself core/install/standalone.py.

`@openai/codex` is a small Node launcher. Its `optionalDependencies` name one platform package
per OS/CPU, published as versions of the same npm package with a suffix (`@openai/codex-linux-x64`
is `npm:@openai/codex@0.169.0-linux-x64`), each with its own tarball and `dist.integrity`. The
tarball's `package/vendor/<target-triple>/` is self-contained: `codex-package.json` (naming the
`entrypoint`, bin/codex), a static binary, `codex-path/rg` and `codex-resources/`.

On the server the tree goes to `~/.local/lib/codex-standalone/<version>-<suffix>/` and
`~/.local/bin/codex` becomes a symlink to its entrypoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..server.probe import NODE_REQUIRED_MAJOR, ProbeResult, version_major

PACKAGE = "@openai/codex"
INSTALL_ROOT = ".local/lib/codex-standalone"  # under $HOME
BIN_LINK = ".local/bin/codex"  # under $HOME


class StandaloneError(Exception):
    """A problem with the package or its metadata, in words meant for the user."""


@dataclass(frozen=True)
class Platform:
    """One platform package: its npm name suffix and the vendor/ dir (Rust target triple)."""

    suffix: str  # linux-x64
    triple: str  # x86_64-unknown-linux-musl

    @property
    def alias(self) -> str:
        """The optional dependency's name in the launcher's package.json."""
        return f"{PACKAGE}-{self.suffix}"


PLATFORMS = {
    ("linux", "x64"): Platform("linux-x64", "x86_64-unknown-linux-musl"),
    ("linux", "arm64"): Platform("linux-arm64", "aarch64-unknown-linux-musl"),
    ("darwin", "x64"): Platform("darwin-x64", "x86_64-apple-darwin"),
    ("darwin", "arm64"): Platform("darwin-arm64", "aarch64-apple-darwin"),
}
_CPUS = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


def platform_for(os_name: str, machine: str) -> Platform:
    """The platform package for `uname -s` / `uname -m` (Linux x86_64, Darwin arm64 ...)."""
    key = (os_name.strip().lower(), _CPUS.get(machine.strip().lower(), ""))
    found = PLATFORMS.get(key)
    if found is None:
        raise StandaloneError(
            f"no standalone codex for {os_name or '?'} {machine or '?'}: OpenAI publishes it for "
            "Linux and macOS on x86-64 and arm64. Install Node.js and use npm instead."
        )
    return found


# --- when to offer it ------------------------------------------------------------------------


def codex_runs_without_node(probe: ProbeResult) -> bool:
    """codex works while no node does: the standalone codex, so node's absence is fine."""
    return probe.codex.works and not probe.node.works


def standalone_reason(probe: ProbeResult) -> str | None:
    """Why the standalone install fits this server better than npm, or None when npm works."""
    node = probe.node
    if not node.found:
        return "Node.js is not installed on the server (the standalone codex does not need it)"
    if not node.works:
        return f"node on the server does not run ({node.path}); the standalone codex needs no Node"
    major = version_major(node.version)
    if major is not None and major < NODE_REQUIRED_MAJOR:
        return (
            f"node {node.version} is too old for npm's codex (needs >= {NODE_REQUIRED_MAJOR}); "
            "the standalone codex needs no Node"
        )
    if not probe.npm.works:
        return "npm is not installed on the server (the standalone codex does not need it)"
    return None


def path_advice(shell: str, on_plain_path: bool, on_login_path: bool) -> str | None:
    """Which rc file to put ~/.local/bin on PATH in (None when plain `ssh host codex` works)."""
    if on_plain_path:
        return None
    name = shell.rsplit("/", 1)[-1]
    if name == "fish":
        where, line = "~/.config/fish/config.fish", "fish_add_path $HOME/.local/bin"
    else:
        rc = {"bash": "~/.bashrc", "zsh": "~/.zshenv"}.get(name, "~/.profile")
        where, line = rc, 'export PATH="$HOME/.local/bin:$PATH"'
    scope = "codex-wizard finds it (a login shell's PATH has it); " if on_login_path else ""
    return f"{scope}for `ssh HOST codex` and new shells, add to {where}: {line}"
