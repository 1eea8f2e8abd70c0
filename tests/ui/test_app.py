"""The minimal web page starts, lists the blueprint's entities with counts, and escapes labels."""
from __future__ import annotations

import shutil
from pathlib import Path

from starlette.testclient import TestClient

from atrium.metadata import load_blueprint
from atrium.runtime.migrations import migrate
from atrium.runtime.records import RecordService
from atrium.ui.app import Settings, create_app

DESIGN = Path(__file__).resolve().parents[1] / "fixtures" / "design_examples"


def test_home_lists_entities_with_counts_in_both_languages(database_url, engine, design_blueprint):
    migrate(engine, design_blueprint)
    RecordService(design_blueprint, engine).create("customer", {"name": "ACME"})
    client = TestClient(create_app(Settings(str(DESIGN), database_url)))
    page = client.get("/?lang=zh")
    assert page.status_code == 200
    assert "Customer" in page.text or "customer" in page.text.lower()
    assert client.get("/?lang=en").status_code == 200


def test_labels_are_escaped(tmp_path, database_url, engine):
    folder = Path(shutil.copytree(DESIGN, tmp_path / "bp"))
    manifest = folder / "blueprint.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(
        "label: {en: B2B Sales, zh: B2B 销售}", "label: {en: '<script>alert(1)</script>', zh: x}"),
        encoding="utf-8")
    blueprint = load_blueprint(folder)
    migrate(engine, blueprint)
    page = TestClient(create_app(Settings(str(folder), database_url))).get("/?lang=en")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
