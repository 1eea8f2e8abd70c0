"""Model → SQLAlchemy Core tables: one table per entity, one column per stored field.

The layout is part of the product (admins point BI tools at it): a table is named after its
entity, a column after its field, a location is `<field>_lat`, `<field>_lng`, `<field>_address`,
a phone is what was typed in `<field>` and its digits for matching in `<field>_digits`, a text or
email field a duplicate rule compares has its normalised value in `<field>_key` (indexed: records/
duplicate_keys.py), an entity with a stage field has when the record entered its current stage in
`<stage field>_entered_at` (kept by the stage tracking triggers: stage_tracking.py; indexed after the
owner and the stage, which serves `stalled` and `in_stage_longer_than_days`), and every table has
id, created_at/by, updated_at/by and version.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from atrium.metadata.model import LOCATION_PARTS, Blueprint, Entity, Field, View
from atrium.runtime.schema.file_tables import file_tables
from atrium.runtime.schema.inbound_tables import inbound_tables
from atrium.runtime.schema.list_indexes import list_indexes, owner_column, scoped_by_owner
from atrium.runtime.schema.periodic_tables import PERIODIC_TABLES, periodic_tables
from atrium.runtime.schema.sign_in_tables import sign_in_link_tables

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}
ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite rowid needs INTEGER


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes in and out, stored as UTC on both databases."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        # PostgreSQL answers in the session's time zone: UTC out, whatever the server's setting
        return value.astimezone(dt.timezone.utc) if value is not None else None


FIXED_LENGTHS = {"email": 254, "phone": 40, "url": 2048}


def column_length(field: Field) -> int | None:
    """The size of a text column (None: unbounded or not text)."""
    if field.type in ("text", "select", "stage", "autonumber"):
        return field.max_length or (255 if field.type == "text" else 100)
    return FIXED_LENGTHS.get(field.type)


def text_limit(field: Field) -> int | None:
    """The most characters a value may have: `max_length`, and never more than the column holds."""
    limits = [n for n in (field.max_length, column_length(field)) if n]
    return min(limits) if limits else None


def column_type(field: Field) -> sa.types.TypeEngine:
    kind = field.type
    if kind in ("text", "select", "stage", "autonumber", *FIXED_LENGTHS):
        return sa.String(column_length(field))
    simple: Mapping[str, sa.types.TypeEngine] = {
        "textarea": sa.Text(), "integer": sa.BigInteger(), "number": sa.Float(),
        "money": sa.Numeric(18, 2), "percent": sa.Numeric(9, 4), "boolean": sa.Boolean(),
        "date": sa.Date(), "datetime": UTCDateTime(), "multiselect": sa.JSON(),
        "file": sa.JSON(),  # [{id, name, size, type}] of its files, kept by the files service
        "reference": ID_TYPE, "user": ID_TYPE,
    }
    return simple[kind]


def field_columns(entity: Entity, field: Field) -> list[sa.Column]:
    """The column(s) that store one field: none, one, or three for a location."""
    if field.type == "location":
        return [sa.Column(f"{field.name}_lat", sa.Float()), sa.Column(f"{field.name}_lng", sa.Float()),
                sa.Column(f"{field.name}_address", sa.String(500))]
    args: list = []
    if field.type == "reference":
        # The records service applies the field's on_delete (restrict, cascade, set_null) before
        # the database sees a delete; the key only keeps links from dangling, including in a
        # column left over from a removed field, which the service no longer knows.
        args.append(sa.ForeignKey(f"{field.to}.id", name=f"fk_{entity.name}_{field.name}",
                                  ondelete="SET NULL"))
    elif field.type == "user":
        args.append(sa.ForeignKey("atrium_users.id", name=f"fk_{entity.name}_{field.name}"))
    elif field.type == "phone":  # beside what was typed, the number as digits for matching (records/phones.py)
        return [sa.Column(field.name, column_type(field), nullable=True),
                sa.Column(phone_key_column(field.name), sa.String(PHONE_KEY_LENGTH), nullable=True)]
    if field.name in entity.keyed_fields:  # and its normalised value for duplicate checks
        return [sa.Column(field.name, column_type(field), nullable=True),
                sa.Column(match_key_column(field.name), column_type(field), nullable=True)]
    return [sa.Column(field.name, column_type(field), *args, nullable=True)]


PHONE_KEY_LENGTH = 24


def phone_key_column(name: str) -> str:
    """The column holding a phone field's number as digits with its country code."""
    return f"{name}_digits"


