"""The keys of a `file` field (`multiple`, `max_size`, `accept`): read, and refused on any other
type and beside the keys a file field cannot have (its value is set by the files service only)."""
from __future__ import annotations

import re
from typing import Any, Mapping

from atrium.metadata.sources import Report, Source

FILE_KEYS = ("multiple", "max_size", "accept")
NOT_ON_FILES = ("formula", "rollup", "default", "unique", "index", "required", "required_when", "renamed_from")
DEFAULT_MAX_SIZE = 25 * 1024 ** 2
UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}
SIZE = re.compile(r"^([1-9][0-9]*)\s*(B|KB|MB|GB)$")
MOST = 100 * 1024 ** 2  # what one upload may ever be (the upload body limit of the web app)


def size_in_bytes(value: Any) -> int | None:
    """`10MB` → 10485760; a whole number is bytes already; None when it is neither."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    found = SIZE.match(str(value).strip())
    return int(found.group(1)) * UNITS[found.group(2)] if found else None


def file_settings(name: str, spec: Mapping[str, Any], source: Source,
                  report: Report) -> tuple[bool, int | None, tuple[str, ...]]:
    """(multiple, max_size in bytes, accept) of field `name`; problems go to `report`."""
    path = ["fields", name]
    if spec["type"] != "file":
        for key in FILE_KEYS:
            if key in spec:
                report.add(source, path + [key], f"'{key}' applies to file fields only", key=True)
        return False, None, ()
    for key in NOT_ON_FILES:
        if key in spec:
            report.add(source, path + [key], f"a file field cannot have '{key}': its files are attached "
                       "on the record's page or through the API", key=True)
    max_size = size_in_bytes(spec["max_size"]) if "max_size" in spec else None
    if "max_size" in spec and (max_size is None or max_size > MOST):
        report.add(source, path + ["max_size"], f"{spec['max_size']!r} is not a size up to 100MB "
                   "(bytes, or a number with B, KB, MB or GB)")
        max_size = None
    accept = tuple(str(item).lower() for item in spec.get("accept", ()))
    return bool(spec.get("multiple", False)), max_size, accept
