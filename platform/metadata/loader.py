"""Blueprint folder(s) → one validated, immutable `Blueprint`.

The pipeline, in one place: find the layers (base first, following `extends:`, then each
`--overlay`), read every document with positions, merge the layers document by document,
validate each merged document against its JSON Schema, then build the model, checking every
reference. Problems are collected throughout; `load_blueprint` raises them all at once.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Sequence

from atrium.metadata.approval_checks import check_decision_triggers, check_seed_requests
from atrium.metadata.conversions import link_conversions
from atrium.metadata.entities import build_entity, build_pipeline, link_entities
from atrium.metadata.expression_paths import check_derived_cycles, check_expression_paths
from atrium.metadata.follow_ups import link_follow_ups
from atrium.metadata.form_coverage import check_form_coverage
from atrium.metadata.integrations import build_inbound
from atrium.metadata.merge import merge, strip_markers
from atrium.metadata.message_settings import build_message_settings
from atrium.metadata.model import Blueprint, Label, freeze
from atrium.metadata.navigation import build_navigation
from atrium.metadata.overlays.checks import is_removed_document, overlay_problems
from atrium.metadata.overlays.removals import Removal, collapse_removals, removals_of
from atrium.metadata.owner_follows import link_owner_follows
from atrium.metadata.periodic_reports import build_periodic_report
from atrium.metadata.problems import BlueprintError, Mark, Problem, problem_order
from atrium.metadata.references import build_automation, build_dashboard, build_roles, build_seed, build_view
from atrium.metadata.report_checks import build_report, build_targets, check_target_calls
from atrium.metadata.schemas import schema_problems
from atrium.metadata.secrecy_checks import check_reveals, check_stage_requirements
from atrium.metadata.sign_in_settings import build_sign_in_settings, check_sign_in
from atrium.metadata.sources import Report, Source
from atrium.metadata.yaml_source import read_yaml

SINGLE_FILES = {"blueprint.yaml": "blueprint", "roles.yaml": "roles", "seed.yaml": "seed"}
FOLDERS = {"entities": "entity", "pipelines": "pipeline", "views": "views", "reports": "report",
           "dashboards": "dashboard", "automations": "automation", "integrations": "integration",
           "periodic_reports": "periodic_report"}
YAML_SUFFIXES = (".yaml", ".yml")


def display_path(path: Path) -> str:
    """A path as a person typed it: relative to the working directory when below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(Path(path).resolve()) if relative.startswith("..") else relative


def blueprint_layers(folder: Path, overlays: Sequence[Path] = ()) -> tuple[list[Path], list[Problem]]:
    """The folders to merge, base first: the `extends:` chain of `folder`, then each overlay's."""
    layers: list[Path] = []
    problems: list[Problem] = []

    def add_chain(start: Path, trail: tuple[Path, ...]) -> None:
        start = start.resolve()
        manifest = start / "blueprint.yaml"
        if not manifest.is_file():
            problems.append(Problem(Mark(display_path(manifest), 1, 1), "",
                                    "no blueprint.yaml: not a blueprint folder"))
            return
        if start in trail:
            problems.append(Problem(Mark(display_path(manifest), 1, 1), "extends",
                                    "blueprints extend each other in a cycle"))
            return
        data, _ = read_yaml(manifest, display_path(manifest))
        parent = data.get("extends") if isinstance(data, dict) else None
        if isinstance(parent, str):
            add_chain(start / parent, trail + (start,))
        if start not in layers:
            layers.append(start)

    add_chain(Path(folder), ())
    for overlay in overlays:
        add_chain(Path(overlay), ())
    return layers, problems


def read_layer(folder: Path) -> tuple[dict[tuple[str, str], Source], list[Problem]]:
    """Every document of one folder, keyed by (kind, name)."""
    documents: dict[tuple[str, str], Source] = {}
    problems: list[Problem] = []
    paths: list[tuple[str, Path]] = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in YAML_SUFFIXES:
            kind = SINGLE_FILES.get(path.stem + ".yaml")
            if kind is None:
                problems.append(Problem(Mark(display_path(path), 1, 1), "",
                                        "unknown file: a blueprint has " + ", ".join(SINGLE_FILES)
                                        + " and the folders " + ", ".join(FOLDERS)))
                continue
            paths.append((kind, path))
        elif path.is_dir() and path.name in FOLDERS:
            paths.extend((FOLDERS[path.name], p) for p in sorted(path.iterdir())
                         if p.is_file() and p.suffix in YAML_SUFFIXES)
    for kind, path in paths:
        shown = display_path(path)
        data, found = read_yaml(path, shown)
        problems.extend(found)
        if found and data is None:
            continue
        if not isinstance(data, dict):
            problems.append(Problem(Mark(shown, 1, 1), "", "expected a mapping of keys to values"))
            continue
        name = path.stem if kind in FOLDERS.values() else kind
        documents[(kind, name)] = Source(kind, name, data, shown)
    return documents, problems


