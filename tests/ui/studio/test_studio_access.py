"""Who may use the studio: roles with `studio: true` only (everyone else gets a 404, as for a page
that is not there); signed-out visitors go to the login page; every POST needs the session's
CSRF token, and nothing is written without it."""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from studio_kit import visible_text

PAGES = ["/studio", "/studio/history", "/studio/history/1", "/studio/entities/new", "/studio/entities/order",
         "/studio/entities/order/fields/new", "/studio/entities/order/fields/amount", "/studio/views/order",
         "/studio/pipelines/order", "/studio/reports/new", "/studio/reports/pipeline_by_stage",
         "/studio/dashboards/new", "/studio/dashboards/sales_rep", "/studio/yaml/roles/roles",
         "/studio/yaml/automation/new", "/studio/automations/new", "/studio/automations/nudge_stalled_orders",
         "/studio/entities/order/checks"]
POSTS = ["/studio/entities", "/studio/entities/order", "/studio/entities/order/fields",
         "/studio/entities/order/fields/amount", "/studio/entities/order/fields/amount/hide",
         "/studio/entities/order/fields/amount/rename", "/studio/check-expression", "/studio/views/order",
         "/studio/pipelines/order", "/studio/reports/new", "/studio/reports/pipeline_by_stage/preview",
         "/studio/dashboards/sales_rep", "/studio/yaml/roles/roles", "/studio/yaml/roles/roles/check",
         "/studio/history/1/undo", "/studio/history/1/restore", "/studio/automations/new",
         "/studio/automations/nudge_stalled_orders", "/studio/entities/order/checks"]


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_roles_without_studio_get_404_everywhere(studio, who):
    browser = studio.browser(who)
    for path in PAGES:
        response = browser.get(path)
        assert response.status_code == 404, path
    for path in POSTS:
        response = browser.post(path, data={"intent": "apply", "label_en": "x", "text": "roles: {}"})
        assert response.status_code == 404, path
    assert 'href="/studio"' not in browser.get("/").text
    assert studio.history_rows() == [] and studio.overlay_files() == {}


def test_signed_out_visitors_are_sent_to_sign_in(studio):
    client = TestClient(studio.app)
    studio.clients.append(client)
    response = client.get("/studio/entities/order", follow_redirects=False)
    assert response.status_code == 303 and "/login?next=" in response.headers["location"]


def test_every_post_needs_the_csrf_token(studio):
    boss = studio.browser("boss")
    boss.get("/studio")
    for path in POSTS:
        response = boss.client.post(path, data={"intent": "apply", "label_en": "Changed", "text": "roles: {}"},
                                    follow_redirects=False)
        assert response.status_code == 403, path
        assert "The form expired" in visible_text(response.text)
    assert studio.history_rows() == [] and studio.overlay_files() == {}


def test_the_admin_sees_the_studio_and_its_link(studio):
    boss = studio.browser("boss")
    assert 'href="/studio"' in boss.get("/").text
    for path in [p for p in PAGES if p != "/studio/history/1"]:
        assert boss.get(path).status_code == 200, path
    assert boss.get("/studio/history/1").status_code == 404  # no such version yet
    assert boss.get("/studio/entities/nothing").status_code == 404
    assert boss.get("/studio/yaml/blueprint/blueprint").status_code == 404  # not editable here
