"""Converting a lead on the shipped b2b blueprint, through the pages and the API: the Convert
button, the form with mapped values per target, the result, duplicates by company name or phone
offered to link, all-or-nothing with per-target errors, no second conversion, CSRF."""
from __future__ import annotations

import re

import pytest

from atrium.runtime.access import users

pytestmark = pytest.mark.database


def lead(world, by="rep", **values):
    defaults = {"company": "Huaxin Precision", "contact_name": "Zhang Wei", "contact_title": "Buyer",
                "phone": "021-5555-0101", "email": "zw@huaxin.example", "region": "east",
                "industry": "manufacturing", "budget": "80000", "status": "qualified"}
    return world.create("lead", by, **{**defaults, **values})


def count(world, entity):
    import sqlalchemy as sa
    table = world.site.tables[entity]
    with world.site.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def form_values(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="[a-z-]+" id="f-([a-z_.]+)" name="[a-z_.]+" value="([^"]*)"', html))


def test_a_qualified_lead_offers_convert_and_the_form_shows_the_mapped_values(world):
    record = lead(world)
    rep = world.browser("rep")
    detail = rep.get(f"/r/lead/{record['id']}")
    assert f'href="/r/lead/{record["id"]}/convert">Convert to customer</a>' in detail.text
    early = lead(world, status="new", company="Not yet")
    assert "/convert" not in rep.get(f"/r/lead/{early['id']}").text
    page = rep.get(f"/r/lead/{record['id']}/convert")
    assert page.status_code == 200
    assert [legend.strip() for legend in re.findall(r"<legend>\s*(?:<label[^>]*><input[^>]*>)?\s*([^<]+)", page.text)] \
        == ["Customer", "Contact", "Order"]
    values = form_values(page.text)
    assert values["customer.name"] == "Huaxin Precision" and values["customer.phone"] == "021-5555-0101"
    assert values["contact.name"] == "Zhang Wei" and values["contact.email"] == "zw@huaxin.example"
    assert values["order.amount"] == "80000.00" and values["order.name"] == "Huaxin Precision"
    assert 'name="order._include" value="true" checked' in page.text  # optional: may be unticked
    assert 'name="customer._include"' not in page.text


def posted(html: str, **changes: str) -> list[tuple[str, str]]:
    """The convert form's fields as a browser would send them, with changes."""
    pairs = [("_fields", name) for name in re.findall(r'name="_fields" value="([^"]+)"', html)]
    values = form_values(html)
    values.update({k.replace("__", "."): v for k, v in changes.items() if not k.endswith("_include")})
    pairs += [(name, value) for name, value in values.items()]
    for name in re.findall(r'name="([a-z_]+\._include)" value="true" checked', html):
        if changes.get(name.replace(".", "__"), "true"):  # a change of "" unticks it
            pairs.append((name, "true"))
    for select in re.findall(r'<select id="f-[a-z_.]+" name="([a-z_.]+)"', html):
        chosen = re.search(rf'name="{re.escape(select)}">.*?<option value="([^"]+)" selected', html, re.S)
        pairs.append((select, changes.get(select.replace(".", "__"), chosen.group(1) if chosen else "")))
    return pairs


def test_converting_makes_customer_and_contact_and_leaves_out_the_unticked_order(world):
    record = lead(world)
    rep = world.browser("rep")
    form = rep.get(f"/r/lead/{record['id']}/convert").text
    done = rep.post(f"/r/lead/{record['id']}/convert", data=posted(form, customer__name="Huaxin Precision Co."))
    assert done.status_code == 200, done.text
    rows = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr>(.*?)</tr>", done.text, re.S)]
    assert rows[0] == "Customer Created Huaxin Precision Co." and rows[1] == "Contact Created Zhang Wei"
    assert rows[2] == "Order Created ORD-2026-00001 Huaxin Precision"
    after = world.get("lead", record["id"])
    assert after["status"] == "converted" and after["converted_at"] == world.clock.now
    customer = world.get("customer", after["customer"])
    contact = world.get("contact", after["converted_contact"])
    assert (customer["name"], customer["owner"], customer["region"]) == (
        "Huaxin Precision Co.", world.ids["rep"], "east")
    assert (contact["customer"], contact["is_primary"], contact["phone"]) == (customer["id"], True, "021-5555-0101")
    assert world.get("order", after["converted_order"])["customer"] == customer["id"]

    # another company's person (the same email would be the contact just made: contact's duplicate rules)
    second = lead(world, company="Second Ltd", phone="010-1", email="li@second.example")
    form = rep.get(f"/r/lead/{second['id']}/convert").text
    done = rep.post(f"/r/lead/{second['id']}/convert", data=posted(form, order___include=""))
    assert "Order Left out" in " ".join(re.sub(r"<[^>]+>", " ", done.text).split())
    assert world.get("lead", second["id"])["converted_order"] is None


def test_an_error_in_any_target_saves_nothing_and_shows_under_that_target(world):
    record = lead(world)
    rep = world.browser("rep")
    form = rep.get(f"/r/lead/{record['id']}/convert").text
    failed = rep.post(f"/r/lead/{record['id']}/convert",
                      data=posted(form, contact__name="", order__expected_close="2020-01-01"))
    assert failed.status_code == 422
    contact = failed.text.split('id="target-contact"', 1)[1].split("</fieldset>", 1)[0]
    order = failed.text.split('id="target-order"', 1)[1].split("</fieldset>", 1)[0]
    assert "This field is required" in contact and "Expected close date is in the past" in order
    assert (count(world, "customer"), count(world, "contact"), count(world, "order")) == (0, 0, 0)
    assert world.get("lead", record["id"]) == record
    assert 'value="Huaxin Precision"' in failed.text  # what the user typed stays


