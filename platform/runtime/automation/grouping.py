"""One notification per person per batch: when one run of a `notify` action (an import's batch, a
scheduled run, a bulk change) would send someone several notifications, they get one instead,
saying how many records it is about and linking to the list of exactly those records.

The group's message is the action's `grouped` label (`{count}` is filled in), else the engine's
words in every language the catalogs hold ("65 records for you: Assign new leads by region",
with plural forms). The link is the entity's list filtered to the records' ids (`?id=..&id=..`);
a group too large for one link lists the range of their ids instead.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence
from urllib.parse import urlencode

from atrium.metadata.model import Label
from atrium.translation import nword

GROUP_FROM = 2  # notifications one person gets from one run before they become one
LINK_LIMIT = 2000  # characters of a link (atrium_notifications.link holds 2048)
LOCALES = ("en", "zh")


def grouped_rows(rows: Sequence[dict[str, Any]], entity: str | None, rule: str, rule_label: Label,
                 grouped: Label | None, locales: Sequence[str]) -> list[dict[str, Any]]:
    """The notification rows of one run, each person's several turned into one."""
    by_user: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_user.setdefault(row["user_id"], []).append(row)
    found: list[dict[str, Any]] = []
    for user, mine in by_user.items():
        if len(mine) < GROUP_FROM:
            found.extend(mine)
            continue
        ids = [row["record_id"] for row in mine if row.get("record_id") is not None]
        found.append({"user_id": user, "message": group_message(len(mine), rule_label, grouped, locales),
                      "rule": rule, "entity": entity, "record_id": None,
                      "link": list_link(entity, ids) if entity and ids else mine[0].get("link")})
    return found


def group_message(count: int, rule_label: Label, grouped: Label | None, locales: Sequence[str]) -> dict[str, str]:
    """The group's text in every language: the rule's `grouped` words, else the engine's."""
    texts: dict[str, str] = {}
    for locale in dict.fromkeys(tuple(locales) + LOCALES):
        if grouped is not None:
            texts[locale] = grouped.text(locale).replace("{count}", str(count))
        else:
            texts[locale] = nword("{count} record for you: {rule}", "{count} records for you: {rule}", count,
                                  locale, rule=rule_label.text(locale))
    return texts


def list_link(entity: str, ids: Sequence[int]) -> str:
    """The entity's list filtered to these records (their id range, if the ids make too long a link)."""
    unique = sorted(set(ids))
    link = f"/r/{entity}?" + urlencode([("id", str(i)) for i in unique])
    if len(link) <= LINK_LIMIT:
        return link
    return f"/r/{entity}?" + urlencode([("id__min", str(unique[0])), ("id__max", str(unique[-1]))])


def grouping(spec: Mapping[str, Any]) -> tuple[bool, Label | None]:
    """Whether a notify action groups, and its own words for a group."""
    return bool(spec.get("group", True)), Label.of(spec["grouped"]) if spec.get("grouped") else None
