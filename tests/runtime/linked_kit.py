"""A small blueprint whose expressions read linked records through dotted paths, three links deep:
region ← customer ← order ← line → product; a site over it with an admin and a rep."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from blueprint_factory import write_blueprint

from atrium.metadata import load_blueprint
from atrium.runtime.access.users import add_team, add_user
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

ENTITIES: dict[str, Any] = {
    "region": {"title": "{name}", "fields": {
        "name": {"type": "text", "required": True},
        "discount": {"type": "number"},
    }},
    "customer": {"title": "{name}", "owner": "owner", "fields": {
        "name": {"type": "text", "required": True},
        "level": {"type": "select", "options": ["normal", "vip"]},
        "region": {"type": "reference", "to": "region"},
        "owner": {"type": "user"},
        "net_total": {"type": "money", "rollup": {"from": "order.customer", "sum": "net"}},
    }},
    "order": {"title": "{title}", "fields": {
        "title": {"type": "text", "required": True},
        "customer": {"type": "reference", "to": "customer"},
        "amount": {"type": "money"},
        "level": {"type": "text", "formula": "customer.level"},
        "net": {"type": "money", "formula": "(amount or 0) * (100 - (customer.region.discount or 0)) / 100"},
        "owner_team": {"type": "text", "formula": "customer.owner.team"},
        "note": {"type": "text"},
    }},
    "product": {"title": "{name}", "fields": {
        "name": {"type": "text", "required": True},
        "price": {"type": "money"},
        "stock": {"type": "integer"},
    }},
    "line": {"title": "{product}", "fields": {
        "order": {"type": "reference", "to": "order", "on_delete": "cascade"},
        "product": {"type": "reference", "to": "product"},
        "quantity": {"type": "number", "default": 1},
        "unit_price": {"type": "money", "default": "product.price"},
        "total": {"type": "money", "formula": "quantity * unit_price"},
        "region_name": {"type": "text", "formula": "order.customer.region.name"},
        "rush": {"type": "boolean"},
        "reason": {"type": "text", "required_when": "rush and order.level == 'vip'"},
    }, "checks": [{"name": "in_stock", "assert": "product is None or quantity <= (product.stock or 0)",
                   "message": {"en": "Not that many in stock", "zh": "库存不足"}}]},
}
ROLES = {"roles": {"admin": {"label": "Admin", "all": True}}}
AUTOMATIONS = {"vip_note": {
    "entity": "order", "on": "create", "when": "customer.level == 'vip'",
    "label": {"en": "VIP note", "zh": "VIP 备注"},
    "do": [{"set": {"note": "concat('VIP of ', customer.region.name)"}},
           {"create": {"entity": "line", "values": {"order": "id", "unit_price": "customer.region.discount"}}}]}}
REPORTS = {"net_by_level": {"source": "order", "group_by": ["level"], "measures": {"net": {"sum": "net"}}}}


def build(folder: Path, engine: Any, url: str) -> tuple[Site, Actor]:
    write_blueprint(folder, ENTITIES, roles=ROLES)
    (folder / "reports").mkdir(exist_ok=True)
    for name, spec in REPORTS.items():
        (folder / "reports" / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, **spec}), encoding="utf-8")
    (folder / "automations").mkdir(exist_ok=True)
    for name, spec in AUTOMATIONS.items():
        (folder / "automations" / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, **spec}),
                                                             encoding="utf-8")
    blueprint = load_blueprint(folder)
    migrate(engine, blueprint)
    site = Site.open(blueprint, url, engine=engine)
    with engine.begin() as connection:
        add_team(connection, site.tables, "north")
        add_team(connection, site.tables, "south")
        ann = add_user(connection, site.tables, blueprint, "ann", "admin", "north")
        add_user(connection, site.tables, blueprint, "bo", "admin", "south")
    return site, Actor(ann, "ann", "admin", None)
