"""An npm registry stand-in for the standalone install: the documents and tarball of a small
`@openai/codex` platform package with the real layout. stdlib only.

`build_package(dir, version)` writes `package/vendor/<triple>/` like the real 0.169.0 one
(`codex-package.json`, `bin/codex`, `codex-path/rg`, `codex-resources/`) but `bin/codex` is the
lab's fake codex printing `codex-cli <version>` (the real tree is ~400 MB), packs it, and writes
the launcher and platform documents with the tarball's true sha512 `dist.integrity`.

Run as a script inside the lab namespace: `registry.py PORT DIR` serves DIR's `routes.json`
(URL path -> file). In-process: `serve_in_thread(dir)` on 127.0.0.1, an ephemeral port.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRIPLE, SUFFIX = "x86_64-unknown-linux-musl", "linux-x64"
PLACEHOLDER = "@@REGISTRY@@"  # replaced by the serving URL in documents


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def _fake_binary(version: str) -> bytes:
    text = (HERE / "fake_codex.py").read_text()
    text = text.replace('VERSION = "0.169.0"', f'VERSION = "{version}"')
    return text.replace('"launcher": True', '"launcher": False').encode()


def package_tarball(version: str, *, pad: int = 0) -> bytes:
    """The platform package's .tgz (gzip), as npm publishes it (everything under package/)."""
    buffer = io.BytesIO()
    vendor = f"package/vendor/{TRIPLE}"
    manifest = {
        "layoutVersion": 1,
        "version": version,
        "target": TRIPLE,
        "variant": "codex",
        "entrypoint": "bin/codex",
        "resourcesDir": "codex-resources",
        "pathDir": "codex-path",
    }
    pkg = {"name": "@openai/codex", "version": f"{version}-{SUFFIX}", "files": ["vendor"]}
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        _add(tar, "package/package.json", json.dumps(pkg).encode())
        _add(tar, f"{vendor}/codex-package.json", json.dumps(manifest).encode())
        _add(tar, f"{vendor}/bin/codex", _fake_binary(version), 0o755)
        _add(tar, f"{vendor}/bin/fake_tokens.py", (HERE / "fake_tokens.py").read_bytes())
        _add(tar, f"{vendor}/codex-path/rg", b"#!/bin/sh\necho 'ripgrep 14.1.1'\n", 0o755)
        _add(tar, f"{vendor}/codex-resources/README.md", b"resources\n")
        if pad:  # incompressible, so the tarball grows by `pad` bytes
            _add(tar, f"{vendor}/codex-resources/padding.bin", os.urandom(pad))
    return buffer.getvalue()


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def build_package(
    root: Path, version: str, *, corrupt: bool = False, latest: bool = True, pad: int = 0
) -> None:
    """Documents and tarball for `version` in root (routes.json updated; `corrupt`: the served
    tarball differs from the published integrity)."""
    root.mkdir(parents=True, exist_ok=True)
    data = package_tarball(version, pad=pad)
    name = f"codex-{version}-{SUFFIX}.tgz"
    (root / name).write_bytes(data + b"tampered" if corrupt else data)
    launcher = {
        "name": "@openai/codex",
        "version": version,
        "optionalDependencies": {
            f"@openai/codex-{s}": f"npm:@openai/codex@{version}-{s}"
            for s in ("linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64")
        },
    }
    platform = {
        "name": "@openai/codex",
        "version": f"{version}-{SUFFIX}",
        "dist": {
            "tarball": f"{PLACEHOLDER}@openai/codex/-/{name}",
            "integrity": integrity_of(data),
            "unpackedSize": 4096,
        },
    }
    (root / f"{version}.json").write_text(json.dumps(launcher))
    (root / f"{version}-{SUFFIX}.json").write_text(json.dumps(platform))
    routes_file = root / "routes.json"
    routes = json.loads(routes_file.read_text()) if routes_file.exists() else {}
    routes[f"/@openai%2fcodex/{version}"] = f"{version}.json"
    routes[f"/@openai%2fcodex/{version}-{SUFFIX}"] = f"{version}-{SUFFIX}.json"
    routes[f"/@openai/codex/-/{name}"] = name
    if latest:
        routes["/@openai%2fcodex/latest"] = f"{version}.json"
    routes_file.write_text(json.dumps(routes))


def _handler(root: Path, port_box: list[int]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            (root / "requests.log").open("a").write(self.path + "\n")

        def do_GET(self) -> None:
            routes = json.loads((root / "routes.json").read_text())
            name = routes.get(self.path.replace("%2F", "%2f"))
            if name is None:
                self.send_error(404, "Not Found")
                return
            data = (root / name).read_bytes()
            is_doc = name.endswith(".json")
            if is_doc:
                here = f"http://127.0.0.1:{port_box[0]}/"
                data = data.replace(PLACEHOLDER.encode(), here.encode())
            self.send_response(200)
            self.send_header("Content-Type", "application/json" if is_doc else "application/gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self._send(data, slow=not is_doc and (root / "slow").exists())

        def _send(self, data: bytes, *, slow: bool) -> None:
            """The body; with a `slow` file in root, 4 KiB every 50 ms (for cancel tests)."""
            step = 4096 if slow else len(data) or 1
            for start in range(0, len(data), step):
                self.wfile.write(data[start : start + step])
                if slow:
                    time.sleep(0.05)

    return Handler


def make_server(root: Path, port: int = 0) -> ThreadingHTTPServer:
    port_box = [port]
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(root, port_box))
    port_box[0] = server.server_address[1]
    return server


def serve_in_thread(root: Path) -> ThreadingHTTPServer:
    """Serve root on 127.0.0.1:<ephemeral>; call .shutdown() when done."""
    server = make_server(root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    make_server(Path(sys.argv[2]), int(sys.argv[1])).serve_forever()
