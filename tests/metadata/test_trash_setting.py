"""`trash: {retention_days:}` in blueprint.yaml: the recycle bin's retention, 30 days when absent,
and a bad value is a load error naming the file, line and column."""
from __future__ import annotations

import shutil
from pathlib import Path

from atrium.metadata import check_blueprint, load_blueprint

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"


def with_trash(tmp_path: Path, line: str) -> Path:
    folder = Path(shutil.copytree(B2B, tmp_path / "bp"))
    manifest = folder / "blueprint.yaml"
    text = "\n".join(row for row in manifest.read_text(encoding="utf-8").splitlines() if not row.startswith("trash:"))
    manifest.write_text(text + ("\n" + line if line else "") + "\n", encoding="utf-8")
    return folder


def test_retention_is_read_and_defaults_to_thirty_days(tmp_path):
    assert load_blueprint(with_trash(tmp_path, "trash: {retention_days: 90}")).trash_retention_days == 90
    shutil.rmtree(tmp_path / "bp")
    assert load_blueprint(with_trash(tmp_path, "")).trash_retention_days == 30


def test_a_bad_retention_is_an_error_at_its_place(tmp_path):
    _, problems = check_blueprint(with_trash(tmp_path, "trash: {retention_days: 0}"))
    assert len(problems) == 1
    text = str(problems[0])
    assert "blueprint.yaml:" in text and "trash.retention_days" in text