def match_key_column(name: str) -> str:
    """The column holding a text or email field's value normalised for duplicate checks."""
    return f"{name}_key"


def entered_column(name: str) -> str:
    """The column holding when the record entered the current stage of its stage field `name`."""
    return f"{name}_entered_at"


def location_columns(name: str) -> tuple[str, ...]:
    return tuple(f"{name}_{part}" for part in LOCATION_PARTS)


def bounded_name(name: str) -> str:
    """An index name PostgreSQL keeps as written (it cuts names at 63 bytes, which would make the
    migration planner look for an index that never appears)."""
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return name.encode()[:54].decode(errors="ignore") + "_" + digest


Indexes = list[tuple[str, tuple[str, ...], bool, tuple[str, ...]]]


def entity_indexes(entity: Entity, view: View | None = None, by_owner: bool = False) -> Indexes:
    """(name, columns, unique, descending columns) for declared indexes, unique fields and automatic
    ones, and those the list view asks for (list_indexes.py: its sorts, and its few-valued filters
    before the default sort; `by_owner`, when a role reads by owner: each after the owner column too).
    An index with a descending column is named `..._desc`."""
    indexes: dict[str, tuple[str, tuple[str, ...], bool, tuple[str, ...]]] = {}
    for columns, descending in list_indexes(entity, view or View(entity=entity.name), by_owner):
        name = bounded_name("ix_" + "_".join((entity.name, *columns)) + ("_desc" if descending else ""))
        indexes[name] = (name, columns, False, descending)
    for field in entity:
        if field.unique or field.type == "autonumber":
            name = f"uq_{entity.name}_{field.name}"
            indexes[name] = (name, (field.name,), True, ())
        elif field.index or field.type in ("reference", "user", "stage"):
            name = f"ix_{entity.name}_{field.name}"
            indexes[name] = (name, (field.name,), False, ())
    stage = entity.stage_field
    if stage is not None:  # owner × stage × entered-stage time: the stalled list of any owner scope
        columns = (owner_column(entity), stage.name, entered_column(stage.name))
        name = bounded_name("ix_" + "_".join((entity.name, *columns)))
        indexes[name] = (name, columns, False, ())
    declared = {index.name for index in entity.indexes}
    for index in entity.indexes:
        indexes[index.name] = (index.name, index.fields, index.unique, ())
    for name in entity.keyed_fields:  # a duplicate check looks a typed value up by its key
        column = match_key_column(name)
        indexes[f"ix_{entity.name}_{column}"] = (bounded_name(f"ix_{entity.name}_{column}"), (column,), False, ())
    for rule in entity.duplicates.match if entity.duplicates is not None else ():
        name = rule[0]
        if len(rule) == 1 and entity.fields[name].type == "phone":
            column = phone_key_column(name)
            indexes[f"ix_{entity.name}_{column}"] = (bounded_name(f"ix_{entity.name}_{column}"), (column,), False,
                                                     ())
    # an automatic index that is the start of another serves nothing the longer one does not, and
    # costs every write: (status) goes when (status, due) is there
    return [(name, columns, unique, descending) for name, columns, unique, descending in indexes.values()
            if unique or name in declared or not any(
                other[:len(columns)] == columns and len(other) > len(columns) for _, other, _, _ in indexes.values())]


def index_columns(index: sa.Index, dialect: str) -> list[str | sa.TextClause]:
    """An index's columns for CREATE INDEX: on PostgreSQL a descending one keeps empty values last."""
    descending = index.info.get("descending", ())
    if dialect != "postgresql":
        return [column.name for column in index.columns]
    return [sa.text(f'"{column.name}" DESC NULLS LAST') if column.name in descending else column.name
            for column in index.columns]


