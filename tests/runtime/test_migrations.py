"""Schema and migrations: the model → live tables, changed without losing data.

Each test builds a small blueprint in tmp_path (blueprint_factory), migrates a fresh database,
changes the blueprint and migrates again, on SQLite and (second pass) PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal

import pytest
import sqlalchemy as sa
from blueprint_factory import make_blueprint

from atrium.runtime.access.users import add_user
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordService
from atrium.runtime.schema.database import create_engine
from atrium.runtime.schema.migrations import MigrationFailed, MigrationRefused, apply_migration, migrate, plan_migration
from atrium.runtime.schema.tables import SYSTEM_TABLES

UTC = dt.timezone.utc
SYSTEM_COLUMNS = ("id", "created_at", "created_by", "updated_at", "updated_by", "version")

ALL_TYPES = {
    "parent": {"fields": {"name": {"type": "text"}}},
    "thing": {"fields": {
        "f_text": {"type": "text"},
        "f_textarea": {"type": "textarea"},
        "f_integer": {"type": "integer"},
        "f_number": {"type": "number"},
        "f_money": {"type": "money"},
        "f_percent": {"type": "percent"},
        "f_boolean": {"type": "boolean"},
        "f_date": {"type": "date"},
        "f_datetime": {"type": "datetime"},
        "f_local_datetime": {"type": "datetime"},
        "f_email": {"type": "email"},
        "f_phone": {"type": "phone"},
        "f_url": {"type": "url"},
        "f_select": {"type": "select", "options": ["low", "high"]},
        "f_multiselect": {"type": "multiselect", "options": ["x", "y", "z"]},
        "f_reference": {"type": "reference", "to": "parent"},
        "f_user": {"type": "user"},
        "f_stage": {"type": "stage", "pipeline": "thing"},
        "f_autonumber": {"type": "autonumber", "format": "T-{yyyy}-{seq:04}"},
        "f_location": {"type": "location"},
    }},
}
THING_PIPELINE = {"thing": {"entity": "thing", "field": "f_stage",
                            "stages": [{"name": "draft"}, {"name": "done", "outcome": "won"}]}}


def inspect(engine):
    """A fresh inspector (they cache what they read)."""
    return sa.inspect(engine)


def columns(engine, table: str) -> dict[str, dict]:
    return {c["name"]: c for c in inspect(engine).get_columns(table)}


def indexes(engine, table: str) -> dict[str, tuple[tuple[str, ...], bool]]:
    return {ix["name"]: (tuple(ix["column_names"]), bool(ix["unique"]))
            for ix in inspect(engine).get_indexes(table)
            if not ix["name"].startswith("atrium_search_")}  # the global search's (tests/runtime/test_search.py)


def foreign_keys(engine, table: str) -> dict[tuple[str, ...], str]:
    return {tuple(fk["constrained_columns"]): fk["referred_table"]
            for fk in inspect(engine).get_foreign_keys(table)}


def schema(engine) -> dict:
    """Tables, columns (name and type) and indexes: what a migration may change."""
    insp = inspect(engine)
    return {name: ([(c["name"], str(c["type"])) for c in insp.get_columns(name)],
                   sorted(ix["name"] for ix in insp.get_indexes(name)))
            for name in sorted(insp.get_table_names())}


def raw_rows(engine, table: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(f'SELECT * FROM "{table}" ORDER BY id'))]


def storage_fingerprint(engine, table: str):
    """What changes when a table is rewritten: PostgreSQL's relfilenode, SQLite's root page
    and rowids."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return connection.execute(sa.text("SELECT pg_relation_filenode(:t)"), {"t": table}).scalar()
        page = connection.execute(sa.text("SELECT rootpage FROM sqlite_master WHERE type = 'table' "
                                          "AND name = :t"), {"t": table}).scalar()
        rowids = [tuple(r) for r in connection.execute(sa.text(f'SELECT rowid, id FROM "{table}"'))]
        return page, rowids


def thing(fields: dict, **extra_entities) -> dict:
    return {"thing": {"fields": fields}, **extra_entities}


# --- every field type ------------------------------------------------------------------------

