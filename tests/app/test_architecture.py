"""The layer rules of docs/architecture.md, read from the source so that a change breaking one fails here."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO

LAYERS = ("bot", "handlers", "connectors", "storage")
FEATURES = ("bot.intake", "bot.review", "bot.supervision", "bot.admin")
# Function-level imports of project modules allowed, with the reason written beside each.
LAZY_ALLOWED = {"bot.app.cli"}


def _modules() -> dict[str, Path]:
    found = {"domain": REPO / "domain.py"}
    for layer in LAYERS:
        for path in (REPO / layer).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """Project modules imported at module level, and inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    inner: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            names: list[str] = []
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                names = [child.module] + [f"{child.module}.{a.name}" for a in child.names]
            elif isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            for name in names:
                if name in MODULES:
                    (inner if in_function else top).add(name)
            visit(child, nested)

    visit(tree, False)
    return top, inner


IMPORTS = {name: _imports(path) for name, path in MODULES.items()}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_there_is_no_import_cycle() -> None:
    graph = {name: top for name, (top, _inner) in IMPORTS.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state[target] == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif state[target] == 0:
                visit(target)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if state[name] == 0:
            visit(name)
    assert cycles == []


def test_lower_layers_never_import_the_bot() -> None:
    offenders = {
        name: sorted(t for t in top | inner if _within(t, "bot"))
        for name, (top, inner) in IMPORTS.items()
        if not _within(name, "bot")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_handlers_and_connectors_never_import_storage_and_connectors_no_other_layer() -> None:
    wrong = []
    for name, (top, inner) in IMPORTS.items():
        for target in top | inner:
            if _within(name, "handlers") and (_within(target, "storage") or _within(target, "connectors")):
                wrong.append((name, target))
            if _within(name, "connectors") and (_within(target, "storage") or _within(target, "handlers")):
                wrong.append((name, target))
    assert wrong == []


def test_slack_and_core_never_import_a_feature_and_only_app_knows_the_app() -> None:
    wrong = []
    for name, (top, inner) in IMPORTS.items():
        for target in top | inner:
            if (_within(name, "bot.slack") or _within(name, "bot.core")) and any(
                _within(target, f) or _within(target, "bot.app") for f in FEATURES
            ):
                wrong.append((name, target))
            if _within(name, "bot.core") and _within(target, "bot.slack"):
                wrong.append((name, target))
            if _within(target, "bot.app") and not (_within(name, "bot.app") or name == "bot.__main__"):
                wrong.append((name, target))
    assert wrong == []


def test_project_modules_are_imported_inside_functions_only_where_the_reason_is_written() -> None:
    lazy = {name: sorted(inner) for name, (_top, inner) in IMPORTS.items() if inner and _within(name, "bot")}
    assert set(lazy) <= LAZY_ALLOWED, lazy


def test_the_bot_builds_no_query_of_its_own() -> None:
    """Queries live in storage/: bot/ may name a Session, never build a select or an update."""
    builders = {"select", "update", "delete", "insert", "text", "func", "exists"}
    wrong = []
    for name, path in MODULES.items():
        if not _within(name, "bot"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy":
                wrong += [(name, a.name) for a in node.names if a.name in builders]
    assert wrong == []


def test_the_bot_folder_keeps_only_its_entry_points_at_the_top() -> None:
    top = sorted(p.name for p in (REPO / "bot").glob("*.py"))
    assert top == ["__init__.py", "__main__.py"]


def test_the_sandbox_is_a_fake_of_the_outside_world_that_only_the_app_uses() -> None:
    """bot/sandbox/ speaks wire formats only: it imports nothing of TwoWay, and only app/ imports it."""
    wrong = []
    for name, (top, inner) in IMPORTS.items():
        for target in top | inner:
            if _within(target, "bot.sandbox") and not (
                _within(name, "bot.sandbox") or _within(name, "bot.app")
            ):
                wrong.append((name, target))
            if _within(name, "bot.sandbox") and not _within(target, "bot.sandbox"):
                wrong.append((name, target))
    assert wrong == []
