"""The whole platform (metadata, runtime, ui and the top-level modules) imports at module top only,
without a cycle: services over the records service are wired in by the site (site/services.py), never
imported from below. (`if TYPE_CHECKING:` imports, for annotations, do not run and are not counted.)
The one exception is the CLI (platform/cli*.py), which loads each command's modules inside the command
so that `atrium --help` stays quick; its imports still count as edges when looking for a cycle."""
from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PLATFORM = Path(__file__).resolve().parents[2] / "platform"


def modules() -> dict[str, Path]:
    found = {}
    for path in PLATFORM.rglob("*.py"):
        parts = ["atrium", *path.relative_to(PLATFORM).with_suffix("").parts]
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def lazy(path: Path) -> bool:
    """The CLI's modules, allowed to import inside a function (a command loads what it needs)."""
    return path.parent == PLATFORM and path.name.startswith("cli")


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


def imported_names(node: ast.stmt, module: str, path: Path) -> list[str]:
    """The dotted names an import statement may load, relative ones resolved against the module's package."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        package = (module if path.name == "__init__.py" else module.rpartition(".")[0]).split(".")
        base = ".".join(package[:len(package) - (node.level - 1)] + ([base] if base else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def test_no_import_inside_a_function():
    found = []
    for path in modules().values():
        if lazy(path):
            continue
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
        top, nested = imports(ast.parse(path.read_text(encoding="utf-8")))
        targets = []
        for node in top + (nested if lazy(path) else []):
            targets += imported_names(node, name, path)
        graph[name] = {resolve(t) for t in targets if t.startswith("atrium.")} - {None, name}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_the_walk_sees_every_layer():
    """A guard against the test above passing because it looked at nothing."""
    found = modules()
    assert {"atrium.cli", "atrium.errors", "atrium.translation"} <= set(found)
    for layer in ("metadata", "runtime", "ui"):
        assert any(name.startswith(f"atrium.{layer}.") for name in found), layer