def test_every_field_type_stores_and_reads_back(engine, tmp_path):
    blueprint = make_blueprint(tmp_path / "bp", ALL_TYPES, THING_PIPELINE, timezone="Asia/Shanghai",
                               roles={"roles": {"admin": {"label": "Admin", "all": True}}})
    migrate(engine, blueprint)
    service = RecordService(blueprint, engine)
    with engine.begin() as connection:
        user = add_user(connection, service.tables, blueprint, "ann", "admin")
    parent = service.create("parent", {"name": "P"})
    values = {
        "f_text": "héllo 你好 🎉", "f_textarea": "line 1\nline 2 'quoted' <b>", "f_integer": "-9000000000",
        "f_number": "3.25", "f_money": "1,234,567.891", "f_percent": "12.3456", "f_boolean": "yes",
        "f_date": "2026-02-28", "f_datetime": "2026-03-31T14:30:00+08:00",
        "f_local_datetime": "2026-03-31 14:30", "f_email": "a.b@example.com", "f_phone": "+86 21 5555 0101",
        "f_url": "https://example.com/path?q=1", "f_select": "high", "f_multiselect": "z, x",
        "f_reference": str(parent["id"]), "f_user": user, "f_location": "31.2304, 121.4737, 上海人民广场",
    }
    expected = {
        "f_text": "héllo 你好 🎉", "f_textarea": "line 1\nline 2 'quoted' <b>", "f_integer": -9000000000,
        "f_number": 3.25, "f_money": Decimal("1234567.89"), "f_percent": Decimal("12.3456"), "f_boolean": True,
        "f_date": dt.date(2026, 2, 28), "f_datetime": dt.datetime(2026, 3, 31, 6, 30, tzinfo=UTC),
        "f_local_datetime": dt.datetime(2026, 3, 31, 6, 30, tzinfo=UTC),  # typed in Asia/Shanghai
        "f_email": "a.b@example.com", "f_phone": "+86 21 5555 0101", "f_url": "https://example.com/path?q=1",
        "f_select": "high", "f_multiselect": ["x", "z"], "f_reference": parent["id"], "f_user": user,
        "f_stage": "draft", "f_location": {"lat": 31.2304, "lng": 121.4737, "address": "上海人民广场"},
    }
    created = service.create("thing", values)
    stored = service.get("thing", created["id"])
    assert {name: stored[name] for name in expected} == expected
    assert stored["f_autonumber"].startswith("T-") and stored["f_autonumber"].endswith("-0001")
    for name in ("f_datetime", "f_local_datetime", "created_at", "updated_at"):
        assert stored[name].utcoffset() == dt.timedelta(0), name
    assert isinstance(stored["f_money"], Decimal) and isinstance(stored["f_integer"], int)
    assert isinstance(stored["f_boolean"], bool)
    # empty values are NULL for every type
    blank = service.create("thing", {})
    stored = service.get("thing", blank["id"])
    assert all(stored[name] is None for name in expected if name != "f_stage")


def test_columns_are_named_after_fields(engine, tmp_path):
    blueprint = make_blueprint(tmp_path / "bp", ALL_TYPES, THING_PIPELINE)
    migrate(engine, blueprint)
    found = columns(engine, "thing")
    wanted = set(SYSTEM_COLUMNS) | {name for name in ALL_TYPES["thing"]["fields"] if name != "f_location"} \
        | {"f_location_lat", "f_location_lng", "f_location_address"} \
        | {"f_phone_digits"} \
        | {"f_stage_entered_at"}  # when the record entered its stage (stage_tracking.py), beside the stage
    assert set(found) == wanted
    assert all(found[name]["nullable"] for name in wanted - set(SYSTEM_COLUMNS))


def test_system_columns_and_tables(engine, tmp_path):
    blueprint = make_blueprint(tmp_path / "bp", ALL_TYPES, THING_PIPELINE)
    migrate(engine, blueprint)
    names = set(inspect(engine).get_table_names())
    # on SQLite the global search's FTS5 tables (search/index.py) sit beside them, named for it, and
    # the pipeline's stage tracking table (schema/stage_tracking.py) too
    assert {n for n in names if n.startswith("atrium_track_thing_")} != set()
    assert {n for n in names if not n.startswith(("atrium_search_", "atrium_track_"))} == \
        set(SYSTEM_TABLES) | {"parent", "thing"}
    for table in ("parent", "thing"):
        found = columns(engine, table)
        assert all(name in found for name in SYSTEM_COLUMNS)
        assert not found["id"]["nullable"] and not found["version"]["nullable"]
        assert not found["created_at"]["nullable"] and not found["updated_at"]["nullable"]
        assert inspect(engine).get_pk_constraint(table)["constrained_columns"] == ["id"]
        assert foreign_keys(engine, table)[("created_by",)] == "atrium_users"
        assert foreign_keys(engine, table)[("updated_by",)] == "atrium_users"
    with engine.begin() as connection:  # version starts at 1 even for rows written by hand
        connection.execute(sa.text("INSERT INTO parent (created_at, updated_at, name) "
                                   "VALUES (CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'by hand')"))
    assert RecordService(blueprint, engine).get("parent", 1)["version"] == 1


