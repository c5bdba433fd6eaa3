"""core/ imports point down only: no module of triggerfish.core imports one that imports it back.

The graph holds every import that runs (at module level or inside a function), read from
the source with `ast`; imports under `if TYPE_CHECKING:` are left out (they never run),
except in the stricter graph of issue 15, where a type-only import counts as an edge too:
core/io sees the engine only through the `Port` protocol (core/port.py). No module of
core/ or adapters/ is longer than MAX_MODULE_LINES.
"""

from __future__ import annotations

import ast
from pathlib import Path

import triggerfish.core

PACKAGE = "triggerfish.core"
MAX_MODULE_LINES = 600
"""Past this a module holds a second idea (shared/STYLE.md aims at 100-300, splits at 400)."""


def module_names(root: Path) -> dict[str, Path]:
    """Every module of the package under `root`, by dotted name."""
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join([PACKAGE, *parts])] = path
    return names


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, *, type_only: bool) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if not type_only and isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(root: Path, *, type_only: bool = False) -> dict[str, set[str]]:
    """Module -> the modules of the package it imports when it runs (`type_only`: and under
    `if TYPE_CHECKING:`, for annotations)."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(), str(path)), type_only=type_only):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_import_graph_sees_imports_inside_functions_but_not_type_checking_ones() -> None:
    graph = import_graph(Path(triggerfish.core.__file__).parent)
    assert "triggerfish.core.engine" in graph["triggerfish.core.client"]
    assert "triggerfish.core.client" not in graph["triggerfish.core.testing"]  # TYPE_CHECKING
    assert "triggerfish.core.fetch" in graph["triggerfish.core.dispatch.local"]  # in a function


def test_core_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph(Path(triggerfish.core.__file__).parent))
    assert cycle is None, "import cycle in triggerfish.core: " + " -> ".join(cycle or [])


def test_nothing_below_the_client_imports_it() -> None:
    graph = import_graph(Path(triggerfish.core.__file__).parent)
    importers = sorted(name for name, targets in graph.items() if PACKAGE + ".client" in targets)
    assert importers == [PACKAGE]


def test_core_has_no_import_cycle_even_counting_type_only_imports() -> None:
    graph = import_graph(Path(triggerfish.core.__file__).parent, type_only=True)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle (type-only imports included): " + " -> ".join(cycle or [])


def test_io_primitives_see_the_engine_only_through_the_port() -> None:
    graph = import_graph(Path(triggerfish.core.__file__).parent, type_only=True)
    io_modules = [name for name in graph if name == f"{PACKAGE}.io" or name.startswith(f"{PACKAGE}.io.")]
    assert len(io_modules) > 5
    for name in io_modules:
        assert f"{PACKAGE}.engine" not in graph[name], name
    assert f"{PACKAGE}.port" in graph[f"{PACKAGE}.io.tasks"]


def test_the_stricter_graph_sees_type_only_imports() -> None:
    graph = import_graph(Path(triggerfish.core.__file__).parent, type_only=True)
    assert "triggerfish.core.client" in graph["triggerfish.core.testing"]  # TYPE_CHECKING


def test_no_module_of_core_or_the_adapters_is_over_the_limit() -> None:
    import triggerfish.adapters

    roots = [Path(triggerfish.core.__file__).parent, Path(triggerfish.adapters.__path__[0])]
    too_long = {
        str(path.relative_to(root.parent)): lines
        for root in roots
        for path in sorted(root.rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}, f"modules over {MAX_MODULE_LINES} lines: {too_long}"
