"""The demo: a simulated codex server inside codex-wizard, for `codex-wizard --demo` and tests.

No Textual here: the TUI starts a DemoServer and connects to it like to any other host.
"""

from .scenario import DemoScenario
from .server import DemoServer

__all__ = ["DemoScenario", "DemoServer"]