def system_tables(metadata: sa.MetaData) -> None:
    sa.Table("atrium_teams", metadata,
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("name", sa.String(100), nullable=False, unique=True),
             sa.Column("label", sa.String(200)),
             sa.Column("manager_id", ID_TYPE),  # no FK: users and teams point at each other
             sa.Column("parent_id", ID_TYPE, sa.ForeignKey("atrium_teams.id")))
    sa.Table("atrium_users", metadata,
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("name", sa.String(100), nullable=False, unique=True),
             sa.Column("display_name", sa.String(200)),
             sa.Column("role", sa.String(100), nullable=False),
             sa.Column("team_id", ID_TYPE, sa.ForeignKey("atrium_teams.id")),
             sa.Column("password_hash", sa.String(200)),
             sa.Column("locale", sa.String(10)),
             sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
             sa.Column("created_at", UTCDateTime()),
             # messages outside the browser (runtime/delivery): where, and how often (off, each, daily)
             sa.Column("email", sa.String(320)),
             sa.Column("email_messages", sa.String(10)),  # empty: each
             sa.Column("digest_until", UTCDateTime()))  # the newest notification a daily digest held
    sa.Table("atrium_tokens", metadata,
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("user_id", ID_TYPE, sa.ForeignKey("atrium_users.id"), nullable=False),
             sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
             sa.Column("created_at", UTCDateTime()),
             sa.Column("last_used_at", UTCDateTime()))
    sa.Table("atrium_history", metadata,
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("entity", sa.String(50), nullable=False),
             sa.Column("record_id", ID_TYPE, nullable=False),
             sa.Column("action", sa.String(20), nullable=False),  # create, update, delete
             sa.Column("field", sa.String(50)),
             sa.Column("old_value", sa.JSON()),
             sa.Column("new_value", sa.JSON()),
             sa.Column("changed_at", UTCDateTime(), nullable=False),
             sa.Column("changed_by", ID_TYPE),
             sa.Index("ix_atrium_history_record", "entity", "record_id"))
    sa.Table("atrium_stage_history", metadata,
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("entity", sa.String(50), nullable=False),
             sa.Column("record_id", ID_TYPE, nullable=False),
             sa.Column("pipeline", sa.String(50), nullable=False),
             sa.Column("from_stage", sa.String(100)),
             sa.Column("to_stage", sa.String(100), nullable=False),
             sa.Column("changed_at", UTCDateTime(), nullable=False),
             sa.Column("changed_by", ID_TYPE),
             sa.Column("seconds_in_from", sa.Float()),
             # a move made by a migration (a removed stage's records), not by anyone's work:
             # learned probabilities and stage durations leave it out
             sa.Column("migrated", sa.Boolean()),
             sa.Index("ix_atrium_stage_history_record", "entity", "record_id"),
             sa.Index("ix_atrium_stage_history_pipeline", "pipeline", "to_stage"),
             # a funnel reads the stages its records reached from this index alone
             sa.Index("ix_atrium_stage_history_reached", "entity", "pipeline", "record_id", "to_stage"))
    sa.Table("atrium_sequences", metadata,
             sa.Column("name", sa.String(200), primary_key=True),
             sa.Column("value", sa.BigInteger(), nullable=False))
    sa.Table("atrium_data_versions", metadata,  # a change counter per table (data_versions.py)
             sa.Column("name", sa.String(100), primary_key=True),
             sa.Column("version", sa.BigInteger(), nullable=False))
    sa.Table("atrium_saved_views", metadata,  # a user's named list queries (filters, search, sort)
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("user_id", ID_TYPE, sa.ForeignKey("atrium_users.id"), nullable=False),
             sa.Column("entity", sa.String(50), nullable=False),
             sa.Column("name", sa.String(100), nullable=False),
             sa.Column("query", sa.String(2000), nullable=False),
             sa.Column("created_at", UTCDateTime()),
             sa.UniqueConstraint("user_id", "entity", "name"))
    sa.Table("atrium_pool_history", metadata,  # claims, releases and recycles of public-pool records
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("entity", sa.String(50), nullable=False),
             sa.Column("record_id", ID_TYPE, nullable=False),
             sa.Column("action", sa.String(20), nullable=False),  # claim, release, recycle
             sa.Column("user_id", ID_TYPE),  # who claimed or released; empty for a recycle
             sa.Column("previous_owner", ID_TYPE),  # whose it was before (release, recycle)
             sa.Column("rule", sa.String(100)),  # the automation that recycled it
             sa.Column("at", UTCDateTime(), nullable=False),
             sa.Index("ix_atrium_pool_history_record", "entity", "record_id"),
             sa.Index("ix_atrium_pool_history_user", "entity", "user_id", "action", "at"))
    sa.Table("atrium_metadata_history", metadata,  # each studio change: who, when, overlay files before/after
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),  # the metadata version
             sa.Column("at", UTCDateTime(), nullable=False),
             sa.Column("user_id", ID_TYPE),
             sa.Column("user_name", sa.String(100)),
             sa.Column("action", sa.String(20), nullable=False),  # change, undo, restore
             sa.Column("summary", sa.JSON(), nullable=False),  # locale → text
             sa.Column("details", sa.JSON()),  # the changes property by property, the plan's steps
             sa.Column("files_before", sa.JSON(), nullable=False),  # overlay path → YAML text
             sa.Column("files_after", sa.JSON(), nullable=False),
             sa.Column("digest_after", sa.String(64), nullable=False),
             sa.Column("undo_of", ID_TYPE))
    sa.Table("atrium_people_history", metadata,  # each change of a user or team made in the studio
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("at", UTCDateTime(), nullable=False),
             sa.Column("user_id", ID_TYPE),  # who changed it
             sa.Column("user_name", sa.String(100)),
             sa.Column("action", sa.String(30), nullable=False),  # add_user, change_user, password, ...
             sa.Column("target", sa.String(120), nullable=False),  # user:NAME or team:NAME
             sa.Column("summary", sa.JSON(), nullable=False),  # locale → text
             sa.Column("details", sa.JSON()),  # the values before and after (never a password)
             sa.Index("ix_atrium_people_history_at", "at"))
    sa.Table("atrium_derived_fields", metadata,  # the definition each stored formula/roll-up was computed by
             sa.Column("entity", sa.String(50), primary_key=True),
             sa.Column("field", sa.String(100), primary_key=True),
             sa.Column("definition", sa.Text(), nullable=False))
    automation_tables(metadata)
    sign_in_tables(metadata)
    trash_tables(metadata)
    file_tables(metadata, ID_TYPE, UTCDateTime())
    sign_in_link_tables(metadata, ID_TYPE, UTCDateTime())
    inbound_tables(metadata, ID_TYPE, UTCDateTime())
    comment_tables(metadata)
    periodic_tables(metadata, ID_TYPE, UTCDateTime())