def test_automatic_and_declared_indexes(engine, tmp_path):
    entities = {
        "parent": {"fields": {"name": {"type": "text"}}},
        "thing": {
            "fields": {"code": {"type": "text", "unique": True}, "parent": {"type": "reference", "to": "parent"},
                       "owner": {"type": "user"}, "stage": {"type": "stage", "pipeline": "thing"},
                       "city": {"type": "text", "index": True}, "number": {"type": "autonumber", "format": "{seq}"},
                       "plain": {"type": "text"}},
            "indexes": [["owner", "stage"], {"fields": ["parent", "city"], "unique": True, "name": "uq_parent_city"}],
        },
    }
    pipelines = {"thing": {"entity": "thing", "field": "stage", "stages": [{"name": "a"}, {"name": "b"}]}}
    migrate(engine, make_blueprint(tmp_path / "bp", entities, pipelines))
    # a reference's or user's own index goes when a declared one starts with it: (parent, city), (owner, stage)
    assert indexes(engine, "thing") == {
        "uq_thing_code": (("code",), True),
        "ix_thing_stage": (("stage",), False),
        "ix_thing_city": (("city",), False),
        "uq_thing_number": (("number",), True),
        "ix_thing_owner_stage": (("owner", "stage"), False),
        "uq_parent_city": (("parent", "city"), True),
        # the stalled list's: owner column (created_by: the entity names no owner) × stage × entered-stage time
        "ix_thing_created_by_stage_stage_entered_at": (("created_by", "stage", "stage_entered_at"), False),
    }
    assert foreign_keys(engine, "thing") == {("parent",): "parent", ("owner",): "atrium_users",
                                             ("created_by",): "atrium_users", ("updated_by",): "atrium_users"}


def test_a_lists_default_sort_gets_indexes_when_the_view_declares_it(engine, tmp_path):
    """A large list opens in its default order, alone and as a user's own records, from an index;
    declaring the sort on an existing database plans the indexes and keeps every row."""
    entities = {"thing": {"owner": "owner", "fields": {"owner": {"type": "user"}, "due": {"type": "date"},
                                                      "name": {"type": "text"}}}}
    folder = tmp_path / "bp"
    migrate(engine, make_blueprint(folder, entities))
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO thing (created_at, updated_at, name) VALUES "
                          "('2026-01-01', '2026-01-01', 'kept')"))
    (folder / "views").mkdir()
    (folder / "views" / "thing.yaml").write_text("entity: thing\nlist: {columns: [name, due], sort: -due}\n")
    blueprint = make_blueprint(folder, entities)
    with engine.connect() as c:
        planned = {(s.action, s.name) for s in plan_migration(c, blueprint).changes}
    assert planned == {("create_index", "ix_thing_due_desc"), ("create_index", "ix_thing_owner_due_desc"),
                       ("create_index", "ix_thing_name"), ("drop_index", "ix_thing_owner")}  # (owner, due) serves it
    migrate(engine, blueprint)
    found = indexes(engine, "thing")
    assert found["ix_thing_due_desc"] == (("due",), False)  # descending like the sort (list_indexes.py)
    assert found["ix_thing_owner_due_desc"] == (("owner", "due"), False)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT name FROM thing")).scalars().all() == ["kept"]


# --- plan --------------------------------------------------------------------------------------

