#!/usr/bin/env python3
"""Drive the demo through every step of the wizard and save screenshots to screenshots/.

    python scripts/screenshots.py [--out screenshots] [--no-png]

Each screen is saved as SVG (Textual's own export) and, when cairosvg is installed
(`pip install cairosvg`; it needs the cairo library), as PNG too. The run is deterministic: a
fixed terminal size (110x36), a fixed clock, fixed local ports, seeded "random" tokens and demo
host keys, and a fixed demo work directory, so the files only change when the UI does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import os
import random
import shutil
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncssh  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from textual.widgets import Button  # noqa: E402

from codex_wizard.core import clock  # noqa: E402
from codex_wizard.core.laptop.ports import port_is_free  # noqa: E402
from codex_wizard.core.logins import status  # noqa: E402
from codex_wizard.core.progress import LoginPhase  # noqa: E402
from codex_wizard.core.ssh.hosts import HostTarget  # noqa: E402
from codex_wizard.demo import (  # noqa: E402
    DemoScenario,
    DemoServer,
    login_sim,
    server,
    tokens,
)
from codex_wizard.demo.scenarios import SCENARIOS  # noqa: E402
from codex_wizard.tui.app import WizardApp  # noqa: E402

SIZE = (110, 36)
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
LOCAL_PORTS = (41455, 41457)
PACE = 0.2
WORKDIR = Path(tempfile.gettempdir()) / "codex-wizard-screenshots"

SHOTS = {
    "01-hosts": "Step 1: pick a server; each host's Codex login state fills in as it answers.",
    "02-host-key": "Step 2: an unknown host key is shown with its SHA256 fingerprint first.",
    "03-install-missing": "Step 3: the install checklist, each line with its fix.",
    "04-install-done": "Step 3: `npm install -g @openai/codex` streamed live, then re-checked.",
    "05-tunnel": "Step 4: who holds the login port here and there; forwarding; other ways in (w).",
    "06-login-url": "Step 5: the login URL in full, with Copy and Open, and the live tunnel.",
    "07-login-mismatch": "Step 5: a tab from an old URL ('State mismatch'): fresh login offered.",
    "08-login-success": "Step 5: the browser came back through the tunnel; codex logged in.",
    "09-expiry": "Step 6: the new token: expiry as a date and 'in N days', plan, masked account.",
    "10-exchange-failed": "Step 5: codex's own message when the token exchange fails.",
    "11-ways-in": "Step 4: the server refuses forwarding: log in here, relay or device code.",
    "12-relay": "Step 5, relay: paste where the browser ended; it is replayed on the server.",
    "13-relay-done": "Step 5, relay: codex got the callback over SSH and logged in, no tunnel.",
    "14-device-code": "Step 5, device code: the link and the one-time code, both copyable.",
    "15-push-auth": "Step 5, push: a fresh login made here, or this computer's copied (warned).",
    "16-connection-lost": "A dropped connection mid-login: what happened, and Reconnect.",
    "17-standalone-offer": "Step 3, no Node.js on the server: the standalone codex, and why.",
    "18-standalone-done": "Step 3: the standalone codex installed: where, and which rc file.",
    "19-test-prompt-confirm": "Step 6: 'send one test prompt' says first that it uses quota.",
    "20-test-prompt": "Step 6: codex answered the test prompt; the token is read again.",
    "21-fleet-hosts": "Step 1, several servers: an idle one `renews` (codex renews it on use), a "
    "copy of this computer's login is `shared`; space marks hosts to log in one after another.",
}


# ------------------------------------------------------------------ determinism


class _SeededSecrets:
    """Stands in for the `secrets` module inside the demo: repeatable 'random' values."""

    def __init__(self, seed: str) -> None:
        self._random = random.Random(seed)

    def token_bytes(self, n: int = 32) -> bytes:
        return self._random.randbytes(n)

    def token_urlsafe(self, n: int = 32) -> str:
        import base64

        return base64.urlsafe_b64encode(self.token_bytes(n)).rstrip(b"=").decode()


def _seeded_keys(seed: str):
    for n in itertools.count():
        raw = hashlib.sha256(f"{seed}-{n}".encode()).digest()
        pem = Ed25519PrivateKey.from_private_bytes(raw).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        yield asyncssh.import_private_key(pem)


def make_repeatable(seed: str) -> None:
    """Patch the demo's sources of randomness and time (this process only)."""
    secrets = _SeededSecrets(seed)
    for module in (login_sim, server, tokens):
        module.secrets = secrets
    clock.now = lambda: NOW  # the one clock: the demo's tokens and backups read it too
    keys = _seeded_keys(seed)
    server.asyncssh = _AsyncsshWithKeys(keys)
    if all(port_is_free(port) for port in LOCAL_PORTS):
        server.free_ports = lambda count: list(LOCAL_PORTS[:count])


