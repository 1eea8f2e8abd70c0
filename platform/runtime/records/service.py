"""The records service: the only path by which a record is created, changed or deleted.

Every write goes through the same steps, in one transaction: coercion, defaults, formulas and
validation (`RecordRules`), then the write pipeline (pipeline.py: approvals' guard, database
checks, the write itself with autonumbers and optimistic locking, audit history, pool releases,
stage history, rollup refresh, and the event automations the write fires). When any step finds
an error nothing is written. Bulk updates live in updates.py, the exceptions in errors.py, what a
write asks of approvals and automations in hooks.py (the site wires them in: site/services.py).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from atrium.metadata.model import Blueprint, Entity
from atrium.runtime.automation.messages import message
from atrium.runtime.duplicates.keys import key_columns
from atrium.runtime.pool.releases import PoolReleases
from atrium.runtime.records.audit import Audit, changed_fields, format_number, sequence_key
from atrium.runtime.records.errors import RecordError, RecordNotFound, StaleRecord, ValidationFailed  # noqa: F401  (re-exported)
from atrium.runtime.records.evaluation import SYSTEM, Actor, RecordEvaluator
from atrium.runtime.records.hooks import WriteHooks
from atrium.runtime.records.linked_formulas import LinkedFormulas
from atrium.runtime.records.linked_values import LinkedValues
from atrium.runtime.records.owner_follows import OwnerFollowing
from atrium.runtime.records.phones import phone_digits
from atrium.runtime.records.pipeline import Write, WritePipeline, afters
from atrium.runtime.records.rollups import Rollups
from atrium.runtime.records.rules import RECORD_ERRORS, Errors, RecordRules, add_error
from atrium.runtime.records.stage_analytics import LearnedProbabilities
from atrium.runtime.records.updates import BulkUpdates
from atrium.runtime.schema.bulk_statements import Same, among_ids, execute_columns, execute_many, next_ids
from atrium.runtime.schema.database import connect, write_transaction
from atrium.runtime.schema.tables import (
    Tables,
    build_tables,
    entered_column,
    location_columns,
    match_key_column,
    phone_key_column,
)
from atrium.runtime.trash.binning import TrashBatch, highest_binned_id

if TYPE_CHECKING:  # the services built over this one, attached by the site (site/services.py)
    from atrium.runtime.approvals.service import Approvals
    from atrium.runtime.automation.triggers import EventAutomations


class RecordService(BulkUpdates):
    def __init__(self, blueprint: Blueprint, engine: Engine, tables: Tables | None = None,
                 clock: Callable[[], dt.datetime] | None = None):
        self.blueprint = blueprint
        self.engine = engine
        self.tables = tables or build_tables(blueprint)
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.learned = LearnedProbabilities(blueprint, engine, self.tables, self.clock)
        self.rules = RecordRules(blueprint, RecordEvaluator(blueprint, clock=self.clock,
                                                            learned=self.learned.probability))
        self.audit = Audit(self.tables)
        self.pool_releases = PoolReleases(blueprint, self.tables)  # owners emptied by a person's write
        self.rollups = Rollups(blueprint, self.tables, self)
        self.owner_follows = OwnerFollowing(self)  # owners that follow a parent's (owner_follows:)
        # dotted paths: the linked records' values rules read, and the formulas that follow them
        self.linked_values = LinkedValues(blueprint, self.tables)
        self.linked_formulas = LinkedFormulas(blueprint, self.tables, self)
        self._keys: dict[str, tuple[str, ...] | None] = {}
        self._specials: dict[str, frozenset[str]] = {}
        self.pipeline = WritePipeline(self)
        # without hooks (the seed, a test of records alone) nothing is asked, locked, reserved or fired
        self.hooks = WriteHooks()
        self.automations: EventAutomations | None = None
        self.approvals: Approvals | None = None
        # entity → [(child entity, reference field)] for on_delete handling
        self.children: dict[str, list[tuple[Entity, str]]] = {}
        for child in blueprint.entities.values():
            for field in child:
                if field.type == "reference":
                    assert field.to is not None  # a blueprint loads only if every reference names an entity
                    self.children.setdefault(field.to, []).append((child, field.name))

    def attach(self, automations: EventAutomations | None, approvals: Approvals | None) -> None:
        """The services built over this one: every write asks approvals' guard and fires the
        automations' event rules (the composition root calls this: site/services.py)."""
        self.automations, self.approvals = automations, approvals
        events = approvals.events(automations) if approvals is not None and automations is not None else automations
        self.hooks = WriteHooks(guard=approvals.guard if approvals is not None else None, events=events)

    # --- reading -----------------------------------------------------------------------------

    def entity(self, name: str) -> Entity:
        return self.blueprint.entities[name]

    def columns_of(self, entity: Entity, values: Mapping[str, Any]) -> dict[str, Any]:
        """Field values → column values (a location spreads over three columns, a phone adds its
        digits: records/phones.py, a field a duplicate rule compares its key: duplicates/keys.py)."""
        special = self._special_fields(entity)
        if special.isdisjoint(values):  # every value goes to the column of its name
            return dict(values)
        columns: dict[str, Any] = {}
        for name, value in values.items():
            if name not in special:
                columns[name] = value
                continue
            field = entity.fields.get(name)
            if field is None or field.type not in ("location", "phone"):
                columns[name] = value
                columns.update(key_columns(self.blueprint, entity, name, value))  # duplicates/keys.py
            elif field.type == "phone":  # and its digits for matching, beside what was typed
                columns[name] = value
                columns[phone_key_column(name)] = phone_digits(value, self.blueprint.phone_country_code)
            else:
                lat, lng, address = location_columns(name)
                value = value or {}
                columns.update({lat: value.get("lat"), lng: value.get("lng"), address: value.get("address")})
        return columns

    def _special_fields(self, entity: Entity) -> frozenset[str]:
        """The fields whose value is stored in other columns too, or instead (`columns_of`)."""
        found = self._specials.get(entity.name)
        if found is None:
            found = self._specials[entity.name] = frozenset(
                [f.name for f in entity if f.type in ("location", "phone")] + list(entity.keyed_fields))
        return found

    def record_of(self, entity: Entity, row: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
        """A table row → the record as fields (system fields included)."""
        record = {key: row[key] for key in ("id", "created_at", "created_by", "updated_at",
                                              "updated_by", "version")}
        for field in entity:
            if field.type == "location":
                lat, lng, address = (row[c] for c in location_columns(field.name))
                record[field.name] = ({"lat": lat, "lng": lng, "address": address}
                                      if lat is not None or address else None)
            else:
                record[field.name] = row[field.name]
        return record

    def read_many(self, connection: Connection, entity: str, ids: Sequence[int]) -> list[dict[str, Any]]:
        return self.read_where(connection, entity, "id", ids)

    def read_where(self, connection: Connection, entity: str, column: str, values: Sequence[Any],
                   condition: sa.ColumnElement | None = None, lock: bool = False,
                   columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The records whose `column` is among `values` (and that meet `condition`); with
        `columns`, records holding only those columns (an entity without location fields)."""
        table = self.tables[entity]
        model = self.entity(entity)
        rows: list[dict[str, Any]] = []
        values = list(values)
        if columns is not None and self._plain_keys(model) is None:
            raise ValueError(f"{entity} has location fields: its records are read whole")
        # one statement with one parameter for all the values: building an IN of literals costs per
        # value; ids go as one JSON array on SQLite (bulk_statements.among_ids)
        among, parameter = (among_ids(connection, table.c.id, "_values")
                            if column == "id" and all(type(v) is int for v in values)
                            else (table.c[column].in_(sa.bindparam("_values", expanding=True)), list))
        plain = self._plain_keys(model)
        query = (sa.select(*(table.c[name] for name in columns)) if columns is not None
                 else sa.select(*(table.c[name] for name in plain)) if plain is not None else sa.select(table)
                 ).where(among)
        if condition is not None:
            query = query.where(condition)
        if lock and connection.dialect.name == "postgresql":
            query = query.with_for_update()
        for start in range(0, len(values), 500):
            result = connection.execute(query, {"_values": parameter(values[start:start + 500])})
            keys = tuple(columns) if columns is not None else self._plain_keys(model)
            if keys is not None and tuple(result.keys()) == keys:  # a row is the record already
                rows += [dict(zip(keys, row, strict=False)) for row in result.fetchall()]
            else:
                rows += [self.record_of(model, row._mapping) for row in result]
        return rows

    def _plain_keys(self, model: Entity) -> tuple[str, ...] | None:
        """An entity without location fields stores each field in the column of its name (a
        phone's digits beside it and the entered-stage time are the engine's, not the record's)."""
        if model.name not in self._keys:
            plain = all(field.type != "location" for field in model)
            digits = {phone_key_column(f.name) for f in model if f.type == "phone"} | {
                match_key_column(name) for name in model.keyed_fields}
            if model.stage_field is not None:
                digits.add(entered_column(model.stage_field.name))
            self._keys[model.name] = tuple(c.name for c in self.tables[model.name].c
                                           if c.name not in digits) if plain else None
        return self._keys[model.name]

    def get(self, entity: str, record_id: int, connection: Connection | None = None) -> dict[str, Any] | None:
        with self._connection(connection, write=False) as conn:
            found = self.read_many(conn, entity, [record_id])
        return found[0] if found else None

    # --- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connection(self, connection: Connection | None, write: bool = True) -> Iterator[Connection]:
        if connection is not None:
            yield connection
            return
        if not write:
            with connect(self.engine) as conn, conn.begin():
                yield conn
            return
        with write_transaction(self.engine) as conn:
            yield conn

    def create(self, entity: str, values: Mapping[str, Any], actor: Actor = SYSTEM,
               connection: Connection | None = None) -> dict[str, Any]:
        created = self.bulk_create(entity, [values], actor, connection=connection, audit_fields=True)
        return created[0]

    def bulk_create(self, entity: str, rows: Iterable[Mapping[str, Any]], actor: Actor = SYSTEM,
                    connection: Connection | None = None, batch_size: int = 1000,
                    audit_fields: bool = False) -> list[dict[str, Any]]:
        """Validate every row like `create`, then insert in batches; all or nothing.

        Raises ValidationFailed naming the first bad row (0-based) with its field errors.
        """
        model = self.entity(entity)
        table = self.tables[entity]
        created: list[dict[str, Any]] = []
        with self._connection(connection) as conn:
            batch: list[dict[str, Any]] = []
            given = iter(rows)
            index = 0
            while chunk := list(itertools.islice(given, batch_size)):
                linked = self.linked_values.reader(conn)  # the records' links, read once per chunk
                linked.warm(model, chunk)
                # column-wise when every row is valid; row by row otherwise, to name the bad one
                prepared = self.rules.prepare_batch(model, chunk, actor, linked) if len(chunk) > 1 else None
                if prepared is not None:
                    batch, index = prepared, index + len(prepared)
                else:
                    for values in chunk:
                        record, errors = self.rules.prepare(model, None, values, actor, linked=linked)
                        if errors:
                            raise ValidationFailed(errors, row=index if not audit_fields else None)
                        batch.append(record)
                        index += 1
                created += self._insert_batch(conn, model, table, batch, actor, index - len(batch), audit_fields)
                batch = []
        return created

    def _insert_batch(self, conn: Connection, model: Entity, table: sa.Table, batch: list[dict],
                      actor: Actor, first_row: int, audit_fields: bool) -> list[dict[str, Any]]:
        single = len(batch) == 1 and audit_fields

        def insert(now: dt.datetime) -> list[tuple[None, dict[str, Any]]]:
            self._assign_autonumbers(conn, model, batch, now)
            names = [f.name for f in model]
            stamps = {"created_at": now, "updated_at": now, "created_by": actor.user_id,
                      "updated_by": actor.user_id, "version": 1}
            # the entered-stage time a new record has (stage_tracking.py's insert trigger would write it otherwise)
            entered = {entered_column(model.stage_field.name): now} if model.stage_field is not None else {}
            if self._special_fields(model).isdisjoint(names) and len(batch) > 1 and self._ids_ahead(conn, len(batch)):
                # every field in the column of its name: the parameters go column by column, what
                # every row shares once (bulk_statements.execute_columns), no dict per row
                ids = self._new_ids(conn, model, table, len(batch))
                columns: dict[str, Any] = {name: [record.get(name) for record in batch] for name in names}
                columns.update({name: Same(value) for name, value in {**stamps, **entered}.items()}, id=ids)
                execute_columns(conn, table.insert(), len(batch), columns)
                return [(None, dict(record, id=record_id, **stamps))
                        for record_id, record in zip(ids, batch, strict=True)]
            stored = []
            for record in batch:
                row = self.columns_of(model, {name: record.get(name) for name in names})
                row.update(stamps, **entered)
                stored.append(row)
            if self._ids_ahead(conn, len(stored)):
                ids = self._new_ids(conn, model, table, len(stored))
                for record_id, row in zip(ids, stored, strict=False):
                    row["id"] = record_id
                # compiled once, each column's bind processor run once per distinct value, plain
                # tuples to the driver: the same stored bytes without SQLAlchemy's per-row work
                execute_many(conn, table.insert(), stored)
            else:
                ids = [r[0] for r in conn.execute(
                    table.insert().returning(table.c.id, sort_by_parameter_order=True), stored)]
            return [(None, dict(record, id=record_id, created_at=now, updated_at=now, created_by=actor.user_id,
                                updated_by=actor.user_id, version=1))
                    for record_id, record in zip(ids, batch, strict=False)]

        write = Write(model, "create", actor, [(None, record) for record in batch], checked=batch,
                      first_row=None if single else first_row, each_field=audit_fields)
        return afters(self.pipeline.run(conn, write, insert))

    @staticmethod
    def _ids_ahead(conn: Connection, count: int) -> bool:
        """Whether a batch's ids are taken before its INSERT, which then needs no RETURNING (that
        inserts row by row, or through insertmanyvalues' long statements, to keep the ids in order;
        for one row on PostgreSQL, RETURNING is the one statement)."""
        return conn.dialect.name == "sqlite" or (conn.dialect.name == "postgresql" and count > 1)

    def _new_ids(self, conn: Connection, model: Entity, table: sa.Table, count: int) -> list[int]:
        if conn.dialect.name == "postgresql":  # the id sequence, as the INSERT would have used it
            return next_ids(conn, table, count)
        # The writer holds SQLite's lock, so the next ids are ours; past the ids of its records in
        # the recycle bin too, which a restore gives back.
        first = max(conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0,
                    highest_binned_id(conn, self.tables, model.name)) + 1
        return list(range(first, first + count))

    def update(self, entity: str, record_id: int, values: Mapping[str, Any], actor: Actor = SYSTEM,
               version: int | None = None, connection: Connection | None = None) -> dict[str, Any]:
        """Change a record; with `version`, refuse (StaleRecord) if someone saved it since."""
        model = self.entity(entity)
        table = self.tables[entity]
        with self._connection(connection) as conn:
            current = self._current(conn, entity, record_id, actor)
            if version is not None and int(version) != current["version"]:
                raise StaleRecord(current, message("stale", actor.locale))
            record, errors = self.rules.prepare(model, current, values, actor,
                                                linked=self.linked_values.reader(conn))
            if errors:
                raise ValidationFailed(errors)
            changes = changed_fields(current, record, [f.name for f in model])
            if not changes:
                return current

            def store(now: dt.datetime) -> list[tuple[dict[str, Any], dict[str, Any]]]:
                update = self.columns_of(model, {name: new for name, _, new in changes})
                update.update(updated_at=now, updated_by=actor.user_id, version=current["version"] + 1)
                result = conn.execute(table.update().where(table.c.id == record_id,
                                                           table.c.version == current["version"]).values(**update))
                if result.rowcount != 1:  # a concurrent writer got there between our read and write
                    raise StaleRecord(self._current(conn, entity, record_id, actor), message("stale", actor.locale))
                record.update(updated_at=now, updated_by=actor.user_id, version=current["version"] + 1)
                return [(current, record)]

            write = Write(model, "update", actor, [(current, record)], changes=[changes], checked=[record],
                          own_ids=[record_id])
            return afters(self.pipeline.run(conn, write, store))[0]

    def delete(self, entity: str, record_id: int, actor: Actor = SYSTEM,
               connection: Connection | None = None, *, _deleting: set | None = None,
               _trash: TrashBatch | None = None) -> int | None:
        """Delete a record, applying each child reference's on_delete (restrict, cascade, set_null);
        the record and its cascade go to the recycle bin as one batch (trash/binning.py). Returns
        the bin entry of the record (None for a cascaded one)."""
        table = self.tables[entity]
        # records this delete is already removing: a record linking to itself, or a cascade
        # around a cycle (a → b → a), must not be visited again
        deleting = set() if _deleting is None else _deleting
        deleting.add((entity, record_id))
        trash = _trash if _trash is not None else TrashBatch(actor.user_id)
        with self._connection(connection) as conn:
            current = self._current(conn, entity, record_id, actor)
            binned = trash.row(conn, table, record_id)

            def on_delete() -> None:
                for child, field_name in self.children.get(entity, ()):
                    child_table = self.tables[child.name]
                    linked = [row[0] for row in conn.execute(
                        sa.select(child_table.c.id).where(child_table.c[field_name] == record_id))
                        if (child.name, row[0]) not in deleting]
                    if not linked:
                        continue
                    rule = child.fields[field_name].on_delete
                    if rule == "restrict":
                        raise ValidationFailed({RECORD_ERRORS: [message(
                            "restricted", actor.locale, count=len(linked),
                            entity=child.plural.text(actor.locale, self.blueprint.default_locale))]})
                    for child_id in linked:
                        if rule == "cascade":
                            self.delete(child.name, child_id, actor, connection=conn, _deleting=deleting,
                                        _trash=trash)
                        else:
                            trash.unlinked(entity, record_id, child.name, field_name, child_id)
                            self.update(child.name, child_id, {field_name: None}, actor, connection=conn)

            def store(now: dt.datetime) -> list[tuple[dict[str, Any], None]]:
                trash.put(conn, self.tables, entity, binned, _trash is None, now)
                conn.execute(table.delete().where(table.c.id == record_id))
                return [(current, None)]

            self.pipeline.run(conn, Write(self.entity(entity), "delete", actor, [(current, None)], linked=on_delete),
                              store)
        return trash.root_entry if _trash is None else None

    def _current(self, conn: Connection, entity: str, record_id: int, actor: Actor) -> dict[str, Any]:
        table = self.tables[entity]
        query = sa.select(table).where(table.c.id == record_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise RecordNotFound(message("not_found", actor.locale))
        return self.record_of(self.entity(entity), row._mapping)

    # --- checks that need the database -------------------------------------------------------

    def _check_database(self, conn: Connection, model: Entity, records: list[dict], own_ids: Sequence[int],
                        locale: str, first_row: int | None) -> None:
        table = self.tables[model.name]
        present = set().union(*records) if records else set()  # a bulk update passes changed fields only
        for field in model:
            if field.name not in present or not (field.unique or field.type in ("reference", "user")):
                continue  # nothing of this field is checked against the database
            values = [(i, r.get(field.name)) for i, r in enumerate(records) if r.get(field.name) is not None]
            if not values:
                continue
            if field.unique:
                seen: dict[Any, int] = {}
                column = table.c[field.name]
                if field.type == "phone":  # the same number however it is spaced (records/phones.py)
                    column = table.c[phone_key_column(field.name)]
                    values = [(i, phone_digits(value, self.blueprint.phone_country_code)) for i, value in values]
                for i, value in values:
                    if value in seen:
                        self._fail(field.name, message("duplicate", locale), first_row, i)
                    seen[value] = i
                query = sa.select(column).where(column.in_(list(seen)))
                if own_ids:  # the records being changed may keep their own values
                    query = query.where(table.c.id.not_in(list(own_ids)))
                taken = set(conn.execute(query).scalars())
                for i, value in values:
                    if value in taken:
                        self._fail(field.name, message("duplicate", locale), first_row, i)
            if field.type in ("reference", "user"):
                if field.type == "reference":
                    assert field.to is not None  # a blueprint loads only if every reference names an entity
                    target = self.tables[field.to]
                else:
                    target = self.tables.system("atrium_users")
                wanted = {value for _, value in values}
                found = set(conn.execute(sa.select(target.c.id).where(target.c.id.in_(wanted))).scalars())
                for i, value in values:
                    if value not in found:
                        key = "missing_reference" if field.type == "reference" else "missing_user"
                        self._fail(field.name, message(key, locale), first_row, i)

    @staticmethod
    def _fail(field: str, text: str, first_row: int | None, index: int) -> None:
        errors: Errors = {}
        add_error(errors, field, text)
        raise ValidationFailed(errors, row=None if first_row is None else first_row + index)

    def _assign_autonumbers(self, conn: Connection, model: Entity, records: list[dict], now: dt.datetime) -> None:
        now = now.astimezone(ZoneInfo(self.blueprint.timezone))  # {yyyy} is the local year
        for field in model:
            if field.type != "autonumber" or not field.format:
                continue
            first = self.audit.next_numbers(conn, sequence_key(model.name, field.name, field.format, now),
                                            len(records))
            for offset, record in enumerate(records):
                record[field.name] = format_number(field.format, now, first + offset)
