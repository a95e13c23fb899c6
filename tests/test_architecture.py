"""The shape of the package: what sits at its root, module sizes, import cycles, drivers.

The import-linter contracts in pyproject.toml guard which package may import which; these
tests guard what the contracts cannot express.
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp

import footfall

PACKAGE = Path(footfall.__file__).parent
# The composition root, settings, errors, clock and the entry point: nothing else at the root.
ROOT_MODULES = {"__init__.py", "__main__.py", "errors.py", "clock.py"}
MAX_LINES = 600


def test_only_the_composition_root_and_its_basics_sit_at_the_package_root() -> None:
    modules = {p.name for p in PACKAGE.glob("*.py")}
    assert modules == ROOT_MODULES
    # The composition root and the settings are packages of their own.
    assert (PACKAGE / "services" / "__init__.py").exists()
    assert (PACKAGE / "settings" / "__init__.py").exists()


def test_no_module_is_longer_than_600_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph.modules:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_modules() -> None:
    graph = grimp.build_graph("footfall")
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert _cycles(graph) == [["a.x", "a.y"]]


def test_only_the_duckdb_storage_package_imports_duckdb() -> None:
    importing = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if re.search(r"^\s*(import duckdb|from duckdb)", path.read_text(encoding="utf-8"), re.M)
    }
    assert importing
    assert {p for p in importing if not p.startswith("storage/duckdb/")} == set()
