"""Command-line parsing: options before or after the subcommand, and the wizard's HOST."""

from __future__ import annotations

from pathlib import Path

import pytest

from codex_wizard.cli.main import main, parse_args


def test_options_before_and_after_the_subcommand() -> None:
    assert parse_args(["-F", "a", "status"]).ssh_config == Path("a")
    assert parse_args(["status", "-F", "b"]).ssh_config == Path("b")
    args = parse_args(["--accept-new-host-key", "doctor", "web", "--json"])
    assert args.accept_new_host_key and args.json and args.host == "web"
    assert parse_args(["status"]).connect_timeout == 15.0


def test_wizard_host_and_demo() -> None:
    args = parse_args(["myserver"])
    assert args.command is None and args.host == "myserver"
    assert parse_args(["--demo"]).demo
    assert parse_args(["-F", "status", "web"]).host == "web"  # a config file named "status"


def test_login_modes_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_args(["login", "h", "--relay"]).relay
    with pytest.raises(SystemExit):
        parse_args(["login", "h", "--relay", "--device-auth"])


def test_bad_host_is_a_message_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "bad host;"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("codex-wizard: ") and "Traceback" not in err


def test_push_auth_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["push-auth", "web", "--from", str(tmp_path / "none.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
