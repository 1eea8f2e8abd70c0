"""The permissions grid: every role against every entity, one role edited as a grid of scopes,
flags and field modes; the review says in words what each role gains and loses (in the admin's
language) and writes nothing; apply writes only the difference into the site overlay's roles.yaml,
the next request obeys it, and undo puts it back. Studio roles only, with the CSRF token."""
from __future__ import annotations

import re

import pytest
import yaml
from studio_kit import applied_version, open_form, submit, visible_text

PAGE = "/studio/permissions/sales_rep"


def test_the_overview_shows_every_role_against_every_entity(studio):
    page = studio.browser("boss").get("/studio/permissions")
    assert page.status_code == 200
    row = re.search(r'<tr data-entity="order">(.*?)</tr>', page.text, re.S).group(1)
    rep = re.search(r'data-role="sales_rep">(.*?)</td>', row, re.S).group(1)
    manager = re.search(r'data-role="sales_manager">(.*?)</td>', row, re.S).group(1)
    assert "S their own" in visible_text(rep) and "U their own" in visible_text(rep)
    assert "S their team&#39;s" in manager or "S their team's" in visible_text(manager)
    assert "everything" in re.search(r'data-role="admin">(.*?)</td>', row, re.S).group(1)


def test_the_review_says_what_the_role_gains_and_loses_and_writes_nothing(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, PAGE)
    assert fields["order.read"] == "own" and fields["field:order.margin"] == "hidden"
    fields.update({"order.read": "team", "order.delete": "own", "field:order.next_step": "readonly",
                   "field:order.margin": ""})
    fields.pop("customer.create")
    response = submit(boss, PAGE, fields, intent="review")
    assert response.status_code == 200
    said = visible_text(re.search(r'<div class="role-change" data-role="sales_rep">(.*?)</div>', response.text,
                                  re.S).group(1))
    gains, losses = said.split("Loses:")
    assert "See Orders: their own → their team's" in gains and "Delete Orders: nothing → their own" in gains
    assert "Field Margin of Orders: hidden → editable" in gains
    assert "Create Customers" in losses and "Field Next step of Orders: editable → read-only" in losses
    assert 'data-role="sales_manager"' not in response.text  # only the roles that change
    assert "roles.yaml" in response.text and "roles.yaml" not in studio.overlay_files() and studio.history_rows() == []


def test_applying_the_grid_writes_the_difference_the_rep_obeys_it_and_undo_restores(studio):
    boss, rep = studio.browser("boss"), studio.browser("rep")
    order = studio.order("Grid deal", next_step="Call back")
    assert re.search(r'<textarea[^>]*name="next_step"', rep.get(f"/r/order/{order['id']}/edit").text)
    fields = open_form(boss, PAGE)
    fields.update({"field:order.next_step": "readonly", "field:order.margin": ""})
    version = applied_version(submit(boss, PAGE, fields))
    written = yaml.safe_load(studio.overlay_files()["roles.yaml"])
    assert written == {"roles": {"sales_rep": {"fields": {"order.margin": {"remove": True},
                                                          "order.next_step": "readonly"}}}}
    role = studio.loaded().roles["sales_rep"]
    assert role.fields.get("order.next_step") == "readonly" and "order.margin" not in role.fields
    form = rep.get(f"/r/order/{order['id']}/edit").text
    assert not re.search(r'<textarea[^>]*name="next_step"', form) and "Call back" in form  # shown, not editable
    rep.post(f"/r/order/{order['id']}", data={"next_step": "Changed", "version": "1", "name": "Grid deal"})
    assert studio.get("order", order["id"])["next_step"] == "Call back"
    history = visible_text(boss.get("/studio/history").text)
    assert f"#{version}" in history and "Permissions of Sales rep" in history
    undone = boss.post(f"/studio/history/{version}/undo", data={"version": str(version), "confirm": "yes"},
                       follow_redirects=False)
    assert undone.status_code == 303
    assert re.search(r'<textarea[^>]*name="next_step"', rep.get(f"/r/order/{order['id']}/edit").text)
    assert studio.app.state.site.blueprint.roles["sales_rep"].fields["order.margin"] == "hidden"


def test_flags_and_the_public_pool_from_the_grid(studio):
    boss = studio.browser("boss")
    page = "/studio/permissions/finance"
    fields = open_form(boss, page)
    assert "customer.pool" not in fields
    fields.update({"studio": "yes", "customer.pool": "yes"})
    applied_version(submit(boss, page, fields))
    role = studio.app.state.site.blueprint.roles["finance"]
    assert role.studio and role.grant("customer").pool
    fields = open_form(boss, "/studio/permissions/admin")
    fields.pop("all")
    review = submit(boss, "/studio/permissions/admin", fields, intent="review")
    said = visible_text(review.text)
    assert "Loses: − Everything: every record of every entity, every field" in said


def test_the_review_speaks_chinese_to_a_chinese_admin(studio):
    boss = studio.browser("boss")
    boss.post("/language", data={"locale": "zh"})
    fields = open_form(boss, PAGE)
    fields.update({"field:order.next_step": "readonly"})
    response = submit(boss, PAGE, fields, intent="review")
    said = visible_text(response.text)
    assert "失去" in said and "只读" in said


def test_a_value_the_grid_does_not_offer_is_refused(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, PAGE)
    response = submit(boss, PAGE, {**fields, "order.read": "everyone"}, intent="apply")
    assert response.status_code == 400
    assert "'everyone' is not one of: none, own, team, all" in visible_text(response.text)
    assert "roles.yaml" not in studio.overlay_files()


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_the_grid_is_for_studio_roles_only(studio, who):
    browser = studio.browser(who)
    assert browser.get("/studio/permissions").status_code == 404
    assert browser.get(PAGE).status_code == 404
    response = browser.post(PAGE, data={"intent": "apply", "all": "yes", "studio": "yes"})
    assert response.status_code == 404 and "roles.yaml" not in studio.overlay_files()


def test_the_grid_needs_the_csrf_token(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, PAGE)
    response = boss.client.post(PAGE, data={**fields, "all": "yes", "intent": "apply"}, follow_redirects=False)
    assert response.status_code == 403 and "roles.yaml" not in studio.overlay_files() and studio.history_rows() == []