def automation_tables(metadata: sa.MetaData) -> None:
    """What automations write besides records: notifications, runs, the log and the webhook outbox."""
    sa.Table("atrium_notifications", metadata,  # a user's in-app inbox
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("user_id", ID_TYPE, sa.ForeignKey("atrium_users.id"), nullable=False),
             sa.Column("entity", sa.String(50)),
             sa.Column("record_id", ID_TYPE),
             sa.Column("link", sa.String(2048)),
             sa.Column("message", sa.JSON(), nullable=False),  # locale → text
             sa.Column("rule", sa.String(100)),
             sa.Column("created_at", UTCDateTime(), nullable=False),
             sa.Column("read_at", UTCDateTime()),
             sa.Index("ix_atrium_notifications_user", "user_id", "read_at"))
    sa.Table("atrium_automation_runs", metadata,  # the lease: one row per scheduled rule and period
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("rule", sa.String(100), nullable=False),
             sa.Column("period", sa.String(40), nullable=False),
             sa.Column("worker", sa.String(100)),
             sa.Column("started_at", UTCDateTime(), nullable=False),
             sa.Column("finished_at", UTCDateTime()),
             sa.Column("status", sa.String(20), nullable=False),  # running, done, failed
             sa.Column("records", sa.Integer()),
             sa.Column("error", sa.String(2000)),
             # an index, not a table constraint: the migration planner creates indexes
             sa.Index("uq_atrium_automation_runs_rule_period", "rule", "period", unique=True))
    sa.Table("atrium_automation_log", metadata,
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("rule", sa.String(100), nullable=False),
             sa.Column("entity", sa.String(50)),
             sa.Column("record_id", ID_TYPE),
             sa.Column("trigger", sa.String(20), nullable=False),  # create, update, delete, schedule
             sa.Column("status", sa.String(20), nullable=False),  # done, failed
             sa.Column("period", sa.String(40)),
             sa.Column("records", sa.Integer()),
             sa.Column("detail", sa.String(2000)),
             sa.Column("at", UTCDateTime(), nullable=False),
             sa.Index("ix_atrium_automation_log_rule", "rule", "at"))
    sa.Table("atrium_outbox", metadata,  # webhooks, written with the change, sent after commit
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("rule", sa.String(100), nullable=False),
             sa.Column("entity", sa.String(50)),
             sa.Column("record_id", ID_TYPE),
             sa.Column("channel", sa.String(20)),  # empty: a webhook; email, or robot (runtime/delivery)
             sa.Column("url", sa.String(2048), nullable=False),
             sa.Column("secret_env", sa.String(100)),  # the variable's name; the key never reaches the database
             sa.Column("body", sa.Text(), nullable=False),
             sa.Column("status", sa.String(20), nullable=False),  # pending, delivered, failed
             sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
             sa.Column("created_at", UTCDateTime(), nullable=False),
             sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
             sa.Column("claimed_until", UTCDateTime()),
             sa.Column("delivered_at", UTCDateTime()),
             sa.Column("last_status", sa.Integer()),
             sa.Column("last_error", sa.String(1000)),
             sa.Index("ix_atrium_outbox_due", "status", "next_attempt_at"))
    approval_tables(metadata)


