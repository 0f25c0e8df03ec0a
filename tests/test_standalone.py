"""The standalone install's pure parts, and its shell scripts run locally under a temp HOME."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_wizard.core.install.download import _parse_document
from codex_wizard.core.install.plan import (
    Platform,
    StandaloneError,
    path_advice,
    platform_for,
    standalone_reason,
)
from codex_wizard.core.install.registry import (
    DEFAULT_REGISTRY,
    document_url,
    integrity_matches,
    platform_version,
    registry_from_env,
    registry_from_npmrc,
    sha512_hex,
    tarball_from,
)
from codex_wizard.core.install.scripts import MARK, install_script, metadata_script
from codex_wizard.core.install.standalone import InstallProgress, Phase, _ScriptWatcher
from codex_wizard.core.server.probe import ProbeResult, ToolInfo
from tests.lab.registry import build_package, integrity_of, serve_in_thread

LINUX_X64 = Platform("linux-x64", "x86_64-unknown-linux-musl")


@pytest.mark.parametrize(
    ("system", "machine", "suffix", "triple"),
    [
        ("Linux", "x86_64", "linux-x64", "x86_64-unknown-linux-musl"),
        ("Linux", "aarch64", "linux-arm64", "aarch64-unknown-linux-musl"),
        ("Linux", "arm64", "linux-arm64", "aarch64-unknown-linux-musl"),
        ("Darwin", "x86_64", "darwin-x64", "x86_64-apple-darwin"),
        ("Darwin", "arm64", "darwin-arm64", "aarch64-apple-darwin"),
    ],
)
def test_platform_mapping(system: str, machine: str, suffix: str, triple: str) -> None:
    found = platform_for(system, machine)
    assert (found.suffix, found.triple) == (suffix, triple)
    assert found.alias == f"@openai/codex-{suffix}"


@pytest.mark.parametrize(
    ("system", "machine"), [("Linux", "armv7l"), ("FreeBSD", "amd64"), ("", "")]
)
def test_unsupported_platform_is_a_clear_error(system: str, machine: str) -> None:
    with pytest.raises(StandaloneError, match="no standalone codex for"):
        platform_for(system, machine)


def test_npmrc_registry() -> None:
    assert registry_from_npmrc("") is None
    assert registry_from_npmrc("registry=https://npm.corp.example/api/npm/") == (
        "https://npm.corp.example/api/npm/"
    )
    text = (
        "; comment\n# other\nregistry = 'https://a.example'\n@openai:registry=https://b.example\n"
    )
    assert registry_from_npmrc(text) == "https://b.example/"
    assert registry_from_npmrc("fund=false\n//host/:_authToken=x\n") is None
    with pytest.raises(StandaloneError):
        registry_from_npmrc("registry=file:///etc")


def test_env_registry_any_case() -> None:
    assert (
        registry_from_env({"NPM_CONFIG_REGISTRY": "http://127.0.0.1:9/"}) == "http://127.0.0.1:9/"
    )
    assert registry_from_env({"npm_config_registry": "https://x.example"}) == "https://x.example/"
    assert registry_from_env({"PATH": "/bin"}) is None


def test_document_url_escapes_the_scope() -> None:
    assert document_url(DEFAULT_REGISTRY, "latest") == (
        "https://registry.npmjs.org/@openai%2Fcodex/latest"
    )
    assert document_url("http://h:1/sub", "0.169.0-linux-x64").endswith(
        "/sub/@openai%2Fcodex/0.169.0-linux-x64"
    )


def test_integrity_hex_and_file_check(tmp_path: Path) -> None:
    data = b"tarball bytes"
    path = tmp_path / "pkg.tgz"
    path.write_bytes(data)
    integrity = integrity_of(data)
    assert sha512_hex(integrity) == hashlib.sha512(data).hexdigest()
    assert sha512_hex(f"sha1-abc= {integrity}") == hashlib.sha512(data).hexdigest()
    assert integrity_matches(path, integrity)
    path.write_bytes(data + b"x")
    assert not integrity_matches(path, integrity)


@pytest.mark.parametrize(
    "bad", ["sha1-qUqP5cyxm6YcTAhz05Hph5gvu9M=", "sha512-!!!", "sha512-AAAA", ""]
)
def test_integrity_without_a_good_sha512_is_refused(bad: str) -> None:
    with pytest.raises(StandaloneError):
        sha512_hex(bad)


LAUNCHER = {
    "name": "@openai/codex",
    "version": "0.169.0",
    "optionalDependencies": {"@openai/codex-linux-x64": "npm:@openai/codex@0.169.0-linux-x64"},
}
PACKAGE = {
    "version": "0.169.0-linux-x64",
    "dist": {
        "tarball": "https://registry.npmjs.org/@openai/codex/-/codex-0.169.0-linux-x64.tgz",
        "integrity": "sha512-o05NyAOCDygSPRo1yinzxvkRSdmsZyBD9E7mbpmjRanSfM8lypqWtQgEo4XfNkwhuCR2a"
        "Fu8mlGOsQGFXVbVww==",
    },
}


def test_package_documents_as_npm_publishes_them() -> None:
    assert platform_version(LAUNCHER, LINUX_X64) == "0.169.0-linux-x64"
    tarball = tarball_from(LAUNCHER, PACKAGE)
    assert tarball.dir_name == "0.169.0-linux-x64"
    assert tarball.platform == LINUX_X64
    assert len(tarball.sha512_hex) == 128


def test_old_launcher_without_platform_packages() -> None:
    with pytest.raises(StandaloneError, match="no standalone package for linux-arm64"):
        platform_version(LAUNCHER, platform_for("Linux", "aarch64"))
    with pytest.raises(StandaloneError, match="not a codex version"):
        platform_version({"version": "0.1.0; rm -rf ~"}, LINUX_X64)


def test_package_without_integrity_is_refused() -> None:
    doc = {**PACKAGE, "dist": {"tarball": PACKAGE["dist"]["tarball"]}}
    with pytest.raises(StandaloneError, match="no integrity"):
        tarball_from(LAUNCHER, doc)


def test_scripts_quote_what_comes_from_the_registry() -> None:
    url = "https://evil.example/x'; touch /tmp/pwned; '.tgz"
    doc = {**PACKAGE, "dist": {**PACKAGE["dist"], "tarball": url}}
    script = install_script(tarball_from(LAUNCHER, doc), "abcdef012345", download=True)
    assert "'https://evil.example/x'\"'\"'; touch /tmp/pwned; '\"'\"'.tgz'" in script
    for text in (script, metadata_script(url)):
        assert subprocess.run(["sh", "-n", "-c", text], check=False).returncode == 0


def test_reason_to_offer_standalone() -> None:
    def probe(node: ToolInfo, npm: ToolInfo | None = None) -> ProbeResult:
        return ProbeResult(node=node, npm=npm or ToolInfo("npm", "/usr/bin/npm", "10.0.0", "", 0))

    assert "not installed" in standalone_reason(probe(ToolInfo("node")))
    old = ToolInfo("node", "/usr/bin/node", "14.21.3", "v14.21.3", 0)
    assert "too old" in standalone_reason(probe(old))
    broken = ToolInfo("node", "/usr/bin/node", None, "not found", 127)
    assert "does not run" in standalone_reason(probe(broken))
    good = ToolInfo("node", "/usr/bin/node", "22.1.0", "v22.1.0", 0)
    assert standalone_reason(probe(good)) is None
    assert "npm" in standalone_reason(probe(good, ToolInfo("npm")))


def test_path_advice_names_the_rc_file() -> None:
    assert path_advice("/bin/bash", True, True) is None
    assert "~/.bashrc" in path_advice("/bin/bash", False, True)
    assert "codex-wizard finds it" in path_advice("/bin/bash", False, True)
    assert "~/.zshenv" in path_advice("/usr/bin/zsh", False, False)
    assert "fish_add_path" in path_advice("/usr/bin/fish", False, False)
    assert "~/.profile" in path_advice("/bin/dash", False, False)


def test_progress_words() -> None:
    assert InstallProgress(Phase.UNPACK).describe() == "unpacking…"
    line = InstallProgress(Phase.DOWNLOAD, 12_000_000, 150_300_000, 8_100_000).describe()
    assert line == "downloading on the server: 12.0 of 150.3 MB, 8.1 MB/s"


def test_parse_document_between_marks() -> None:
    lines = ["@@cwpid 1", f"{MARK} doc", '{"version":', '"0.1.0"}', f"{MARK} end"]
    assert _parse_document(lines, "u") == {"version": "0.1.0"}
    with pytest.raises(StandaloneError):
        _parse_document([f"{MARK} doc", "<html>", f"{MARK} end"], "u")


def test_watcher_reads_phases_progress_and_failure() -> None:
    seen: list[InstallProgress] = []
    watcher = _ScriptWatcher(seen.append)
    for line in (
        f"{MARK} phase download",
        f"{MARK} progress 10 0",
        "curl: (56) Recv failure",
        f"{MARK} fail integrity abc",
    ):
        watcher.line(line)
    assert seen[0].phase is Phase.DOWNLOAD
    assert watcher.fail == ["fail", "integrity", "abc"]
    assert watcher.output == ["curl: (56) Recv failure"]


# --- the install script itself, run by the local sh against a local registry stand-in ----------


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "registry"
    build_package(root, "0.169.0")
    server = serve_in_thread(root)
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _documents(root: Path, version: str, base: str) -> tuple[dict, dict]:
    launcher = json.loads((root / f"{version}.json").read_text())
    text = (root / f"{version}-linux-x64.json").read_text().replace("@@REGISTRY@@", base)
    return launcher, json.loads(text)


def _run(script: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    return subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_install_script_installs_and_switches(registry: tuple[Path, str], tmp_path: Path) -> None:
    root, base = registry
    home = tmp_path / "home"
    home.mkdir()
    tarball = tarball_from(*_documents(root, "0.169.0", base))
    proc = _run(install_script(tarball, "00112233aabb", download=True), home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    link = home / ".local/bin/codex"
    assert link.is_symlink()
    target = home / ".local/lib/codex-standalone/0.169.0-linux-x64/bin/codex"
    assert link.resolve() == target.resolve()
    assert sorted(p.name for p in (home / ".local/lib/codex-standalone").iterdir()) == [
        "0.169.0-linux-x64"
    ]
    assert f"{MARK} done {target}" in proc.stdout


def test_install_script_refuses_a_corrupted_tarball(
    registry: tuple[Path, str], tmp_path: Path
) -> None:
    root, base = registry
    build_package(root, "0.171.0", corrupt=True)
    home = tmp_path / "home"
    home.mkdir()
    tarball = tarball_from(*_documents(root, "0.171.0", base))
    proc = _run(install_script(tarball, "00112233aabb", download=True), home)
    assert proc.returncode == 1
    assert f"{MARK} fail integrity" in proc.stdout
    assert list((home / ".local/lib/codex-standalone").iterdir()) == []
    assert not (home / ".local/bin/codex").exists()
