"""`atrium overlay new DIR --extends PATH`: a new, empty overlay folder that already checks.

It holds blueprint.yaml (`extends:` the base, relative to the overlay), an empty folder per
document kind, a README with the merge rules, commented examples written with the base's own
names (so they are valid once uncommented or copied), and base.lock recording the base as it is.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from atrium.errors import AtriumError
from atrium.metadata.loader import FOLDERS, blueprint_layers, display_path, merged_documents
from atrium.metadata.overlays.documents import write_text_atomically
from atrium.metadata.overlays.lock import take_lock, write_lock
from atrium.metadata.sources import Source


class ScaffoldError(AtriumError, ValueError):
    """The overlay cannot be made (nothing was written)."""

    status, code = 400, "scaffold"


README = """\
# {title}

An overlay of `{base}`: this folder holds only what this site or client changes. The base stays
untouched, so a new base version comes through everywhere the overlay does not change it.

    atrium --blueprint {folder} check      # base + this overlay: exit 1 with file:line problems
    atrium --blueprint {folder} diff       # what this overlay changes, per document and property
    atrium overlay lock {folder}           # record the base as it is now (base.lock)
    atrium overlay upgrade {folder} --base NEW_BASE [--write]   # try a new base version

## How a document here merges with the base's (same kind, same name)
- A mapping merges key by key: `fields: {{name: {{label: {{en: Deal}}}}}}` changes one property
  of one field and keeps the rest of the base's definition.
- A list replaces the base's list, unless its first item is `+`: then each item is merged into the
  base item with the same `name` (options: `value`; plain lists: the value itself), or appended.
- In a `+` list, `after: NAME` or `before: NAME` puts an item next to another (a new stage between
  two base stages, or a base stage moved).
- `remove: true` takes a field, stage, option, section, widget or role out; a document that says
  only `remove: true` takes the whole base document out. Removing what the base does not have is
  an error, so a typo never passes silently.
- A new document (a new entity, report, dashboard ...) is written in full, as in any blueprint.
- A removed field's column stays in the database (hidden); `atrium migrate --drop` drops it.

Examples written with this base's names are in `examples/`: copy one to the folder of the same
name here (e.g. `examples/entities/x.yaml` to `entities/x.yaml`) and edit it.

## 中文说明
本目录是 `{base}` 的覆盖层，只写与基础蓝图不同之处：映射逐键合并；列表默认整体替换，首项为 `+`
时按 name（选项按 value）合并或追加，`after:`/`before:` 指定位置；`remove: true` 删除字段、阶段、
选项等。用 `atrium --blueprint {folder} check` 校验，`atrium --blueprint {folder} diff` 查看改动，
`atrium overlay upgrade {folder} --base 新版本` 检查基础蓝图升级的冲突。
"""


def _identifier(text: str) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = "site_" + name
    return name[:50]


def scaffold_overlay(target: Path | str, extends: Path | str) -> list[Path]:
    """Make the overlay folder; returns the files written. ScaffoldError, with nothing written,
    when the target exists and is not empty or the base is not a blueprint that loads."""
    target, base = Path(target), Path(extends)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} already exists and is not empty; nothing was written")
    layers, problems = blueprint_layers(base)
    documents, read_problems = merged_documents(layers) if not problems else ({}, [])
    problems += read_problems
    if problems:
        details = "\n".join(f"  {p}" for p in problems[:10])
        raise ScaffoldError(f"{base} is not a blueprint folder that loads:\n{details}")
    manifest = documents[("blueprint", "blueprint")].data
    relative = Path(os.path.relpath(base.resolve(), target.resolve())).as_posix()
    name = _identifier(target.resolve().name)
    written: list[Path] = []

    def write(relative_path: str, text: str) -> None:
        path = target / relative_path
        write_text_atomically(path, text)
        written.append(path)

    write("blueprint.yaml", f"# An overlay of {manifest.get('name')}: see README.md for how its documents merge.\n"
                            f"name: {name}\n"
                            f"extends: {relative}\n"
                            f"# label: {{en: ..., zh: ...}}   # the name people see (default: the base's)\n")
    write("README.md", README.format(title=target.resolve().name, base=relative, folder=display_path(target)))
    for folder in FOLDERS:
        write(f"{folder}/.gitkeep", "")
    for relative_path, text in _examples(documents).items():
        write(f"examples/{relative_path}", text)
    written.append(write_lock(target, take_lock(relative, documents, {})))  # the overlay says nothing yet
    return written


def _examples(documents: dict[tuple[str, str], Source]) -> dict[str, str]:
    """Commented examples that use the base's own entity, field, pipeline and stage names."""
    examples: dict[str, str] = {}
    entities = sorted(name for kind, name in documents if kind == "entity")
    if entities:
        entity = entities[0]
        fields = list(documents[("entity", entity)].data.get("fields", {}))
        first = fields[0] if fields else "name"
        examples[f"entities/{entity}.yaml"] = f"""\
# Changes to the base's '{entity}' entity. Only what differs is written; the rest stays the base's.
fields:
  {first}:
    label: {{en: New label, zh: 新名称}}     # one property of one base field
  site_note:                               # a new field: a new column, added by `atrium migrate`
    type: text
    max_length: 200
    label: {{en: Site note, zh: 备注}}
  # {fields[-1] if fields else first}: {{remove: true}}              # take a base field out (its column is kept)
"""
    pipelines = sorted(name for kind, name in documents if kind == "pipeline")
    if pipelines:
        data = documents[("pipeline", pipelines[0])].data
        stages = [s.get("name") for s in data.get("stages", ()) if isinstance(s, dict)]
        if stages:
            examples[f"pipelines/{pipelines[0]}.yaml"] = f"""\
# Changes to the base's '{pipelines[0]}' pipeline. `+` first: merge with the base's stages by name.
stages:
  - +
  - {{name: {stages[-1]}, label: {{en: New label, zh: 新名称}}}}          # change one stage's label
  - {{name: extra_step, label: {{en: Extra step, zh: 新阶段}}, probability: 30, after: {stages[0]}}}
  # - {{name: {stages[0]}, remove: true}}                          # take a stage out
"""
    examples["roles.yaml"] = """\
# Roles are merged by name: a new role here is added, a base role's keys can be changed one by one.
roles:
  site_viewer:
    label: {en: Viewer, zh: 只读用户}
    entities: {}           # entity: {read: all, create: false, update: none, delete: none}
"""
    return examples
