"""A report document → one SQLAlchemy Core SELECT (GROUP BY, aggregates, joins along references),
under the viewer's scope. Summary, matrix and list reports are compiled here; funnels and time
series in funnel.py and series.py, from the same groups, measures and filters (parts.py).

Sorting by a group or measure and `limit` go into the SQL; sorting by a metric (computed after
the query, over the aggregated rows) sorts those rows in Python and then applies the limit.
A totals row (and a matrix's row and column totals) is a second statement over the same FROM and
WHERE: count_distinct and avg totals cannot be added up from the group rows.
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa

from atrium.metadata.model import Document, Entity
from atrium.metadata.report_checks import report_entity
from atrium.runtime.query import index_walk
from atrium.runtime.query.conditions import Joins
from atrium.runtime.reports.columns import ReportColumn
from atrium.runtime.reports.funnel import compile_funnel
from atrium.runtime.reports.parts import NO_REQUEST, CompiledReport, Group, ReportParts, ReportRequest
from atrium.runtime.reports.scope import ReportNotFound
from atrium.runtime.reports.series import compile_series
from atrium.runtime.schema import preaggregates
from atrium.runtime.schema.list_indexes import owner_column

LIST_LIMIT = 1000  # rows of a list report when it sets no limit (the result says it was cut)
# sort keys whose values Python orders as every database does (a merge of parts compares them in Python)
ORDERED_AS_IN_PYTHON = frozenset({"integer", "number", "money", "percent", "date", "datetime", "boolean",
                                  "reference", "user"})
WALKED_LIMIT = 500  # a longer list report (an export) sorts its rows: a window of 40 × its rows would not pay


class ReportCompiler(ReportParts):
    def compile(self, document: Document, request: ReportRequest = NO_REQUEST) -> CompiledReport:
        kind = document.get("type", "summary")
        entity = report_entity(document.data, self.blueprint.pipelines)
        if entity is None or entity not in self.blueprint.entities or not self.scope.can_read(entity):
            raise ReportNotFound(document.name)
        self.scope.report = document.name
        if kind == "funnel":
            return compile_funnel(self, document, entity, request)
        if kind == "timeseries":
            return compile_series(self, document, entity, request)
        if kind == "list":
            return self._list(document, entity, request)
        return self._grouped(document, entity, kind, request)

    # --- summary and matrix --------------------------------------------------------------------

    def _grouped(self, document: Document, entity: str, kind: str, request: ReportRequest) -> CompiledReport:
        shape = self._preaggregate(document, request)
        joins = self.scope.joins(entity) if shape is None else self._aggregate_joins(entity, shape)
        groups = [self.group(joins, spec) for spec in document.get("group_by", ())]
        measures, dropped = self.measures(joins, document)
        if shape is not None:  # a count is the sum of the rows' counts, a sum the sum of their sums
            for measure in measures:
                measure.tally = shape.table.c[preaggregates.COUNT]
        metrics, metric_columns = self.metrics(document, dropped)
        where = self.where(joins, document, request, self.period_condition(document, request))
        aggregates = {m.name: m.aggregate() for m in measures}
        ordering, python_sort = [], None
        keys = [(name, descending) for name, descending in self.sort_keys(document) if name not in dropped]
        if any(name in metrics for name, _ in keys):
            python_sort = keys
        else:
            by_group = {g.name: g.sort_key for g in groups}
            for name, descending in keys:
                expression = by_group.get(name, aggregates.get(name))
                assert expression is not None  # the loader checked each sort names a group or a measure
                ordering.append(expression.desc().nulls_last() if descending else expression.asc().nulls_last())
        ordering += [g.sort_key.asc().nulls_last() for g in groups]
        limit = request.limit or document.get("limit")
        statement = (sa.select(*(g.expression.label(g.name) for g in groups),
                               *(aggregate.label(name) for name, aggregate in aggregates.items()))
                     .select_from(joins.from_clause).where(*where)
                     .group_by(*(g.expression for g in groups)).order_by(*ordering))
        if shape is not None and groups:  # a key tuple whose records all went keeps a row counting 0
            statement = statement.having(sa.func.sum(shape.table.c[preaggregates.COUNT]) > 0)
        if limit and python_sort is None:
            statement = statement.limit(limit)
        compiled = CompiledReport(document.name, kind, entity,
                                  [g.column for g in groups] + [m.column for m in measures] + metric_columns,
                                  statement, groups, measures, metrics, python_sort=python_sort, limit=limit,
                                  entities=self.entities_read(joins))
        totals = sa.select(*(aggregate.label(name) for name, aggregate in aggregates.items()))
        if document.get("totals") or kind == "matrix":
            compiled.totals = totals.select_from(joins.from_clause).where(*where)
        if kind == "matrix" and len(groups) == 2:
            compiled.margins = self._margins(joins, groups, aggregates, where, shape)
        if shape is not None:
            compiled.extra["preaggregate"] = shape.name
        return compiled

    # --- from a pre-aggregate ----------------------------------------------------------------------

    def _preaggregate(self, document: Document, request: ReportRequest) -> preaggregates.Shape | None:
        """The pre-aggregate that answers this report as the base tables would, if there is one."""
        need = preaggregates.need_of(self.blueprint, document, request.filters)
        if need is None:
            return None
        shape = preaggregates.shape_for(self.blueprint, self.scope.tables, need)
        if shape is None or not preaggregates.present(self.scope.connection, shape):
            return None
        return shape

    def _aggregate_joins(self, entity: str, shape: preaggregates.Shape) -> Joins:
        """The FROM clause over the pre-aggregate: its columns are named as the fields they hold,
        so filters, groups, the viewer's scope (the owner column) and field secrecy compile as over
        the entity's table (every path a covered report reads is a plain field: no join)."""
        joins = Joins(self.blueprint, self.scope.tables, entity, join_filter=self.scope.row_filter,
                      connection=self.scope.connection)
        joins.base = joins.from_clause = shape.table
        return joins

    def _margins(self, joins: Any, groups: list[Group], aggregates: dict[str, sa.ColumnElement],
                 where: list[sa.ColumnElement], shape: preaggregates.Shape | None = None) -> sa.CompoundSelect:
        """A matrix's row totals (per first group) and column totals (per second), one statement."""
        parts = []
        for index, kept in enumerate(groups):
            columns = [sa.literal(index).label("margin")]
            for group in groups:
                value = group.expression if group is kept else sa.cast(sa.null(), group.expression.type)
                columns.append(value.label(group.name))
            part = (sa.select(*columns, *(a.label(n) for n, a in aggregates.items()))
                    .select_from(joins.from_clause).where(*where).group_by(kept.expression))
            if shape is not None:
                part = part.having(sa.func.sum(shape.table.c[preaggregates.COUNT]) > 0)
            parts.append(part)
        return sa.union_all(*parts)

    # --- list ------------------------------------------------------------------------------------

    def _list(self, document: Document, entity: str, request: ReportRequest) -> CompiledReport:
        joins = self.scope.joins(entity)
        model = self.blueprint.entities[entity]
        selected: list[sa.ColumnElement] = [joins.base.c.id.label("id")]
        columns: list[Any] = []
        for path in document.get("columns", ()):
            if self.scope.hidden_step(entity, path):
                continue  # a hidden field is not a column for this viewer
            index = len(columns)  # the SQL label is c<index>: paths have dots
            column, field = self.scope.column(joins, path)
            owner = self._entity_at(entity, path)
            if field.type == "location":
                table = column.table
                for part in ("lat", "lng", "address"):
                    selected.append(table.c[f"{field.name}_{part}"].label(f"c{index}_{part}"))
            else:
                selected.append(column.label(f"c{index}"))
            columns.append(ReportColumn(path, "field", field.type, field.label, field, owner))
        ordering, sort_terms = [], []
        for name, descending in self.sort_keys(document):
            column, field = self.scope.column(joins, name)
            expression = self.order_of(column, field)
            sort_terms.append((expression, descending))
            ordering.append(expression.desc().nulls_last() if descending else expression.asc().nulls_last())
        ordering.append(joins.base.c.id.desc() if ordering and self.sort_keys(document)[-1][1]
                        else joins.base.c.id.asc())
        limit = request.limit or document.get("limit") or LIST_LIMIT
        where = self.where(joins, document, request, self.period_condition(document, request))
        statement = (sa.select(*selected).select_from(joins.from_clause).where(*where)
                     .order_by(*ordering).limit(limit + 1))
        extra: dict[str, Any] = {"model": model.name}
        walked = self._walk(joins, model, document, request, limit)
        if walked is not None:  # tried first; the plain statement when the window holds less than a page
            extra["walk"] = statement.where(walked)
        parts = self._partitions(model, document, limit)
        if parts is not None:  # each part read along its own index, then merged (runner._list)
            keyed = (sa.select(*selected, *(e.label(f"k{i}") for i, (e, _) in enumerate(sort_terms)))
                     .select_from(joins.from_clause).where(*where).order_by(*ordering).limit(limit + 1))
            field_column = joins.base.c[parts[0]]
            extra["parts"] = [keyed.where(field_column == value) for value in parts[1]]
            if parts[2] is not None:  # `not_in`: empty values, and values outside the options (rare:
                # first asked whether any exist, along the field's index)
                extra["parts"].append(keyed.where(field_column.is_(None)))
                outside = sa.and_(field_column.is_not(None), field_column.not_in(parts[2]))
                probes = [outside]
                if self.scope.dialect == "sqlite" and all(isinstance(v, str) for v in parts[2]):
                    # the gaps between the options (SQLite compares text bytewise), one seek each
                    ordered = sorted(set(parts[2]))
                    probes = [field_column < ordered[0], field_column > ordered[-1]]
                    probes += [sa.and_(field_column > a, field_column < b)
                               for a, b in zip(ordered, ordered[1:], strict=False)]
                extra["parts_outside"] = ([sa.select(joins.base.c.id).where(probe).limit(1) for probe in probes],
                                          keyed.where(outside))
            extra["sort_terms"] = [descending for _, descending in sort_terms]
        return CompiledReport(document.name, "list", entity, columns, statement, limit=limit,
                              entities=self.entities_read(joins), extra=extra)

    def _walkable_keys(self, model: Entity, document: Document, limit: int) -> list[tuple[str, bool]] | None:
        """The list's sort keys when an index can serve them: columns of its own entity, not sorted
        by a listed order (stages, options), for a list of at most WALKED_LIMIT rows."""
        keys = self.sort_keys(document)
        if not keys or limit > WALKED_LIMIT or any(
                name not in model.fields or model.fields[name].type in ("stage", "select", "multiselect", "location")
                for name, _ in keys):
            return None
        return keys

    def _reads_own(self, model: Entity) -> bool:
        """Whether the viewer reads only their own records of `model` (and claims none)."""
        scope = self.scope.access.scope(self.scope.actor, model.name, "read")
        return scope == "own" and not self.scope.access.claims(self.scope.actor, model.name)

    def _partitions(self, model: Entity, document: Document,
                    limit: int) -> tuple[str, list[Any], tuple[Any, ...] | None] | None:
        """(field, its values, every option) when the report holds a stage or select field to several
        values (`stage: {not_in: [won, lost]}`: the open stages) and an index reads each value's rows
        in the sort's order (field, leading sort column): the list is then the merge of each value's
        first page, every one read along that index, instead of a sort of every matching record
        (an overdue list by expected close: the oldest dates are closed orders)."""
        keys = self._walkable_keys(model, document, limit)
        if keys is None or self._reads_own(model):
            return None  # a person's own records: the owner column's index finds them, a sort of few rows
        if self.scope.dialect != "sqlite" and any(model.fields[name].type not in ORDERED_AS_IN_PYTHON
                                                  for name, _ in keys):
            return None  # text sorts by the database's collation, which the merge's comparison does not know
        table = self.scope.tables[model.name]
        leading, descending = keys[0]
        for path, spec in (document.get("where") or {}).items():
            field = model.fields.get(path)
            if field is None or field.type not in ("stage", "select") or path not in table.c:
                continue
            if not isinstance(spec, Mapping) or len(spec) != 1:
                continue
            operator, listed = next(iter(spec.items()))
            if operator not in ("in", "not_in") or not isinstance(listed, list | tuple):
                continue
            if field.type == "stage":
                pipeline = self.blueprint.pipelines.get(field.pipeline or "")
                options = tuple(pipeline.stage_names) if pipeline else ()
            else:
                options = field.option_values
            if operator == "in":  # exactly the values listed
                values, every = list(dict.fromkeys(listed)), None
            else:  # the other options, then empty values and values outside the options
                values, every = [v for v in options if v not in listed], options
            if len(values) < 2 or not options or not index_walk.served_by_index(
                    table, {path}, leading, descending, self.scope.dialect):
                return None
            return path, values, every
        return None

    def _walk(self, joins: Joins, model: Entity, document: Document, request: ReportRequest,
              limit: int) -> sa.ColumnElement | None:
        """The index walk of a list (query/index_walk.py) for a list report sorted by columns of its
        own entity, when it pays: the first rows of the sort's index, from where the report's
        conditions on the sort's column start (a team's stalled orders by expected close: the
        planners take a stage index and sort every open order of the team to keep 50)."""
        keys = self._walkable_keys(model, document, limit)
        table = self.scope.tables[model.name]
        if keys is None or joins.base is not table:
            return None
        leading, descending = keys[0]
        condition = self.period_condition(document, request)
        own = self._reads_own(model)
        if not index_walk.walk_pays(table, model, leading, {**condition, **(request.filters or {})},
                                    owner_column(model) if own else None, True, descending, self.scope.dialect):
            return None
        on_sort = [spec for source in (condition, request.filters or {}) for path, spec in source.items()
                   if path == leading]
        where = sa.and_(*(self.scope.condition(joins, {leading: spec}) for spec in on_sort)) if on_sort else None

        def ordering(walked: Any) -> list[sa.ColumnElement]:
            terms = [(walked.c[name].desc() if down else walked.c[name].asc()).nulls_last() for name, down in keys]
            return [*terms, walked.c.id.desc() if keys[-1][1] else walked.c.id.asc()]
        return index_walk.window(table, index_walk.ROWS_WALKED_PER_ROW * (limit + 1), ordering, None,
                                 (leading, descending), self.scope.dialect, where)
