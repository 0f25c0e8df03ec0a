"""The demo's named scenarios: `codex-wizard --demo NAME` (and `--demo list`) and
scripts/screenshots.py reach each situation the README's screenshots show by the same name.

A scenario is the demo server's knobs (DemoScenario) plus what is set up around it once the
server runs: a known_hosts that does not know its key yet (the host-key question), or an
auth.json on the server that is expired, or shared with this computer's (made-up) login.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from .scenario import DemoScenario
from .tokens import demo_auth_json

if TYPE_CHECKING:
    from ..core.ssh.types import ConnectSettings
    from .server import DemoServer

DAY_S = 86400.0


class ServerLogin(StrEnum):
    """The auth.json the demo server holds, beyond DemoScenario.logged_in's fresh one."""

    AS_CONFIGURED = "as configured"
    EXPIRED = "expired"  # an access token past its expiry, and no refresh token to renew it
    RENEWS = "renews"  # idle for days: expired, but codex renews it on its next run
    SHARED = "shared"  # a copy of this computer's login: one refresh token for two machines


@dataclass(frozen=True)
class NamedScenario:
    name: str
    what: str  # the situation, and how to reach it when a key in the wizard is needed
    scenario: DemoScenario = DemoScenario()  # noqa: RUF009 - frozen, so safe to share
    host_key_unknown: bool = False
    server_login: ServerLogin = ServerLogin.AS_CONFIGURED

    def paced(self, pace: float) -> NamedScenario:
        """The same situation with every simulated delay scaled (tests, screenshots)."""
        return replace(self, scenario=replace(self.scenario, pace=pace))

    def set_up(self, demo: DemoServer, now: float) -> ConnectSettings:
        """Once the server runs: its login as named; the settings to connect to it with."""
        text = self.server_auth(demo, now)
        if text is not None:
            demo.auth_json_path.write_text(text)
        if self.server_login is ServerLogin.SHARED:  # this process's own login: the demo's
            os.environ["CODEX_HOME"] = str(demo.laptop_auth_path.parent)
        return unknown_key_settings(demo) if self.host_key_unknown else demo.settings

    def server_auth(self, demo: DemoServer, now: float) -> str | None:
        """The auth.json text the server gets (None: DemoScenario's own, or none)."""
        if self.server_login is ServerLogin.EXPIRED:
            doc = json.loads(demo_auth_json(expires_in_s=-2 * DAY_S, now=now))
            del doc["tokens"]["refresh_token"]
            return json.dumps(doc, indent=2) + "\n"
        if self.server_login is ServerLogin.RENEWS:
            return demo_auth_json(expires_in_s=10 * DAY_S, now=now - 12 * DAY_S)
        if self.server_login is ServerLogin.SHARED:
            return demo.laptop_auth_path.read_text()
        return None


NOT_LOGGED_IN = DemoScenario(logged_in=False)
SCENARIOS = {
    named.name: named
    for named in (
        NamedScenario("healthy", "a healthy server, already logged in"),
        NamedScenario(
            "first-run",
            "unknown host key, codex missing, not logged in: every step in turn",
            DemoScenario(codex_installed=False, logged_in=False),
            host_key_unknown=True,
        ),
        NamedScenario(
            "host-key",
            "the host-key question: a key known_hosts does not know yet",
            NOT_LOGGED_IN,
            host_key_unknown=True,
        ),
        NamedScenario(
            "missing-install",
            "codex is not installed: the install step's checklist",
            DemoScenario(codex_installed=False, logged_in=False),
        ),
        NamedScenario(
            "standalone",
            "no Node.js on the server: the standalone codex is offered",
            DemoScenario(codex_installed=False, node_version=""),
        ),
        NamedScenario(
            "state-mismatch",
            "a tab from an old URL: at the sign-in step press m, then s",
            NOT_LOGGED_IN,
        ),
        NamedScenario(
            "exchange-fails",
            "codex's token exchange fails: at the sign-in step press s",
            DemoScenario(token_exchange_fails=True),
        ),
        NamedScenario(
            "forwarding-refused",
            "AllowTcpForwarding no: the other ways in",
            DemoScenario(forwarding_refused=True),
        ),
        NamedScenario(
            "relay",
            "no tunnel: paste where the browser ended (at the ways in choose relay)",
            DemoScenario(forwarding_refused=True),
        ),
        NamedScenario(
            "device-code",
            "the device code: at the tunnel step press w, then choose it",
        ),
        NamedScenario(
            "port-busy",
            "127.0.0.1:1455 on the server is held by another program",
            DemoScenario(port_1455_busy=True, logged_in=False),
        ),
        NamedScenario(
            "expired",
            "the server's login expired and has no refresh token: log in again",
            server_login=ServerLogin.EXPIRED,
        ),
        NamedScenario(
            "renews",
            "idle for days: expired, but codex renews it on use",
            server_login=ServerLogin.RENEWS,
        ),
        NamedScenario(
            "shared",
            "the server holds a copy of this computer's login (one refresh token)",
            server_login=ServerLogin.SHARED,
        ),
        NamedScenario(
            "hostile",
            "a compromised server: escapes and look-alike links, all made harmless",
            DemoScenario(hostile=True, logged_in=False),
        ),
    )
}
DEFAULT = "healthy"


class UnknownScenario(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"no demo scenario {name!r}; `codex-wizard --demo list` shows them: "
            + ", ".join(SCENARIOS)
        )


def scenario_named(name: str) -> NamedScenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownScenario(name) from None


def listing() -> list[str]:
    """`--demo list`: one line per scenario, name then what it shows."""
    width = max(len(name) for name in SCENARIOS)
    return [f"{named.name:<{width}}  {named.what}" for named in SCENARIOS.values()]


def unknown_key_settings(demo: DemoServer) -> ConnectSettings:
    """The demo's settings with an empty known_hosts of their own, so the host-key question
    comes up (the server's key is not trusted yet)."""
    config = demo.settings.ssh_config
    fresh = config.with_name("known_hosts_empty")
    fresh.write_text("")
    lines = [
        f'  UserKnownHostsFile "{fresh}"' if "UserKnownHostsFile" in line else line
        for line in config.read_text().splitlines()
    ]
    new_config = config.with_name("ssh_config_fresh")
    new_config.write_text("\n".join(lines) + "\n")
    return replace(demo.settings, ssh_config=new_config)
