"""The header's menus (ui/web/navigation.py): b2b_sales declares Sales / Service / Finance /
Marketing in blueprint.yaml; each user sees only the items their role may open, an empty menu not
at all, and the menu holding the page is marked. Without a declaration: one menu of every
readable entity."""
from __future__ import annotations

import dataclasses
import re
from types import SimpleNamespace

from atrium.runtime.records.evaluation import Actor
from atrium.ui.web.navigation import menus


def header_menus(page: str) -> dict[str, list[str]]:
    found = re.findall(r'<details class="nav-group"[^>]*>\s*<summary>([^<]+)</summary>(.*?)</details>', page, re.S)
    return {name: re.findall(r'href="([^"]+)"', links) for name, links in found}


def test_a_rep_gets_the_declared_menus_with_what_the_role_may_open(world):
    page = world.browser("rep").get("/r/order").text
    shown = header_menus(page)
    assert list(shown) == ["Sales", "Service", "Finance", "Marketing"]
    assert shown["Sales"][:4] == ["/r/lead", "/r/customer", "/r/contact", "/r/order"]
    assert "/dashboards/sales_rep" in shown["Sales"] and "/dashboards/sales_manager" not in shown["Sales"]
    assert "/dashboards/finance" not in shown["Finance"]  # a dashboard of other roles
    assert '<details class="nav-group" name="nav" data-current>\n  <summary>Sales</summary>' in page
    assert 'href="/r/order" aria-current="page"' in page
    assert page.count("data-current") == 1


def test_the_administrator_reaches_every_declared_report_and_dashboard(world):
    shown = header_menus(world.browser("boss").get("/reports").text)
    assert "/reports/receivables" in shown["Finance"] and "/dashboards/finance" in shown["Finance"]
    assert "/dashboards/sales_manager" in shown["Sales"] and "/reports/campaign_roi" in shown["Marketing"]


class Swapped:
    """The site with another blueprint."""

    def __init__(self, site, blueprint):
        self.site, self.blueprint = site, blueprint

    def __getattr__(self, name):
        return getattr(self.site, name)


def request_as(site, role: str, locale: str = "en") -> SimpleNamespace:
    actor = Actor(user_id=999, name="someone", role=role, team_id=None, locale=locale)
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(site=site)),
                           state=SimpleNamespace(actor=actor, locale=locale))


def test_an_item_the_role_may_not_open_and_an_empty_menu_are_left_out(world):
    site = world.site
    shown = {menu.text: [link.key for link in menu.links] for menu in menus(request_as(site, "finance"))}
    unreadable = [name for name in site.blueprint.entities if not site.access.can(
        Actor(user_id=999, name="x", role="finance", locale="en"), name, "read")]
    assert "campaign" in unreadable and "ticket" in unreadable
    assert "campaign" not in shown.get("Marketing", []) and "_dashboard:finance" in shown["Finance"]
    assert not {key for keys in shown.values() for key in keys} & set(unreadable)
    assert all(shown.values())  # no empty menu


def test_without_a_declaration_one_menu_lists_every_readable_entity(world):
    site = world.site
    bare = SimpleNamespace(blueprint=dataclasses.replace(site.blueprint, navigation=()), access=site.access)
    (only,) = menus(request_as(bare, "sales_rep", "zh"))  # type: ignore[arg-type]
    assert only.text == "记录"
    rep = Actor(user_id=999, name="x", role="sales_rep", locale="zh")
    readable = [name for name in site.blueprint.entities if site.access.can(rep, name, "read")]
    assert [link.key for link in only.links] == readable
    assert only.holds("order") and not only.holds("_reports")


def test_an_entity_no_menu_names_is_under_more(world):
    site = world.site
    sales_only = Swapped(site, dataclasses.replace(site.blueprint, navigation=site.blueprint.navigation[:1]))
    shown = {menu.text: [link.key for link in menu.links] for menu in menus(request_as(sales_only, "sales_rep", "zh"))}
    assert list(shown) == ["销售", "更多"]
    assert "ticket" in shown["更多"] and "order" not in shown["更多"]