def merged_documents(layers: Iterable[Path], below: dict[tuple[str, str], Source] | None = None
                     ) -> tuple[dict[tuple[str, str], Source], list[Problem]]:
    """The documents of `layers` merged one after another; `below`: documents already merged from the layers
    under them (the studio keeps the base's, which do not change while the site's overlay does)."""
    merged: dict[tuple[str, str], Source] = dict(below or {})
    problems: list[Problem] = []
    for number, folder in enumerate(layers):
        documents, found = read_layer(folder)
        problems.extend(found)
        for key, source in documents.items():
            base = merged.get(key)
            if number or below is not None:  # an overlay: a remove or an `after:` that finds nothing is a mistake
                problems.extend(overlay_problems(base.data if base else None, source.data, source.file))
            if source.kind != "blueprint" and is_removed_document(source.data):
                merged.pop(key, None)
            elif base is not None:
                merged[key] = Source(base.kind, base.name, merge(base.data, source.data), base.file)
            else:
                merged[key] = Source(source.kind, source.name, strip_markers(source.data), source.file)
    return merged, problems


def _name_problems(source: Source) -> list[Problem]:
    """A document in a folder is named by its file; a `name:` inside must agree."""
    written = source.data.get("name")
    if source.kind in ("entity", "pipeline", "report", "dashboard", "automation", "periodic_report") \
            and written is not None and written != source.name:
        report = Report()
        report.add(source, ["name"], f"name '{written}' differs from the file name '{source.name}'")
        return report.problems
    return []


def check_blueprint(folder: Path | str, overlays: Sequence[Path | str] = ()) -> tuple[Blueprint | None, list[Problem]]:
    """Load and check; returns the model (None on any problem) and every problem found."""
    layers, problems = blueprint_layers(Path(folder), [Path(o) for o in overlays])
    if problems:
        return None, problems
    return check_layers(layers)


def check_layers(layers: Sequence[Path]) -> tuple[Blueprint | None, list[Problem]]:
    """Merge these folders in order (no `extends:` followed) and check the result."""
    documents, problems = merged_documents(layers)
    return check_documents(documents, problems, layers)


def check_documents(documents: dict[tuple[str, str], Source], problems: list[Problem],
                    layers: Sequence[Path]) -> tuple[Blueprint | None, list[Problem]]:
    """Check merged documents (schemas, names, references) and build the model.

    A document that is not the shape its schema wants, or a file that did not read, does not hide the
    cross-checks of the others: they are built without it, and every problem is reported at once. A
    cross-check problem that names such a document may only follow from it, and is left out until it
    is fixed (one cause, one message)."""
    problems = list(problems)
    unread = {Path(problem.mark.file).stem for problem in problems if problem.mark}
    shaped: dict[tuple[str, str], Source] = {}
    for key, source in documents.items():
        found = schema_problems(source.kind, source.data, source.file) + _name_problems(source)
        problems.extend(found)
        if found:
            unread |= _names_in(source)
        else:
            shaped[key] = source
    if problems and ("blueprint", "blueprint") not in shaped:
        return None, sorted(_collapsed(problems, layers), key=problem_order)
    report = Report()
    blueprint = build_blueprint(shaped, report, tuple(display_path(p) for p in layers))
    problems.extend(p for p in report.problems if not (problems and _follows_from(p, unread)))
    if problems:
        return None, sorted(_collapsed(problems, layers), key=problem_order)
    return blueprint, []


def _names_in(source: Source) -> set[str]:
    """The names other documents may use of a document that is left out: its own, and a roles
    file's roles."""
    names = {source.name}
    if source.kind == "roles" and isinstance(source.data.get("roles"), dict):
        names |= {str(role) for role in source.data["roles"]}
    return names


def _follows_from(problem: Problem, names: set[str]) -> bool:
    """A problem that names one of `names` as a word (an entity left out, 'x' is not an entity)."""
    text = f"{problem.path} {problem.message}"
    return any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) for name in names if name)


def overlay_removals(layers: Sequence[Path]) -> list[Removal]:
    """Every `remove: true` in the overlays (read again only when there are problems to explain)."""
    found: list[Removal] = []
    for number, folder in enumerate(layers):
        if number:
            documents, _ = read_layer(folder)
            for source in documents.values():
                found.extend(removals_of(source.data, source.file, source.name, number))
    return found


def _collapsed(problems: list[Problem], layers: Sequence[Path]) -> list[Problem]:
    """Problems a removal in an overlay causes below it, as one problem at the removal."""
    if len(layers) < 2:
        return problems
    prefixes = [(display_path(folder).rstrip("/") + "/", number) for number, folder in enumerate(layers)]

    def layer_of(file: str) -> int:  # the deepest folder holding the file (an overlay may sit inside its base)
        held = [(len(prefix), number) for prefix, number in prefixes if file.startswith(prefix)]
        return max(held)[1] if held else len(layers)

    return collapse_removals(problems, overlay_removals(layers), layer_of)


