"""Inbound webhooks (`integrations/<name>.yaml`): what another system may POST and how its JSON
becomes upserts by an entity's external key. The loader checks that the entity declares a key
and that every mapped field is one a request may set."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from atrium.metadata.model import Entity, Label
from atrium.metadata.sources import Report, Source


@dataclass(frozen=True)
class Inbound:
    name: str
    label: Label
    secret: str  # the environment variable holding the HMAC key
    run_as: str  # a user name
    entity: str
    key: str  # JSON path of each item's key
    fields: Mapping[str, str]  # field → JSON path in the item
    records: str | None = None  # JSON path of the list of items (None: the payload is one item)
    header: str = "X-Signature"
    encoding: str = "hex"
    timestamp_header: str | None = None
    tolerance_seconds: int = 300
    max_body: int = 256 * 1024


def build_inbound(source: Source, entities: Mapping[str, Entity], report: Report) -> Inbound | None:
    data, upsert = source.data, source.data["upsert"]
    entity = entities.get(upsert["entity"])
    if entity is None:
        report.unknown(source, ["upsert", "entity"], "an entity", upsert["entity"], entities)
        return None
    if entity.external_key is None:
        report.add(source, ["upsert", "entity"], f"{entity.name} declares no external_key: an inbound "
                   "webhook finds its records by one")
        return None
    for name in upsert["fields"]:
        field = entity.fields.get(name)
        if field is None:
            report.unknown(source, ["upsert", "fields", name], f"a field of {entity.name}", name, entity.fields)
        elif name == entity.external_key:
            report.add(source, ["upsert", "fields", name], f"'{name}' is the external key: `key` gives it",
                       key=True)
        elif field.computed:
            report.add(source, ["upsert", "fields", name], f"'{name}' is computed: a webhook cannot set it",
                       key=True)
    signature: dict[str, Any] = data.get("signature", {})
    return Inbound(
        name=source.name, label=Label.of(data.get("label"), source.name), secret=data["secret"],
        run_as=data["run_as"], entity=entity.name, key=upsert["key"], fields=MappingProxyType(dict(upsert["fields"])),
        records=upsert.get("records"), header=signature.get("header", "X-Signature"),
        encoding=signature.get("encoding", "hex"), timestamp_header=signature.get("timestamp_header"),
        tolerance_seconds=signature.get("tolerance_seconds", 300), max_body=data.get("max_body_kb", 256) * 1024)
