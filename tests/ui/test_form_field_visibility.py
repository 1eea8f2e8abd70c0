"""A field's own `visible_when` on the b2b visit form: the check-in location shows only for a
visit on site, live as the kind changes (form-state), is not taken from a submission while hidden,
and is left off the record's page."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.database

PLAN = [("_fields", n) for n in ("customer", "planned_at", "status", "kind")]


def location_block(page: str) -> str:
    match = re.search(r'<div class="field wide" id="field-location"( hidden)?>', page)
    assert match, "no location field"
    return match.group(0)


def test_the_location_appears_when_the_kind_is_on_site_and_goes_when_it_is_not(world):
    rep = world.browser("rep")
    acme = world.customer("Acme")
    done = [("customer", acme["id"]), ("planned_at", "2026-05-20T10:00"), ("status", "done")]
    video = rep.post("/r/visit/form-state", PLAN + done + [("kind", "video"), ("_touched_now", "kind")])
    assert video.status_code == 200 and location_block(video.text).endswith(" hidden>")
    assert 'id="field-visited_at">' in video.text  # the section shows; only the field is hidden
    kind = re.search(r'<select id="f-kind" name="kind"[^>]*>', video.text).group(0)
    assert 'hx-post="/r/visit/form-state"' in kind  # the kind drives the form
    on_site = rep.post("/r/visit/form-state", PLAN + done + [("kind", "on_site"), ("_touched_now", "kind")])
    assert not location_block(on_site.text).endswith(" hidden>")


def test_a_hidden_location_is_not_taken_and_not_shown_on_the_page(world):
    rep = world.browser("rep")
    acme = world.customer("Acme")
    posted = PLAN + [("_fields", "visited_at"), ("_fields", "location"), ("customer", acme["id"]),
                     ("planned_at", "2026-05-20T10:00"), ("status", "done"), ("visited_at", "2026-05-20T11:00"),
                     ("location__lat", "31.23"), ("location__lng", "121.47"), ("location__address", "上海")]
    call = rep.post("/r/visit", posted + [("kind", "phone")], follow_redirects=False)
    assert call.status_code == 303, call.text
    phoned = world.get("visit", int(call.headers["location"].rsplit("/", 1)[1]))
    assert phoned["location"] is None
    met = rep.post("/r/visit", posted + [("kind", "on_site")], follow_redirects=False)
    met_id = int(met.headers["location"].rsplit("/", 1)[1])
    assert world.get("visit", met_id)["location"]["address"] == "上海"
    assert "Check-in location" in rep.get(f"/r/visit/{met_id}").text
    world.site.records.update("visit", met_id, {"kind": "video"})  # the location stays stored, unshown
    page = rep.get(f"/r/visit/{met_id}").text
    assert "Check-in location" not in page and "上海" not in page
    assert world.get("visit", met_id)["location"]["address"] == "上海"
