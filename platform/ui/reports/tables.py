"""A report result as an HTML table model: headings, cells as text in the reader's language, the
totals row; a matrix report pivoted (its first group down, its second across, one measure in the
cells, row and column totals). Autoescaping in the template keeps every value inert."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any

from atrium.ui.web.i18n import word

NUMERIC_KINDS = ("measure", "metric", "previous", "change", "conversion")
NUMERIC_TYPES = ("integer", "number", "money", "percent")


@dataclass
class Table:
    headings: list[str]
    numeric: list[bool]
    rows: list[tuple[str | None, list[str]]] = dataclass_field(default_factory=list)  # (link, cells)
    totals: list[str] | None = None
    truncated: bool = False


def is_numeric(column: Any) -> bool:
    return column.kind in NUMERIC_KINDS or (column.kind == "field" and column.type in NUMERIC_TYPES)


def table_of(result: Any, locale: str, default_locale: str, entity: str | None = None,
             measure: str | None = None, limit: int | None = None) -> Table:
    matrix = getattr(result, "matrix", None)
    if matrix is not None:
        return _pivot(result, locale, default_locale, measure)
    headings, rows, totals = result.text_rows(locale)
    table = Table(headings, [is_numeric(c) for c in result.columns], totals=totals,
                  truncated=bool(getattr(result, "truncated", False)))
    for record, cells in zip(result.rows, rows, strict=False):
        link = f"/r/{entity}/{record['id']}" if entity and result.kind == "list" and "id" in record else None
        table.rows.append((link, cells))
    if limit is not None and len(table.rows) > limit:
        table.rows, table.truncated = table.rows[:limit], True
    return table


def _pivot(result: Any, locale: str, default_locale: str, measure: str | None) -> Table:
    matrix = result.matrix
    row_column, across = result.column(matrix.row), result.column(matrix.column)
    values = [c for c in result.columns if c.kind in ("measure", "metric")]
    value = next((c for c in values if c.name == measure), values[0] if values else None)
    if value is None:
        headings, rows, totals = result.text_rows(locale)
        return Table(headings, [is_numeric(c) for c in result.columns], [(None, r) for r in rows], totals)
    total = word("Total", locale)
    title = f"{row_column.label.text(locale, default_locale)} \\ {across.label.text(locale, default_locale)}"
    headings = [title] + [_name(result, across, key, locale) for key in matrix.column_keys] + [total]
    table = Table(headings, [False] + [True] * (len(matrix.column_keys) + 1))
    for key in matrix.row_keys:
        cells = [_name(result, row_column, key, locale)]
        for column_key in matrix.column_keys:
            cell = matrix.cells.get((key, column_key))
            cells.append(result.text(value, cell.get(value.name), locale) if cell else "")
        margin = matrix.row_totals.get(key)
        cells.append(result.text(value, margin.get(value.name), locale) if margin else "")
        table.rows.append((None, cells))
    bottom = [total]
    for column_key in matrix.column_keys:
        margin = matrix.column_totals.get(column_key)
        bottom.append(result.text(value, margin.get(value.name), locale) if margin else "")
    bottom.append(result.text(value, result.totals.get(value.name), locale) if result.totals else "")
    table.totals = bottom
    return table


def _name(result: Any, column: Any, key: Any, locale: str) -> str:
    return word("(none)", locale) if key is None else result.text(column, key, locale)
