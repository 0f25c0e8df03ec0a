"""Which screen shows each step, imported only when first shown (the first frame waits for
the host screen alone)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from textual.screen import Screen

from ..core.progress import LoginMode
from .state import Step

# The screens of the steps ("module.Class" under tui/screens/), each imported when first shown.
STEP_SCREENS: dict[Step, str] = {
    Step.HOST: "hosts.HostScreen",
    Step.CONNECT: "connect.ConnectScreen",
    Step.INSTALL: "install.InstallScreen",
    Step.TUNNEL: "tunnel.TunnelScreen",
    Step.LOGIN: "login.LoginScreen",
    Step.EXPIRY: "expiry.ExpiryScreen",
}
LOGIN_SCREENS: dict[LoginMode, str] = {
    LoginMode.TUNNEL: "login.LoginScreen",
    LoginMode.RELAY: "relay.RelayScreen",
    LoginMode.DEVICE: "device.DeviceScreen",
    LoginMode.PUSH: "push.PushScreen",
}


def screen_class(name: str) -> Callable[[], Screen]:
    """The screen class named "module.Class" under tui/screens/ (imported on first use)."""
    module, _, cls = name.rpartition(".")
    return getattr(importlib.import_module(f"{__package__}.screens.{module}"), cls)
