"""The package's shape: no import cycles, nothing below imports the UI or a CLI, every module small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "novelchat"
MAX_LINES = 350
TOP = ("novelchat.ui", "novelchat.cli", "novelchat.__main__")  # the front ends: nothing else imports them


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The novelchat modules ``path`` imports (at any depth of the file: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("novelchat")}


def graph() -> dict[str, set[str]]:
    """Module → the package modules it imports (names that are not modules, e.g. functions, dropped)."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in files and m != name} for name, path in files.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle found by a depth-first search (empty when the graph is a DAG)."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_the_package_has_no_import_cycle():
    assert cycles(graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_nothing_below_imports_the_ui_or_a_cli():
    wrong = {
        name: sorted(m for m in deps if m.startswith(TOP))
        for name, deps in graph().items()
        if not name.startswith(TOP) and any(m.startswith(TOP) for m in deps)
    }
    assert wrong == {}


def test_no_module_is_too_long_to_hold_in_ones_head():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_top_level_scripts_are_thin():
    root = PACKAGE.parent
    for script in ("start.py", "app.py", "gen_chroma.py", "llm.py", "ragchat.py", "finetune.py"):
        assert len((root / script).read_text(encoding="utf-8").splitlines()) <= 10, script