def test_plan_changes_nothing(engine, tmp_path):
    blueprint = make_blueprint(tmp_path / "bp", ALL_TYPES, THING_PIPELINE)
    with engine.connect() as connection:
        plan = plan_migration(connection, blueprint)
    assert {s.table for s in plan.steps if s.action == "create_table"} == set(SYSTEM_TABLES) | {"parent", "thing"}
    assert inspect(engine).get_table_names() == []
    assert "create table thing" in plan.describe()
    migrate(engine, blueprint)
    RecordService(blueprint, engine).create("parent", {"name": "kept"})
    before, data = schema(engine), raw_rows(engine, "parent")
    fields = dict(ALL_TYPES["parent"]["fields"], extra={"type": "integer"},
                  new_ref={"type": "reference", "to": "thing"})
    changed = make_blueprint(tmp_path / "bp", dict(ALL_TYPES, parent={"fields": fields}), THING_PIPELINE)
    with engine.connect() as connection:
        plan = plan_migration(connection, changed, drop=["parent.name"])
    assert {(s.action, s.name) for s in plan.steps} >= {("add_column", "extra"), ("add_column", "new_ref"),
                                                        ("create_index", "ix_parent_new_ref")}
    assert schema(engine) == before and raw_rows(engine, "parent") == data


def test_migrate_twice_is_a_no_op(engine, b2b):
    first = migrate(engine, b2b)
    assert first.changes
    second = migrate(engine, b2b)
    assert second.steps == () and second.changes == ()
    assert "nothing to do" in second.describe()


# --- changing a live table ---------------------------------------------------------------------

def test_adding_fields_keeps_rows_and_does_not_rewrite_the_table(engine, tmp_path):
    base = {"parent": {"fields": {"name": {"type": "text"}}},
            "thing": {"fields": {"name": {"type": "text"}}}}
    blueprint = make_blueprint(tmp_path / "bp", base)
    migrate(engine, blueprint)
    service = RecordService(blueprint, engine)
    parent = service.create("parent", {"name": "p"})
    service.bulk_create("thing", [{"name": f"row {i}"} for i in range(50)])
    service.delete("thing", 3)  # a hole in the ids: a rebuild that renumbers would show
    before_rows, before_storage = raw_rows(engine, "thing"), storage_fingerprint(engine, "thing")
    added = {"name": {"type": "text"}, "count": {"type": "integer"}, "amount": {"type": "money"},
             "flag": {"type": "boolean"}, "parent": {"type": "reference", "to": "parent"},
             "owner": {"type": "user"}, "place": {"type": "location"},
             "tags": {"type": "multiselect", "options": ["a"]}, "code": {"type": "text", "unique": True},
             "status": {"type": "select", "options": ["on"], "default": "'on'"}}
    changed = make_blueprint(tmp_path / "bp", dict(base, thing={"fields": added}))
    plan = migrate(engine, changed)
    # `code` is a text field, so the search looks in it too (the first two text fields without `search:`)
    assert {s.action for s in plan.changes} == {"add_column", "create_index", "search_index"}
    assert storage_fingerprint(engine, "thing") == before_storage
    after = raw_rows(engine, "thing")
    assert [row[:len(before_rows[0])] for row in after] == before_rows
    assert all(value is None for row in after for value in row[len(before_rows[0]):])
    assert foreign_keys(engine, "thing")[("parent",)] == "parent"
    assert foreign_keys(engine, "thing")[("owner",)] == "atrium_users"
    service = RecordService(changed, engine)
    record = service.create("thing", {"name": "new", "parent": parent["id"], "place": "1, 2", "code": "c"})
    assert service.get("thing", record["id"])["status"] == "on"
    assert service.get("thing", 1)["name"] == "row 0"


def test_removed_field_keeps_its_column_until_dropped(engine, tmp_path):
    fields = {"name": {"type": "text"}, "old": {"type": "integer"},
              "old_ref": {"type": "reference", "to": "thing"}}
    blueprint = make_blueprint(tmp_path / "bp", thing(fields))
    migrate(engine, blueprint)
    service = RecordService(blueprint, engine)
    first = service.create("thing", {"name": "a", "old": 42})
    service.create("thing", {"name": "b", "old": 7, "old_ref": first["id"]})
    smaller = make_blueprint(tmp_path / "bp", thing({"name": {"type": "text"}}))
    plan = migrate(engine, smaller)
    assert {(s.action, s.name) for s in plan.steps} == {("keep_column", "old"), ("keep_column", "old_ref")}
    assert "drop it with --drop thing.old" in plan.describe()
    assert "old" in columns(engine, "thing")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT old FROM thing ORDER BY id")).scalars().all() == [42, 7]
    # the service works without the hidden columns
    service = RecordService(smaller, engine)
    assert service.update("thing", first["id"], {"name": "a2"})["name"] == "a2"
    assert "old" not in service.get("thing", first["id"])
    with pytest.raises(MigrationRefused, match="thing.nope"):
        migrate(engine, smaller, drop=["thing.nope"])
    with pytest.raises(MigrationRefused, match="thing.name"):  # still in the blueprint
        migrate(engine, smaller, drop=["thing.name"])
    plan = migrate(engine, smaller, drop=["thing.old", "thing.old_ref"])
    assert [(s.action, s.name) for s in plan.changes] == [
        ("drop_column", "old"), ("drop_index", "ix_thing_old_ref"), ("drop_column", "old_ref")]
    assert "old" not in columns(engine, "thing") and "old_ref" not in columns(engine, "thing")
    assert [row[-1] for row in raw_rows(engine, "thing")] == ["a2", "b"]
    assert not migrate(engine, smaller).steps


