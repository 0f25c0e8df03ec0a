"""Opening the login URL: webbrowser where there is a display, Windows' browser from WSL."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import pytest

from codex_wizard.core.laptop import browser

URL = "https://auth.openai.com/oauth/authorize?a=1&b=2"


@pytest.fixture
def linux_without_display(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """A Linux terminal with no DISPLAY; records what would be started."""
    monkeypatch.setattr(browser.sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "WSL_DISTRO_NAME"):
        monkeypatch.delenv(name, raising=False)
    started: list[list[str]] = []
    monkeypatch.setattr(browser.subprocess, "Popen", lambda argv, **kw: started.append(argv))
    monkeypatch.setattr(browser.webbrowser, "open", _no_browser)
    return started


def _no_browser(url: str, new: int = 0) -> bool:
    raise webbrowser.Error("could not locate runnable browser")


def _fake_proc_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> None:
    version = tmp_path / "version"
    version.write_text(text)
    real = browser.Path
    monkeypatch.setattr(browser, "Path", lambda p: version if p == "/proc/version" else real(p))


def test_wsl_detected_from_distro_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSL_DISTRO_NAME", "Ubuntu")
    assert browser.is_wsl()


def test_wsl_detected_from_proc_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WSL_DISTRO_NAME", raising=False)
    # The kernel string of WSL 2 (uname -r: 5.15.153.1-microsoft-standard-WSL2).
    _fake_proc_version(
        monkeypatch,
        tmp_path,
        "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc) #1 SMP",
    )
    assert browser.is_wsl()


def test_plain_linux_is_not_wsl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WSL_DISTRO_NAME", raising=False)
    _fake_proc_version(monkeypatch, tmp_path, "Linux version 6.8.0-45-generic (buildd@lcy02)")
    assert not browser.is_wsl()


def test_headless_linux_opens_nothing(linux_without_display: list[list[str]]) -> None:
    assert browser.open_in_browser(URL) is False
    assert linux_without_display == []


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ({"wslview": "/usr/bin/wslview", "explorer.exe": "/mnt/c/Windows/explorer.exe"}, "wslview"),
        ({"explorer.exe": "/mnt/c/Windows/explorer.exe"}, "explorer.exe"),
    ],
)
def test_wsl_opens_windows_browser(
    monkeypatch: pytest.MonkeyPatch,
    linux_without_display: list[list[str]],
    found: dict[str, str],
    expected: str,
) -> None:
    monkeypatch.setenv("WSL_DISTRO_NAME", "Ubuntu")
    monkeypatch.setattr(browser.shutil, "which", found.get)
    assert browser.open_in_browser(URL) is True
    assert len(linux_without_display) == 1
    program, url = linux_without_display[0]
    assert program.endswith(expected)
    assert url == URL  # one argv word: '&' never reaches a shell


def test_wsl_with_display_but_no_browser_falls_back(
    monkeypatch: pytest.MonkeyPatch, linux_without_display: list[list[str]]
) -> None:
    monkeypatch.setenv("WSL_DISTRO_NAME", "Ubuntu")
    monkeypatch.setenv("DISPLAY", ":0")  # WSLg
    monkeypatch.setattr(browser.webbrowser, "open", lambda url, new=0: False)
    monkeypatch.setattr(browser.shutil, "which", {"wslview": "/usr/bin/wslview"}.get)
    assert browser.open_in_browser(URL) is True
    assert linux_without_display == [["/usr/bin/wslview", URL]]


def test_wsl_without_any_opener(
    monkeypatch: pytest.MonkeyPatch, linux_without_display: list[list[str]]
) -> None:
    monkeypatch.setenv("WSL_DISTRO_NAME", "Ubuntu")
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    assert browser.open_in_browser(URL) is False


def test_display_uses_webbrowser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    opened: list[str] = []
    monkeypatch.setattr(browser.webbrowser, "open", lambda url, new=0: opened.append(url) or True)
    assert browser.open_in_browser(URL) is True
    assert opened == [URL]
