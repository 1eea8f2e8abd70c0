"""The studio's words chosen at run time, as msgid tables (their Chinese is in the `atrium` catalog)."""
from __future__ import annotations

from atrium.translation import N_

# The migration plan's steps in the reader's language; English shows the step's own description.
PLAN_WORDS: dict[str, str] = {
    "create_table": N_("create table {table}"),
    "add_column": N_("add column {table}.{name}"),
    "rename_column": N_("rename column {table}.{name} to {new_name} (data kept)"),
    "rename_field": N_("field history and saved views of {table}.{name} follow it to {new_name}"),
    "rename_table": N_("rename table {name} to {new_name} (records kept; their history, comments and files follow)"),
    "change_type": N_("change the type of column {table}.{name} (data kept)"),
    "create_index": N_("create index {name} on {table}"),
    "drop_index": N_("drop index {name} (no data lost)"),
    "keep_column": N_("keep column {table}.{name}: no longer in the metadata (hidden; its data stays)"),
    "drop_column": N_("DROP column {table}.{name} and its data"),
    "fill_keys": N_("fill {table}.{name}_key: the values normalised for duplicate checks"),
}
DOCUMENT_KINDS: dict[str, str] = {
    "entity": N_("entity"),
    "views": N_("views"),
    "pipeline": N_("pipeline"),
    "report": N_("report"),
    "dashboard": N_("dashboard"),
    "automation": N_("automation"),
    "roles": N_("roles and teams"),
    "seed": N_("demo data plan"),
}
NEW_DOCUMENTS: dict[str, str] = {
    "entity": N_("New entity"),
    "report": N_("New report"),
    "dashboard": N_("New dashboard"),
    "automation": N_("New automation"),
}
# a renamed stage or option (a `rename_value` step of the plan)
RENAME_VALUE = N_("{entity}.{field}: {value} is renamed {target} in {count} record(s) and their history")