def test_rename_keeps_data(engine, tmp_path):
    base = {"parent": {"fields": {"name": {"type": "text"}}},
            "thing": {"fields": {"title": {"type": "text"}, "place": {"type": "location"},
                                 "parent": {"type": "reference", "to": "parent"}}}}
    blueprint = make_blueprint(tmp_path / "bp", base)
    migrate(engine, blueprint)
    service = RecordService(blueprint, engine)
    parent = service.create("parent", {"name": "p"})
    record = service.create("thing", {"title": "kept", "place": "30.5, 114.3, 武汉", "parent": parent["id"]})
    renamed = {"parent": base["parent"],
               "thing": {"fields": {"name": {"type": "text", "renamed_from": "title"},
                                    "spot": {"type": "location", "renamed_from": "place"},
                                    "owner_account": {"type": "reference", "to": "parent",
                                                      "renamed_from": "parent"}}}}
    changed = make_blueprint(tmp_path / "bp", renamed)
    plan = migrate(engine, changed)
    assert {(s.name, s.new_name) for s in plan.steps if s.action == "rename_column"} == {
        ("title", "name"), ("place_lat", "spot_lat"), ("place_lng", "spot_lng"),
        ("place_address", "spot_address"), ("parent", "owner_account")}
    assert not any(s.action in ("add_column", "keep_column") for s in plan.steps)
    stored = RecordService(changed, engine).get("thing", record["id"])
    assert stored["name"] == "kept"
    assert stored["spot"] == {"lat": 30.5, "lng": 114.3, "address": "武汉"}
    assert stored["owner_account"] == parent["id"]
    assert not {"title", "place_lat", "parent"} & set(columns(engine, "thing"))
    assert indexes(engine, "thing") == {"ix_thing_owner_account": (("owner_account",), False)}
    assert not migrate(engine, changed).steps  # renamed_from stays in the YAML: nothing more to do


@pytest.mark.parametrize("before,after,value", [
    ({"type": "text"}, {"type": "integer"}, "12 apples"),
    ({"type": "money"}, {"type": "integer"}, "12.34"),
    ({"type": "datetime"}, {"type": "date"}, "2026-03-31T23:30:00Z"),
    ({"type": "text", "max_length": 200}, {"type": "text", "max_length": 1000}, None),  # control: allowed
])
def test_lossy_type_change_is_refused(engine, tmp_path, before, after, value):
    blueprint = make_blueprint(tmp_path / "bp", thing({"name": {"type": "text"}, "f": before}))
    migrate(engine, blueprint)
    RecordService(blueprint, engine).create("thing", {"name": "x", "f": value})
    snapshot, data = schema(engine), raw_rows(engine, "thing")
    changed = make_blueprint(tmp_path / "bp", thing({"name": {"type": "text"}, "f": after,
                                                     "added": {"type": "text"}}))
    if value is None:
        migrate(engine, changed)
        return
    with engine.connect() as connection:
        plan = plan_migration(connection, changed)
    assert len(plan.refused) == 1 and "thing.f" in plan.refused[0]
    assert "could lose data" in plan.describe()
    with pytest.raises(MigrationRefused, match=r"thing\.f"):
        migrate(engine, changed)
    with pytest.raises(MigrationRefused):
        apply_migration(engine, changed, plan)
    assert schema(engine) == snapshot and raw_rows(engine, "thing") == data  # not even `added`