def build_blueprint(documents: dict[tuple[str, str], Source], report: Report,
                    sources: tuple[str, ...]) -> Blueprint:
    def of_kind(kind: str) -> dict[str, Source]:
        return {name: s for (k, name), s in sorted(documents.items()) if k == kind}

    manifest = documents[("blueprint", "blueprint")].data
    entity_sources = of_kind("entity")
    entities = {name: build_entity(source, report) for name, source in entity_sources.items()}
    pipelines = {name: build_pipeline(source, entities, report)
                 for name, source in of_kind("pipeline").items()}
    link_entities(entity_sources, entities, pipelines, report)
    link_conversions(entity_sources, entities, report)
    link_owner_follows(entity_sources, entities, pipelines, report)
    link_follow_ups(entity_sources, entities, report)
    views = {name: view for name, source in of_kind("views").items()
             if (view := build_view(source, entities, report)) is not None}
    check_form_coverage(entity_sources, entities, views, report)
    roles_source = documents.get(("roles", "roles"))
    roles = build_roles(roles_source, entities, report)
    check_reveals(entity_sources, entities, report)
    check_stage_requirements(of_kind("pipeline"), pipelines, entities, roles, report)
    reports = {name: build_report(source, entities, pipelines, report)
               for name, source in of_kind("report").items()}
    dashboards = {name: build_dashboard(source, entities, pipelines, reports, roles, report)
                  for name, source in of_kind("dashboard").items()}
    periodic = {name: build_periodic_report(source, entities, pipelines, reports, roles, report)
                for name, source in of_kind("periodic_report").items()}
    automations = {name: build_automation(source, entities, pipelines, roles, report)
                   for name, source in of_kind("automation").items()}
    check_expression_paths(report, entities)
    check_derived_cycles(report, entity_sources, entities)
    check_decision_triggers(of_kind("automation"), report)  # on: {approved: rule} names an approval rule
    seed = build_seed(documents.get(("seed", "seed")), entities, roles, report)
    check_seed_requests(documents.get(("seed", "seed")), of_kind("automation"), entities, pipelines, report)
    integrations = {name: inbound for name, source in of_kind("integration").items()
                    if (inbound := build_inbound(source, entities, report)) is not None}
    targets = build_targets(documents[("blueprint", "blueprint")], entities, pipelines, report)
    for kind, built in (("report", reports), ("dashboard", dashboards)):
        for name, document in built.items():
            for key, expression in document.expressions.items():
                path = ["metrics", key] if kind == "report" else \
                    [int(step) if step.isdigit() else step for step in key.split(".")]
                check_target_calls(report, documents[(kind, name)], path, expression, targets, entities)
    navigation = build_navigation(documents[("blueprint", "blueprint")],
                                  {"entity": entities, "report": reports, "dashboard": dashboards,
                                   "periodic_report": periodic}, roles, report)
    teams = tuple(freeze(team) for team in (roles_source.data.get("teams", ()) if roles_source else ()))
    check_sign_in(documents[("blueprint", "blueprint")], roles, report)
    return Blueprint(
        name=manifest["name"], label=Label.of(manifest.get("label"), manifest["name"]),
        version=manifest.get("version", 1), locales=tuple(manifest.get("locales", ("en",))),
        currency=manifest.get("currency", "USD"), timezone=manifest.get("timezone", "UTC"),
        entities=MappingProxyType(entities), pipelines=MappingProxyType(pipelines),
        views=MappingProxyType(views), roles=MappingProxyType(roles),
        reports=MappingProxyType(reports), dashboards=MappingProxyType(dashboards),
        automations=MappingProxyType(automations), teams=teams, seed=seed, sources=sources,
        targets=targets, phone_country_code=manifest.get("phone_country_code"), navigation=navigation,
        trash_retention_days=(manifest.get("trash") or {}).get("retention_days", 30),
        messages=build_message_settings(manifest.get("messages")),
        sign_in=build_sign_in_settings(manifest.get("sign_in")),
        integrations=MappingProxyType(integrations),
        periodic_reports=MappingProxyType(periodic),
    )


def load_blueprint(folder: Path | str, overlays: Sequence[Path | str] = ()) -> Blueprint:
    """The model of a blueprint and its overlays; raises BlueprintError listing every problem."""
    blueprint, problems = check_blueprint(folder, overlays)
    if problems or blueprint is None:
        raise BlueprintError(problems)
    return blueprint


@lru_cache(maxsize=16)
def _cached(folder: str, overlays: tuple[str, ...], stamp: Any) -> Blueprint:
    return load_blueprint(folder, overlays)


def load_cached(folder: Path | str, overlays: Sequence[Path | str] = ()) -> Blueprint:
    """`load_blueprint`, cached until a file in any layer changes."""
    layers, _ = blueprint_layers(Path(folder), [Path(o) for o in overlays])
    stamp = tuple((str(p), p.stat().st_mtime_ns) for layer in layers
                  for p in sorted(layer.rglob("*.y*ml")))
    return _cached(str(Path(folder).resolve()), tuple(str(Path(o).resolve()) for o in overlays), stamp)
