"""Load-time checks of public pools and pool grants: each mistake at its file, line and column."""
from __future__ import annotations

from pathlib import Path

import pytest

from atrium.metadata import BlueprintError, load_blueprint

ENTITY = """\
name: account
label: Account
owner: owner
fields:
  name: {type: text}
  owner: {type: user}
  vip: {type: text}
pool: {owner_field: owner, lock_field: vip}
"""
ROLES = """\
roles:
  rep:
    label: Rep
    entities:
      account: {read: own, pool: true}
      note: {read: own, pool: true}
"""
NOTE = """\
name: note
label: Note
fields:
  text: {type: text}
"""


def write(folder: Path, entity: str = ENTITY, roles: str = ROLES) -> Path:
    (folder / "entities").mkdir(parents=True)
    (folder / "blueprint.yaml").write_text("name: t\nlabel: T\nlocales: [en, zh]\n", encoding="utf-8")
    (folder / "entities" / "account.yaml").write_text(entity, encoding="utf-8")
    (folder / "entities" / "note.yaml").write_text(NOTE, encoding="utf-8")
    (folder / "roles.yaml").write_text(roles, encoding="utf-8")
    return folder


def test_a_lock_field_must_be_boolean_and_a_pool_grant_needs_a_pool(tmp_path):
    with pytest.raises(BlueprintError) as error:
        load_blueprint(write(tmp_path / "bp"))
    text = str(error.value)
    assert "entities/account.yaml:8:40: pool.lock_field: 'vip' must name a boolean field of account" in text
    assert "roles.yaml:6:31: roles.rep.entities.note.pool: note has no public pool" in text


def test_the_design_pool_and_a_full_one_load(tmp_path):
    entity = ENTITY.replace("vip: {type: text}", "vip: {type: boolean}")
    blueprint = load_blueprint(write(tmp_path / "bp", entity,
                                     ROLES.replace("      note: {read: own, pool: true}\n", "")))
    assert blueprint.entities["account"].pool.lock_field == "vip"
    assert blueprint.roles["rep"].grant("account").pool is True
    assert blueprint.roles["rep"].grant("note").pool is False