class _AsyncsshWithKeys:
    """asyncssh, except generate_private_key hands out the seeded keys."""

    def __init__(self, keys) -> None:
        self._keys = keys

    def generate_private_key(self, *args, **kwargs):
        return next(self._keys)

    def __getattr__(self, name: str):
        return getattr(asyncssh, name)


# ------------------------------------------------------------------ driving


async def wait_for(pilot, condition, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {condition.__doc__ or condition}")
        await pilot.pause(0.05)


def on(app, name: str) -> bool:
    screen = app.screen
    return type(screen).__name__ == name and screen.is_mounted and bool(screen.children)


def next_enabled(app) -> bool:
    buttons = app.screen.query("#next")
    return bool(buttons) and not buttons.first(Button).disabled


class Shooter:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.saved: list[Path] = []

    async def shot(self, pilot, name: str) -> None:
        app = pilot.app
        app.clear_notifications()
        await pilot.pause(0.6)  # a tick of the live widgets
        await pilot.wait_for_scheduled_animations()
        path = Path(app.save_screenshot(f"{name}.svg", str(self.out)))
        self.saved.append(path)
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def scenario_server(name: str, workdir: str, *, pace: float = PACE) -> DemoServer:
    """The demo server of a named scenario, the one `codex-wizard --demo NAME` opens."""
    return DemoServer(scenario=SCENARIOS[name].paced(pace).scenario, workdir=WORKDIR / workdir)


async def main_run(shooter: Shooter) -> None:
    async with scenario_server("first-run", "main") as demo:
        app = WizardApp(
            settings=SCENARIOS["first-run"].set_up(demo, NOW.timestamp()),
            hosts=[demo.target],
            local_port_for=demo.local_port_for,
            demo=demo,
            now=lambda: NOW,
        )
        app.backend.open_browser = lambda url: False
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: on(app, "HostScreen"))
            await pilot.pause(2.0)  # the status check answers (host key unknown here)
            await shooter.shot(pilot, "01-hosts")
            await pilot.press("enter")
            await wait_for(pilot, lambda: on(app, "HostKeyDialog"))
            await shooter.shot(pilot, "02-host-key")
            await pilot.press("y")
            await wait_for(pilot, lambda: on(app, "InstallScreen") and app.state.probe)
            await shooter.shot(pilot, "03-install-missing")
            await pilot.press("i")
            await wait_for(pilot, lambda: app.state.probe.codex.works and next_enabled(app))
            await shooter.shot(pilot, "04-install-done")
            await pilot.press("n")
            await wait_for(pilot, lambda: on(app, "TunnelScreen") and next_enabled(app))
            await shooter.shot(pilot, "05-tunnel")
            await pilot.press("n")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
            await wait_for(pilot, lambda: on(app, "LoginScreen"))
            await shooter.shot(pilot, "06-login-url")
            await pilot.press("m")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.MISMATCH)
            await shooter.shot(pilot, "07-login-mismatch")
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.login.exited)
            await shooter.shot(pilot, "08-login-success")
            await pilot.press("n")
            await wait_for(pilot, lambda: on(app, "ExpiryScreen") and app.state.record)
            await shooter.shot(pilot, "09-expiry")
            await pilot.press("ctrl+q")


async def failure_run(shooter: Shooter) -> None:
    async with scenario_server("exchange-fails", "failure") as demo:
        app = WizardApp(
            settings=demo.settings,
            hosts=[demo.target],
            local_port_for=demo.local_port_for,
            demo=demo,
            now=lambda: NOW,
            check_statuses=False,
        )
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: on(app, "HostScreen"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: on(app, "InstallScreen") and next_enabled(app))
            await pilot.press("n")
            await wait_for(pilot, lambda: on(app, "TunnelScreen") and next_enabled(app))
            await pilot.press("n")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.login.exited, timeout=30)
            await shooter.shot(pilot, "10-exchange-failed")
            await pilot.press("ctrl+q")


