"""The doctor's checks and the way in it recommends, from check results alone."""

from __future__ import annotations

from codex_wizard.core.doctor import (
    Check,
    DoctorReport,
    Verdict,
    check_node,
    check_server_ports,
    recommend,
)
from codex_wizard.core.laptop.ports import PortOwner
from codex_wizard.core.server.probe import ToolInfo

NAMES = [
    "ssh",
    "host key",
    "node",
    "npm",
    "codex",
    "PATH",
    "local port",
    "server port",
    "forwarding",
    "auth file",
    "token",
]


def report(**verdicts: Verdict) -> DoctorReport:
    checks = [
        Check(name, verdicts.get(name.replace(" ", "_"), Verdict.PASS), "found") for name in NAMES
    ]
    return DoctorReport("web", checks)


def test_recommends_relay_when_forwarding_is_refused() -> None:
    text = report(forwarding=Verdict.FAIL).recommendation()
    assert "--relay" in text and "--device-auth" in text and "push-auth web --fresh" in text


def test_a_busy_port_here_rules_out_a_fresh_login_here_too() -> None:
    text = report(local_port=Verdict.FAIL).recommendation()
    assert "--relay" in text and "push-auth" not in text


def test_recommends_install_first() -> None:
    assert "npm install -g @openai/codex" in report(codex=Verdict.FAIL).recommendation()


def test_recommends_fixing_ssh_first() -> None:
    assert "SSH" in report(ssh=Verdict.FAIL).recommendation()


def test_nothing_to_do_or_login() -> None:
    assert "Nothing to do" in report().recommendation()
    assert report(token=Verdict.WARN).recommendation() == "codex-wizard login web"
    assert report(token=Verdict.SKIP).recommendation() == "codex-wizard login web"


def test_node_versions() -> None:
    assert check_node(ToolInfo("node")).verdict is Verdict.FAIL
    old = ToolInfo("node", "/usr/bin/node", "14.21.3", "v14.21.3", 0)
    assert check_node(old).verdict is Verdict.FAIL
    mid = ToolInfo("node", "/usr/bin/node", "20.1.0", "v20.1.0", 0)
    assert check_node(mid).verdict is Verdict.WARN
    new = ToolInfo("node", "/usr/bin/node", "22.11.0", "v22.11.0", 0)
    assert check_node(new).verdict is Verdict.PASS


def test_server_ports() -> None:
    codex = PortOwner(1455, "127.0.0.1", 42, "codex")
    other = PortOwner(1457, "127.0.0.1", 43, "nginx")
    assert check_server_ports({1455: None, 1457: None}).verdict is Verdict.PASS
    assert check_server_ports({1455: codex, 1457: None}).verdict is Verdict.WARN
    assert check_server_ports({1455: codex, 1457: other}).verdict is Verdict.FAIL


def test_recommendation_without_node_is_the_standalone_install() -> None:
    checks = [Check("node", Verdict.FAIL, "node not found"), Check("codex", Verdict.FAIL, "none")]
    assert "codex-wizard install web --standalone" in recommend(DoctorReport("web", checks))
    checks = [Check("node", Verdict.PASS, "node 22"), Check("codex", Verdict.FAIL, "none")]
    assert "npm install -g @openai/codex" in recommend(DoctorReport("web", checks))
