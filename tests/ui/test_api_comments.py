"""Comments in the JSON API: add (201; 422 with the reason under `text` for a mention of someone
who cannot read the record, nothing saved; 404 for a record the caller cannot read), list newest
first, the mentioned told, and both operations in the OpenAPI document."""
from __future__ import annotations

from starlette.testclient import TestClient

from atrium.runtime.access import users


def _api(world):
    with world.site.engine.begin() as connection:
        tokens = {name: users.issue_token(connection, world.site.tables, name) for name in world.ids}
    client = TestClient(world.app)
    world.clients.append(client)

    def call(method: str, path: str, user: str, lang: str = "en", **kwargs):
        headers = {"Authorization": f"Bearer {tokens[user]}", "Accept-Language": lang}
        return client.request(method, "/api/v1/" + path, headers=headers, **kwargs)
    return call


def test_add_and_list_comments_with_a_mention(world):
    api = _api(world)
    customer = world.customer("Tiancheng Construction")
    path = f"customer/{customer['id']}/comments"
    added = api("POST", path, "rep", json={"text": "@manager they signed"})
    assert added.status_code == 201, added.text
    comment = added.json()
    assert (comment["text"], comment["author"], comment["mentions"], comment["version"]) == (
        "@manager they signed", "Rep Li", [world.ids["manager"]], 1)
    api("POST", path, "manager", json={"text": "great"})
    listed = api("GET", path, "manager")
    assert [c["text"] for c in listed.json()["data"]] == ["great", "@manager they signed"]
    assert [c["text"] for c in api("GET", path + "?limit=1", "rep").json()["data"]] == ["great"]
    inbox = world.browser("manager").get("/notifications").text
    assert "Rep Li mentioned you on Tiancheng Construction" in inbox


def test_refusals(world):
    api = _api(world)
    customer = world.customer("Tiancheng Construction")
    path = f"customer/{customer['id']}/comments"
    refused = api("POST", path, "rep", json={"text": "@rep2 look"})
    assert refused.status_code == 422
    assert refused.json() == {"errors": {
        "text": ["@rep2 cannot see this record, so cannot be mentioned here"]}}
    assert api("POST", path, "rep", json={"text": "   "}).status_code == 422
    assert api("POST", path, "rep", json={"text": 5}).status_code == 422
    assert api("POST", path, "rep", content=b"[1]").status_code == 400
    assert api("GET", path, "rep").json()["data"] == []  # nothing was saved
    assert api("GET", path, "rep2").status_code == 404  # not theirs to read
    assert api("POST", path, "rep2", json={"text": "hi"}).status_code == 404
    assert api("GET", "nothing/1/comments", "rep").status_code == 404
    assert api("GET", "customer/0/comments", "rep").status_code == 400


def test_the_document_describes_comments(world):
    api = _api(world)
    document = api("GET", "openapi.json", "rep").json()
    operations = document["paths"]["/api/v1/customer/{id}/comments"]
    assert set(operations) >= {"get", "post"}
    assert "Comment" in document["components"]["schemas"]