def test_widening_a_text_field(engine, tmp_path):
    def entities(length):
        return {"thing": {"fields": {"name": {"type": "text", "max_length": length}}},
                "child": {"fields": {"thing": {"type": "reference", "to": "thing"}}}}
    blueprint = make_blueprint(tmp_path / "bp", entities(50))
    migrate(engine, blueprint)
    service = RecordService(blueprint, engine)
    first = service.create("thing", {"name": "short"})
    service.create("child", {"thing": first["id"]})  # the widened table has records pointing to it
    too_long = "长" * 150
    assert "name" in service.rules.prepare(blueprint.entities["thing"], None, {"name": too_long},
                                           Actor())[1]
    wider = make_blueprint(tmp_path / "bp", entities(200))
    plan = migrate(engine, wider)
    assert [s.action for s in plan.changes] == ["change_type"]
    assert "widen thing.name from 50 to 200" in plan.describe()
    assert columns(engine, "thing")["name"]["type"].length == 200
    service = RecordService(wider, engine)
    assert service.get("thing", first["id"])["name"] == "short"
    assert service.create("thing", {"name": too_long})["name"] == too_long
    assert foreign_keys(engine, "child")[("thing",)] == "thing"
    assert foreign_keys(engine, "thing")[("created_by",)] == "atrium_users"
    assert not migrate(engine, wider).steps


@pytest.mark.parametrize("before,after,value,expected", [
    ("integer", "number", "12", 12.0),
    ("integer", "money", "12", Decimal("12.00")),
    ("date", "datetime", "2026-03-31", dt.datetime(2026, 3, 31, tzinfo=UTC)),
])
def test_widening_a_type(engine, tmp_path, before, after, value, expected):
    blueprint = make_blueprint(tmp_path / "bp", thing({"f": {"type": before}}))
    migrate(engine, blueprint)
    record = RecordService(blueprint, engine).create("thing", {"f": value})
    changed = make_blueprint(tmp_path / "bp", thing({"f": {"type": after}}))
    plan = migrate(engine, changed)
    assert [s.action for s in plan.changes] == ["change_type"]
    assert RecordService(changed, engine).get("thing", record["id"])["f"] == expected
    assert not migrate(engine, changed).steps


def test_tables_the_model_does_not_know_are_left_alone(engine, tmp_path):
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE bi_cache (k VARCHAR(20) PRIMARY KEY, v INTEGER)"))
        connection.execute(sa.text("CREATE INDEX ix_bi_cache_v ON bi_cache (v)"))
        connection.execute(sa.text("INSERT INTO bi_cache VALUES ('rows', 42)"))
    blueprint = make_blueprint(tmp_path / "bp", thing({"name": {"type": "text"}}))
    plan = migrate(engine, blueprint)
    assert all(step.table != "bi_cache" for step in plan.steps)
    assert "bi_cache" not in plan.describe()
    assert not migrate(engine, blueprint).steps
    assert indexes(engine, "bi_cache") == {"ix_bi_cache_v": (("v",), False)}
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT v FROM bi_cache")).scalar() == 42


def test_a_failing_migration_leaves_nothing_half_done(engine, tmp_path):
    blueprint = make_blueprint(tmp_path / "bp", thing({"code": {"type": "text"}}))
    migrate(engine, blueprint)
    service = RecordService(blueprint, engine)
    service.bulk_create("thing", [{"code": "same"}, {"code": "other"}, {"code": "same"}])
    before, data = schema(engine), raw_rows(engine, "thing")
    # a new table, a new column and a unique index the existing rows make impossible
    changed = make_blueprint(tmp_path / "bp", {"thing": {"fields": {"code": {"type": "text", "unique": True},
                                                                    "note": {"type": "text"}}},
                                               "other": {"fields": {"thing": {"type": "reference", "to": "thing"}}}})
    with pytest.raises(MigrationFailed, match="uq_thing_code|thing.code"):
        migrate(engine, changed)
    assert schema(engine) == before and raw_rows(engine, "thing") == data
    # fix the data, and the same migration goes through
    RecordService(blueprint, engine).update("thing", 3, {"code": "third"})
    migrate(engine, changed)
    assert indexes(engine, "thing")["uq_thing_code"] == (("code",), True)
    assert "other" in inspect(engine).get_table_names()


def test_reference_cycle_between_new_entities(engine, tmp_path):
    entities = {"alpha": {"fields": {"name": {"type": "text"}, "beta": {"type": "reference", "to": "beta"}}},
                "beta": {"fields": {"name": {"type": "text"}, "alpha": {"type": "reference", "to": "alpha"}}}}
    blueprint = make_blueprint(tmp_path / "bp", entities)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "cannot sort tables" warning
        migrate(engine, blueprint)
    assert foreign_keys(engine, "alpha")[("beta",)] == "beta"
    assert foreign_keys(engine, "beta")[("alpha",)] == "alpha"
    service = RecordService(blueprint, engine)
    a = service.create("alpha", {"name": "a"})
    b = service.create("beta", {"name": "b", "alpha": a["id"]})
    assert service.update("alpha", a["id"], {"beta": b["id"]})["beta"] == b["id"]
    assert not migrate(engine, blueprint).steps