def approval_tables(metadata: sa.MetaData) -> None:
    """Approvals (approvals.py): every request, decision and withdrawal, and whom each waits for."""
    sa.Table("atrium_approvals", metadata,
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("rule", sa.String(100), nullable=False),
             sa.Column("entity", sa.String(50), nullable=False),
             sa.Column("record_id", ID_TYPE, nullable=False),
             sa.Column("status", sa.String(20), nullable=False),  # pending, approved, rejected, withdrawn, voided
             sa.Column("requested_by", ID_TYPE),  # empty when the system asked (a rule run by the system)
             sa.Column("requested_at", UTCDateTime(), nullable=False),
             sa.Column("decided_by", ID_TYPE),  # who approved, rejected or withdrew it
             sa.Column("decided_at", UTCDateTime()),
             sa.Column("comment", sa.Text()),
             sa.Column("message", sa.JSON(), nullable=False),  # locale → text, filled at request time
             sa.Column("lock", sa.JSON()),  # true, or the list of locked fields
             sa.Column("voided_by", ID_TYPE),  # an approved one made void: whose change did it (voiding.py)
             sa.Column("voided_at", UTCDateTime()),
             sa.Index("ix_atrium_approvals_record", "entity", "record_id", "status"))
    sa.Table("atrium_approval_approvers", metadata,
             sa.Column("approval_id", ID_TYPE, sa.ForeignKey("atrium_approvals.id"), primary_key=True,
                       autoincrement=False),
             sa.Column("user_id", ID_TYPE, primary_key=True, autoincrement=False),
             sa.Index("ix_atrium_approval_approvers_user", "user_id", "approval_id"))


def sign_in_tables(metadata: sa.MetaData) -> None:
    """Who is signed in where (runtime/access/sessions.py) and the sign-in throttle's counters
    (runtime/access/sign_in_throttle.py)."""
    sa.Table("atrium_sessions", metadata,  # one row per signed-in browser; deleting it signs that browser out
             sa.Column("key_hash", sa.String(64), primary_key=True),  # SHA-256 of the key the cookie holds
             sa.Column("user_id", ID_TYPE, sa.ForeignKey("atrium_users.id"), nullable=False),
             sa.Column("started_at", UTCDateTime(), nullable=False),
             sa.Column("last_seen_at", UTCDateTime(), nullable=False),
             sa.Column("address", sa.String(100)),  # the client's address at sign-in
             sa.Index("ix_atrium_sessions_user", "user_id"))
    sa.Table("atrium_sign_in_counts", metadata,  # attempts per address, account and pair, in two windows
             sa.Column("key", sa.String(80), primary_key=True),
             sa.Column("bucket", sa.BigInteger(), nullable=False),  # the window's number (epoch seconds // window)
             sa.Column("current", sa.Integer(), nullable=False),  # attempts in that window
             sa.Column("previous", sa.Integer(), nullable=False),  # attempts in the window before it
             sa.Index("ix_atrium_sign_in_counts_bucket", "bucket"))


