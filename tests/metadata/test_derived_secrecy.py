"""Derived values keep their inputs' secrecy, as the loader decides it: a formula over a hidden field,
a formula over that formula, a roll-up over a hidden child field or condition, and a dotted path
through a hidden step are hidden from the role; `reveals:` lets one through, and names only real
inputs; a stage may not require a field a role that moves records into it cannot write."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from atrium.metadata import Blueprint, BlueprintError, load_blueprint
from atrium.metadata.derived_secrecy import derived_inputs, hidden_by_role, hidden_derived

ROLES = {"roles": {
    "boss": {"label": {"en": "Boss", "zh": "老板"}, "all": True},
    "rep": {"label": {"en": "Rep", "zh": "销售"},
            "entities": {"deal": {"read": "own", "create": True, "update": "own"},
                         "account": {"read": "own", "create": True, "update": "own"}},
            "fields": {"deal.margin": "hidden"}},
    "viewer": {"label": {"en": "Viewer", "zh": "查看"},
               "entities": {"deal": {"read": "all"}}, "fields": {"deal.margin": "hidden"}},
}}


def write_blueprint(folder: Path, entities: dict, pipelines: dict | None = None, roles: dict | None = None) -> Path:
    """A small blueprint folder: the manifest, one file per entity and pipeline, roles.yaml."""
    documents = {"blueprint.yaml": {"name": "secrecy", "label": {"en": "Secrecy", "zh": "保密"}, "locales": ["en"]},
                 "roles.yaml": roles}
    documents.update({f"entities/{name}.yaml": {"name": name, "label": {"en": name, "zh": name}, **spec}
                      for name, spec in entities.items()})
    documents.update({f"pipelines/{name}.yaml": {"name": name, **spec} for name, spec in (pipelines or {}).items()})
    for name, data in documents.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def make_blueprint(folder: Path, entities: dict, pipelines: dict | None = None, roles: dict | None = None
                   ) -> Blueprint:
    return load_blueprint(write_blueprint(folder, entities, pipelines, roles))


def entities(**deal_fields) -> dict:
    return {
        "account": {"fields": {
            "name": {"type": "text"},
            "margin_total": {"type": "money", "rollup": {"from": "deal.account", "sum": "margin"}},
            "big_deals": {"type": "integer", "rollup": {"from": "deal.account", "count": "id",
                                                        "where": "margin > 1000"}},
            "amount_total": {"type": "money", "rollup": {"from": "deal.account", "sum": "amount"}},
        }},
        "deal": {"fields": {
            "name": {"type": "text"},
            "account": {"type": "reference", "to": "account"},
            "amount": {"type": "money"},
            "margin": {"type": "money"},
            "margin_pct": {"type": "percent", "formula": "margin * 100 / amount if amount else None"},
            "margin_band": {"type": "text", "formula": "'high' if margin_pct and margin_pct > 30 else 'low'"},
            "amount_twice": {"type": "money", "formula": "(amount or 0) * 2"},
            **deal_fields,
        }},
    }


def test_a_formula_over_a_hidden_field_is_hidden_and_so_is_a_formula_over_it(tmp_path):
    blueprint = make_blueprint(tmp_path, entities(), roles=ROLES)
    rep = hidden_derived(blueprint.entities, blueprint.roles["rep"])
    assert rep == {("deal", "margin_pct"): "margin", ("deal", "margin_band"): "margin_pct",
                   ("account", "margin_total"): "margin", ("account", "big_deals"): "margin"}
    assert ("deal", "amount_twice") not in rep and ("account", "amount_total") not in rep
    assert hidden_derived(blueprint.entities, blueprint.roles["boss"]) == {}  # `all` sees everything
    listed = [(h.role, h.entity, h.field, h.because) for h in hidden_by_role(blueprint.entities, blueprint.roles)]
    assert ("viewer", "deal", "margin_band", "margin_pct") in listed and len(listed) == 8


def test_reveals_lets_the_derived_value_through_and_what_reads_it(tmp_path):
    shown = {"type": "percent", "formula": "margin * 100 / amount if amount else None", "reveals": ["margin"]}
    blueprint = make_blueprint(tmp_path, entities(margin_pct=shown), roles=ROLES)
    rep = hidden_derived(blueprint.entities, blueprint.roles["rep"])
    assert ("deal", "margin_pct") not in rep and ("deal", "margin_band") not in rep
    assert rep[("account", "margin_total")] == "margin"


def test_a_dotted_path_through_a_hidden_step_hides_the_value(tmp_path):
    """Until the language parses `account.name`, the path is put on the expression as the parser will."""
    folder = write_blueprint(tmp_path, entities(account_name={"type": "text", "formula": "name"}), roles={
        "roles": {**ROLES["roles"], "rep": {**ROLES["roles"]["rep"], "fields": {"account.name": "hidden"}}}})
    blueprint = load_blueprint(folder)
    deal = blueprint.entities["deal"]
    field = deal.fields["account_name"]
    assert field.formula is not None
    dotted = dataclasses.replace(field, formula=dataclasses.replace(
        field.formula, names=frozenset({"account"}), paths=frozenset({("account", "name")})))
    model = {**blueprint.entities, "deal": dataclasses.replace(deal, fields={**deal.fields, "account_name": dotted})}
    assert [(i.key, i.entity, i.field) for i in derived_inputs(model, model["deal"], dotted)] == [
        ("account", "deal", "account"), ("account.name", "account", "name")]
    assert hidden_derived(model, blueprint.roles["rep"])[("deal", "account_name")] == "account.name"
    shown = dataclasses.replace(dotted, reveals=("account.name",))
    model["deal"] = dataclasses.replace(deal, fields={**deal.fields, "account_name": shown})
    assert ("deal", "account_name") not in hidden_derived(model, blueprint.roles["rep"])
    copied = deal.fields["name"]  # a default copied from the linked record: `default: "account.name"`
    assert copied.default is None
    copied = dataclasses.replace(copied, default=dataclasses.replace(
        field.formula, names=frozenset({"account"}), paths=frozenset({("account", "name")})))
    model["deal"] = dataclasses.replace(deal, fields={**deal.fields, "name": copied})
    assert hidden_derived(model, blueprint.roles["rep"])[("deal", "name")] == "account.name"
    assert ("deal", "name") not in hidden_derived(model, blueprint.roles["viewer"])  # it sees account.name


def test_reveals_names_only_inputs_at_its_line(tmp_path):
    wrong = {"type": "percent", "formula": "margin * 100 / amount if amount else None", "reveals": ["margn"]}
    plain = {"type": "text", "reveals": ["margin"]}
    with pytest.raises(BlueprintError) as error:
        make_blueprint(tmp_path, entities(margin_pct=wrong, note=plain), roles=ROLES)
    text = str(error.value)
    assert "entities/deal.yaml:" in text
    assert "fields.margin_pct.reveals[0]: 'margn' is not an input of deal.margin_pct (did you mean 'margin'?)" in text
    assert "fields.note.reveals: reveals is for a formula, a roll-up or a default" in text
    line = next(i for i, row in enumerate((tmp_path / "entities" / "deal.yaml").read_text().splitlines(), 1)
                if "margn" in row)
    assert any(p.mark is not None and p.mark.line == line for p in error.value.problems)


PIPELINE = {"deal": {"entity": "deal", "field": "stage", "label": {"en": "Deals", "zh": "商机"}, "stages": [
    {"name": "open", "label": {"en": "Open", "zh": "开放"}},
    {"name": "priced", "label": {"en": "Priced", "zh": "已定价"}, "requires": ["amount", "margin"]}]}}


def test_a_stage_requiring_a_field_its_movers_cannot_write_is_an_error_at_the_stage(tmp_path):
    stage = {"type": "stage", "pipeline": "deal"}
    with pytest.raises(BlueprintError) as error:
        make_blueprint(tmp_path, entities(stage=stage), PIPELINE, roles=ROLES)
    [problem] = error.value.problems  # the viewer may not update deals, the boss writes every field
    assert problem.mark is not None and problem.mark.file.endswith("pipelines/deal.yaml")
    assert problem.path == "stages[1].requires[1]"
    assert "stage 'priced' requires margin, which role 'rep' may not write (hidden)" in problem.message
    readonly = {"roles": {**ROLES["roles"], "rep": {**ROLES["roles"]["rep"], "fields": {"deal.margin": "readonly"}}}}
    with pytest.raises(BlueprintError, match=r"requires margin, which role 'rep' may not write \(readonly\)"):
        make_blueprint(tmp_path, entities(stage=stage), PIPELINE, roles=readonly)
    cannot_move = {"roles": {**ROLES["roles"], "rep": {**ROLES["roles"]["rep"],
                                                       "fields": {"deal.margin": "hidden", "deal.stage": "readonly"}}}}
    assert make_blueprint(tmp_path, entities(stage=stage), PIPELINE, roles=cannot_move)  # the rep moves no stage


def test_the_shipped_blueprints_load_and_hide_no_derived_field(b2b, design_blueprint):
    for blueprint in (b2b, design_blueprint):
        assert all(not hidden_derived(blueprint.entities, role) for role in blueprint.roles.values())
