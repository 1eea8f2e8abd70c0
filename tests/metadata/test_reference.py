from pathlib import Path

from atrium.metadata.reference import render_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "metadata.md"


def test_committed_reference_matches_the_schemas():
    assert DOC.read_text(encoding="utf-8") == render_reference(), \
        "docs/metadata.md is stale: run `python -m atrium.metadata.reference > docs/metadata.md`"


def test_reference_covers_every_document_kind_and_field_type():
    text = render_reference()
    for heading in ("entities/<name>.yaml", "pipelines/<name>.yaml", "views/<entity>.yaml", "roles.yaml",
                    "reports/<name>.yaml", "dashboards/<name>.yaml", "automations/<name>.yaml", "seed.yaml"):
        assert heading in text
    for field_type in ("`money`", "`multiselect`", "`location`", "`autonumber`"):
        assert field_type in text
