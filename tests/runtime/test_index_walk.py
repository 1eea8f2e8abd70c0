"""The index walk (query/index_walk.py) changes how a filtered list is read, never what it shows:
page after page, in either direction, with empty values and ties, with a common filter (the window
answers) and a rare one (the plain statement answers), the records come in the list's order."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from blueprint_factory import make_blueprint

from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.evaluation import SYSTEM
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.timezone.utc)
ENTITIES = {"parcel": {"fields": {"label": {"type": "text"}, "weight": {"type": "number"},
                                  "status": {"type": "select", "options": ["waiting", "moving", "lost"]}}}}
VIEW = "entity: parcel\nlist:\n  columns: [label, weight, status]\n  sort: -weight\n  filters: [status]\n"


@pytest.fixture
def site(engine, database_url, tmp_path):
    folder = tmp_path / "bp"
    (folder / "views").mkdir(parents=True)
    (folder / "views" / "parcel.yaml").write_text(VIEW)
    blueprint = make_blueprint(folder, ENTITIES)
    migrate(engine, blueprint)
    site = Site.open(blueprint, database_url, engine=engine, clock=lambda: NOW)
    rows = [{"created_at": NOW, "updated_at": NOW, "label": f"p{(i * 7) % 40:02d}",  # ties on label
             "weight": None if i % 9 == 0 else (i * 37) % 23,  # empty values and ties on weight
             "status": "lost" if i % 60 == 0 else ("waiting", "moving")[i % 2]} for i in range(1, 601)]
    with engine.begin() as c:
        c.execute(site.tables["parcel"].insert(), rows)
    return site


def expected(site, status: str, name: str, descending: bool) -> list[int]:
    """The list's order worked out in Python: empty values last, ties by id in the key's direction."""
    with site.engine.connect() as c:
        rows = c.execute(sa.text(f"SELECT id, {name} FROM parcel WHERE status = :s"), {"s": status}).all()
    filled = sorted((r for r in rows if r[1] is not None), key=lambda r: (r[1], r[0]), reverse=descending)
    empty = sorted((r for r in rows if r[1] is None), key=lambda r: r[0], reverse=descending)
    return [r[0] for r in filled + empty]


def paged(site, query: ListQuery) -> tuple[list[int], list[str]]:
    """Every page's ids, and the list statements that ran."""
    statements: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT parcel."):
            statements.append(statement)
    sa.event.listen(site.engine, "before_cursor_execute", remember)
    ids: list[int] = []
    after = None
    try:
        while True:
            with site.engine.connect() as c:
                page = site.queries.list(c, SYSTEM, ListQuery(query.entity, where=query.where, sort=query.sort,
                                                              limit=query.limit, after=after), NOW)
            ids += [record["id"] for record in page.records]
            after = page.next_cursor
            if after is None:
                return ids, statements
    finally:
        sa.event.remove(site.engine, "before_cursor_execute", remember)


@pytest.mark.parametrize("sort", ["label", "-label", "weight", "-weight"])
def test_a_common_filter_with_any_sort_pages_through_in_order_from_the_window(site, sort):
    ids, statements = paged(site, ListQuery("parcel", where={"status": "moving"}, sort=(sort,), limit=7))
    assert ids == expected(site, "moving", sort.lstrip("-"), sort.startswith("-"))
    if sort.lstrip("-") == "label":  # no index holds status and label: the window answered most pages
        assert sum("walked" in s for s in statements) > len(statements) / 2


@pytest.mark.parametrize("sort", ["label", "-weight"])
def test_a_rare_value_falls_back_to_the_plain_statement_and_misses_nothing(site, sort):
    ids, statements = paged(site, ListQuery("parcel", where={"status": {"in": ["lost"]}}, sort=(sort,), limit=3))
    assert ids == expected(site, "lost", sort.lstrip("-"), sort.startswith("-"))
    assert len(ids) == 10 and statements


@pytest.mark.parametrize("sort", ["weight", "-label"])
def test_a_sort_against_its_indexs_direction_pages_through_in_order(site, sort):
    """Unfiltered, sorted the other way than its index was made (PostgreSQL reads such an index with
    empty values first): the window of non-empty values, then the plain statement for the empty ones."""
    ids, _ = paged(site, ListQuery("parcel", sort=(sort,), limit=40))
    with site.engine.connect() as c:
        rows = c.execute(sa.text(f"SELECT id, {sort.lstrip('-')} FROM parcel")).all()
    descending = sort.startswith("-")
    filled = sorted((r for r in rows if r[1] is not None), key=lambda r: (r[1], r[0]), reverse=descending)
    empty = sorted((r for r in rows if r[1] is None), key=lambda r: r[0], reverse=descending)
    assert ids == [r[0] for r in filled + empty]


def test_a_window_of_non_empty_values_reads_a_range_that_also_keeps_empty_values_from_the_index():
    """A report's `due: {not_older_than_days: 0}` keeps empty dates too (`due >= today OR due IS NULL`).
    A PostgreSQL window of the non-empty values alone (the index made the other way) drops the empty
    branch, which matches nothing there and kept PostgreSQL from reading the range from the index."""
    from sqlalchemy.dialects import postgresql

    from atrium.runtime.query import index_walk
    table = sa.Table("job", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("due", sa.Date))
    sa.Index("ix_job_due_desc", table.c.due, info={"descending": ("due",)})
    today = dt.date(2026, 5, 15)
    where = sa.or_(table.c.due >= today, table.c.due.is_(None))
    window = index_walk.window(table, 40, lambda walked: [walked.c.due.asc().nulls_last(), walked.c.id.asc()],
                               None, ("due", False), "postgresql", sa.and_(where))
    sql = str(window.compile(dialect=postgresql.dialect()))
    assert "walked.due >= " in sql and "walked.due IS NOT NULL" in sql
    assert "walked.due IS NULL" not in sql
    # elsewhere (the window keeps empty values) the condition stays whole
    kept = str(index_walk.window(table, 40, lambda walked: [walked.c.due.asc(), walked.c.id.asc()], None,
                                 ("due", False), "sqlite", where).compile())
    assert "walked.due IS NULL" in kept
