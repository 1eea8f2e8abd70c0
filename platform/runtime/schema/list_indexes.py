"""Indexes derived from an entity's list view, so the first page of a large list, filtered on the
view's declared filters and sorted by any of its sortable columns, is read in order from an index
instead of sorting every match.

What is derived, and why no more (every index costs each write):
- the default sort, alone and after the owner column (a user's own records in the default order);
- every sortable list column alone (a unique one has its unique index already): any sort walks an
  index, and a filter on another column is applied while walking it (query/index_walk.py decides
  when that pays);
- each declared filter on a field with few distinct values (a stage, an option, a yes/no, a user)
  before the default sort: `status = open` in the default order is a seek and a walk. Such a filter with
  another sort is served by the walk above, not by one index per filter × sort (hundreds of them).
A reference filter (one parent's records) matches few rows, which its own index finds and sorts.
Where a role reads the entity's records by owner (`read: own`), each of these also comes after the
owner column, so a user's own list is a seek too; a team scope covers many owners, which the walk
serves as it serves any filter.
"""
from __future__ import annotations

from atrium.metadata.model import Blueprint, Entity, View

# field types whose equality filter matches a large share of the rows: worth an index before the sort
FEW_VALUES = ("stage", "select", "boolean", "user")
UNSORTABLE = ("multiselect", "location", "file")
SYSTEM_SORTS = ("created_at", "updated_at")


def owner_column(entity: Entity) -> str:
    """The column the own and team scopes look at (access/policy.py): the owner field, else created_by."""
    return entity.owner if entity.owner is not None and entity.owner in entity.fields else "created_by"


def sort_columns(entity: Entity, sort: tuple[str, ...]) -> tuple[str, ...]:
    """The columns of a list's default sort (`-due` → due), when all are plain."""
    names = tuple(key.lstrip("-+") for key in sort if key.lstrip("-+") != "id")
    plain = all(name in SYSTEM_SORTS or (name in entity.fields and entity.fields[name].type not in UNSORTABLE)
                for name in names)
    return names if plain else ()


def sortable_columns(entity: Entity, view: View) -> tuple[str, ...]:
    """The list's columns a user may sort by (a column of the entity itself, not a linked record's)."""
    return tuple(name for name in view.columns
                 if name in SYSTEM_SORTS or name in entity.fields and entity.fields[name].type not in UNSORTABLE)


def equality_filters(entity: Entity, view: View) -> tuple[str, ...]:
    """The view's filters on the entity's own fields with few distinct values."""
    return tuple(name for name in view.filters
                 if name in entity.fields and entity.fields[name].type in FEW_VALUES)


def scoped_by_owner(blueprint: Blueprint, entity: str) -> bool:
    """Whether some role reads the entity's records by owner (`read: own`)."""
    return any(role.grant(entity).read == "own" for role in blueprint.roles.values())


def list_index_columns(entity: Entity, view: View, by_owner: bool = False) -> list[tuple[str, ...]]:
    """The column lists of the indexes the list view asks for, each once, in a stable order;
    `by_owner`: also after the owner column (scoped_by_owner)."""
    return [columns for columns, _ in list_indexes(entity, view, by_owner)]


def list_indexes(entity: Entity, view: View, by_owner: bool = False) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(columns, descending columns) of the indexes the list view asks for. The default sort's
    descending columns are kept descending with empty values last: PostgreSQL reads an index in
    one order of empty values per direction, and the list puts them last in both (SQLite reads
    either direction of any index)."""
    ordered = sort_columns(entity, view.sort)
    descending = tuple(key.lstrip("-+") for key in view.sort if key.startswith("-") and key.lstrip("-+") in ordered)
    owner = owner_column(entity)
    wanted: dict[tuple[str, ...], tuple[str, ...]] = {}
    if ordered:
        wanted[ordered] = descending
        leading = [owner, *(name for name in equality_filters(entity, view) if name != owner)]
        wanted.update({(name, *ordered): descending for name in leading if name not in ordered})
        if by_owner:
            wanted.update({(owner, name, *ordered): descending for name in leading[1:] if name not in ordered})
    for name in sortable_columns(entity, view):
        if (name in SYSTEM_SORTS or not (entity.fields[name].unique or entity.fields[name].type == "autonumber")) \
                and ordered[:1] != (name,):
            wanted.setdefault((name,), ())
        if by_owner and name != owner:
            wanted.setdefault((owner, name), ())
    return list(wanted.items())
