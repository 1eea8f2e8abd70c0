"""Overlay documents written as YAML a person can read and the loader reads back unchanged.

Small mappings and lists of plain values go on one line (`label: {en: Deal, zh: 交易}`), the
rest in block style, keys as given, Chinese as Chinese. Strings that the loader's YAML
1.2 rules would read as something else (`08`, `1e5`, `true`, `null`) are quoted. Files are
replaced atomically, so a reader (another worker, `atrium check`) never sees half a file.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from atrium.metadata.overlays.paths import KIND_FOLDERS, SINGLE_KINDS, document_file, plain

NOTHING = type("Nothing", (), {"__repr__": lambda self: "NOTHING", "__bool__": lambda self: False})()
"""What `minimal_overlay` gives when the target equals the base: the overlay needs no document."""


class _PlainDumper(yaml.SafeDumper):
    """SafeDumper that also writes as quoted strings what YAML 1.2 core would read as a number or a boolean."""

    def ignore_aliases(self, data: Any) -> bool:  # the same label twice is written twice, no &anchors
        return True


for _tag, _pattern, _first in (
        ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        ("tag:yaml.org,2002:float",
         r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
         "-+0123456789."),
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")):
    _PlainDumper.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


class _OverlayDumper(_PlainDumper):
    """Chooses one-line or block style per collection (see `_short`); list items indented under
    their key, as blueprints are written by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _depth(value: Any) -> int:
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    return 0 if items is None else 1 + max((_depth(item) for item in items), default=0)


def _short(value: Any) -> bool:
    """Written on one line: a collection at most two levels deep (a stage with its label) whose
    one-line form is short enough to read at a glance."""
    if _depth(value) > 2 or (isinstance(value, list) and any(isinstance(item, dict) for item in value)):
        return False  # a list of mappings (stages, widgets) reads best one item per line
    return len(yaml.dump(value, Dumper=_PlainDumper, default_flow_style=True, allow_unicode=True,
                         width=10_000)) <= 90


def _flow(dumper: Any, value: Any) -> bool:
    if not getattr(dumper, "_below_root", False):  # the document itself is always in block style
        dumper._below_root = True
        return False
    return _short(value)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=_flow(dumper, data))


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_flow(dumper, data))


_OverlayDumper.add_representer(dict, _represent_dict)
_OverlayDumper.add_representer(list, _represent_list)


def render_overlay_yaml(data: Any, comment: str = "") -> str:
    """The YAML text of an overlay (or any blueprint) document; `comment` goes on top as # lines."""
    text = yaml.dump(plain(data), Dumper=_OverlayDumper, allow_unicode=True, sort_keys=False, width=100,
                     default_flow_style=False)
    header = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines()) if comment else ""
    return header + text


def overlay_document_path(folder: Path | str, kind: str, name: str) -> Path:
    """Where the document of this kind and name lives in a blueprint or overlay folder."""
    if kind not in KIND_FOLDERS and kind not in SINGLE_KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    return Path(folder) / document_file(kind, name)


def write_text_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_overlay_document(folder: Path | str, kind: str, name: str, data: Any, comment: str = "") -> Path | None:
    """Write one overlay document (replacing the file), or delete it when `data` is NOTHING.
    Returns the file written, or None when there is no file now."""
    path = overlay_document_path(folder, kind, name)
    if data is NOTHING:
        path.unlink(missing_ok=True)
        return None
    write_text_atomically(path, render_overlay_yaml(data, comment))
    return path
