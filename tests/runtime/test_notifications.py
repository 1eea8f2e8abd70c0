"""The in-app inbox: a user's notifications, unread count, marking read, links to records."""
from __future__ import annotations

import datetime as dt

import pytest
from automation_kit import Clock, automation_site

from atrium.runtime.automation.notifications import Notifications


@pytest.fixture
def clock():
    return Clock()


def test_inbox_lists_counts_and_marks_read_per_user(tmp_path, database_url, clock):
    site, people = automation_site(tmp_path, database_url, clock)
    inbox = Notifications(site.tables)
    with site.engine.begin() as connection:
        inbox.send(connection, [
            {"user_id": people.rep1.user_id, "message": {"en": "First", "zh": "第一"}, "entity": "deal",
             "record_id": 7, "rule": "r"},
            {"user_id": people.rep1.user_id, "message": {"en": "Second"}, "link": "/reports/x"},
            {"user_id": people.rep2.user_id, "message": {"": "Plain"}},
        ], clock.now)
    with site.engine.connect() as connection:
        mine = inbox.list_for(connection, people.rep1.user_id)
        assert [n.text("zh", "en") for n in mine] == ["Second", "第一"]  # newest first, in the reader's language
        assert [n.href for n in mine] == ["/reports/x", "/r/deal/7"]
        assert inbox.unread_count(connection, people.rep1.user_id) == 2
        assert inbox.list_for(connection, people.rep2.user_id)[0].text("en") == "Plain"
    with site.engine.begin() as connection:
        # a user marks only their own: rep2's notification id is ignored
        other = inbox.list_for(connection, people.rep2.user_id)[0].id
        assert inbox.mark_read(connection, people.rep1.user_id, clock.now, [mine[1].id, other]) == 1
    with site.engine.connect() as connection:
        assert inbox.unread_count(connection, people.rep1.user_id) == 1
        assert inbox.unread_count(connection, people.rep2.user_id) == 1
        assert [n.text("en") for n in inbox.list_for(connection, people.rep1.user_id, unread_only=True)] == ["Second"]
    with site.engine.begin() as connection:
        clock.advance(minutes=5)
        assert inbox.mark_read(connection, people.rep1.user_id, clock.now) == 1
    with site.engine.connect() as connection:
        assert inbox.unread_count(connection, people.rep1.user_id) == 0
        read = inbox.list_for(connection, people.rep1.user_id)
        assert [n.read_at for n in read] == [clock.now, clock.now - dt.timedelta(minutes=5)]
        assert inbox.list_for(connection, people.rep1.user_id, before_id=read[0].id)[0].id == read[1].id
