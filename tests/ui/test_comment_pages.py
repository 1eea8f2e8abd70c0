"""Comments on the detail page: the box, the @name completion (readers of the record only), a
refused mention beside the box with nothing saved, edit and delete of one's own, and the comment
found by the global search page."""
from __future__ import annotations

import html
import re


def _comments(world) -> list[dict]:
    table = world.site.tables.system("atrium_comments")
    with world.site.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(table.select().order_by(table.c.id))]


def _text(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


def test_a_comment_shows_in_the_timeline_and_tells_the_mentioned(world):
    customer = world.customer("Tiancheng Construction")
    rep = world.browser("rep")
    page = rep.get(f"/r/customer/{customer['id']}")
    assert 'action="/r/customer/%d/comments"' % customer["id"] in page.text
    sent = rep.post(f"/r/customer/{customer['id']}/comments", {"text": "@manager <b>call</b> them today"},
                    follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].endswith("#comments")
    page = rep.get(f"/r/customer/{customer['id']}")
    assert "@manager &lt;b&gt;call&lt;/b&gt; them today" in page.text  # escaped, never markup
    manager = world.browser("manager")
    inbox = manager.get("/notifications")
    assert "Rep Li mentioned you on Tiancheng Construction: @manager &lt;b&gt;call&lt;/b&gt; them today" in inbox.text
    opened = manager.get(re.search(r'href="(/notifications/\d+)"', inbox.text).group(1), follow_redirects=False)
    assert opened.headers["location"] == f"/r/customer/{customer['id']}"


def test_a_mention_of_someone_who_cannot_see_the_record_is_refused_beside_the_box(world):
    customer = world.customer("Tiancheng Construction")
    rep = world.browser("rep")
    refused = rep.post(f"/r/customer/{customer['id']}/comments", {"text": "@rep2 have a look"})
    assert refused.status_code == 422
    assert 'id="comment-error"' in refused.text
    assert "@rep2 cannot see this record, so cannot be mentioned here" in _text(refused.text)
    assert ">@rep2 have a look</textarea>" in refused.text  # the text kept to fix
    assert _comments(world) == []
    rep.post("/language", {"locale": "zh"})
    zh = rep.post(f"/r/customer/{customer['id']}/comments", {"text": "@nobody 看看"})
    assert zh.status_code == 422 and "这里没有叫 @nobody 的人" in _text(zh.text)
    assert _comments(world) == []
    rep.post("/language", {"locale": "en"})  # the choice is the user's, kept for the module's next tests


def test_completion_offers_only_people_who_can_see_the_record(world):
    customer = world.customer("Tiancheng Construction")
    rep = world.browser("rep")
    offered = rep.get(f"/r/customer/{customer['id']}/mentions", params={"text": "hi @"}, htmx=True)
    names = re.findall(r'data-name="([^"]+)"', offered.text)
    assert names == ["boss", "manager"]  # not rep2 (own scope), not the writer
    assert re.findall(r'data-name="([^"]+)"', rep.get(f"/r/customer/{customer['id']}/mentions",
                                                      params={"text": "hi @Man"}).text) == ["manager"]
    assert "data-name" not in rep.get(f"/r/customer/{customer['id']}/mentions", params={"text": "no at"}).text
    assert world.browser("rep2").get(f"/r/customer/{customer['id']}/mentions", params={"text": "@"}).status_code == 404


def test_edit_and_delete_are_the_authors_and_a_stale_edit_is_refused(world):
    customer = world.customer("Tiancheng Construction")
    rep = world.browser("rep")
    rep.post(f"/r/customer/{customer['id']}/comments", {"text": "first draft"})
    comment = _comments(world)[0]
    manager = world.browser("manager")
    page = manager.get(f"/r/customer/{customer['id']}")
    assert "first draft" in page.text and f"/comments/{comment['id']}/delete" not in page.text
    assert manager.post(f"/r/customer/{customer['id']}/comments/{comment['id']}",
                        {"text": "not mine", "version": 1}).status_code == 403
    base = f"/r/customer/{customer['id']}/comments/{comment['id']}"
    assert rep.post(base, {"text": "second draft", "version": 1}, follow_redirects=False).status_code == 303
    stale = rep.post(base, {"text": "from an old page", "version": 1})
    assert stale.status_code == 409
    assert "Someone changed this comment after you opened it" in _text(stale.text)
    assert ">from an old page</textarea>" in stale.text
    page = rep.get(f"/r/customer/{customer['id']}")
    assert "second draft" in page.text and "(edited " in page.text
    assert rep.post(base + "/delete", {}, follow_redirects=False).status_code == 303
    assert "second draft" not in rep.get(f"/r/customer/{customer['id']}").text
    assert _comments(world)[0]["deleted_by"] == world.ids["rep"]


def test_the_search_page_finds_the_record_by_its_comment(world):
    customer = world.customer("Tiancheng Construction")
    rep = world.browser("rep")
    rep.post(f"/r/customer/{customer['id']}/comments", {"text": "they want the 采购部 quote by Friday"})
    found = world.browser("manager").get("/search", params={"q": "采购部"})
    assert f'/r/customer/{customer["id"]}' in found.text and "Comment: " in _text(found.text)
    assert f'/r/customer/{customer["id"]}' not in world.browser("rep2").get("/search", params={"q": "采购部"}).text
