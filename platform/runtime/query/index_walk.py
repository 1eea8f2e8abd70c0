"""The index walk: the first page of a filtered list read along the sort's own index.

Asked for `status = open` sorted by size, both planners take the status index and sort every open
record (187,000 of a million, measured) to keep 50: they cannot know that walking the size index and
keeping the open ones stops after a few hundred rows. So when no index serves the filter and the sort
together (list_indexes.py derives the common ones), the list first reads a bounded window of the
sort index (`id IN (the next N ids in sort order)`) and keeps the matches. A window that holds a
full page is the answer (the window is a prefix of the order, so its first matches are the first
matches overall); one that holds fewer means the filter keeps few rows, which its own index finds
and sorts quickly, and the plain statement runs instead.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.sql import util as sql_util

from atrium.metadata.model import Entity

ROWS_WALKED_PER_ROW = 40  # window size per row asked for: a filter keeping 1 row in 40 still fills a page
SELECTIVE_TYPES = ("reference", "autonumber")  # one value matches few rows: that column's index wins


def _pinned_values(spec: Any) -> bool:
    """Whether a condition holds its column to one value (`open`, `{eq: open}`, `{in: [open]}`)."""
    if not isinstance(spec, Mapping):
        return spec is not None
    if set(spec) == {"eq"}:
        return spec["eq"] is not None
    return set(spec) == {"in"} and isinstance(spec["in"], list | tuple) and len(spec["in"]) == 1


def pinned_columns(entity: Entity, where: Mapping[str, Any]) -> set[str] | None:
    """The entity's own columns the conditions hold to one value; None when a condition already picks
    few rows (an id, a reference, a unique field), whose own index is the better way."""
    pinned = set()
    for path, spec in where.items():
        field = entity.fields.get(path)
        if path == "id" or field is not None and (field.type in SELECTIVE_TYPES or field.unique):
            if _pinned_values(spec) or isinstance(spec, Mapping) and "in" in spec:
                return None
        if field is not None and _pinned_values(spec):
            pinned.add(path)
    return pinned


def _reads_in_order(index: sa.Index, position: int, descending: bool, dialect: str) -> bool:
    """Whether the index's column at `position` gives the list's order (empty values last) read one
    way or the other: always on SQLite; on PostgreSQL only when the index was made in the sort's
    direction (an ascending index read backwards puts empty values first)."""
    if dialect != "postgresql":
        return True
    column = list(index.columns)[position].name
    return (column in index.info.get("descending", ())) == descending


def served_by_index(table: sa.Table, pinned: set[str], leading_sort: str, descending: bool = False,
                    dialect: str = "sqlite") -> bool:
    """Whether an index reads the pinned rows in sort order: columns all pinned, then the sort's."""
    for index in table.indexes:
        names = [column.name for column in index.columns]
        for position in range(1, len(names)):
            if not set(names[:position]) <= pinned:
                break
            if names[position] == leading_sort and _reads_in_order(index, position, descending, dialect):
                return True
    return False


def sort_has_index(table: sa.Table, leading_sort: str) -> bool:
    return any(next(iter(index.columns)).name == leading_sort for index in table.indexes)


def walk_pays(table: sa.Table, entity: Entity, leading_sort: str | None, where: Mapping[str, Any],
              scoped_owner: str | None, narrowed: bool, descending: bool = False, dialect: str = "sqlite") -> bool:
    """Whether to try the window first: something narrows the rows (`narrowed`: a filter, a search,
    an access scope), the sort's column leads an index, and no index serves filter and sort together.
    `scoped_owner` is the owner column when the access scope holds it to the user (own records)."""
    if leading_sort is None or not sort_has_index(table, leading_sort):
        return False
    if not narrowed:  # the plain statement reads the sort's index, unless PostgreSQL reads it the wrong way
        return not any(next(iter(index.columns)).name == leading_sort
                       and _reads_in_order(index, 0, descending, dialect) for index in table.indexes)
    pinned = pinned_columns(entity, where)
    if pinned is None:
        return False
    if scoped_owner is not None:
        pinned.add(scoped_owner)
    return not (pinned and served_by_index(table, pinned, leading_sort, descending, dialect))


def window(table: sa.Table, size: int, ordering_of: Callable[[Any], list[sa.ColumnElement]],
           after_of: Callable[[Any], sa.ColumnElement] | None, leading: tuple[str, bool] | None = None,
           dialect: str = "sqlite", where: sa.ColumnElement | None = None) -> sa.ColumnElement:
    """`id IN (the first `size` ids in sort order, after the cursor)`: an index-only read of the
    sort's index, on a table alias of its own so it never correlates with the outer statement.

    `where`: conditions on the sort's column alone, written on `table` (a report's `expected_close:
    {not_older_than_days: 0}`), applied inside the window: the rows they keep, in sort order, are
    still a prefix of the answer's order, and the window starts where they begin instead of at the
    first value of the index.

    On PostgreSQL, when the sort's column is indexed only the other way, the window holds the
    non-empty values alone, ordered with empty values first (what that index read backwards gives):
    the same rows in the same order, as empty values sort last. A window short of a page makes
    the list fall back to the plain statement, which also covers the empty values."""
    walked = table.alias("walked")
    terms = ordering_of(walked)
    ids = sa.select(walked.c.id)
    non_empty = None
    if leading is not None and dialect == "postgresql":
        name, descending = leading
        indexes = [ix for ix in table.indexes if next(iter(ix.columns)).name == name]
        if indexes and not any(_reads_in_order(ix, 0, descending, dialect) for ix in indexes):
            column = walked.c[name]
            terms = [(column.desc() if descending else column.asc()).nulls_first(), *terms[1:]]
            ids = ids.where(column.is_not(None))
            non_empty = table.c[name]
    if where is not None:
        if non_empty is not None:
            where = _without_empty_branch(where, non_empty)
        ids = ids.where(sql_util.ClauseAdapter(walked).traverse(where))
    ids = ids.order_by(*terms).limit(size)
    if after_of is not None:
        ids = ids.where(after_of(walked))
    return table.c.id.in_(ids)


def _without_empty_branch(where: Any, column: sa.Column) -> Any:
    """`where` without its `OR column IS NULL` branches, for a window that reads the non-empty values
    alone: those branches match nothing there, and they keep PostgreSQL from reading the range
    (`expected_close >= today OR expected_close IS NULL`) from the index; it filtered every past
    date instead (275,000 index entries for a team's stalled orders at 1,000,000 orders)."""
    def empty_test(clause: Any) -> bool:
        return (isinstance(clause, sa.BinaryExpression) and clause.operator is sa.sql.operators.is_
                and clause.left is column)

    if isinstance(where, sa.BooleanClauseList):
        kept = [_without_empty_branch(clause, column) for clause in where.clauses
                if not (where.operator is sa.sql.operators.or_ and empty_test(clause))]
        if not kept:
            return where
        return sa.or_(*kept) if where.operator is sa.sql.operators.or_ else sa.and_(*kept)
    if isinstance(where, sa.sql.elements.Grouping):
        return _without_empty_branch(where.element, column)
    return where
