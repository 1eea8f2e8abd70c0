"""The runtime and metadata packages import at module top only, without a cycle: services over the
records service are wired in by the site (site/services.py), never imported from below.
(`if TYPE_CHECKING:` imports, for annotations, do not run and are not counted.)"""
from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PLATFORM = Path(__file__).resolve().parents[2] / "platform"
PACKAGES = ("runtime", "metadata")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (PLATFORM / package).rglob("*.py"):
            parts = ["atrium", *path.relative_to(PLATFORM).with_suffix("").parts]
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(tree: ast.Module) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """(imports that run when the module loads, imports inside a function or class body)."""
    top, nested = [], []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            top.append(node)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        else:
            nested += [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return top, nested


def test_no_import_inside_a_function():
    found = []
    for path in modules().values():
        _, nested = imports(ast.parse(path.read_text(encoding="utf-8")))
        found += [f"{path.relative_to(PLATFORM)}:{node.lineno}" for node in nested]
    assert found == []


def test_no_import_cycle():
    known = modules()

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        top, _ = imports(ast.parse(path.read_text(encoding="utf-8")))
        targets = []
        for node in top:
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif node.module:
                targets += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        graph[name] = {resolve(t) for t in targets if t.startswith("atrium.")} - {None, name}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle
