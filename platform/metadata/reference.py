"""The metadata reference (docs/metadata.md), generated from the JSON Schemas so it never drifts.

Run `python -m atrium.metadata.reference > docs/metadata.md`; a test fails when the committed file
differs from what the schemas say.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from atrium.metadata.overlays.documents import render_overlay_yaml
from atrium.metadata.schemas import KINDS, SCHEMA_DIR

Schemas = dict[str, dict[str, Any]]  # by kind: the JSON Schema of that kind's documents

FILES = {"blueprint": "blueprint.yaml", "entity": "entities/<name>.yaml", "pipeline": "pipelines/<name>.yaml",
         "views": "views/<entity>.yaml", "report": "reports/<name>.yaml", "dashboard": "dashboards/<name>.yaml",
         "roles": "roles.yaml", "automation": "automations/<name>.yaml", "seed": "seed.yaml"}


OVERLAYS = """\
## Overlays — a folder whose `blueprint.yaml` says `extends:`

An overlay holds only what differs from its base; each of its documents merges with the base's
document of the same kind and name (the loader merges base, then each overlay, then validates the
result, so every key above is also what an overlay may write). See docs/consultant-guide.md.

| written in an overlay | effect | example |
|---|---|---|
| `extends:` in blueprint.yaml | the base folder, relative to the overlay | `extends: ../b2b_sales` |
| a mapping | merged key by key: only the keys written change | `fields: {name: {label: {en: Deal}}}` |
| a list | replaces the base's list | `columns: [code, name, amount]` |
| a list whose first item is `+` | each item merges into the base item with the same `name` (options: `value`; plain lists: the value), or is appended | `stages: [+, {name: on_hold, probability: 5}]` |
| `after: NAME` / `before: NAME` on an item of a `+` list | puts the item next to the item with that name (new or moved) | `{name: site_survey, after: needs_confirmed}` |
| `remove: true` on a mapping entry or a `+` list item | takes it out of the base (a removed field's column is kept, hidden) | `lost_reason: {remove: true}` |
| `moved_to: NAME` beside `remove: true` on a stage or an option | the records holding it move to that stage or option when the site migrates (the same as an entry of the pipeline's or the field's `moved` map) | `{name: needs_confirmed, remove: true, moved_to: proposal}` |
| a document that is only `remove: true` | takes the base's document out | `remove: true` |
| a document the base lacks | added, written in full | `reports/machine_mix.yaml` |

Removing something the base does not have, or placing an item after one that does not exist, is an
error at its line. `base.lock` (written by `atrium overlay new` and `atrium overlay lock`, not a
YAML document) records what the base had wherever the overlay changes it, so that `atrium check`
and `atrium overlay upgrade --base NEW` can report each conflict with a newer base.

**Removed stages and options never strand records.** A stage or a select/multiselect option that
some record still holds is only taken out with somewhere for those records to go: in an overlay,
`moved_to:` beside its `remove: true`; in a blueprint (the stage or option simply deleted), an
entry of the `moved` map of the pipeline or the field, `moved: {needs_confirmed: proposal}`. The
target must be a stage of the same pipeline (an option of the same field) that stays; the loader
reports anything else at its line, with a did-you-mean. `atrium migrate` and the studio's Apply
then move the records in the migration's transaction: a multiselect loses the removed value and
gains the target once; field history and stage history record the move, by the system; learned
stage probabilities and stage durations leave such moves out. Without an entry the migration
refuses, naming the count per value, and changes nothing. The entry may stay in the metadata
afterwards: once no record holds the value, it moves nothing."""


def _schemas() -> Schemas:
    return {path.name.split(".")[0]: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(SCHEMA_DIR.glob("*.schema.json"))}


def _resolve(node: dict[str, Any], kind: str, schemas: Schemas) -> tuple[dict[str, Any], str | None]:
    """Follow a $ref once; returns the target and the name of the definition it points at."""
    ref = node.get("$ref")
    if not ref:
        return node, None
    document, _, pointer = ref.partition("#")
    owner = schemas[document.rsplit("/", 1)[-1].split(".")[0]] if document else schemas[kind]
    target: Any = owner
    for step in pointer.strip("/").split("/"):
        target = target[step]
    return target, pointer.rsplit("/", 1)[-1]


def _type(node: dict[str, Any], kind: str, schemas: Schemas) -> str:
    target, name = _resolve(node, kind, schemas)
    if name:
        return f"[{name}](#{name.replace('_', '-')})"
    if "enum" in target:
        return " \\| ".join(f"`{v}`" for v in target["enum"])
    types = target.get("type")
    if isinstance(types, list):
        return " \\| ".join(types)
    if types == "array" and isinstance(target.get("items"), dict):
        return f"list of {_type(target['items'], kind, schemas)}"
    return types or "see description"


def _rows(node: dict[str, Any], kind: str, schemas: Schemas, prefix: str, depth: int = 0) -> Iterator[str]:
    node, _ = _resolve(node, kind, schemas)
    required = set(node.get("required", ()))
    for name, prop in node.get("properties", {}).items():
        target, ref_name = _resolve(prop, kind, schemas)
        description = " ".join((prop.get("description") or target.get("description") or "").split())
        examples = prop.get("examples") or (target.get("examples") if ref_name is None else None)
        if examples:
            description += " Example: " + ", ".join(f"`{json.dumps(e, ensure_ascii=False)}`" for e in examples[:2])
        mark = " (required)" if name in required else ""
        yield f"| `{prefix}{name}`{mark} | {_type(prop, kind, schemas)} | {description} |"
        if depth < 3 and ref_name is None and target.get("type") == "object" and "properties" in target:
            yield from _rows(target, kind, schemas, f"{prefix}{name}.", depth + 1)


def render_reference() -> str:
    schemas = _schemas()
    out = ["# Metadata reference", "",
           "Generated from `platform/metadata/schemas/` by `python -m atrium.metadata.reference`; "
           "do not edit by hand. DESIGN.md's examples all validate against these schemas.", ""]
    for kind in KINDS:
        schema = schemas[kind]
        out += [f"## {schema.get('title', kind)} — `{FILES[kind]}`", "",
                " ".join(schema.get("description", "").split()), "",
                "| key | type | meaning |", "|---|---|---|", *_rows(schema, kind, schemas, ""), ""]
        for example in schema.get("examples", ())[:1]:
            out += ["Example:", "", "```yaml", render_overlay_yaml(example).rstrip(), "```", ""]
    out += OVERLAYS.splitlines() + [""]
    out += ["## Shared definitions", ""]
    for kind in ["common", *KINDS]:
        for name, definition in schemas[kind].get("$defs", {}).items():
            out += [f"### {name}", "", " ".join(definition.get("description", "").split()), ""]
            rows = list(_rows(definition, kind, schemas, ""))
            if rows:
                out += ["| key | type | meaning |", "|---|---|---|", *rows]
            else:
                out.append(f"Type: {_type(definition, kind, schemas)}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render_reference(), end="")
