"""The import graph of the package runs one way, down a strict order of layers, and has no cycles.

model -> run -> view -> api -> sweep -> validation -> explore -> teach -> report -> tools: each layer may import
only layers below it (no two layers share a rank, so no arrow can run back up between them). Every module's
imports are read with ``ast`` (also imports inside functions; not those under ``if TYPE_CHECKING:``, which never
run), so a lazy import that goes the wrong way is caught as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "simulation"

#: Rank of each layer: a module may import modules of its own layer or of a lower rank, never a higher one.
#: ``schema``, ``style``, ``outputs``, ``workers`` and ``extras`` are helpers below the layers; ``simulation.api``
#: (``simulate``) sits above both runners (the cohort engine in ``run`` and the Mesa view in ``view``), and the root
#: package is its facade.
RANKS = {
    "simulation.schema": 0,
    "simulation.style": 0,
    "simulation.outputs": 0,
    "simulation.workers": 0,
    "simulation.extras": 0,
    "simulation.model": 1,
    "simulation.run": 2,
    "simulation.view": 3,
    "simulation.api": 4,
    "simulation": 4,
    "simulation.sweep": 5,
    "simulation.validation": 6,
    "simulation.explore": 7,
    "simulation.teach": 8,
    "simulation.report": 9,
    "simulation.tools": 10,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.AST) -> set[str]:
    """The package's modules an ``import`` statement loads (``from a import b`` loads ``a.b`` if it is a module)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        subs = {f"{node.module}.{alias.name}" for alias in node.names}
        return {node.module} | (subs & MODULES.keys())
    return set()


def imports_of(path: Path) -> set[str]:
    """The modules of the package that a module imports at run time."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        found.update(name for name in _imported(node) if name.split(".")[0] == "simulation")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


GRAPH = {name: imports_of(path) - {name} for name, path in MODULES.items()}


def rank(module: str) -> int:
    """The rank of a module's layer: that of its longest prefix in ``RANKS``."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in RANKS:
            return RANKS[prefix]
    raise KeyError(module)


def test_every_module_belongs_to_a_layer():
    assert {name: rank(name) for name in MODULES}  # raises KeyError for a module outside the layers
    assert "simulation.model.rules" in MODULES and "simulation.run.outcomes" in MODULES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_the_layers(module: str):
    upward = sorted(name for name in GRAPH[module] if rank(name) > rank(module))
    assert not upward, f"{module} (rank {rank(module)}) imports from a layer above: {upward}"


def test_layers_share_no_rank():
    layers = {name: rank for name, rank in RANKS.items() if rank > 0 and name not in ("simulation", "simulation.api")}
    assert len(set(layers.values())) == len(layers), layers
    assert RANKS["simulation"] == RANKS["simulation.api"]  # the root package only re-exports the API


def test_the_model_imports_only_the_model():
    for module, imported in GRAPH.items():
        if module.startswith("simulation.model"):
            assert all(name.startswith("simulation.model") for name in imported), (module, imported)


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """An import cycle of ``graph`` (``[a, b, a]``), or ``[]``: depth-first search for a back edge."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        path.append(module)
        for name in sorted(graph.get(module, ())):
            if state.get(name) == 1:
                return [*path[path.index(name) :], name]
            if name in graph and state.get(name) is None and (cycle := visit(name)):
                return cycle
        path.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return []


def test_no_import_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    assert find_cycle(GRAPH) == []


def test_the_checker_sees_lazy_imports_and_skips_type_checking_blocks(tmp_path: Path):
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from simulation.tools import cli\n"
        "def f():\n    from simulation.report import study\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert imports_of(path) == {"simulation.report", "simulation.report.study"}