def test_reference_cycle_through_an_existing_entity(engine, tmp_path):
    base = {"alpha": {"fields": {"name": {"type": "text"}}}}
    migrate(engine, make_blueprint(tmp_path / "bp", base))
    cycle = {"alpha": {"fields": {"name": {"type": "text"}, "gamma": {"type": "reference", "to": "gamma"}}},
             "gamma": {"fields": {"alpha": {"type": "reference", "to": "alpha"},
                                  "self": {"type": "reference", "to": "gamma"}}}}
    blueprint = make_blueprint(tmp_path / "bp", cycle)
    migrate(engine, blueprint)
    assert foreign_keys(engine, "alpha")[("gamma",)] == "gamma"
    assert foreign_keys(engine, "gamma")[("alpha",)] == "alpha"
    assert foreign_keys(engine, "gamma")[("self",)] == "gamma"
    assert not migrate(engine, blueprint).steps


def test_foreign_keys_refuse_dangling_links(engine, tmp_path):
    """A BI tool or a script writing SQL cannot link to a record that does not exist."""
    blueprint = make_blueprint(tmp_path / "bp", {"parent": {"fields": {"name": {"type": "text"}}},
                                                 "thing": {"fields": {"p": {"type": "reference", "to": "parent"}}}})
    migrate(engine, blueprint)
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO thing (created_at, updated_at, p) "
                                       "VALUES (CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 999)"))


def test_deleting_a_record_a_removed_field_still_points_to(engine, tmp_path):
    """The column of a removed reference field is kept, but never blocks a delete."""
    entities = {"parent": {"fields": {"name": {"type": "text"}}},
                "thing": {"fields": {"name": {"type": "text"}, "p": {"type": "reference", "to": "parent"}}}}
    blueprint = make_blueprint(tmp_path / "bp", entities)
    migrate(engine, blueprint)
    service = RecordService(blueprint, engine)
    parent = service.create("parent", {"name": "p"})
    linked = service.create("thing", {"name": "t", "p": parent["id"]})
    smaller = make_blueprint(tmp_path / "bp", dict(entities, thing={"fields": {"name": {"type": "text"}}}))
    migrate(engine, smaller)
    service = RecordService(smaller, engine)
    service.delete("parent", parent["id"])
    assert service.get("thing", linked["id"])["name"] == "t"
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT p FROM thing")).scalar() is None


@pytest.fixture
def shanghai_engine(engine):
    """On PostgreSQL, the test's database seen from sessions whose time zone is Asia/Shanghai."""
    if engine.dialect.name != "postgresql":
        yield engine
        return
    options = f"{engine.url.query.get('options', '')} -ctimezone=Asia/Shanghai".strip()
    other = create_engine(engine.url.update_query_dict({"options": options}).render_as_string(hide_password=False))
    yield other
    other.dispose()


def test_times_are_utc_whatever_the_database_sessions_time_zone(shanghai_engine, tmp_path):
    """A PostgreSQL server set to Asia/Shanghai answers in +08:00; the runtime gives UTC, and a
    date widened to a datetime is midnight UTC on both databases."""
    engine = shanghai_engine
    blueprint = make_blueprint(tmp_path / "bp", thing({"day": {"type": "date"}, "at": {"type": "datetime"}}))
    migrate(engine, blueprint)
    record = RecordService(blueprint, engine).create("thing", {"day": "2026-03-31", "at": "2026-03-31T12:00Z"})
    widened = make_blueprint(tmp_path / "bp", thing({"day": {"type": "datetime"}, "at": {"type": "datetime"}}))
    migrate(engine, widened)
    stored = RecordService(widened, engine).get("thing", record["id"])
    assert stored["at"] == dt.datetime(2026, 3, 31, 12, tzinfo=UTC) and stored["at"].tzinfo is UTC
    assert stored["day"] == dt.datetime(2026, 3, 31, tzinfo=UTC) and stored["day"].tzinfo is UTC
    assert stored["created_at"].tzinfo is UTC
