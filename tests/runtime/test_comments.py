"""Comments on records: @mentions only of people who may read the record (else refused, nothing
written), the mentioned told in their inbox, edit and delete of one's own, stale edits refused,
and the global search finding a record by its comments under the searcher's access."""
from __future__ import annotations

import pytest
from automation_kit import Clock, automation_site, inbox, rows

from atrium.runtime.access.secured import AccessDenied
from atrium.runtime.comments.mentions import mentioned_names, typed_prefix
from atrium.runtime.comments.service import CommentStale
from atrium.runtime.records.service import RecordNotFound, ValidationFailed


@pytest.fixture
def world(tmp_path, database_url):
    clock = Clock()
    site, people = automation_site(tmp_path, database_url, clock)
    account = site.records.create("account", {"name": "Tiancheng Construction", "owner": people.rep1.user_id},
                                  people.rep1)
    return site, people, account, clock


def test_mentions_are_names_after_a_space_not_email_addresses():
    assert mentioned_names("@manager please look, and @wang.fang. Mail li@example.com @manager") == [
        "manager", "wang.fang"]
    assert typed_prefix("ask @man") == "man"
    assert typed_prefix("ask @") == ""
    assert typed_prefix("mail li@exa") is None


def test_a_mention_tells_the_person_in_their_inbox(world):
    site, people, account, _ = world
    comment = site.comments.add(people.rep1, "account", account["id"], "@manager can you call them today?")
    assert comment.author == "rep1" and comment.mentions == (people.manager.user_id,)
    assert inbox(site, people.manager) == [  # the manager reads Chinese
        "rep1 在 Tiancheng Construction 中提到了你：@manager can you call them today?"]
    notice = rows(site, "atrium_notifications", user_id=people.manager.user_id)[0]
    assert (notice["entity"], notice["record_id"]) == ("account", account["id"])
    assert [c.body for c in site.comments.of_record(people.manager, "account", account["id"])] == [comment.body]


def test_a_mention_of_someone_who_cannot_read_the_record_is_refused_and_nothing_saved(world):
    site, people, account, _ = world
    with pytest.raises(ValidationFailed) as refused:
        site.comments.add(people.rep1, "account", account["id"], "@manager and @rep3, look")
    assert refused.value.errors == {"text": ["@rep3 cannot see this record, so cannot be mentioned here"]}
    with pytest.raises(ValidationFailed) as unknown:
        site.comments.add(people.rep1, "account", account["id"], "@nobody look")
    assert unknown.value.errors == {"text": ["No one here is called @nobody"]}
    assert rows(site, "atrium_comments") == []
    assert inbox(site, people.manager) == [] and inbox(site, people.rep3) == []


def test_completion_lists_only_people_who_may_read_the_record(world):
    site, people, account, _ = world
    with site.engine.connect() as connection:
        readers = site.comments.mentions.readers(connection, "account", account["id"])
        assert [p.name for p in readers] == ["admin", "manager", "rep1"]  # not rep2 (own scope), not rep3 (west)
        assert [p.name for p in site.comments.mentions.readers(connection, "account", account["id"], "MA")] == [
            "manager"]


def test_a_record_the_writer_cannot_read_takes_no_comment(world):
    site, people, account, _ = world
    with pytest.raises(RecordNotFound):
        site.comments.add(people.rep2, "account", account["id"], "hello")
    with pytest.raises(RecordNotFound):
        site.comments.of_record(people.rep3, "account", account["id"])


def test_only_the_author_edits_a_stale_edit_is_refused_and_new_mentions_are_told(world):
    site, people, account, clock = world
    comment = site.comments.add(people.rep1, "account", account["id"], "first draft")
    with pytest.raises(AccessDenied):
        site.comments.edit(people.manager, "account", account["id"], comment.id, "not mine", comment.version)
    clock.advance(minutes=3)
    edited = site.comments.edit(people.rep1, "account", account["id"], comment.id, "now with @manager",
                                comment.version)
    assert (edited.body, edited.version, edited.edited_at) == ("now with @manager", 2, clock.now)
    with pytest.raises(CommentStale):
        site.comments.edit(people.rep1, "account", account["id"], comment.id, "from an old page", comment.version)
    assert site.comments.of_record(people.rep1, "account", account["id"])[0].body == "now with @manager"
    site.comments.edit(people.rep1, "account", account["id"], comment.id, "again @manager", edited.version)
    assert len(inbox(site, people.manager)) == 1  # told once, when first mentioned


def test_the_author_or_an_admin_deletes_nobody_else(world):
    site, people, account, _ = world
    first = site.comments.add(people.rep1, "account", account["id"], "one")
    second = site.comments.add(people.rep1, "account", account["id"], "two")
    with pytest.raises(AccessDenied):
        site.comments.delete(people.manager, "account", account["id"], first.id)
    site.comments.delete(people.rep1, "account", account["id"], first.id)
    site.comments.delete(people.admin, "account", account["id"], second.id)
    assert site.comments.of_record(people.rep1, "account", account["id"]) == []
    kept = rows(site, "atrium_comments")  # kept, marked deleted by whom
    assert [(r["body"], r["deleted_by"]) for r in kept] == [("one", people.rep1.user_id),
                                                            ("two", people.admin.user_id)]
    with pytest.raises(CommentStale):
        site.comments.edit(people.rep1, "account", account["id"], first.id, "back", 2)


def test_the_global_search_finds_a_record_by_its_comment_under_access(world):
    site, people, account, _ = world
    site.comments.add(people.rep1, "account", account["id"], "Budget approved by the 采购部 last week")
    with site.engine.connect() as connection:
        hits = site.search.search(connection, people.manager, "采购部 budget")
        assert [(h.entity, h.id, h.field) for h in hits] == [("account", account["id"], None)]
        assert "采购部" in hits[0].snippet
        assert site.search.search(connection, people.rep3, "采购部") == []  # another team's record
    site.comments.delete(people.rep1, "account", account["id"], site.comments.of_record(
        people.rep1, "account", account["id"])[0].id)
    with site.engine.connect() as connection:
        assert site.search.search(connection, people.manager, "采购部") == []


def test_a_record_in_the_bin_keeps_its_comments_and_a_purge_removes_them(world):
    site, people, account, _ = world
    site.comments.add(people.rep1, "account", account["id"], "call on Monday")
    site.records.delete("account", account["id"], people.admin)
    entry, = site.trash.entries(people.admin)
    site.trash.restore(people.admin, entry["id"])
    assert [c.body for c in site.comments.of_record(people.rep1, "account", account["id"])] == ["call on Monday"]
    site.records.delete("account", account["id"], people.admin)
    entry, = site.trash.entries(people.admin)
    site.trash.purge(people.admin, entry["id"])
    assert rows(site, "atrium_comments") == []
