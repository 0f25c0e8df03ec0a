"""The wizard in Textual's idiom: screens and their widgets never call the app for work.

The rule: under codex_wizard/tui/screens/ and tui/widgets/, a call whose function is an
attribute of the app (`self.app.X(...)`, `self.wizard.X(...)`, or of a name bound to either,
such as `app = self.wizard` or a `wizard` parameter) may only be Textual's plumbing or the
clock, listed in ALLOWED. Work goes up as a message (tui/messages.py: GoTo, ChooseWay,
WorkFailed, ...) that the app handles, and data comes down (the app's reactive `login`, the
state the screen reads). Calls *through* an attribute, such as `self.wizard.backend.verify(...)`
(the core's services) or `self.wizard.state.flow.connect()` (the login flow), are not calls
of the app and are fine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TUI = Path(__file__).resolve().parent.parent / "codex_wizard" / "tui"
SCREEN_FILES = sorted([*TUI.glob("screens/*.py"), *TUI.glob("widgets/*.py")])
ALLOWED = {
    # Textual's plumbing: modals, notifications, the clipboard, messages, exiting.
    "notify",
    "push_screen",
    "push_screen_wait",
    "pop_screen",
    "switch_screen",
    "copy_to_clipboard",
    "post_message",
    "exit",
    # The clock and the demo's port mapping: values, not work.
    "now",
    "local_port_for",
}
APP_ATTRIBUTES = {"app", "wizard"}


def _is_app(node: ast.expr, aliases: set[str]) -> bool:
    """`self.app`, `self.wizard`, or a name bound to the app."""
    if isinstance(node, ast.Attribute):
        return (
            isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and (node.attr in APP_ATTRIBUTES)
        )
    return isinstance(node, ast.Name) and node.id in aliases


def _aliases(function: ast.AST) -> set[str]:
    """Names that stand for the app in a function: `wizard` parameters, `app = self.wizard`."""
    names = (
        {"wizard"}
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(arg.arg == "wizard" for arg in function.args.args)
        else set()
    )
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and _is_app(node.value, set()):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def app_calls(source: str) -> list[tuple[int, str]]:
    """(line, method) of every call of an app method not in ALLOWED."""
    found = []
    tree = ast.parse(source)
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        aliases = _aliases(function)
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and _is_app(node.func.value, aliases)
                and node.func.attr not in ALLOWED
            ):
                found.append((node.lineno, node.func.attr))
    return sorted(set(found))


@pytest.mark.parametrize("path", SCREEN_FILES, ids=lambda path: path.name)
def test_screens_post_messages_instead_of_calling_the_app(path: Path) -> None:
    assert app_calls(path.read_text()) == []


@pytest.mark.parametrize(
    ("source", "calls"),
    [
        ("def f(self):\n    self.wizard.goto(1)\n", [(2, "goto")]),
        ("def f(self):\n    self.app.run_worker(x)\n", [(2, "run_worker")]),
        ("def f(self):\n    app = self.wizard\n    app.choose_way(m)\n", [(3, "choose_way")]),
        ("async def f(wizard):\n    await wizard.guarded(x, 'y')\n", [(2, "guarded")]),
        ("def f(self):\n    self.app.notify('hi')\n    self.wizard.now()\n", []),
        ("def f(self):\n    self.wizard.backend.verify(c)\n", []),
        ("def f(self):\n    self.wizard.state.flow.connect()\n", []),
        ("def f(self):\n    self.post_message(GoTo(s))\n", []),
    ],
)
def test_the_rule_finds_app_calls_and_only_them(source: str, calls: list) -> None:
    assert app_calls(source) == calls
