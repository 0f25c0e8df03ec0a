"""The preflight's parts without a server: the reach test against loopback listeners, the
parsing of its sections, and the verdicts (core/server/preflight.py, core/preflight.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from codex_wizard.core.laptop.ports import PortOwner
from codex_wizard.core.preflight import Verdict, forwarding_check, landing_port, server_checks
from codex_wizard.core.server.preflight import (
    _REACH_PY,
    CaFile,
    auth_address,
    parse_preflight,
)
from codex_wizard.core.server.probe import ProbeResult
from codex_wizard.core.server.tunnel import ForwardingCheck, ForwardingState


@pytest.fixture
def listener() -> Iterator[int]:
    """A loopback port that accepts and, for a CONNECT, answers 200 (a tiny proxy)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                if conn.recv(200).startswith(b"CONNECT"):
                    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    yield sock.getsockname()[1]
    sock.close()


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: nothing listens


def reach(port: int, **env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    done = subprocess.run(
        [sys.executable, "-c", _REACH_PY, "127.0.0.1", str(port), "2"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=10,
    )
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


def test_reach_direct_ok_and_refused(listener: int) -> None:
    assert reach(listener) == {"via": "direct", "reach": "ok"}
    assert reach(dead_port())["reach"].startswith("fail Connection refused")


def test_reach_goes_through_the_proxy_the_environment_names(listener: int) -> None:
    target = dead_port()  # only the proxy is asked: it says 200
    assert reach(target, HTTPS_PROXY=f"http://127.0.0.1:{listener}")["reach"] == "ok"
    dead = reach(target, https_proxy=f"http://127.0.0.1:{dead_port()}")
    assert dead["via"].startswith("proxy 127.0.0.1:") and dead["reach"].startswith("fail")


def test_no_proxy_sends_the_host_direct(listener: int) -> None:
    found = reach(listener, HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="example.com,127.0.0.1")
    assert found == {"via": "direct", "reach": "ok"}


def test_auth_address_defaults_to_openai_and_takes_host_port() -> None:
    assert auth_address({}) == ("auth.openai.com", 443)
    assert auth_address({"CODEX_WIZARD_AUTH_ADDRESS": "127.0.0.1:8443"}) == ("127.0.0.1", 8443)
    assert auth_address({"CODEX_WIZARD_AUTH_ADDRESS": "nonsense"}) == ("auth.openai.com", 443)


SECTIONS = {
    "pf.home": "dir=/home/u/.codex\nset=\nexists=yes\nwritable=yes\nfree_kb=12",
    "pf.status": (  # real codex 0.169 and 0.171, in a chroot without /proc
        "exit=1\nWARNING: proceeding, even though we could not create PATH aliases: no "
        "/proc/self/exe available. Is /proc mounted?\nError loading configuration: no "
        "/proc/self/exe available. Is /proc mounted?"
    ),
    "pf.ca": "SSL_CERT_FILE missing /etc/nope.pem",
    "pf.reach": "exit=0\nvia=direct\nreach=ok",
    "pf.uid": "1000",
    "pf.listeners": "1455 1001 bob",
    "pf.logins": "1001 node /usr/lib/node_modules/@openai/codex/bin/codex.js login",
}


def test_sections_parse_into_what_the_checks_need() -> None:
    pre = parse_preflight(SECTIONS)
    assert pre.codex_home.free_kb == 12 and pre.codex_home.writable
    assert pre.login_status is not None and pre.login_status.exit_code == 1
    assert pre.ca_file == CaFile("SSL_CERT_FILE", "/etc/nope.pem", "missing")
    assert pre.other_users_login(1455) is not None and pre.other_users_login(1455).user == "bob"
    assert parse_preflight({}).checked is False


def test_each_finding_has_its_verdict() -> None:
    probe = ProbeResult(preflight=parse_preflight(SECTIONS))
    verdicts = {c.name: (c.verdict, c.found) for c in server_checks(probe, ("h", 443), "lab")}
    assert verdicts["login file"][0] is Verdict.FAIL and "full" in verdicts["login file"][1]
    assert verdicts["codex config"] == (
        Verdict.FAIL,
        "`codex login status` says: Error loading configuration: no /proc/self/exe available. "
        "Is /proc mounted?",
    )
    assert (
        verdicts["auth server"][0] is Verdict.FAIL and "SSL_CERT_FILE" in verdicts["auth server"][1]
    )
    assert verdicts["other logins"][0] is Verdict.WARN and "bob" in verdicts["other logins"][1]


def test_codex_takes_1457_only_when_something_else_holds_1455() -> None:
    holder = PortOwner(1455, "127.0.0.1")
    assert landing_port(ProbeResult()) == 1455
    assert landing_port(ProbeResult(port_owners={1455: holder})) == 1457
    codex = PortOwner(1455, "127.0.0.1", 42, "codex")
    assert landing_port(ProbeResult(port_owners={1455: codex})) == 1455  # GET /cancel
    other_users = ProbeResult(port_owners={1455: holder}, preflight=parse_preflight(SECTIONS))
    assert landing_port(other_users) == 1455


def test_the_refusing_directive_is_named() -> None:
    refused = ForwardingCheck(ForwardingState.REFUSED, "prohibited")
    allowed = ForwardingCheck(ForwardingState.ALLOWED, "allowed")
    both = forwarding_check({1455: refused, 1457: refused}, 1455, "lab")
    assert both.verdict is Verdict.FAIL and "DisableForwarding" in both.found
    one = forwarding_check({1455: allowed, 1457: refused}, 1457, "lab")
    assert "PermitOpen" in one.found and "DisableForwarding" not in one.found
    assert forwarding_check({1455: allowed, 1457: refused}, 1455, "lab").verdict is Verdict.PASS


def test_connection_lost_is_said_once() -> None:
    from asyncssh import ConnectionLost

    from codex_wizard.core.server.login import _lost_because

    assert _lost_because(ConnectionLost("Connection lost")) == "connection lost"
    keepalive = ConnectionLost("Server not responding to keepalive")
    assert _lost_because(keepalive) == "connection lost: Server not responding to keepalive"


def test_the_server_line_names_no_missing_version() -> None:
    from codex_wizard.cli.login import server_line
    from codex_wizard.core.server.probe import ToolInfo

    bare = server_line(ProbeResult(os="Linux", arch="x86_64"))
    assert "None" not in bare and bare == "Server: Linux x86_64, no working codex"
    codex = ToolInfo("codex", "/usr/bin/codex", "0.169.0", exit_code=0)
    assert server_line(ProbeResult(os="Linux", codex=codex)) == "Server: Linux, codex 0.169.0"


def test_path_check_reads_the_interactive_shell() -> None:
    from codex_wizard.core.doctor import check_path
    from codex_wizard.core.server.probe import ToolInfo
    from codex_wizard.core.server.shellenv import Where

    codex = ToolInfo("codex", "/x/codex", "0.169.0", exit_code=0, where=Where.INTERACTIVE)
    found = check_path(ProbeResult(shell="/bin/zsh", codex=codex)).found
    assert "only by the interactive shell zsh" in found and "a interactive" not in found


def test_an_odd_login_status_exit_is_doubtful_not_fatal() -> None:
    sections = {**SECTIONS, "pf.status": "exit=3\nno url here", "pf.home": "dir=/h/.codex"}
    probe = ProbeResult(preflight=parse_preflight(sections))
    config = next(c for c in server_checks(probe, ("h", 443), "lab") if c.name == "codex config")
    assert config.verdict is Verdict.WARN and "exited 3" in config.found


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("SSL_CERT_FILE missing /etc/nope.pem", "does not exist"),
        ("CODEX_CA_CERTIFICATE directory /etc", "is a directory"),
        ("CODEX_CA_CERTIFICATE unreadable /root/ca.pem", "you cannot read"),
        ("SSL_CERT_FILE nocerts /etc/hostname", "Failed to load CA certificates from"),
    ],
)
def test_the_ca_file_codex_would_fail_on_is_named_with_push_auth(line: str, words: str) -> None:
    sections = {**SECTIONS, "pf.ca": line}
    probe = ProbeResult(preflight=parse_preflight(sections))
    reach = next(c for c in server_checks(probe, ("h", 443), "lab") if c.name == "auth server")
    variable, _, path = line.split(" ", 2)
    assert reach.verdict is Verdict.FAIL and words in reach.found
    assert f"{variable} names {path}" in reach.found and f"selected by {variable}" in reach.found
    assert "push-auth lab --fresh" in reach.fix


