"""blueprint.yaml `navigation:`: the header's menus load into the model, and a name that does not
exist (entity, report, dashboard, role) is an error at its file, line and column."""
from __future__ import annotations

from pathlib import Path

import pytest

from atrium.metadata import BlueprintError, load_blueprint
from atrium.metadata.navigation import NavItem

MANIFEST = """\
name: t
label: T
locales: [en, zh]
navigation:
  - label: {en: Sales, zh: 销售}
    items: [account, {dashboard: home}]
  - label: {en: Service, zh: 服务}
    roles: [rep]
    items: [{entity: note}]
"""
ENTITY = "name: {name}\nlabel: {name}\nfields:\n  title: {{type: text}}\n"
ROLES = "roles:\n  rep:\n    label: Rep\n    entities:\n      account: {read: all}\n"
DASHBOARD = "name: home\nlabel: Home\nroles: [rep]\nwidgets:\n  - {type: list, entity: account}\n"


def write(folder: Path, manifest: str = MANIFEST) -> Path:
    (folder / "entities").mkdir(parents=True)
    (folder / "dashboards").mkdir()
    (folder / "blueprint.yaml").write_text(manifest, encoding="utf-8")
    for name in ("account", "note"):
        (folder / "entities" / f"{name}.yaml").write_text(ENTITY.format(name=name), encoding="utf-8")
    (folder / "roles.yaml").write_text(ROLES, encoding="utf-8")
    (folder / "dashboards" / "home.yaml").write_text(DASHBOARD, encoding="utf-8")
    return folder


def test_the_declared_menus_load_in_order_with_their_labels_and_roles(tmp_path):
    blueprint = load_blueprint(write(tmp_path / "bp"))
    sales, service = blueprint.navigation
    assert sales.label.text("zh") == "销售" and sales.label.text("en") == "Sales"
    assert sales.items == (NavItem("entity", "account"), NavItem("dashboard", "home"))
    assert sales.for_role("anyone") and service.for_role("rep") and not service.for_role("boss")
    assert service.items == (NavItem("entity", "note"),)


def test_an_unknown_name_in_a_menu_is_reported_where_it_is_written(tmp_path):
    wrong = (MANIFEST.replace("[account, {dashboard: home}]", "[acount, {dashboard: hom}, {report: nope}]")
             .replace("roles: [rep]", "roles: [rep, boss]"))
    with pytest.raises(BlueprintError) as error:
        load_blueprint(write(tmp_path / "bp", wrong))
    text = str(error.value)
    assert "blueprint.yaml:6:13: navigation[0].items[0]: 'acount' is not an entity (did you mean 'account'?)" in text
    assert "blueprint.yaml:6:33: navigation[0].items[1].dashboard: 'hom' is not a dashboard" in text
    assert "navigation[0].items[2].report: 'nope' is not a report" in text
    assert "blueprint.yaml:8:18: navigation[1].roles[1]: 'boss' is not a role" in text


def test_a_menu_without_items_is_refused_by_the_schema(tmp_path):
    with pytest.raises(BlueprintError) as error:
        load_blueprint(write(tmp_path / "bp", MANIFEST.replace("items: [{entity: note}]", "items: []")))
    assert "blueprint.yaml:9:12" in str(error.value)
