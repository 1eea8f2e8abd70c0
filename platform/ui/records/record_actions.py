"""What the record pages add for public pools and conversions: on a detail page Claim and Release
(entity with `pool:`) and Convert (entity with `convert:`); on the list page the link to the pool
list and, on that list, the rows the user may claim and their standing against the limits; on the
list of an entity with a pipeline, each open record's closing stages (won, lost) as row actions,
which ask for what the stage needs like the record page does (stage_ask.py)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence
from urllib.parse import urlencode

from atrium.runtime.pool.conversion import Conversions
from atrium.runtime.pool.service import PublicPool
from atrium.ui.web.page_tools import Kit


def record_actions(kit: Kit, connection: Any, record: Mapping[str, Any]) -> dict[str, Any]:
    actions: dict[str, Any] = {"can_claim": False, "can_release": False, "pooled": False, "convert_label": None}
    if kit.entity.pool is not None:
        pool = PublicPool(kit.site)
        actions.update(can_claim=pool.can_claim(kit.actor, kit.entity_name, record),
                       can_release=pool.can_release(connection, kit.actor, kit.entity_name, record),
                       pooled=kit.site.access.pooled(kit.entity_name, record))
    conversion = kit.entity.convert
    if conversion is not None and Conversions(kit.site).offered(connection, kit.actor, kit.entity_name, record):
        actions["convert_label"] = kit.presenter.text(conversion.label) if "" not in conversion.label.texts \
            else kit.word("Convert")
    return actions


def pool_url(kit: Kit) -> str | None:
    """The pool list of the entity, for users who may claim from it (or see everything)."""
    pool = kit.entity.pool
    if pool is None or not (kit.site.access.claims(kit.actor, kit.entity_name)
                            or kit.site.access.scope(kit.actor, kit.entity_name, "read") == "all"):
        return None
    return f"/r/{kit.entity_name}?" + urlencode({pool.owner_field: "none"})


def is_pool_view(kit: Kit) -> bool:
    pool = kit.entity.pool
    return pool is not None and kit.request.query_params.get(pool.owner_field) == "none"


def list_context(kit: Kit, connection: Any, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the list page adds: the pool link, and on the pool list the claimable rows and the
    user's standing against the limits."""
    url = pool_url(kit)
    context: dict[str, Any] = {"pool_url": url, "pool_view": False, "claimable": set(), "standing": "",
                               "closing": closing_actions(kit, records)}
    if url is None or not is_pool_view(kit):
        return context
    pool = PublicPool(kit.site)
    context["pool_view"] = True
    context["claimable"] = {r["id"] for r in records if pool.can_claim(kit.actor, kit.entity_name, r)}
    if kit.site.access.claims(kit.actor, kit.entity_name):
        standing = pool.standing(connection, kit.actor, kit.entity_name)
        context["standing"] = kit.word("You own {owned}{max}; claimed today: {today}{cap}",
                                       owned=standing.owned, today=standing.claimed_today,
                                       max=f" / {standing.max_owned}" if standing.max_owned else "",
                                       cap=f" / {standing.daily_cap}" if standing.daily_cap else "")
    return context


def closing_actions(kit: Kit, records: Sequence[Mapping[str, Any]]) -> dict[int, list[tuple[str, str, str]]]:
    """Record id → the closing stages it may move to from the list: (stage, label, outcome)."""
    pipeline = kit.blueprint.pipeline_for(kit.entity_name)
    stage = kit.entity.stage_field
    if (pipeline is None or stage is None or not kit.site.access.can(kit.actor, kit.entity_name, "update")
            or kit.presenter.mode(kit.entity_name, stage.name) != "write"):
        return {}
    closing = [s for s in pipeline.stages if not s.is_open]
    actions: dict[int, list[tuple[str, str, str]]] = {}
    by_stage: dict[str, list[tuple[str, str, str]]] = {}  # what a stage offers, worked out once a page
    for record in records:
        current = pipeline.stage(record.get(stage.name) or "")
        if current is not None and current.is_open:
            offered = by_stage.get(current.name)
            if offered is None:
                offered = by_stage[current.name] = [(s.name, kit.presenter.text(s.label), s.outcome or "closed")
                                                    for s in closing if pipeline.allows(current.name, s.name)]
            actions[record["id"]] = list(offered)
    return actions