def demo_wizard(demo: DemoServer, **kwargs) -> WizardApp:
    app = WizardApp(
        settings=demo.settings,
        hosts=[demo.target],
        local_port_for=demo.local_port_for,
        demo=demo,
        now=lambda: NOW,
        check_statuses=False,
        **kwargs,
    )
    app.backend.open_browser = lambda url: False
    app.backend.copy_text = lambda text: ""  # as over SSH: OSC 52, whatever this machine has
    return app


async def to_tunnel_step(pilot, app) -> None:
    await wait_for(pilot, lambda: on(app, "HostScreen"))
    await pilot.press("enter")
    await wait_for(pilot, lambda: on(app, "InstallScreen") and next_enabled(app))
    await pilot.press("n")
    await wait_for(pilot, lambda: on(app, "TunnelScreen") and app.state.forwarding is not None)
    await wait_for(pilot, lambda: next_enabled(app))


async def fallback_run(shooter: Shooter) -> None:
    """A server with AllowTcpForwarding no: the ways in, then a login by relay."""
    async with scenario_server("relay", "relay") as demo:
        app = demo_wizard(demo)
        async with app.run_test(size=SIZE) as pilot:
            await to_tunnel_step(pilot, app)
            await pilot.press("n")  # "Other ways in"
            await wait_for(pilot, lambda: on(app, "WaysInScreen"))
            await pilot.pause(0.5)  # the laptop's auth.json is looked at
            await shooter.shot(pilot, "11-ways-in")
            await pilot.press("r")
            await wait_for(pilot, lambda: on(app, "RelayScreen"))
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
            await pilot.press("s")  # the demo types in where the browser ended
            await shooter.shot(pilot, "12-relay")
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.state.login.exited)
            await shooter.shot(pilot, "13-relay-done")
            await pilot.press("ctrl+q")


async def device_run(shooter: Shooter) -> None:
    """Device code, at the demo's natural pace (it approves the code after 4 s)."""
    async with scenario_server("device-code", "device", pace=1.0) as demo:
        app = demo_wizard(demo)
        async with app.run_test(size=SIZE) as pilot:
            await to_tunnel_step(pilot, app)
            await pilot.press("w")
            await wait_for(pilot, lambda: on(app, "WaysInScreen"))
            await pilot.press("d")
            await wait_for(pilot, lambda: on(app, "DeviceScreen"))
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
            await pilot.press("k")
            await shooter.shot(pilot, "14-device-code")
            await pilot.press("ctrl+q")


async def push_run(shooter: Shooter) -> None:
    async with scenario_server("healthy", "push") as demo:
        app = demo_wizard(demo)
        async with app.run_test(size=SIZE) as pilot:
            await to_tunnel_step(pilot, app)
            await pilot.press("w")
            await wait_for(pilot, lambda: on(app, "WaysInScreen"))
            await pilot.pause(0.5)
            await pilot.press("p")
            await wait_for(pilot, lambda: on(app, "PushScreen"))
            await wait_for(pilot, lambda: next_enabled(app) or not app.screen.busy)
            await pilot.press("p")
            await wait_for(pilot, lambda: on(app, "ConfirmDialog"))
            await pilot.press("y")
            await wait_for(pilot, lambda: app.state.pushed is not None and next_enabled(app))
            await shooter.shot(pilot, "15-push-auth")
            await pilot.press("ctrl+q")


async def lost_run(shooter: Shooter) -> None:
    """The demo server drops every connection while the login waits for the browser."""
    async with scenario_server("healthy", "lost") as demo:
        app = demo_wizard(demo)
        async with app.run_test(size=SIZE) as pilot:
            await to_tunnel_step(pilot, app)
            await pilot.press("n")
            await wait_for(pilot, lambda: app.state.login.phase is LoginPhase.WAITING)
            for conn in list(demo.connections):
                conn.abort()
            await wait_for(pilot, lambda: on(app, "ConnectionLostScreen"))
            await wait_for(pilot, lambda: app.state.login.exited)
            await shooter.shot(pilot, "16-connection-lost")
            await pilot.press("ctrl+q")


