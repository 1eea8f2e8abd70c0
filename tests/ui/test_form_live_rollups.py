"""A parent's roll-ups follow its line grid live (issue 13, item 8): the form's redraw computes the
quote's total, list amount, discount and line count over the lines as typed (rows added, changed
and taken out, none saved), then the formulas and conditions that read them, so the approval
section shows as soon as a line's discount crosses the threshold; saving stores the same figures."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL

FIGURES = ("line_count", "list_amount", "discount_amount", "discount_pct", "total", "needs_approval")


@pytest.fixture
def deal(world):
    order = world.order("Vision system")
    robot = world.create("product", code="IR-200", name="Robot IR-200", unit_price=150000)
    camera = world.create("product", code="CAM-5", name="Camera CAM-5", unit_price=20000)
    return order, robot, camera


def quote_form(order, **values) -> list[tuple[str, object]]:
    fields = {"name": "Vision quote", "order": order["id"], "customer": order["customer"],
              "quoted_on": "2026-05-15", "status": "draft", **values}
    return [("_fields", name) for name in fields] + list(fields.items())


def line_rows(rows: list[dict]) -> list[tuple[str, object]]:
    form: list[tuple[str, object]] = [("g0-rows", len(rows))]
    for i, row in enumerate(rows):
        form += [(f"g0-{i}-{name}", value) for name, value in row.items()]
    return form


def shown(page: str, name: str) -> str:
    """A read-only field's text on the form."""
    found = re.search(rf'<div class="readonly" id="f-{name}">(.*?)</div>', page, re.S)
    assert found, f"{name} is not shown read-only"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def section_visible(page: str, legend: str) -> bool:
    found = re.search(rf'<fieldset class="section[^"]*"( hidden disabled)?>\s*<legend>{legend}</legend>', page)
    assert found, legend
    return found.group(1) is None


def lines_of(world, quote_id: int) -> list[dict]:
    with world.site.engine.connect() as connection:
        rows = world.site.records.read_where(connection, "quote_line", "quote", [quote_id])
    return sorted(rows, key=lambda r: r["id"])


def test_a_new_quotes_figures_follow_its_lines_and_the_save_stores_them(world, deal):
    order, robot, camera = deal
    rep = world.browser("rep")
    page = rep.get("/r/quote/new").text
    assert shown(page, "total") == "¥0.00" and shown(page, "line_count") == "0"
    assert not section_visible(page, "Approval")
    rows = [{"product": robot["id"], "quantity": "2", "unit_price": "150000", "discount": "10"},
            {"product": camera["id"], "quantity": "3", "unit_price": "", "discount": ""}]  # the product's price
    state = rep.post("/r/quote/form-state", data=quote_form(order) + line_rows(rows), htmx=True).text
    assert shown(state, "line_count") == "2"
    assert shown(state, "list_amount") == "¥360,000.00"
    assert shown(state, "total") == "¥330,000.00"
    assert shown(state, "discount_amount") == "¥30,000.00"
    assert shown(state, "discount_pct") == "8.33%"
    assert not section_visible(state, "Approval")  # under the 15% threshold
    # a line's discount crosses the threshold: the approval section shows, before any save
    rows[0]["discount"] = "20"
    state = rep.post("/r/quote/form-state", data=quote_form(order) + line_rows(rows), htmx=True).text
    assert shown(state, "total") == "¥300,000.00" and shown(state, "discount_pct") == "16.67%"
    assert section_visible(state, "Approval") and shown(state, "needs_approval") == "Yes"
    # and sending it now is told beside the status, as the save would refuse it
    sending = quote_form(order, status="sent") + line_rows(rows) + [("_touched", "status")]
    state = rep.post("/r/quote/form-state", data=sending, htmx=True).text
    assert "needs a manager&#39;s approval" in state or "needs a manager's approval" in state
    # a row added (the add button's redraw) counts at once with its defaults: quantity 1 at the product's price
    added = rep.post("/r/quote/form-state", data=quote_form(order) + line_rows(rows + [
        {"product": camera["id"]}]), htmx=True).text
    assert shown(added, "line_count") == "3" and shown(added, "total") == "¥320,000.00"
    live = {name: shown(state, name) for name in FIGURES}
    response = rep.post("/r/quote", data=quote_form(order) + line_rows(rows), follow_redirects=False)
    assert response.status_code == 303, response.text
    quote_id = int(response.headers["location"].rsplit("/", 1)[1])
    saved = world.get("quote", quote_id)
    assert (saved["line_count"], saved["list_amount"], saved["total"], saved["discount_pct"]) == (
        2, Decimal("360000.00"), Decimal("300000.00"), Decimal("16.67"))
    assert saved["needs_approval"] is True
    # the edit form (the stored roll-ups) shows what the live redraw showed
    edit = rep.get(f"/r/quote/{quote_id}/edit").text
    assert {name: shown(edit, name) for name in FIGURES} == live


