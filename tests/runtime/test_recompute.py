"""Stored formulas and roll-ups are right on every existing record after a metadata change, and
`atrium recompute` brings them back on demand."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
import yaml

from atrium.cli import main
from atrium.metadata import load_blueprint
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.access.users import add_user
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordService
from atrium.runtime.reports.runner import Reports
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from tests.runtime.blueprint_factory import write_blueprint

ROLES = {"roles": {"admin": {"label": "Admin", "all": True}}}
REPORT = {"name": "tenths", "label": "Tenths", "source": "order", "group_by": ["customer"],
          "measures": {"tenth": {"sum": "tenth"}}}
CUSTOMER = {"fields": {"name": {"type": "text", "required": True}}}


def order(extra: dict | None = None) -> dict:
    fields = {"title": {"type": "text", "required": True},
              "customer": {"type": "reference", "to": "customer"},
              "amount": {"type": "money"},
              "won": {"type": "boolean"}}
    fields.update(extra or {})
    return {"fields": fields}


def cli(folder: Path, url: str, *args: str) -> int:
    return main(["--blueprint", str(folder), "--db", url, *args])


def values(engine, table: str, column: str) -> dict[int, object]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text(f'SELECT id, "{column}" FROM "{table}" ORDER BY id'))
        return {row[0]: row[1] for row in rows}


def values_columns(engine, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns(table)}


def seeded(tmp_path, database_url, engine):
    folder = write_blueprint(tmp_path / "bp", {"customer": CUSTOMER, "order": order()}, roles=ROLES)
    blueprint = load_blueprint(folder)
    migrate(engine, blueprint)
    service = RecordService(blueprint, engine)
    customers = [service.create("customer", {"name": f"c{i}"})["id"] for i in range(3)]
    amounts = [Decimal("79700.00"), None, Decimal("12345.67"), Decimal("0"), Decimal("5")]
    for i, amount in enumerate(amounts):
        service.create("order", {"title": f"o{i}", "customer": customers[i % 3], "amount": amount, "won": i % 2 == 0})
    return folder


def test_migrate_computes_a_new_formula_and_roll_up_on_existing_records(tmp_path, database_url, engine, capsys):
    folder = seeded(tmp_path, database_url, engine)
    write_blueprint(folder, {
        "customer": {"fields": {**CUSTOMER["fields"], "won_total": {
            "type": "money", "rollup": {"from": "order.customer", "sum": "amount", "where": "won == True"}}}},
        "order": order({"tenth": {"type": "money", "formula": "(amount or 0) / 10000"}})}, roles=ROLES)
    (folder / "reports").mkdir()
    (folder / "reports" / "tenths.yaml").write_text(yaml.safe_dump(REPORT), encoding="utf-8")
    assert cli(folder, database_url, "migrate", "--plan") == 0
    assert "- compute customer.won_total, order.tenth for 8 existing record(s)" in capsys.readouterr().out
    assert "tenth" not in values_columns(engine, "order")
    assert cli(folder, database_url, "migrate") == 0
    out = capsys.readouterr().out
    assert "order.tenth: 5 record(s) computed, 5 value(s) changed" in out
    tenth = values(engine, "order", "tenth")
    assert [Decimal(str(v)).quantize(Decimal("0.01")) for v in tenth.values()] == [
        Decimal("7.97"), Decimal("0.00"), Decimal("1.23"), Decimal("0.00"), Decimal("0.00")]
    totals = values(engine, "customer", "won_total")
    assert [Decimal(str(v)) for v in totals.values()] == [Decimal("79700"), Decimal("5"), Decimal("12345.67")]
    # the list, a filter and the records service read the stored values
    site = Site.open(load_blueprint(folder), database_url, engine=engine)
    with engine.begin() as connection:
        admin = Actor(add_user(connection, site.tables, site.blueprint, "root", "admin", None), "root", "admin")
    page = SecuredRecords(site).list(admin, ListQuery("order", where={"tenth": {"gte": 1}}))
    assert sorted(r["title"] for r in page.records) == ["o0", "o2"]
    rich = SecuredRecords(site).list(admin, ListQuery("customer", where={"won_total": {"gte": 10}}))
    assert sorted(r["name"] for r in rich.records) == ["c0", "c2"]
    report = Reports(site).run(admin, "tenths")
    assert sorted(Decimal(str(row["tenth"])) for row in report.rows) == [Decimal("0"), Decimal("1.23"), Decimal("7.97")]
    # migrating again computes nothing
    assert cli(folder, database_url, "migrate") == 0
    assert "computed" not in capsys.readouterr().out


def test_a_changed_expression_is_recomputed_and_failures_store_null(tmp_path, database_url, engine, capsys):
    folder = seeded(tmp_path, database_url, engine)
    write_blueprint(folder, {"customer": CUSTOMER,
                             "order": order({"ratio": {"type": "money", "formula": "amount * 2"}})})
    assert cli(folder, database_url, "migrate") == 0
    write_blueprint(folder, {"customer": CUSTOMER,
                             "order": order({"ratio": {"type": "money", "formula": "1000 / amount"}})})
    assert cli(folder, database_url, "migrate") == 0
    out = capsys.readouterr().out
    assert "order.ratio: 5 record(s) computed" in out and "1 failed and store no value (ids 4)" in out
    ratio = values(engine, "order", "ratio")
    assert ratio[4] is None and ratio[2] is None  # division by zero; no amount
    assert Decimal(str(ratio[5])) == Decimal("200")


def test_recompute_command_and_dry_run(tmp_path, database_url, engine, capsys):
    folder = seeded(tmp_path, database_url, engine)
    write_blueprint(folder, {"customer": CUSTOMER,
                             "order": order({"double": {"type": "money", "formula": "(amount or 0) * 2"}})})
    assert cli(folder, database_url, "migrate") == 0
    with engine.begin() as connection:  # values gone stale behind the engine's back
        connection.execute(sa.text('UPDATE "order" SET "double" = 1'))
    capsys.readouterr()
    assert cli(folder, database_url, "recompute", "order.double", "--dry-run") == 0
    assert "order.double: 5 of 5 value(s) would change" in capsys.readouterr().out
    assert set(values(engine, "order", "double").values()) == {1}
    assert cli(folder, database_url, "recompute", "order") == 0
    assert "order.double: 5 record(s) computed, 5 value(s) changed" in capsys.readouterr().out
    assert Decimal(str(values(engine, "order", "double")[1])) == Decimal("159400")
    assert cli(folder, database_url, "recompute") == 0
    assert "0 value(s) changed." in capsys.readouterr().out
    assert cli(folder, database_url, "recompute", "order.nothing") == 1


def test_a_formula_over_a_changed_roll_up_follows_it(tmp_path, database_url, engine, capsys):
    folder = seeded(tmp_path, database_url, engine)

    def customer(where: str) -> dict:
        return {"fields": {**CUSTOMER["fields"],
                           "total": {"type": "money", "rollup": {"from": "order.customer", "sum": "amount",
                                                                 "where": where}},
                           "total_wan": {"type": "money", "formula": "(total or 0) / 10000"}}}
    write_blueprint(folder, {"customer": customer("won == True"), "order": order()})
    assert cli(folder, database_url, "migrate") == 0
    assert [Decimal(str(v)) for v in values(engine, "customer", "total_wan").values()] == [
        Decimal("7.97"), Decimal("0"), Decimal("1.23")]
    # only the roll-up's condition changes: the formula reading it is computed again too
    write_blueprint(folder, {"customer": customer("won == False"), "order": order()})
    capsys.readouterr()
    assert cli(folder, database_url, "migrate") == 0
    out = capsys.readouterr().out
    assert out.index("customer.total:") < out.index("customer.total_wan:")
    assert [Decimal(str(v)) for v in values(engine, "customer", "total_wan").values()] == [
        Decimal("0"), Decimal("0"), Decimal("0")]
    assert [Decimal(str(v)) for v in values(engine, "customer", "total").values()] == [
        Decimal("0"), Decimal("0"), Decimal("0")]


def test_a_formula_removed_and_added_back_is_computed_again(tmp_path, database_url, engine):
    folder = seeded(tmp_path, database_url, engine)
    with_formula = {"customer": CUSTOMER, "order": order({"double": {"type": "money", "formula": "amount * 2"}})}
    write_blueprint(folder, with_formula)
    assert cli(folder, database_url, "migrate") == 0
    write_blueprint(folder, {"customer": CUSTOMER, "order": order()})  # removed: its column is kept, hidden
    assert cli(folder, database_url, "migrate") == 0
    RecordService(load_blueprint(folder), engine).update("order", 1, {"amount": "1.50"})
    write_blueprint(folder, with_formula)
    assert cli(folder, database_url, "migrate") == 0
    assert Decimal(str(values(engine, "order", "double")[1])) == Decimal("3")
