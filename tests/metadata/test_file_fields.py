"""A `file` field as a consultant writes it: `multiple`, `max_size` (bytes or with a unit) and
`accept` read into the model; a limit or key that does not fit refused at its line and column."""
from __future__ import annotations

from test_overlay_merge import make_overlay, problems

from atrium.metadata import load_blueprint

SCAN = ("fields:\n"
        "  scan:\n"
        "    type: file\n"
        "    label: {en: Scan, zh: 扫描件}\n")


def test_a_file_fields_limits_are_read_into_the_model(tmp_path):
    folder = make_overlay(tmp_path, {"entities/order.yaml": SCAN + "    multiple: true\n    max_size: 10MB\n"
                                                                   "    accept: [.PDF, image/*]\n"})
    field = load_blueprint(folder).entities["order"].fields["scan"]
    assert (field.multiple, field.max_size, field.accept) == (True, 10 * 1024 * 1024, (".pdf", "image/*"))
    assert field.computed  # set by the files service only: forms, imports and the API leave it alone


def test_a_size_beyond_the_upload_limit_and_a_formula_are_errors_at_their_line(tmp_path):
    folder = make_overlay(tmp_path, {"entities/order.yaml": SCAN + "    max_size: 2GB\n    formula: \"1\"\n"})
    found = problems(folder)
    assert any("entities/order.yaml:5:15: fields.scan.max_size: '2GB' is not a size up to 100MB" in p for p in found)
    assert any("entities/order.yaml:6:5: fields.scan.formula: a file field cannot have 'formula'" in p for p in found)


def test_a_malformed_size_or_type_is_refused_by_the_schema(tmp_path):
    folder = make_overlay(tmp_path, {"entities/order.yaml": SCAN + "    max_size: ten megabytes\n"
                                                                   "    accept: [pdf]\n"})
    found = problems(folder)
    assert any("entities/order.yaml:5:15: fields.scan.max_size" in p for p in found)
    assert any("entities/order.yaml:6:14: fields.scan.accept[0]: 'pdf' does not match" in p for p in found)


def test_file_keys_on_another_type_are_errors(tmp_path):
    folder = make_overlay(tmp_path, {"entities/order.yaml": "fields:\n  name: {accept: [.pdf]}\n"})
    assert any("entities/order.yaml:2:10: fields.name.accept: 'accept' applies to file fields only" in p
               for p in problems(folder))
