"""Tests for codex_wizard.core.ssh.hosts: host arguments and ssh_config Host aliases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_wizard.core.ssh.hosts import (
    HostArgError,
    HostTarget,
    default_ssh_config_path,
    list_config_hosts,
    parse_host_arg,
)

# --------------------------------------------------------------------------- parse_host_arg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("myserver", HostTarget("myserver")),
        ("root@1.2.3.4", HostTarget("1.2.3.4", user="root")),
        ("deploy@example.com:2222", HostTarget("example.com", user="deploy", port=2222)),
        ("example.com:22", HostTarget("example.com", port=22)),
        ("[::1]:2200", HostTarget("::1", port=2200)),
        ("user@[fe80::1]:22", HostTarget("fe80::1", user="user", port=22)),
        ("[::1]", HostTarget("::1")),
        ("::1", HostTarget("::1")),
        ("fe80::1%eth0", HostTarget("fe80::1%eth0")),
        ("[fe80::1%eth0]:22", HostTarget("fe80::1%eth0", port=22)),
        ("u@2001:db8::7", HostTarget("2001:db8::7", user="u")),
        ("my_box-01.lan", HostTarget("my_box-01.lan")),
        ("first.last@host", HostTarget("host", user="first.last")),
        ("  padded  ", HostTarget("padded")),
        ("h:65535", HostTarget("h", port=65535)),
        ("h:1", HostTarget("h", port=1)),
        ("ssh://u@host:2222", HostTarget("host", user="u", port=2222)),
        ("SSH://host/", HostTarget("host")),
        ("ssh://root@[::1]:22", HostTarget("::1", user="root", port=22)),
    ],
)
def test_parse_host_arg_accepts(text: str, expected: HostTarget) -> None:
    assert parse_host_arg(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Enter a host"),
        ("   ", "Enter a host"),
        ("my server", "spaces"),
        ("host\tname", "spaces"),
        ("host:0", "port"),
        ("host:65536", "port"),
        ("host:99999999", "port"),
        ("host:ssh", "port"),
        ("host:", "port"),
        ("host:-1", "port"),
        ("host:\uff12\uff12", "port"),  # fullwidth digits
        ("host;rm -rf", "spaces"),
        ("host;id", "';'"),
        ("$(whoami)", "not allowed"),
        ("`id`", "not allowed"),
        ("a|b", "not allowed"),
        ("a&b", "not allowed"),
        ("a>b", "not allowed"),
        ("x'y", "not allowed"),
        ('x"y', "not allowed"),
        ("a\\b", "not allowed"),
        ("a*", "not allowed"),
        ("-oProxyCommand=sh", "'-'"),
        ("-host", "'-'"),
        ("user@-host", "'-'"),
        ("@host", "empty user"),
        ("user@", "no host"),
        ("a@b@c", "more than one"),
        ("-u@host", "'-'"),
        ("[::1", "closing"),
        ("::1]", "opening"),
        ("[myhost]:22", "IPv6"),
        ("[::1]x", "Unexpected"),
        ("[::1]:", "port"),
        ("1:2:3", "IPv6"),
        ("fe80::1%e;th0", "not allowed"),
        ("fe80::1%", "interface"),
        ("host/path", "valid host name"),
        ("hôst", "valid host name"),
        (":22", "empty"),
        ("a" * 300, "too long"),
        ("bad\x00host", "not allowed"),
        ("bad\x7fhost", "not allowed"),
        ("ssh://host/path", "no path"),
        ("sftp://host", "only ssh://"),
        ("ssh://", "empty"),
    ],
)
def test_parse_host_arg_rejects(text: str, fragment: str) -> None:
    with pytest.raises(HostArgError) as excinfo:
        parse_host_arg(text)
    assert fragment in str(excinfo.value)


def test_host_arg_error_is_value_error() -> None:
    assert issubclass(HostArgError, ValueError)


@pytest.mark.parametrize(
    ("target", "label"),
    [
        (HostTarget("myserver"), "myserver"),
        (HostTarget("h", user="root"), "root@h"),
        (HostTarget("h", user="root", port=2222), "root@h:2222"),
        (HostTarget("h", port=2222), "h:2222"),
        (HostTarget("::1", port=22), "[::1]:22"),
        (HostTarget("::1"), "::1"),
        (HostTarget("fe80::1", user="u", port=22), "u@[fe80::1]:22"),
    ],
)
def test_label(target: HostTarget, label: str) -> None:
    assert target.label() == label
    assert parse_host_arg(label) == target


def test_host_target_is_frozen() -> None:
    target = HostTarget("h")
    with pytest.raises(AttributeError):
        target.name = "other"  # type: ignore[misc]


@given(st.text())
def test_parse_host_arg_only_raises_host_arg_error(text: str) -> None:
    try:
        parse_host_arg(text)
    except HostArgError as exc:
        assert str(exc)


_HOSTISH = st.text(alphabet="abcAZ019.-_:[]@%!;$ ", max_size=30)


@given(st.one_of(st.text(), _HOSTISH))
def test_label_round_trips(text: str) -> None:
    try:
        target = parse_host_arg(text)
    except HostArgError:
        return
    assert parse_host_arg(target.label()) == target


_NAMES = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,20}", fullmatch=True)
_USERS = st.none() | st.from_regex(r"[a-z_][a-z0-9_.-]{0,10}", fullmatch=True)
_PORTS = st.none() | st.integers(min_value=1, max_value=65535)


@given(_NAMES, _USERS, _PORTS)
def test_constructed_targets_round_trip(name: str, user: str | None, port: int | None) -> None:
    target = HostTarget(name, user=user, port=port)
    assert parse_host_arg(target.label()) == target


@given(st.ip_addresses(v=6), _USERS, _PORTS)
def test_ipv6_targets_round_trip(ip: object, user: str | None, port: int | None) -> None:
    target = HostTarget(str(ip), user=user, port=port)
    assert parse_host_arg(target.label()) == target


# --------------------------------------------------------------------------- ssh_config


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake home with an empty ~/.ssh; ``~`` and Path.home() point at it."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    return home


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_default_ssh_config_path(home: Path) -> None:
    assert default_ssh_config_path() == home / ".ssh" / "config"


def test_default_path_is_used(home: Path) -> None:
    write(home / ".ssh" / "config", "Host alpha\n")
    assert list_config_hosts() == ["alpha"]


def test_missing_file(tmp_path: Path) -> None:
    assert list_config_hosts(tmp_path / "nope") == []


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert list_config_hosts(tmp_path) == []


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path) -> None:
    cfg = write(tmp_path / "config", "Host a\n")
    cfg.chmod(0)
    try:
        assert list_config_hosts(cfg) == []
    finally:
        cfg.chmod(0o600)


def test_basic_order_and_dedup(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config",
        """
