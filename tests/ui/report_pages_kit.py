"""Helpers of the report-page and dashboard tests: orders in a stage, extra people, text of cells."""
from __future__ import annotations

import datetime as dt
import html
import re

from record_pages_kit import FAST_HASHER, TODAY

from atrium.runtime.access import users


def won_order(world, by: str, amount: int, close: dt.date = TODAY, name: str = "Deal") -> dict:
    """An order of `by`, won on `close` (its close date and the day it was won: `won_on`)."""
    order = world.order(name, by=by, amount=amount, expected_close=TODAY + dt.timedelta(days=10))
    return world.site.records.update("order", order["id"], {"stage": "won", "expected_close": close, "won_on": close},
                                     world.actor(by))


def open_order(world, by: str, amount: int, close: dt.date = TODAY + dt.timedelta(days=5),
               name: str = "Open deal") -> dict:
    return world.order(name, by=by, amount=amount, expected_close=close)


def add_person(world, name: str, role: str, display: str, team: str | None = None) -> int:
    """Another user (password `<name>-pass`), as World's people are made."""
    table = world.site.tables.system("atrium_users")
    with world.site.engine.begin() as connection:
        found = users.find_user(connection, world.site.tables, name)
        if found is not None:
            return found["id"]
        user_id = users.add_user(connection, world.site.tables, world.blueprint, name, role, team=team,
                                 display_name=display, locale="en")
        connection.execute(table.update().where(table.c.id == user_id).values(
            password_hash=FAST_HASHER.hash(f"{name}-pass")))
    return user_id


def cells(page: str, css_class: str = "report-table") -> list[list[str]]:
    """The text of each row (body and totals) of the first table with `css_class`."""
    table = page.split(f'class="records {css_class}', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]
    return [[html.unescape(" ".join(re.sub(r"<[^>]+>", " ", c).split()))
             for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)] for row in rows]


def kpi_value(fragment: str) -> str:
    return html.unescape(re.search(r'<div class="kpi-value">(.*?)</div>', fragment, re.S).group(1).strip())


def widget(browser, dashboard: str, index: int, query: str = "") -> str:
    response = browser.get(f"/dashboards/{dashboard}/widgets/{index}" + (f"?{query}" if query else ""), htmx=True)
    assert response.status_code == 200, response.text[:500]
    return response.text


def widget_index(world, dashboard: str, **match) -> int:
    """The index of the first widget of `dashboard` whose YAML has every key of `match`."""
    widgets = world.site.blueprint.dashboards[dashboard]["widgets"]
    return next(i for i, w in enumerate(widgets) if all(w.get(k) == v for k, v in match.items()))
