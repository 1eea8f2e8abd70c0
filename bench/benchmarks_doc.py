"""docs/benchmarks.md: each bench script owns one section, between its start and end markers,
and rewrites only that section."""
from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = ("# Benchmarks\n\nFigures measured by the scripts in `bench/`. Each script rewrites its own "
          "section, between its markers; run them on a quiet machine.\n\n")


def write_section(section: str, start: str, end: str, doc: Path = DOC) -> None:
    """Replace the text between `start` and `end` (markers included) with `section`, or append it."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else HEADER
    if start in text and end in text:
        text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.parent.mkdir(exist_ok=True)
    doc.write_text(text, encoding="utf-8")