# my servers
Host web1 web2
    HostName 10.0.0.1
    User deploy

Host db
  Port 2222
Host web1
Host  db   cache
""",
    )
    assert list_config_hosts(cfg) == ["web1", "web2", "db", "cache"]


def test_wildcards_and_negations_skipped(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config",
        "Host *\n  ServerAliveInterval 30\n"
        "Host a b*\n"
        "Host *.example.com bastion ?x\n"
        "Host !forbidden allowed\n"
        "Host web? web1\n",
    )
    assert list_config_hosts(cfg) == ["a", "bastion", "allowed", "web1"]


def test_match_blocks_name_nothing(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config",
        'Match host foo exec "test -f /x"\n  User bob\n'
        "Match all\n"
        "Host real\n"
        "Match originalhost bar\n  Hostname bar.example\n",
    )
    assert list_config_hosts(cfg) == ["real"]


def test_keywords_case_insensitive(tmp_path: Path) -> None:
    cfg = write(tmp_path / "config", "HOST one\nhost two\nhOsT three\n  HOSTNAME notahost\n")
    assert list_config_hosts(cfg) == ["one", "two", "three"]


def test_hostname_and_other_keywords_are_not_hosts(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config",
        "Hostname x\nHostKeyAlias y\nHostbasedAuthentication no\nProxyJump z\nHost ok\n",
    )
    assert list_config_hosts(cfg) == ["ok"]


def test_equals_syntax(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config", "Host=eq1\nHost = eq2 eq3\nHost= eq4\nHost =eq5\n\tHost\t=\teq6\n"
    )
    assert list_config_hosts(cfg) == ["eq1", "eq2", "eq3", "eq4", "eq5", "eq6"]


def test_quoted_names(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config",
        'Host "quoted" \'single\' plain\nHost "with space"\nHost "" "*"\nHost "x"y\n',
    )
    assert list_config_hosts(cfg) == ["quoted", "single", "plain", "with space", "xy"]


def test_comments(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config",
        "# Host commented\n   # Host indented\nHost a # trailing comment b\nHost c#notcomment\n",
    )
    assert list_config_hosts(cfg) == ["a", "c#notcomment"]


def test_unknown_and_broken_lines_ignored(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config",
        'Frobnicate yes\n=\n==\nHost\nHost "unterminated\nIncludeX foo\nHost fine\n',
    )
    assert list_config_hosts(cfg) == ["unterminated", "fine"]


def test_crlf_and_bom(tmp_path: Path) -> None:
    cfg = tmp_path / "config"
    cfg.write_bytes(b"\xef\xbb\xbfHost one\r\nHost two\r\n")
    assert list_config_hosts(cfg) == ["one", "two"]


def test_non_utf8(tmp_path: Path) -> None:
    cfg = tmp_path / "config"
    cfg.write_bytes(b"Host caf\xe9 good\n\xff\xfe garbage\nHost other\n")
    assert list_config_hosts(cfg) == ["caf\ufffd", "good", "other"]


def test_include_relative_to_ssh_dir(home: Path, tmp_path: Path) -> None:
    write(home / ".ssh" / "extra.conf", "Host from-extra\n")
    # The config itself lives elsewhere: relative includes still resolve against ~/.ssh.
    cfg = write(tmp_path / "elsewhere" / "config", "Host first\nInclude extra.conf\nHost last\n")
    assert list_config_hosts(cfg) == ["first", "from-extra", "last"]


def test_include_glob_sorted(home: Path) -> None:
    write(home / ".ssh" / "config.d" / "20-b", "Host bee\n")
    write(home / ".ssh" / "config.d" / "10-a", "Host ay\n")
    write(home / ".ssh" / "config.d" / "30-c.disabled", "Host sea\n")
    write(home / ".ssh" / "config.d" / "40-d", "Host dee\n")
    cfg = write(home / ".ssh" / "config", "Host top\nInclude config.d/[0-9]*-?\n")
    assert list_config_hosts(cfg) == ["top", "ay", "bee", "dee"]


def test_include_tilde_and_absolute(home: Path, tmp_path: Path) -> None:
    write(home / "other" / "t.conf", "Host tilde\n")
    absolute = write(tmp_path / "abs.conf", "Host absolute\n")
    cfg = write(home / ".ssh" / "config", f"Include ~/other/t.conf {absolute}\n")
    assert list_config_hosts(cfg) == ["tilde", "absolute"]


def test_include_keyword_forms(home: Path) -> None:
    write(home / ".ssh" / "a", "Host a\n")
    write(home / ".ssh" / "b c", "Host bc\n")
    cfg = write(home / ".ssh" / "config", 'INCLUDE=a\ninclude "b c"\n')
    assert list_config_hosts(cfg) == ["a", "bc"]


def test_missing_includes_ignored(home: Path) -> None:
    cfg = write(
        home / ".ssh" / "config",
        "Include nope.conf /does/not/exist ~/nothing/*\nInclude\nHost still\n",
    )
    assert list_config_hosts(cfg) == ["still"]


def test_include_cycle(home: Path) -> None:
    write(home / ".ssh" / "a.conf", "Host a1\nInclude b.conf\nHost a2\n")
    write(home / ".ssh" / "b.conf", "Host b1\nInclude a.conf\nInclude config\n")
    cfg = write(home / ".ssh" / "config", "Host top\nInclude a.conf\nInclude *\n")
    assert list_config_hosts(cfg) == ["top", "a1", "b1", "a2"]


def test_self_include(home: Path) -> None:
    cfg = write(home / ".ssh" / "config", "Include config\nHost me\n")
    assert list_config_hosts(cfg) == ["me"]


def test_deep_include_chain_is_bounded(home: Path) -> None:
    for i in range(40):
        write(home / ".ssh" / f"c{i}", f"Host h{i}\nInclude c{i + 1}\n")
    hosts = list_config_hosts(home / ".ssh" / "c0")
    assert hosts[:5] == ["h0", "h1", "h2", "h3", "h4"]
    assert 10 < len(hosts) < 40


def test_include_inside_host_and_match_blocks(home: Path) -> None:
    write(home / ".ssh" / "in-host", "Host nested\n")
    write(home / ".ssh" / "in-match", "Host matched\n")
    cfg = write(
        home / ".ssh" / "config",
        "Host outer\n  Include in-host\nMatch all\n  Include in-match\n",
    )
    assert list_config_hosts(cfg) == ["outer", "nested", "matched"]


def test_include_of_directory_and_fifo_ignored(home: Path) -> None:
    (home / ".ssh" / "adir").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(home / ".ssh" / "fifo")
    cfg = write(home / ".ssh" / "config", "Include adir fifo\nHost ok\n")
    assert list_config_hosts(cfg) == ["ok"]


def test_dedup_across_includes(home: Path) -> None:
    write(home / ".ssh" / "inc", "Host shared only-inc\n")
    cfg = write(home / ".ssh" / "config", "Host shared\nInclude inc\nHost only-inc tail\n")
    assert list_config_hosts(cfg) == ["shared", "only-inc", "tail"]


# No "/" here: random absolute includes could wander into /proc or /sys.
_CONFIG_WORDS = st.sampled_from(
    ["Host", "host", "Include", "Match", "=", '"', "'", "#", "*", "?", "!", "~", "\\", "[", "]"]
)
_CONFIG_NAMES = st.sampled_from(["a", "b", "config", "a.conf"])
_CONFIG_TEXT = st.one_of(
    st.text(),
    st.lists(
        st.one_of(_CONFIG_WORDS, _CONFIG_NAMES, st.sampled_from([" ", "\n", "\t"])), max_size=60
    ).map("".join),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(_CONFIG_TEXT)
def test_list_config_hosts_never_raises(home: Path, text: str) -> None:
    cfg = home / ".ssh" / "config"
    cfg.write_text(text, encoding="utf-8", errors="surrogatepass")
    hosts = list_config_hosts(cfg)
    assert len(hosts) == len(set(hosts))
    assert all(h and "*" not in h and "?" not in h and not h.startswith("!") for h in hosts)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary())
def test_list_config_hosts_never_raises_on_bytes(home: Path, data: bytes) -> None:
    cfg = home / ".ssh" / "config"
    cfg.write_bytes(data)
    assert isinstance(list_config_hosts(cfg), list)
