"""`detail.sections` in a view: the loader reads them as the detail page's own layout and refuses a
field the entity does not have, or a bad `visible_when`, at the file, line and column that wrote it."""
from __future__ import annotations

from test_overlay_merge import make_overlay, problems

from atrium.metadata import load_blueprint

VIEW = ("entity: order\n"
        "detail:\n"
        "  sections:\n"
        "    - label: {en: Money, zh: 金额}\n"
        "      fields: [amount, name]\n"
        "    - label: Closed\n"
        "      visible_when: \"stage in ('won', 'lost')\"\n"
        "      fields: [lost_reason]\n")


def test_detail_sections_load_in_order_with_their_conditions(tmp_path):
    view = load_blueprint(make_overlay(tmp_path, {"views/order.yaml": VIEW})).view("order")
    assert [s.fields for s in view.detail_sections] == [("amount", "name"), ("lost_reason",)]
    assert view.detail_sections[0].label.text("zh") == "金额"
    assert view.detail_sections[0].visible_when is None and view.detail_sections[1].visible_when is not None
    assert view.sections  # the form keeps its own sections


def test_an_unknown_field_or_condition_is_refused_at_its_line(tmp_path):
    broken = VIEW.replace("[amount, name]", "[amount, amaunt]").replace("stage in", "stagee in")
    found = problems(make_overlay(tmp_path, {"views/order.yaml": broken}))
    field = next(p for p in found if "amaunt" in p)
    assert "views/order.yaml:5:24" in field and "detail.sections[0].fields[1]" in field and "amount" in field
    condition = next(p for p in found if "stagee" in p)
    assert "views/order.yaml:7:" in condition and "detail.sections[1].visible_when" in condition
