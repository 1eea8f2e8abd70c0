"""A renamed entity keeps its records: the table is renamed, the records that link to it still do,
its autonumbers carry on, and the system tables that store its name (history, stage history,
comments, notifications ...) follow; a renamed stage or option gives the records holding it the new
value and rewrites the field and stage history without recording a move; an undo renames back."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from blueprint_factory import make_blueprint

from atrium.runtime.records.service import RecordService
from atrium.runtime.schema.migrations import apply_migration, migrate, plan_migration

STAGES = [{"name": "open", "label": {"en": "Open", "zh": "开放"}}, {"name": "won", "label": {"en": "Won", "zh": "赢"},
                                                                    "outcome": "won"}]


def model(name: str, renamed_from: str | None = None, stage: str = "won", reason: str = "price",
          renamed: dict | None = None) -> tuple[dict, dict]:
    entity = {"fields": {"number": {"type": "autonumber", "format": "D-{seq:04}"}, "title": {"type": "text"},
                         "stage": {"type": "stage", "pipeline": "sales"},
                         "reason": {"type": "select", "options": [reason, "other"]},
                         "tags": {"type": "multiselect", "options": [reason, "big"]}},
              "search": ["title"]}
    if renamed_from:
        entity["renamed_from"] = renamed_from
    pipeline = {"entity": name, "field": "stage", "stages": [STAGES[0], {**STAGES[1], "name": stage}]}
    if renamed:
        pipeline["renamed"] = {"won": stage}
        for field in ("reason", "tags"):
            entity["fields"][field]["renamed"] = {"price": reason}
    child = {"fields": {"about": {"type": "reference", "to": name}, "text": {"type": "text"}}}
    return {name: entity, "note": child}, {"sales": pipeline}


def rows(engine, table: str, *columns: str) -> list[tuple]:
    with engine.connect() as connection:
        found = sa.Table(table, sa.MetaData(), autoload_with=connection)
        return sorted((tuple(row) for row in connection.execute(sa.select(*(found.c[c] for c in columns)))), key=str)


def test_an_entity_rename_keeps_records_links_numbers_and_history(engine, tmp_path):
    entities, pipelines = model("deal")
    blueprint = make_blueprint(tmp_path / "bp", entities, pipelines)
    migrate(engine, blueprint)
    service = RecordService(blueprint, engine)
    deal = service.create("deal", {"title": "Pumps"})
    service.update("deal", deal["id"], {"stage": "won"})
    note = service.create("note", {"about": deal["id"], "text": "call back"})
    log = service.tables.system("atrium_automation_log")
    with engine.begin() as connection:
        connection.execute(log.insert().values(rule="r", entity="deal", record_id=deal["id"], trigger="update",
                                               status="done", at=dt.datetime.now(dt.timezone.utc)))

    entities, pipelines = model("opportunity", renamed_from="deal")
    renamed = make_blueprint(tmp_path / "bp", entities, pipelines)
    plan = migrate(engine, renamed)
    assert [(s.name, s.new_name) for s in plan.steps if s.action == "rename_table"] == [("deal", "opportunity")]
    assert not any(s.action in ("create_table", "add_column") for s in plan.steps)
    assert "deal" not in sa.inspect(engine).get_table_names()
    service = RecordService(renamed, engine)
    kept = service.get("opportunity", deal["id"])
    assert kept["title"] == "Pumps" and kept["stage"] == "won" and kept["number"] == "D-0001"
    assert service.get("note", note["id"])["about"] == deal["id"]
    assert service.create("opportunity", {"title": "Valves"})["number"] == "D-0002"  # the sequence carried on
    assert {entity for (entity,) in rows(engine, "atrium_history", "entity")} == {"opportunity", "note"}
    assert rows(engine, "atrium_stage_history", "entity", "to_stage") == [("opportunity", "open"),
                                                                          ("opportunity", "open"),
                                                                          ("opportunity", "won")]
    assert rows(engine, "atrium_automation_log", "entity", "record_id") == [("opportunity", deal["id"])]
    inspector = sa.inspect(engine)
    leftovers = [name for name in inspector.get_table_names() + [ix["name"] for ix in inspector.get_indexes(
        "opportunity")] if name.startswith(("atrium_search_deal", "ix_deal"))]
    assert leftovers == []  # the search index and the indexes are made again under the new name
    assert not migrate(engine, renamed).steps  # renamed_from stays in the YAML: nothing more to do

    back = make_blueprint(tmp_path / "bp", *model("deal"))  # an undo names the way back
    with engine.connect() as connection:
        plan = plan_migration(connection, back, entities={"deal": "opportunity"})
    apply_migration(engine, back, plan)
    assert RecordService(back, engine).get("deal", deal["id"])["title"] == "Pumps"
    assert rows(engine, "atrium_automation_log", "entity") == [("deal",)]


def test_a_stage_and_an_option_rename_move_values_and_history_without_a_move(engine, tmp_path):
    blueprint = make_blueprint(tmp_path / "bp", *model("deal"))
    migrate(engine, blueprint)
    service = RecordService(blueprint, engine)
    first = service.create("deal", {"title": "A", "reason": "price", "tags": ["price", "big"]})
    service.update("deal", first["id"], {"stage": "won"})
    second = service.create("deal", {"title": "B", "reason": "other"})
    moves_before = len(rows(engine, "atrium_stage_history", "id"))

    renamed = make_blueprint(tmp_path / "bp", *model("deal", stage="closed_won", reason="too_pricey",
                                                     renamed={"won": "closed_won"}))
    plan = migrate(engine, renamed)
    assert {(s.name, s.value, s.target, s.records) for s in plan.steps if s.action == "rename_value"} == {
        ("stage", "won", "closed_won", 1), ("reason", "price", "too_pricey", 1), ("tags", "price", "too_pricey", 1)}
    service = RecordService(renamed, engine)
    record = service.get("deal", first["id"])
    assert (record["stage"], record["reason"], record["tags"]) == ("closed_won", "too_pricey", ["too_pricey", "big"])
    assert service.get("deal", second["id"])["reason"] == "other"
    stage_rows = rows(engine, "atrium_stage_history", "record_id", "from_stage", "to_stage")
    assert (first["id"], "open", "closed_won") in stage_rows and len(stage_rows) == moves_before
    values = {(field, str(new)) for field, new in rows(engine, "atrium_history", "field", "new_value")
              if field in ("stage", "reason")}
    assert ("stage", "closed_won") in values and ("reason", "too_pricey") in values
    assert not any("won" == str(new) or "price" == str(new) for _, new in values)
    assert not [s for s in migrate(engine, renamed).steps if s.action == "rename_value"]

    back = make_blueprint(tmp_path / "bp", *model("deal"))
    with engine.connect() as connection:
        plan = plan_migration(connection, back, values={("deal", "stage"): {"closed_won": "won"},
                                                        ("deal", "reason"): {"too_pricey": "price"},
                                                        ("deal", "tags"): {"too_pricey": "price"}})
    assert not plan.refused
    apply_migration(engine, back, plan)
    assert RecordService(back, engine).get("deal", first["id"])["stage"] == "won"


def test_a_renamed_autonumber_field_carries_on_numbering(engine, tmp_path):
    number = {"type": "autonumber", "format": "T-{seq:03}"}
    blueprint = make_blueprint(tmp_path / "bp", {"thing": {"fields": {"code": number, "name": {"type": "text"}}}})
    migrate(engine, blueprint)
    assert RecordService(blueprint, engine).create("thing", {"name": "a"})["code"] == "T-001"
    renamed = make_blueprint(tmp_path / "bp", {"thing": {"fields": {"ref": {**number, "renamed_from": "code"},
                                                                    "name": {"type": "text"}}}})
    migrate(engine, renamed)
    assert RecordService(renamed, engine).create("thing", {"name": "b"})["ref"] == "T-002"
