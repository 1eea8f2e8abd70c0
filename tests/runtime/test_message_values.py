"""What a notification says: `{field}` placeholders read as a person reads the record (the
option's label in their language, the linked record's title, the user's name, a time in the
blueprint's zone, a grouped amount), not stored codes and ids; on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from automation_kit import Clock, automation_site, inbox

MESSAGE = {"en": "{title} for {account} by {owner}: {lost_reason}, {amount}, {nothing}{missing}",
           "zh": "{title}（{account}，{owner}）：{lost_reason}，{amount}"}


@pytest.fixture
def world(tmp_path, database_url):
    return automation_site(tmp_path, database_url, Clock(), {"tell": {
        "entity": "deal", "on": "create", "do": [{"notify": {"to": "manager", "message": MESSAGE}}]}})


def test_placeholders_show_labels_titles_names_and_grouped_amounts(world):
    site, people = world
    account = site.records.create("account", {"name": "Acme"}, people.rep1)
    site.records.create("deal", {"title": "Robots", "account": account["id"], "amount": 1234567.5,
                                 "lost_reason": "price"}, people.rep1)
    told, = inbox(site, people.manager)  # the manager reads zh
    assert told == "Robots（Acme，rep1）：Price，1,234,567.50"
    with site.engine.connect() as connection:
        from atrium.runtime.automation.notifications import Notifications
        note, = Notifications(site.tables).list_for(connection, people.manager.user_id, limit=5)
    # no such fields ({nothing}, {missing}): as written
    assert note.text("en") == "Robots for Acme by rep1: Price, 1,234,567.50, {nothing}{missing}"


def test_a_time_reads_in_the_blueprints_zone(tmp_path, database_url):
    site, people = automation_site(tmp_path, database_url, Clock(), {"tell": {
        "entity": "account", "on": "create",
        "do": [{"notify": {"to": "owner", "message": "{name} at {last_touch_at}"}}]}})
    site.records.create("account", {"name": "Acme", "owner": people.rep1.user_id,
                                    "last_touch_at": dt.datetime(2026, 3, 15, 23, 30, tzinfo=dt.timezone.utc)},
                        people.rep1)
    assert inbox(site, people.rep1) == ["Acme at 2026-03-16 07:30"]  # Asia/Shanghai
