"""A field's own `visible_when`, live in a real browser: on a rep's new visit the check-in location
(in the Result section, shown once the visit is done) shows for a visit on site, goes when the
kind becomes a video call, and comes back, without a save."""
from __future__ import annotations

import re

from browser_kit import sign_in
from playwright.sync_api import expect


def test_the_location_comes_and_goes_with_the_kind_of_visit(page, server):
    sign_in(page, "rep1")
    page.goto("/r/visit/new")
    expect(page).to_have_url(re.compile(r"/r/visit/new$"))
    location = page.locator("#field-location")
    expect(page.locator("#f-kind")).to_have_value("on_site")
    page.select_option("#f-status", "done")
    expect(location).to_be_visible()
    page.select_option("#f-kind", "video")
    expect(location).to_be_hidden()   # the form's body came back from form-state without it
    expect(page.locator("#field-visited_at")).to_be_visible()  # the rest of its section stays
    page.select_option("#f-kind", "on_site")
    expect(location).to_be_visible()
