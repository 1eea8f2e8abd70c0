"""Renaming an entity, a stage or an option rewrites every use by what it is (references, roll-ups,
related lists, reports, roles, seed, navigation; conditions, quoted literals compared with the field,
triggers, set values), moves the entity's files, keeps labels, and the shipped blueprint still checks
afterwards; a missing thing, a taken, invalid or reserved name is refused in the reader's language."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from atrium.metadata.loader import check_blueprint, merged_documents
from atrium.metadata.overlays.paths import document_file, plain
from atrium.metadata.rename_entity import rename_entity
from atrium.metadata.rename_values import rename_literals, rename_option, rename_stage
from atrium.metadata.renames import RenameRefused

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"


@pytest.fixture(scope="module")
def documents():
    found, _ = merged_documents([B2B])
    return {key: plain(source.data) for key, source in found.items()}


def checked(changed: dict, tmp_path: Path):
    folder = tmp_path / "renamed"
    shutil.copytree(B2B, folder)
    for key, document in changed.items():
        path = folder / document_file(*key)
        if document is None:
            path.unlink()
        else:
            path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    blueprint, problems = check_blueprint(folder)
    assert problems == [] and blueprint is not None
    return blueprint


def test_an_entity_rename_reaches_every_document_that_names_it(documents, tmp_path):
    changed, uses = rename_entity(documents, "order", "deal")
    texts = [use.text() for use in uses]
    assert changed[("entity", "order")] is None and changed[("views", "order")] is None
    assert changed[("entity", "deal")]["name"] == "deal"
    assert changed[("entity", "deal")]["renamed_from"] == "order"
    assert "entity order: file: entities/order.yaml → entities/deal.yaml" in texts
    assert "entity quote: fields.order.to: order → deal" in texts  # a reference's target; the field keeps its name
    assert "entity customer: fields.lifetime_value.rollup.from: order.customer → deal.customer" in texts
    assert "views customer: detail.related[1]: order.customer → deal.customer" in texts
    assert "report won_this_month: source: order → deal" in texts
    assert "roles roles: roles.sales_rep.entities.order: order → deal" in texts
    assert "roles roles: roles.sales_rep.fields.order.margin: order.margin → deal.margin" in texts
    assert "seed seed: entities.order: order → deal" in texts
    assert "blueprint blueprint: navigation[0].items[3]: order → deal" in texts
    assert "automation kickoff_task_on_won: entity: order → deal" in texts
    blueprint = checked(changed, tmp_path)
    assert "order" not in blueprint.entities and blueprint.entities["deal"].renamed_from == "order"
    assert blueprint.entities["quote"].fields["order"].to == "deal"
    assert blueprint.pipelines["order"].entity == "deal"


def test_a_stage_rename_rewrites_literals_compared_with_the_stage_and_nothing_else(documents, tmp_path):
    changed, uses = rename_stage(documents, "order", "won", "closed_won")
    texts = [use.text() for use in uses]
    assert "automation kickoff_task_on_won: on.stage.enter: won → closed_won" in texts
    assert "entity customer: fields.lifetime_value.rollup.where: stage == 'won' → stage == 'closed_won'" in texts
    assert "report won_this_month: where.stage.eq: won → closed_won" in texts
    assert "report win_rate_this_quarter: measures.closed.where.stage.in[0]: won → closed_won" in texts
    assert "views order: form.sections[1].visible_when: stage in ('won', 'lost') → " \
           "stage in ('closed_won', 'lost')" in texts
    assert "seed seed: entities.order.fields.stage.choice[4]: won → closed_won" in texts
    pipeline = changed[("pipeline", "order")]
    stage = next(s for s in pipeline["stages"] if s["name"] == "closed_won")
    assert stage["label"] == {"en": "Won", "zh": "赢单"} and pipeline["renamed"] == {"won": "closed_won"}
    blueprint = checked(changed, tmp_path)
    assert blueprint.pipelines["order"].renamed == {"won": "closed_won"}
    assert "closed_won" in blueprint.pipelines["order"].stage_names


def test_an_option_rename_keeps_the_label_and_reaches_the_seed(documents, tmp_path):
    changed, uses = rename_option(documents, "order", "lost_reason", "timing", "bad_timing")
    field = changed[("entity", "order")]["fields"]["lost_reason"]
    assert {"value": "bad_timing", "label": "timing"} in field["options"] or \
        any(isinstance(o, dict) and o.get("value") == "bad_timing" and o.get("label") for o in field["options"])
    assert field["renamed"] == {"timing": "bad_timing"}
    assert "seed seed: entities.order.fields.lost_reason.choice[3]: timing → bad_timing" in [u.text() for u in uses]
    blueprint = checked(changed, tmp_path)
    assert blueprint.entities["order"].fields["lost_reason"].option("bad_timing") is not None


def test_literals_are_renamed_only_beside_the_field():
    def is_stage(path):
        return path == "stage"
    text = "stage == 'won' and lost_reason != 'won' and stage in ('won', \"lost\")"
    assert rename_literals(text, is_stage, "won", "closed") == \
        "stage == 'closed' and lost_reason != 'won' and stage in ('closed', \"lost\")"
    assert rename_literals("'won'", lambda path: path is None, "won", "closed") == "'closed'"


def test_conditions_set_values_and_create_values_follow_an_option(tmp_path):
    documents = {
        ("entity", "deal"): {"name": "deal", "label": "Deal", "fields": {
            "kind": {"type": "select", "options": ["a", {"value": "b", "label": {"en": "Bee", "zh": "蜜蜂"}}],
                     "default": "'b'"},
            "note": {"type": "text", "default": "'b'"}}},
        ("automation", "flip"): {"name": "flip", "entity": "deal", "on": "create",
                                 "where": {"any": [{"kind": "b"}, {"kind": {"in": ["a", "b"]}}]},
                                 "do": [{"set": {"kind": "'b'", "note": "'b'"}},
                                        {"create": {"entity": "deal", "values": {"kind": "'b'", "note": "'b'"}}}]},
    }
    changed, _ = rename_option(documents, "deal", "kind", "b", "bee")
    fields = changed[("entity", "deal")]["fields"]
    assert fields["kind"]["options"][1] == {"value": "bee", "label": {"en": "Bee", "zh": "蜜蜂"}}
    assert fields["kind"]["default"] == "'bee'" and fields["note"]["default"] == "'b'"
    rule = changed[("automation", "flip")]
    assert rule["where"] == {"any": [{"kind": "bee"}, {"kind": {"in": ["a", "bee"]}}]}
    assert rule["do"][0]["set"] == {"kind": "'bee'", "note": "'b'"}
    assert rule["do"][1]["create"]["values"] == {"kind": "'bee'", "note": "'b'"}


@pytest.mark.parametrize(("call", "english", "chinese"), [
    (lambda d: rename_entity(d, "nothing", "x"), "there is no entity 'nothing'", "nothing"),
    (lambda d: rename_entity(d, "order", "customer"), "there is already an entity 'customer'", "customer"),
    (lambda d: rename_entity(d, "order", "Deal"), "'Deal' is not a valid name", "Deal"),
    (lambda d: rename_entity(d, "order", "atrium_users"), "'atrium_users' is reserved", "atrium_users"),
    (lambda d: rename_stage(d, "order", "won", "lost"), "already has a stage 'lost'", "lost"),
    (lambda d: rename_stage(d, "order", "nope", "x"), "has no stage 'nope'", "nope"),
    (lambda d: rename_option(d, "order", "lost_reason", "price", "other"), "already has an option 'other'",
     "other"),
    (lambda d: rename_option(d, "order", "amount", "a", "b"), "has no select field 'amount'", "amount"),
])
def test_refusals_say_why_in_both_languages(documents, call, english, chinese):
    with pytest.raises(RenameRefused) as refused:
        call(documents)
    assert english in str(refused.value)
    text = refused.value.text("zh")
    assert chinese in text and text != str(refused.value)