def test_a_good_ca_file_is_no_finding() -> None:
    sections = {**SECTIONS, "pf.ca": "CODEX_CA_CERTIFICATE ok /etc/ssl/certs/ca.crt"}
    probe = ProbeResult(preflight=parse_preflight(sections))
    reach = next(c for c in server_checks(probe, ("h", 443), "lab") if c.name == "auth server")
    assert reach.verdict is Verdict.PASS


def test_every_preflight_pair_is_in_the_table() -> None:
    """docs/reliability.md's "Doctor predicts the login" table names each doctor/login pair of
    tests/test_preflight_lab.py (a row may name several with a trailing `*`)."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "reliability.md").read_text()
    section = doc.split("## Doctor predicts the login", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    named = {m.split("[")[0] for row in rows for m in re.findall(r"`(test_[^`]+)`", row)}
    tree = ast.parse((root / "tests" / "test_preflight_lab.py").read_text())
    functions = (n for n in tree.body if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef))
    tests = [node.name for node in functions if node.name.startswith("test_")]
    assert tests
    missing = [
        name
        for name in tests
        if name not in named and not any(n.endswith("*") and name.startswith(n[:-1]) for n in named)
    ]
    assert not missing, f"pairs missing from docs/reliability.md: {missing}"


def test_a_server_without_proc_net_tcp_has_unseen_listeners() -> None:
    from codex_wizard.core.server.probe import parse_probe_output

    probe = parse_probe_output(
        "@@cw:proc\nunseen\n@@cw:pf.home\ndir=/h/.codex\n@@cw:pf.listeners\nunseen\n"
    )
    assert probe.port_source == "none" and probe.preflight.listeners_seen is False
    other = next(c for c in server_checks(probe, ("h", 443), "lab") if c.name == "other logins")
    assert other.verdict is Verdict.WARN and other.found.startswith("not seen")
    seen = parse_probe_output("@@cw:proc\n@@cw:pf.home\ndir=/h/.codex\n@@cw:pf.listeners\n")
    assert seen.port_source == "proc" and seen.preflight.listeners_seen is True


def test_codexs_warnings_are_neither_its_answer_nor_an_error() -> None:
    """Real codex 0.169/0.171 with CODEX_HOME under /tmp: a WARNING, then its answer."""
    warning = (
        "WARNING: proceeding, even though we could not create PATH aliases: Refusing to create "
        'helper binaries under temporary dir "/tmp" (codex_home: AbsolutePathBuf("/tmp/x/.codex"))'
    )
    sections = {**SECTIONS, "pf.status": f"exit=1\n{warning}\nNot logged in"}
    probe = ProbeResult(preflight=parse_preflight(sections))
    config = next(c for c in server_checks(probe, ("h", 443), "lab") if c.name == "codex config")
    assert (config.verdict, config.found) == (Verdict.PASS, "`codex login status`: Not logged in")
