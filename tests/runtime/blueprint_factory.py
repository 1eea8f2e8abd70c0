"""Write small blueprints from plain dicts, for tests that need a model of their own.

    bp = make_blueprint(tmp_path, {"thing": {"fields": {"name": {"type": "text"}}}})

Each entity gets `name:` and `label:` filled in when missing; a pipeline gets `name:`.
Calling it again on the same folder (with a new `name`) gives the next version of a model,
which is how the migration tests change a blueprint under a live database.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Mapping

import yaml

from atrium.metadata import Blueprint, load_blueprint


def write_blueprint(folder: Path, entities: Mapping[str, Mapping[str, Any]],
                    pipelines: Mapping[str, Mapping[str, Any]] | None = None,
                    roles: Mapping[str, Any] | None = None, **manifest: Any) -> Path:
    """Write blueprint.yaml, entities/*.yaml and pipelines/*.yaml into `folder` (replacing them)."""
    folder = Path(folder)
    for sub in ("entities", "pipelines"):
        shutil.rmtree(folder / sub, ignore_errors=True)
    (folder / "entities").mkdir(parents=True, exist_ok=True)
    head = {"name": "test_bp", "version": 1, "label": {"en": "Test", "zh": "测试"},
            "locales": ["en", "zh"], "currency": "CNY"}
    head.update(manifest)
    _dump(folder / "blueprint.yaml", head)
    for name, spec in entities.items():
        document = {"name": name, "label": {"en": name.title(), "zh": name}}
        document.update(spec)
        _dump(folder / "entities" / f"{name}.yaml", document)
    if pipelines:
        (folder / "pipelines").mkdir(exist_ok=True)
        for name, spec in pipelines.items():
            _dump(folder / "pipelines" / f"{name}.yaml", {"name": name, **spec})
    roles_file = folder / "roles.yaml"
    roles_file.unlink(missing_ok=True)
    if roles is not None:
        _dump(roles_file, roles)
    return folder


def make_blueprint(folder: Path, entities: Mapping[str, Mapping[str, Any]],
                   pipelines: Mapping[str, Mapping[str, Any]] | None = None,
                   roles: Mapping[str, Any] | None = None, **manifest: Any) -> Blueprint:
    """Write a blueprint and load it (raises BlueprintError if it is not valid)."""
    return load_blueprint(write_blueprint(folder, entities, pipelines, roles, **manifest))


def _dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
