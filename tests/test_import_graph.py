"""No import cycle inside ``disbench/``.

The graph is read from the source with :mod:`ast`, so it sees every ``import`` and
``from ... import`` statement wherever it stands: at module level, inside a function or
method, under ``if TYPE_CHECKING:``. An edge A -> B means module A names module B in one
of those statements; ``from P import x`` is an edge to ``P.x`` when ``P.x`` is a module
(a submodule imported by name), else to ``P``. Relative imports are resolved.

A cycle is a path A -> B -> ... -> A over these edges. Function-level imports count: a
cycle held together by one only moves the failure from import time to call time and
hides the dependency, which is what this test exists to forbid.

Not edges: the implicit import of a parent package that Python performs before a
submodule (``disbench.data.base`` runs ``disbench/data/__init__.py`` first; counting it
would make every package that imports its own submodule a cycle), and imports by a
computed name (``importlib.import_module(f"disbench.models.{name}")``), which is how the
registries reach their members on demand and which has no static target.
"""

from __future__ import annotations

import ast
from pathlib import Path

import disbench

ROOT = Path(disbench.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _targets(node, module: str, is_package: bool, modules) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: from ..x import y
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        parent = ".".join(base + ([node.module] if node.module else []))
    else:
        parent = node.module
    return [f"{parent}.{a.name}" if f"{parent}.{a.name}" in modules else parent for a in node.names]


def import_graph() -> dict[str, set[str]]:
    """Module -> the disbench modules it imports (see the module docstring)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(node, name, path.name == "__init__.py", modules):
                    # `import disbench.a.b` makes `disbench.a.b` the target; a name that is
                    # not a module (from m import function) was already reduced to m
                    while target and target not in modules:
                        target = target.rpartition(".")[0]
                    if target and target != name:
                        edges.add(target)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    # disbench.cli.evaluate imports disbench.data only inside its command function
    assert "disbench.data" in graph["disbench.cli.evaluate"]
    assert "disbench.errors" in graph["disbench.data.base"]


def test_find_cycle_on_hand_made_graphs():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"b2"}, "b2": {"b"}}) == ["b", "b2", "b"]
    assert find_cycle({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}) is None  # a diamond


def test_no_import_cycle_in_disbench():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