def test_changed_and_removed_lines_of_a_saved_quote_count_as_typed(world, deal):
    order, robot, camera = deal
    rep = world.browser("rep")
    form = quote_form(order) + line_rows([
        {"product": robot["id"], "quantity": "1", "unit_price": "150000", "discount": "0"},
        {"product": camera["id"], "quantity": "2", "unit_price": "20000", "discount": "0"}])
    quote_id = int(rep.post("/r/quote", data=form, follow_redirects=False).headers["location"].rsplit("/", 1)[1])
    first, second = lines_of(world, quote_id)
    version = world.get("quote", quote_id)["version"]
    edit = rep.get(f"/r/quote/{quote_id}/edit").text
    assert shown(edit, "total") == "¥190,000.00" and not section_visible(edit, "Approval")
    # the first line at 8 units, 25% off; the second taken out (the row's × button); nothing saved
    rows = [{"_id": first["id"], "product": robot["id"], "quantity": "8", "unit_price": "150000", "discount": "25"},
            {"_id": second["id"], "product": camera["id"], "quantity": "2", "unit_price": "20000", "discount": "0"}]
    data = quote_form(order) + [("version", version)] + line_rows(rows)
    state = rep.post(f"/r/quote/{quote_id}/form-state", data=data + [("_line_remove", "g0-1")], htmx=True).text
    assert shown(state, "line_count") == "1" and shown(state, "total") == "¥900,000.00"
    assert shown(state, "discount_pct") == "25%" and section_visible(state, "Approval")
    assert world.get("quote", quote_id)["total"] == Decimal("190000.00")  # the stored figures as they were
    live = {name: shown(state, name) for name in FIGURES}
    data = quote_form(order) + [("version", version)] + line_rows(rows[:1]) + [("g0-removed", second["id"])]
    response = rep.post(f"/r/quote/{quote_id}", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    saved = world.get("quote", quote_id)
    assert (saved["line_count"], saved["total"], saved["discount_pct"], saved["needs_approval"]) == (
        1, Decimal("900000.00"), Decimal("25.00"), True)
    assert {name: shown(rep.get(f"/r/quote/{quote_id}/edit").text, name) for name in FIGURES} == live


def test_a_line_the_role_cannot_read_still_counts(world, deal):
    """The grid holds the lines the user may read; the quote's total counts all of its lines, as saved."""
    order, robot, camera = deal
    rep = world.browser("rep")
    form = quote_form(order) + line_rows([{"product": robot["id"], "quantity": "1", "unit_price": "1000"}])
    quote_id = int(rep.post("/r/quote", data=form, follow_redirects=False).headers["location"].rsplit("/", 1)[1])
    (mine,) = lines_of(world, quote_id)
    theirs = world.create("quote_line", quote=quote_id, product=camera["id"], quantity=1, unit_price=500,
                          owner=world.ids["rep2"])  # rep reads own lines only
    stored = world.get("quote", quote_id)
    data = quote_form(order) + [("version", stored["version"])] + line_rows([
        {"_id": mine["id"], "product": robot["id"], "quantity": "2", "unit_price": "1000"}])
    state = rep.post(f"/r/quote/{quote_id}/form-state", data=data, htmx=True).text
    assert f'name="g0-1-_id" value="{theirs["id"]}"' not in state
    assert shown(state, "total") == "¥2,500.00" and shown(state, "line_count") == "2"
    response = rep.post(f"/r/quote/{quote_id}", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert world.get("quote", quote_id)["total"] == Decimal("2500.00")  # what the redraw showed
    assert world.get("quote_line", theirs["id"])["quantity"] == Decimal("1")  # left as it was
