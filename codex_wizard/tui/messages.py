"""The one message the wizard's screens get from below: the login flow changed."""

from __future__ import annotations

from textual.message import Message


class LoginChanged(Message):
    """The flow (connection, probe, login progress) changed; screens re-render from state."""