def trash_tables(metadata: sa.MetaData) -> None:
    """The recycle bin (runtime/trash): one row per deleted record, whole, until it is restored or
    purged; the records one delete removed (the record and its cascade) share a batch."""
    sa.Table("atrium_trash", metadata,
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("batch", sa.String(32), nullable=False),  # one delete and its cascade
             sa.Column("entity", sa.String(50), nullable=False),
             sa.Column("record_id", ID_TYPE, nullable=False),
             sa.Column("root", sa.Boolean(), nullable=False),  # the record the user deleted (not its cascade)
             sa.Column("record_values", sa.JSON(), nullable=False),  # column → value, as the row held them
             sa.Column("links", sa.JSON(), nullable=False),  # [entity, field, id] a set_null emptied
             sa.Column("deleted_by", ID_TYPE),  # empty when the system deleted it
             sa.Column("deleted_at", UTCDateTime(), nullable=False),
             sa.Index("ix_atrium_trash_record", "entity", "record_id"),
             sa.Index("ix_atrium_trash_batch", "batch"),
             sa.Index("ix_atrium_trash_deleted_by", "deleted_by", "deleted_at"),  # a user's own bin
             sa.Index("ix_atrium_trash_deleted_at", "deleted_at"))  # the scheduler's purge by age


def comment_tables(metadata: sa.MetaData) -> None:
    """People's comments on records (runtime/comments): kept when deleted (`deleted_at`), `version`
    refuses a stale edit, `mentions` holds the ids of the users the text names."""
    sa.Table("atrium_comments", metadata,
             sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
             sa.Column("entity", sa.String(50), nullable=False),
             sa.Column("record_id", ID_TYPE, nullable=False),
             sa.Column("author_id", ID_TYPE, sa.ForeignKey("atrium_users.id"), nullable=False),
             sa.Column("body", sa.Text(), nullable=False),
             sa.Column("mentions", sa.JSON()),
             sa.Column("created_at", UTCDateTime(), nullable=False),
             sa.Column("edited_at", UTCDateTime()),
             sa.Column("deleted_at", UTCDateTime()),
             sa.Column("deleted_by", ID_TYPE),
             sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
             sa.Index("ix_atrium_comments_record", "entity", "record_id"))


SIGN_IN_TABLES = ("atrium_sessions", "atrium_sign_in_counts", "atrium_sign_in_links")
SYSTEM_TABLES = ("atrium_teams", "atrium_users", "atrium_tokens", "atrium_history",
                 "atrium_stage_history", "atrium_sequences", "atrium_data_versions", "atrium_saved_views",
                 "atrium_pool_history", "atrium_metadata_history", "atrium_people_history", "atrium_derived_fields",
                 "atrium_notifications", "atrium_automation_runs", "atrium_automation_log", "atrium_outbox",
                 "atrium_approvals", "atrium_approval_approvers", "atrium_comments", *SIGN_IN_TABLES, "atrium_trash",
                 "atrium_files", "atrium_inbound", *PERIODIC_TABLES)


def entity_table(entity: Entity, metadata: sa.MetaData, view: View | None = None,
                 by_owner: bool = False) -> sa.Table:
    columns = [
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", ID_TYPE, sa.ForeignKey("atrium_users.id", name=f"fk_{entity.name}_created_by")),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", ID_TYPE, sa.ForeignKey("atrium_users.id", name=f"fk_{entity.name}_updated_by")),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    ]
    for field in entity:
        columns.extend(field_columns(entity, field))
    if entity.stage_field is not None:
        columns.append(sa.Column(entered_column(entity.stage_field.name), UTCDateTime(), nullable=True))
    table = sa.Table(entity.name, metadata, *columns)
    for name, fields, unique, descending in entity_indexes(entity, view, by_owner):
        sa.Index(name, *(table.c[f] for f in fields), unique=unique, info={"descending": descending})
    return table


@dataclass(frozen=True)
class Tables:
    """The tables of one metadata version; built fresh for each version, never mutated."""

    metadata: sa.MetaData
    entities: Mapping[str, sa.Table]

    def __getitem__(self, entity: str) -> sa.Table:
        return self.entities[entity]

    def system(self, name: str) -> sa.Table:
        return self.metadata.tables[name]


def build_tables(blueprint: Blueprint) -> Tables:
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    system_tables(metadata)
    entities = {name: entity_table(entity, metadata, blueprint.view(name), scoped_by_owner(blueprint, name))
                for name, entity in blueprint.entities.items()}
    return Tables(metadata, entities)
