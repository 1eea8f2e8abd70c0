"""A list page decides what a role may see and change once per (role, entity), not once per row
or cell: the field modes come from the access layer's per-role cache, and the rows are written
by shown_markup without a template macro per cell, with the same markup as before."""
from __future__ import annotations

from collections import Counter

import pytest
from record_pages_kit import table_rows

from atrium.runtime.access.policy import Access

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


@pytest.fixture
def decisions(world, monkeypatch):
    """(role, entity) → how many times its field modes were decided, from a fresh cache."""
    counted: Counter = Counter()
    decide = Access._decide_modes

    def spy(self, role, entity):
        counted[(role.name if role is not None else None, entity)] += 1
        return decide(self, role, entity)

    monkeypatch.setattr(Access, "_decide_modes", spy)
    vars(world.site.access).pop("_modes_by_role", None)  # what earlier tests decided is forgotten
    return counted


def test_a_list_of_50_rows_decides_each_roles_field_modes_once(world, decisions):
    acme = world.customer("Acme")
    for number in range(50):
        world.order(f"Deal {number}", customer=acme, amount=str(1000 + number), margin="10")
    rep = world.browser("rep")
    page = rep.get("/r/order?limit=50")
    assert page.status_code == 200
    assert len(table_rows(page.text)) == 50
    assert decisions[("sales_rep", "order")] == 1  # not once per row (50) or per cell (300)
    assert all(count == 1 for count in decisions.values()), decisions
    again = rep.get("/r/order?limit=50&sort=-amount")
    assert len(table_rows(again.text)) == 50
    assert all(count == 1 for count in decisions.values()), decisions  # the next request decides nothing anew
    assert world.site.access.field_mode(world.actor("rep"), "order", "margin") == "hidden"  # still the rule
    boss_page = world.browser("boss").get("/r/order?limit=50")
    assert len(table_rows(boss_page.text)) == 50
    assert decisions[("admin", "order")] == 1 and decisions[("sales_rep", "order")] == 1


def test_the_rows_cells_keep_their_inline_edit_markup(world):
    world.order("Pumps", amount="1234.5")
    page = world.browser("rep").get("/r/order").text
    row = page.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert 'class="cell editable"' in row and 'tabindex="0" title="Click or press Enter to edit"' in row
    assert "¥1,234.50" in row
    assert 'hx-get="/r/order/' in row and "/cell/amount?version=" in row
    assert "<script" not in row
