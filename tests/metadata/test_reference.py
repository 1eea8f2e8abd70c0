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


def test_every_property_has_an_example_and_every_kind_a_whole_document():
    text = render_reference()
    rows = [line for line in text.splitlines() if line.startswith("| `")
            and not line.startswith("| `extends:`") and "| effect |" not in line]
    overlay_table = text[text.index("## Overlays"):text.index("## Shared definitions")]
    missing = [row.split("|")[1].strip() for row in rows if "Example:" not in row and row not in overlay_table]
    assert not missing, missing
    for title in ("Blueprint", "Entity", "Pipeline", "Views", "Report", "Dashboard", "Roles", "Automation",
                  "Demo data"):
        section = text[text.index(f"## {title} — "):]
        section = section[:section.index("\n## ", 4)]
        assert "Example:\n\n```yaml\n" in section, title


def test_every_example_in_the_schemas_is_valid_where_it_is_written():
    """Each `examples` entry validates against the (sub)schema it illustrates, whole documents included."""
    import json

    from jsonschema import Draft202012Validator

    from atrium.metadata.schemas import SCHEMA_DIR, _registry

    wrong, checked = [], 0

    def walk(node, uri, pointer):
        nonlocal checked
        if isinstance(node, dict):
            if isinstance(node.get("examples"), list) and not pointer.endswith("/properties"):
                validator = Draft202012Validator({"$ref": f"{uri}#{pointer}"}, registry=_registry())
                for example in node["examples"]:
                    checked += 1
                    wrong.extend(f"{uri}#{pointer}: {example!r}: {e.message}" for e in validator.iter_errors(example))
            for key, value in node.items():
                if key not in ("examples", "enum", "const", "default"):
                    walk(value, uri, f"{pointer}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, uri, f"{pointer}/{index}")

    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        walk(schema, schema["$id"], "")
    assert checked > 300 and not wrong, wrong


def test_reference_explains_overlays():
    text = render_reference()
    for words in ("`extends:`", "first item is `+`", "`after: NAME`", "`remove: true`", "base.lock"):
        assert words in text