def test_a_customer_with_the_same_name_or_phone_is_offered_and_can_be_linked(world):
    existing = world.customer("HUAXIN PRECISION", by="rep")
    by_phone = world.customer("Another Name", by="rep", phone="021-5555-0101")
    record = lead(world)
    rep = world.browser("rep")
    form = rep.get(f"/r/lead/{record['id']}/convert").text
    assert "Similar records already exist" in form
    assert f'value="{existing["id"]}"' in form and f'value="{by_phone["id"]}"' in form
    asked = rep.post(f"/r/lead/{record['id']}/convert", data=posted(form))
    assert asked.status_code == 409 and "link one of them, or confirm" in asked.text
    assert count(world, "customer") == 2 and count(world, "contact") == 0
    linked = rep.post(f"/r/lead/{record['id']}/convert",
                      data=posted(form) + [("customer._choice", str(existing["id"]))])
    assert linked.status_code == 200 and "Customer Linked HUAXIN PRECISION" in " ".join(
        re.sub(r"<[^>]+>", " ", linked.text).split())
    assert count(world, "customer") == 2
    assert world.get("contact", world.get("lead", record["id"])["converted_contact"])["customer"] == existing["id"]


def test_a_converted_lead_cannot_be_converted_again(world):
    record = lead(world)
    rep = world.browser("rep")
    form = rep.get(f"/r/lead/{record['id']}/convert").text
    assert rep.post(f"/r/lead/{record['id']}/convert", data=posted(form)).status_code == 200
    assert "/convert\"" not in rep.get(f"/r/lead/{record['id']}").text
    again = rep.get(f"/r/lead/{record['id']}/convert")
    assert again.status_code == 409 and "already been converted" in again.text
    twice = rep.post(f"/r/lead/{record['id']}/convert", data=posted(form))
    assert twice.status_code == 409 and count(world, "customer") == 1


def test_convert_needs_the_csrf_token_and_a_reachable_lead(world):
    record = lead(world)
    rep = world.browser("rep")
    form = rep.get(f"/r/lead/{record['id']}/convert").text
    assert rep.client.post(f"/r/lead/{record['id']}/convert", data=dict(posted(form))).status_code == 403
    assert count(world, "customer") == 0
    assert world.browser("rep2").get(f"/r/lead/{record['id']}/convert").status_code == 404
    assert rep.get("/r/order/1/convert").status_code == 404  # orders have no conversion


def test_the_convert_form_in_chinese(world):
    record = lead(world)
    page = world.browser("rep").get(f"/r/lead/{record['id']}/convert?lang=zh")
    assert "转化为客户" in page.text and "确认转化" in page.text and "客户" in page.text


@pytest.fixture
def token(world):
    with world.site.engine.begin() as connection:
        return users.issue_token(connection, world.site.tables, "rep")


def test_the_api_plans_and_converts_with_duplicates_errors_and_refusals(world, token):
    existing = world.customer("Huaxin Precision", by="rep")
    record = lead(world)
    client = world.browser("rep").client
    auth = {"Authorization": f"Bearer {token}"}
    plan = client.get(f"/api/v1/lead/{record['id']}/convert", headers=auth).json()["targets"]
    assert plan["customer"]["values"]["name"] == "Huaxin Precision"
    assert plan["customer"]["candidates"] == [{"id": existing["id"], "title": "Huaxin Precision"}]
    assert plan["order"]["optional"] is True and plan["order"]["values"]["amount"] == "80000.00"
    asked = client.post(f"/api/v1/lead/{record['id']}/convert", headers=auth, json={})
    assert asked.status_code == 409 and asked.json()["error"] == "duplicates"
    bad = client.post(f"/api/v1/lead/{record['id']}/convert", headers=auth, json={"targets": {
        "customer": {"allow_duplicate": True}, "contact": {"values": {"name": ""}}}})
    assert bad.status_code == 422 and bad.json() == {"errors": {"contact.name": ["This field is required"]}}
    unknown = client.post(f"/api/v1/lead/{record['id']}/convert", headers=auth, json={"targets": {"nope": {}}})
    assert unknown.status_code == 400
    done = client.post(f"/api/v1/lead/{record['id']}/convert", headers=auth, json={"targets": {
        "customer": {"use": existing["id"]}, "order": {"include": False}}})
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["linked"] == {"customer": existing["id"]} and list(body["created"]) == ["contact"]
    assert body["source"]["status"] == "converted" and body["source"]["customer"] == existing["id"]
    again = client.post(f"/api/v1/lead/{record['id']}/convert", headers=auth, json={})
    assert again.status_code == 409 and again.json()["error"] == "converted"
    paths = client.get("/api/v1/openapi.json", headers=auth).json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/lead/{id}/convert"])


def test_another_reps_customer_of_the_same_name_is_not_revealed_by_the_duplicate_check(world, token):
    world.customer("Huaxin Precision", by="rep2")  # rep may not read it
    record = lead(world)
    rep = world.browser("rep")
    auth = {"Authorization": f"Bearer {token}"}
    plan = rep.client.get(f"/api/v1/lead/{record['id']}/convert", headers=auth).json()["targets"]["customer"]
    assert plan["candidates"] == [] and "hidden" not in plan
    page = rep.get(f"/r/lead/{record['id']}/convert")
    assert "Similar records already exist" not in page.text and 'name="customer._choice"' not in page.text
    done = rep.client.post(f"/api/v1/lead/{record['id']}/convert", headers=auth, json={})
    assert done.status_code == 201, done.text  # not a 409 "duplicates" pointing at the other rep's record
    assert count(world, "customer") == 2
