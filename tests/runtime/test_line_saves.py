"""A parent and its lines written together (runtime/access/line_saves.py): all or nothing, each
bad row by its index beside the parent's own errors, lines of another parent refused, and a
line another rep owns refused in its row."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from atrium.runtime.access import users
from atrium.runtime.access.line_saves import GridChanges, LineChange, LinesFailed, save_with_lines
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.rules import RECORD_ERRORS
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site


@pytest.fixture
def kit(engine, b2b):
    migrate(engine, b2b)
    site = Site.open(b2b, str(engine.url), engine=engine)
    actors = {}
    with engine.begin() as connection:
        team = users.add_team(connection, site.tables, "east")
        for name in ("rep1", "rep2"):
            uid = users.add_user(connection, site.tables, b2b, name, "sales_rep", "east", locale="en")
            actors[name] = Actor(user_id=uid, name=name, role="sales_rep", team_id=team, locale="en")
    rep = actors["rep1"]
    customer = site.records.create("customer", {"name": "Acme"}, rep)
    order = site.records.create("order", {"name": "Deal", "customer": customer["id"]}, rep)
    return site, SecuredRecords(site), actors, order


def grid(site, *rows: LineChange) -> list[GridChanges]:
    return [GridChanges(site.blueprint.view("quote").lines[0], list(rows))]


def count(site, entity: str) -> int:
    with site.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(site.tables[entity])).scalar()


def test_the_parent_and_its_lines_are_written_together_or_not_at_all(kit):
    site, secured, actors, order = kit
    rep = actors["rep1"]
    quote = {"order": order["id"], "customer": order["customer"]}  # no name: the parent fails too
    with pytest.raises(LinesFailed) as failed:
        save_with_lines(secured, rep, "quote", None, quote, grid(
            site, LineChange(None, {"quantity": 2, "unit_price": 10}), LineChange(None, {"quantity": 1})))
    assert "name" in failed.value.parent_errors
    assert failed.value.lines == {"quote_line.quote": {1: {"unit_price": ["This field is required"]}}}
    assert failed.value.payload()["lines"]["quote_line.quote"]["1"]
    assert count(site, "quote") == 0 and count(site, "quote_line") == 0

    saved = save_with_lines(secured, rep, "quote", None, {**quote, "name": "Q"}, grid(
        site, LineChange(None, {"quantity": 2, "unit_price": 10}), LineChange(None, {"quantity": 1, "unit_price": 5})))
    assert saved["line_count"] == 2 and saved["total"] == Decimal("25.00")
    with site.engine.connect() as connection:
        first, second = site.records.read_where(connection, "quote_line", "quote", [saved["id"]])
    again = save_with_lines(secured, rep, "quote", saved["id"], {}, grid(
        site, LineChange(first["id"], {"quantity": 3}), LineChange(second["id"], remove=True)),
        version=saved["version"])
    assert again["total"] == Decimal("30.00") and again["line_count"] == 1
    assert again["version"] == saved["version"] + 1  # lines changed: the quote's version moves on


def test_lines_of_another_quote_or_owner_are_refused_in_their_rows(kit):
    site, secured, actors, order = kit
    rep1, rep2 = actors["rep1"], actors["rep2"]
    base = {"order": order["id"], "customer": order["customer"]}
    mine = site.records.create("quote", {**base, "name": "Mine"}, rep1)
    other = site.records.create("quote", {**base, "name": "Other"}, rep1)
    foreign = site.records.create("quote_line", {"quote": other["id"], "quantity": 1, "unit_price": 1}, rep1)
    theirs = site.records.create("quote_line", {"quote": mine["id"], "quantity": 1, "unit_price": 1}, rep2)
    with pytest.raises(LinesFailed) as failed:
        save_with_lines(secured, rep1, "quote", mine["id"], {}, grid(
            site, LineChange(foreign["id"], {"quantity": 5}), LineChange(theirs["id"], {"quantity": 5})),
            version=mine["version"])
    rows = failed.value.lines["quote_line.quote"]
    assert rows[0] == {RECORD_ERRORS: ["This line belongs to another record"]}
    assert RECORD_ERRORS in rows[1]  # rep2's line: rep1 may not change it
    assert site.records.get("quote_line", foreign["id"])["quantity"] == Decimal("1")
