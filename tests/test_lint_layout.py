"""The layout `make lint` relies on: mypy reads `atrium` through typecheck/atrium, and platform/ stays a
namespace package at run time (so it never shadows the standard library's `platform`)."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_reads_the_package_through_a_link_to_platform():
    link = ROOT / "typecheck" / "atrium"
    assert link.is_symlink(), "a checkout without symlinks (git core.symlinks=false) breaks `make lint`"
    assert link.resolve() == (ROOT / "platform").resolve()


def test_platform_has_a_stub_for_mypy_and_no_init_for_python():
    assert (ROOT / "platform" / "__init__.pyi").is_file()
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_metadata_and_the_cli_are_strict():
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    strict = next(o for o in mypy["overrides"] if "atrium.metadata" in o["module"])
    assert {"atrium.metadata.*", "atrium.cli", "atrium.cli_overlay"} <= set(strict["module"])
    assert strict["disallow_untyped_defs"] and strict["disallow_any_generics"] and strict["warn_return_any"]
    assert mypy["check_untyped_defs"]
