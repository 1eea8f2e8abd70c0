"""Load-time checks of `external_key` and of inbound webhooks (integrations/): each mistake at its
file, line and column; a good key is made unique (the migration's unique index)."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from atrium.metadata import BlueprintError, load_blueprint
from atrium.runtime.schema.tables import build_tables

ENTITY = """\
name: account
label: Account
external_key: {key}
fields:
  name: {{type: text}}
  erp_code: {{type: text, max_length: 20}}
  amount: {{type: money}}
  total: {{type: integer, formula: "1 + 1"}}
"""
INBOUND = """\
secret: ERP_SECRET
run_as: erp
upsert:
  entity: {entity}
  key: code
  fields:
    {field}: payload.value
"""
NOTE = "name: note\nlabel: Note\nfields:\n  text: {type: text}\n"


def write(folder: Path, key: str = "erp_code", inbound: str | None = None) -> Path:
    (folder / "entities").mkdir(parents=True)
    (folder / "blueprint.yaml").write_text("name: t\nlabel: T\nlocales: [en, zh]\n", encoding="utf-8")
    (folder / "entities" / "account.yaml").write_text(ENTITY.format(key=key), encoding="utf-8")
    (folder / "entities" / "note.yaml").write_text(NOTE, encoding="utf-8")
    if inbound is not None:
        (folder / "integrations").mkdir()
        (folder / "integrations" / "erp.yaml").write_text(inbound, encoding="utf-8")
    return folder


def problems(folder: Path) -> str:
    with pytest.raises(BlueprintError) as error:
        load_blueprint(folder)
    return str(error.value)


def test_an_external_key_is_a_stored_text_or_integer_field_of_the_entity(tmp_path):
    assert "entities/account.yaml:3:15: external_key: 'erp' is not a field of this entity" in \
        problems(write(tmp_path / "a", "erp"))
    assert "external_key: 'amount' is a money field: an external key is a stored text or integer field" in \
        problems(write(tmp_path / "b", "amount"))
    assert "external_key: 'total' is a integer field computed by the engine" in problems(write(tmp_path / "c", "total"))


def test_a_good_key_is_made_unique_in_the_database(tmp_path):
    blueprint = load_blueprint(write(tmp_path / "bp"))
    assert blueprint.entities["account"].external_key == "erp_code"
    table = build_tables(blueprint)["account"]
    assert any(index.unique and [c.name for c in index.columns] == ["erp_code"] for index in table.indexes) or \
        any(isinstance(c, sa.UniqueConstraint) for c in table.constraints)


def test_an_inbound_webhook_maps_onto_an_entity_with_a_key_and_fields_it_may_set(tmp_path):
    text = problems(write(tmp_path / "a", inbound=INBOUND.format(entity="note", field="text")))
    assert "integrations/erp.yaml:4:11: upsert.entity: note declares no external_key" in text
    text = problems(write(tmp_path / "b", inbound=INBOUND.format(entity="account", field="total")))
    assert "integrations/erp.yaml:7:5: upsert.fields.total: 'total' is computed: a webhook cannot set it" in text
    text = problems(write(tmp_path / "c", inbound=INBOUND.format(entity="account", field="nam")))
    assert "upsert.fields.nam: 'nam' is not a field of account (did you mean 'name'?)" in text
    text = problems(write(tmp_path / "d", inbound=INBOUND.replace("ERP_SECRET", "erp secret")
                          .format(entity="account", field="name")))
    assert "integrations/erp.yaml:1:9: secret" in text
    blueprint = load_blueprint(write(tmp_path / "e", inbound=INBOUND.format(entity="account", field="name")))
    inbound = blueprint.integrations["erp"]
    assert (inbound.entity, inbound.key, dict(inbound.fields)) == ("account", "code", {"name": "payload.value"})
    assert (inbound.header, inbound.encoding, inbound.max_body) == ("X-Signature", "hex", 256 * 1024)
