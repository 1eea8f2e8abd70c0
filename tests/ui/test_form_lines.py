"""A parent's lines on its form (views `form.lines`): a quote with its lines saved in one post,
a bad line's message in its row with nothing written, a line removed, the quote's roll-ups moved
in the same save, a stale quote refused, the detail page's read-only grid, and "New …" from a
related list prefilled and returning to the parent."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def count(world, entity: str) -> int:
    with world.site.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(world.site.tables[entity])).scalar()


def lines_of(world, quote_id: int) -> list[dict]:
    with world.site.engine.connect() as connection:
        rows = world.site.records.read_where(connection, "quote_line", "quote", [quote_id])
    return sorted(rows, key=lambda r: r["id"])


@pytest.fixture
def deal(world):
    order = world.order("Vision system")
    robot = world.create("product", code="IR-200", name="Robot IR-200", unit_price=150000)
    camera = world.create("product", code="CAM-5", name="Camera CAM-5", unit_price=20000)
    return order, robot, camera


def quote_form(world, order, **values) -> list[tuple[str, object]]:
    fields = {"name": "Vision quote", "order": order["id"], "customer": order["customer"],
              "quoted_on": "2026-05-15", "status": "draft", **values}
    return [("_fields", name) for name in fields] + list(fields.items())


def line_rows(rows: list[dict], prefix: str = "g0") -> list[tuple[str, object]]:
    form: list[tuple[str, object]] = [(f"{prefix}-rows", len(rows))]
    for i, row in enumerate(rows):
        form += [(f"{prefix}-{i}-{name}", value) for name, value in row.items()]
    return form


def test_a_quote_with_three_lines_is_saved_in_one_post(world, deal):
    order, robot, camera = deal
    rep = world.browser("rep")
    page = rep.get("/r/quote/new").text
    assert "<legend>Lines</legend>" in page and 'name="g0-rows" value="0"' in page and "Add line" in page
    form = quote_form(world, order) + line_rows([
        {"product": robot["id"], "quantity": "2", "unit_price": "150000", "discount": "10"},
        {"product": camera["id"], "quantity": "3", "unit_price": "20000", "discount": ""},
        {"product": "", "description": "Installation", "quantity": "1", "unit_price": "5000", "discount": ""}])
    response = rep.post("/r/quote", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    quote_id = int(response.headers["location"].rsplit("/", 1)[1])
    lines = lines_of(world, quote_id)
    assert [(line["quantity"], line["amount"]) for line in lines] == [
        (Decimal("2"), Decimal("270000.00")), (Decimal("3"), Decimal("60000.00")), (Decimal("1"), Decimal("5000.00"))]
    assert all(line["owner"] == world.ids["rep"] for line in lines)  # each line's own defaults
    quote = world.get("quote", quote_id)
    assert quote["line_count"] == 3 and quote["total"] == Decimal("335000.00")  # roll-ups in the same save
    assert quote["list_amount"] == Decimal("365000.00")
    detail = rep.get(f"/r/quote/{quote_id}").text  # the same grid, read-only, titled by product
    start = detail.index('id="grid-g0"')
    grid = detail[start:detail.index("</table>", start)]
    assert "Robot IR-200" in grid and "Installation" in grid and "270,000.00" in grid and "<input" not in grid
    assert 'id="related-quote_line"' not in detail  # the grid replaces the related list
    listing = rep.get("/r/quote_line").text
    assert "IR-200 Robot IR-200" in listing and "#" + str(lines[0]["id"]) not in listing


def test_a_bad_line_shows_its_error_in_its_row_and_nothing_is_written(world, deal):
    order, robot, _ = deal
    rep = world.browser("rep")
    form = quote_form(world, order) + line_rows([
        {"product": robot["id"], "quantity": "2", "unit_price": "150000", "discount": ""},
        {"product": robot["id"], "quantity": "-1", "unit_price": "", "discount": "150"}])
    response = rep.post("/r/quote", data=form)
    assert response.status_code == 422
    assert count(world, "quote") == 0 and count(world, "quote_line") == 0
    row = re.search(r'<tr class="line invalid" id="g0-1">(.*?)</tr>', response.text, re.S).group(1)
    assert "Must be at least 0" in row and "Must be at most 100" in row
    assert "This field is required" not in row  # the empty unit price takes the product's (a dotted default)
    first = re.search(r'<tr class="line" id="g0-0">(.*?)</tr>', response.text, re.S).group(1)
    assert 'class="error"' not in first and 'value="150000"' in first  # the good row kept as typed
    assert "Some lines have errors" in response.text


def test_editing_changes_removes_and_adds_lines_and_the_total_follows(world, deal):
    order, robot, camera = deal
    rep = world.browser("rep")
    form = quote_form(world, order) + line_rows([
        {"product": robot["id"], "quantity": "1", "unit_price": "150000"},
        {"product": camera["id"], "quantity": "1", "unit_price": "20000"}])
    quote_id = int(rep.post("/r/quote", data=form, follow_redirects=False).headers["location"].rsplit("/", 1)[1])
    first, second = lines_of(world, quote_id)
    edit = rep.get(f"/r/quote/{quote_id}/edit").text
    assert f'name="g0-0-_id" value="{first["id"]}"' in edit and 'name="g0-rows" value="2"' in edit
    version = world.get("quote", quote_id)["version"]
    form = quote_form(world, order) + [("version", version)] + line_rows([
        {"_id": first["id"], "product": robot["id"], "quantity": "2", "unit_price": "150000"},
        {"product": camera["id"], "quantity": "5", "unit_price": "20000"}]) + [("g0-removed", second["id"])]
    response = rep.post(f"/r/quote/{quote_id}", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    lines = lines_of(world, quote_id)
    assert [line["id"] for line in lines][0] == first["id"] and second["id"] not in [line["id"] for line in lines]
    assert [line["quantity"] for line in lines] == [Decimal("2"), Decimal("5")]
    quote = world.get("quote", quote_id)
    assert quote["line_count"] == 2 and quote["total"] == Decimal("400000.00")
    assert rep.get("/r/quote?total=400000").status_code == 200
    # a stale save (someone saved the quote since) is refused whole: the line stays as it was
    form = quote_form(world, order, name="Mine") + [("version", version)] + line_rows([
        {"_id": first["id"], "product": robot["id"], "quantity": "9", "unit_price": "150000"}])
    assert rep.post(f"/r/quote/{quote_id}", data=form).status_code == 409
    assert lines_of(world, quote_id)[0]["quantity"] == Decimal("2")


def test_a_line_of_another_quote_is_refused(world, deal):
    order, robot, _ = deal
    rep = world.browser("rep")
    other = world.create("quote", name="Other", order=order["id"], customer=order["customer"])
    foreign = world.create("quote_line", quote=other["id"], product=robot["id"], quantity=1, unit_price=1)
    form = quote_form(world, order) + line_rows([{"_id": foreign["id"], "quantity": "7", "unit_price": "1"}])
    response = rep.post("/r/quote", data=form)
    assert response.status_code == 422 and "This line belongs to another record" in response.text
    assert world.get("quote_line", foreign["id"])["quantity"] == Decimal("1") and count(world, "quote") == 1


def test_form_state_adds_and_removes_rows_and_computes_each_line(world, deal):
    order, robot, _ = deal
    rep = world.browser("rep")
    form = quote_form(world, order) + line_rows([
        {"product": robot["id"], "quantity": "2", "unit_price": "100", "discount": "50"}])
    added = rep.post("/r/quote/form-state", data=form + [("_line_add", "g0")], htmx=True).text
    assert 'name="g0-rows" value="2"' in added and 'id="g0-1" data-focus' in added
    row = re.search(r'id="g0-0">(.*?)</tr>', added, re.S).group(1)
    assert "100.00" in row  # the line's formula (amount), live
    new_row = re.search(r'id="g0-1" data-focus>(.*?)</tr>', added, re.S).group(1)
    assert 'name="g0-1-quantity" value="1' in new_row, new_row  # its default
    assert 'class="error"' not in new_row  # and no messages before the user typed
    removed = rep.post("/r/quote/form-state", data=form + [("_line_remove", "g0-0")], htmx=True).text
    assert 'name="g0-rows" value="0"' in removed and "No lines yet" in removed
    assert count(world, "quote_line") == 0  # drafts only


def test_new_related_record_is_prefilled_and_returns_to_the_parent(world, deal):
    order, _, _ = deal
    rep = world.browser("rep")
    detail = rep.get(f"/r/order/{order['id']}").text
    link = re.search(r'href="(/r/quote/new\?[^"]+)"', detail).group(1).replace("&amp;", "&")
    assert f"order={order['id']}" in link and f"customer={order['customer']}" in link and "from=order" in link
    page = rep.get(link).text
    assert 'name="_return" value="order"' in page
    assert re.search(rf'<input type="hidden" name="order" value="{order["id"]}"', page)
    assert re.search(rf'<input type="hidden" name="customer" value="{order["customer"]}"', page)
    assert "Deal customer" in page or "Vision system customer" in page  # the customer's title shown
    form = [("_return", "order")] + quote_form(world, order)
    response = rep.post("/r/quote", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/r/order/{order['id']}"
    assert count(world, "quote") == 1
