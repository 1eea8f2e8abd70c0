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
         "roles": "roles.yaml", "automation": "automations/<name>.yaml", "seed": "seed.yaml",
         "integration": "integrations/<name>.yaml",
         "periodic_report": "periodic_reports/<name>.yaml"}


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


DOTTED_PATHS = """\
## Dotted paths in expressions

Wherever an expression reads a record (a field's `formula`, `default` and `required_when`, a
check's `assert` and `when`, a form section's `visible_when`, an automation's `when`, `set` and
`create` values and webhook payload), a dotted path follows a reference field to a field of the
record it points to, up to three links: `sku.price`, `bill.amount - bill.paid`,
`deal.account.tier`. A user field may be the last link, to the user's `name`, `display_name`,
`role` or `team` (the team's name): `owner.team`, `account.owner.name`. Nothing else of a user
is readable. An empty link reads as null (`account.tier` of a deal without an account), so write
`(account.region.discount or 0)` where a number is needed.

```yaml
# entities/deal_item.yaml
fields:
  unit_price: {type: money, default: "sku.price"}           # a copy, taken when the item is made
  tier:       {type: text, formula: "deal.account.tier"}    # follows the account
checks:
  - {name: in_stock, assert: "quantity <= sku.stock", message: {en: Not in stock, zh: 库存不足}}
```

Checked at load like any name, at the file:line:col that wrote the path: each step but the last
must be a reference or user field of the entity reached so far, the last a field of the last
entity (with a did-you-mean hint); more than three links, a path through any other field, and
stored formulas or roll-ups that read each other in a cycle across entities (`a.total` reads
`b.share`, which reads `a.total`) are errors naming the path or the cycle. A report's metrics read
its aggregated columns, not records, so a path there is refused.

Reading a linked record ignores access (the rules are about integrity); what a page shows of a
derived value is decided by the field's own access.

**Propagation.** A stored formula that reads a path is recomputed when any record along the path
changes the field the path goes through or ends at (up to three links back), in the same
transaction as that change: the dependent records are found with one query per path, recomputed
in batches with their linked values loaded set-wise, and written only where a value changed (no
change, no write). What changes passes on: to roll-ups over the formula and to formulas that read
it through paths in turn. These derived writes are not recorded in the history (like roll-ups):
the history has the change that caused them, on the record that changed. A user's team or name
changing does not recompute formulas that read it. **Defaults** are not propagated: a default
that reads a linked record is a copy taken when the record is made."""


DERIVED = """\
## Stored formulas and roll-ups — computed for every record when the metadata changes

A `formula` or `rollup` field is stored: lists, filters, sorts and reports read the column. The
engine keeps it true when records are saved, and when the metadata changes:

- `atrium migrate` and the studio's Apply compute a formula or roll-up field for every existing
  record when it is added, or when its expression, its roll-up (`from`, function, field, `where`)
  or its type changes, in the same transaction as the schema change; every derived field that
  reads it (a formula over a roll-up, a roll-up over a formula) follows, in dependency order.
  The database remembers each field's definition (`atrium_derived_fields`), so a later migrate
  computes only what changed; `atrium migrate --plan` and the studio's review say how many
  records will be computed.
- A record whose computation fails (division by zero, a type error) stores no value (NULL), as a
  save would; the run counts them and names the first ids. It never stops half done.
- `atrium recompute [ENTITY[.FIELD]] [--dry-run]` computes on demand every derived field, one
  entity's, or one field's, and reports per field how many values changed; `--dry-run` changes
  nothing and reports what would change.

```yaml
# entities/deal.yaml — adding this field and running `atrium migrate` fills it for every deal
fields:
  amount_wan: {type: money, formula: "(amount or 0) / 10000"}
# entities/account.yaml
  won_total: {type: money, rollup: {from: deal.account, sum: amount, where: "stage == 'won'"}}
```

The values are exactly those a save computes (Decimal money, rounded half up to the cent). A
roll-up is one UPDATE; a formula is one UPDATE where it has an exact SQL form (on PostgreSQL:
arithmetic, comparisons, `or` defaults, if/else, `round`/`abs`/`min`/`max`; on SQLite, whose
NUMERIC is a double, money and percent arithmetic with an error bound, the rows it cannot decide
evaluated as on save), and otherwise batches evaluated as on save."""


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
    out += DOTTED_PATHS.splitlines() + [""]


    out += OVERLAYS.splitlines() + [""] + DERIVED.splitlines() + [""]
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