async def standalone_run(shooter: Shooter) -> None:
    """A server without Node.js: the standalone codex, then one test prompt."""
    async with scenario_server("standalone", "standalone") as demo:
        app = demo_wizard(demo)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: on(app, "HostScreen"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: on(app, "InstallScreen") and app.state.probe)
            await shooter.shot(pilot, "17-standalone-offer")
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.standalone is not None and next_enabled(app))
            await shooter.shot(pilot, "18-standalone-done")
            await pilot.press("t")  # already logged in: straight to the token
            await wait_for(pilot, lambda: on(app, "ExpiryScreen") and app.state.record)
            await pilot.press("p")
            await wait_for(pilot, lambda: on(app, "ConfirmDialog"))
            await shooter.shot(pilot, "19-test-prompt-confirm")
            await pilot.press("y")
            await wait_for(
                pilot, lambda: "answered" in str(app.screen.query_one("#live-note").render())
            )
            await wait_for(pilot, lambda: not app.screen.busy)
            await shooter.shot(pilot, "20-test-prompt")
            await pilot.press("ctrl+q")


@contextlib.contextmanager
def patched_env(name: str, value: str):
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


FLEET = {  # host alias: its auth.json (None: not logged in)
    "web1": "fresh",
    "old-vps": "renews",
    "build": "copy",
    "gpu-box": None,
}


def fleet_auth(kind: str | None, demo: DemoServer, laptop_auth: Path) -> str | None:
    if kind == "renews":  # idle for days: the access token expired 2 days ago
        return SCENARIOS["renews"].server_auth(demo, NOW.timestamp())
    if kind == "copy":  # this computer's very login, copied over (one refresh token)
        return laptop_auth.read_text()
    return None


async def fleet_run(shooter: Shooter) -> None:
    """Four demo servers in one host list, their states checked as the wizard does."""
    async with contextlib.AsyncExitStack() as stack:
        demos = {}
        for name, kind in FLEET.items():
            scenario = DemoScenario(pace=PACE, logged_in=kind is not None)
            demo = DemoServer(scenario=scenario, workdir=WORKDIR / f"fleet-{name}")
            demos[name] = await stack.enter_async_context(demo)
        laptop_auth = demos["build"].laptop_auth_path
        blocks = []
        for name, demo in demos.items():
            text = fleet_auth(FLEET[name], demo, laptop_auth)
            if text is not None:
                demo.auth_json_path.write_text(text)
            blocks.append(
                demo.settings.ssh_config.read_text().replace("Host demo\n", f"Host {name}\n")
            )
        config = WORKDIR / "fleet_ssh_config"
        config.write_text("\n".join(blocks))
        first = demos["web1"]
        app = WizardApp(
            settings=replace(first.settings, ssh_config=config),
            hosts=[HostTarget(name) for name in FLEET],
            demo=first,
            now=lambda: NOW,
        )
        # this computer's own login is the demo's made-up one, never the user's real one
        stack.enter_context(patched_env("CODEX_HOME", str(laptop_auth.parent)))
        app.backend.local_login = lambda: status.local_login(NOW)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: on(app, "HostScreen"))
            await wait_for(pilot, lambda: len(app.screen.shown) == len(FLEET))
            await pilot.press("space", "down", "space", "down", "space")
            await pilot.pause(0.3)
            await shooter.shot(pilot, "21-fleet-hosts")
            await pilot.press("ctrl+q")


def to_png(svgs: list[Path]) -> bool:
    try:
        import cairosvg
    except (ImportError, OSError):
        print("cairosvg is not available: SVG only (pip install cairosvg for PNG).")
        return False
    for svg in svgs:
        cairosvg.svg2png(url=str(svg), write_to=str(svg.with_suffix(".png")))
    return True


def write_index(out: Path, png: bool) -> None:
    lines = [
        "# Screenshots",
        "",
        "Made by `python scripts/screenshots.py` from `codex-wizard --demo` (110x36).",
        "",
    ]
    for name, caption in SHOTS.items():
        image = f"{name}.png" if png else f"{name}.svg"
        lines += [f"![{name}]({image})", f"{caption}", ""]
    (out / "README.md").write_text("\n".join(lines))


async def run(out: Path) -> list[Path]:
    shooter = Shooter(out)
    await main_run(shooter)
    await failure_run(shooter)
    await fallback_run(shooter)
    await device_run(shooter)
    await push_run(shooter)
    await lost_run(shooter)
    await standalone_run(shooter)
    await fleet_run(shooter)
    return shooter.saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--no-png", action="store_true", help="write SVG only")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    make_repeatable("codex-wizard-screenshots")
    print(f"Writing screenshots to {args.out}:")
    try:
        saved = asyncio.run(run(args.out))
    finally:
        shutil.rmtree(WORKDIR, ignore_errors=True)
    png = False if args.no_png else to_png(saved)
    write_index(args.out, png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
