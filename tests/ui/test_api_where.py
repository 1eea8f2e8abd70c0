"""`GET /api/v1/{entity}?where=...`: OR and nesting in API filters, in the metadata's own condition
language, checked like the query string's filters (unknown or hidden fields, operators, values)."""
from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import quote

import pytest
from test_api import api, customer, expected, order, orders  # noqa: F401  (fixtures shared with the API tests)

pytestmark = pytest.mark.database


def where_names(api, condition, extra: str = "", user: str = "ann") -> set[str]:  # noqa: F811
    response = api("GET", f"order?limit=500{extra}&where={quote(json.dumps(condition))}", user)
    assert response.status_code == 200, response.text
    return {r["name"] for r in response.json()["data"]}


def refusal(api, raw: str) -> dict:  # noqa: F811
    response = api("GET", f"order?where={quote(raw)}", lang="en")
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "bad_request" and body["parameter"] == "where"
    return body


def test_any_matches_records_that_meet_one_of_the_conditions(api, orders):  # noqa: F811
    def amount(o):
        return Decimal(o["amount"]) if o["amount"] else None

    either = {"any": [{"stage": "negotiation"}, {"amount": {"gte": 1750}}]}
    assert where_names(api, either) == expected(
        orders, lambda o: o["stage"] == "negotiation" or (amount(o) or 0) >= 1750)
    # the rest of the query string still applies (AND), and any/all nest
    assert where_names(api, either, "&tags=key_account") == expected(
        orders, lambda o: o["tags"] and (o["stage"] == "negotiation" or (amount(o) or 0) >= 1750))
    nested = {"any": [{"amount": {"is_set": False}},
                      {"all": [{"stage": {"in": ["proposal", "negotiation"]}}, {"customer.level": "vip"}]}]}
    assert where_names(api, nested) == expected(
        orders, lambda o: o["amount"] is None
        or o["stage"] in ("proposal", "negotiation") and int(o["name"][-2:]) % 2)
    assert where_names(api, {"stage": {"in": ["won", "lost"]}}) == set()


def test_where_never_reaches_records_or_fields_the_caller_may_not_see(api, orders):  # noqa: F811
    assert "bo's deal" not in where_names(api, {"any": [{"amount": {"gte": 0}}, {"amount": {"is_set": False}}]})
    assert where_names(api, {"any": [{"name": "bo's deal"}]}, user="boss") == {"bo's deal"}
    hidden = refusal(api, json.dumps({"any": [{"margin": {"gt": 0}}, {"stage": "won"}]}))
    assert "There is no field 'margin'" in hidden["message"]
    assert api("GET", "order?where=" + quote(json.dumps({"margin": {"gt": 0}})), "boss").status_code == 200  # admin


@pytest.mark.parametrize("raw, text", [
    ('{"any": [{"nope": 1}]}', "There is no field 'nope'"),
    ('{"amount": {"near": 1}}', "'near' is not a filter operator"),
    ('{"amount": {"contains": "1"}}', "does not apply to a money field"),
    ('{"any": [{"stage": "sold"}]}', "'sold' is not a stage"),
    ('{"all": [{"amount": {"gte": "lots"}}]}', "Must be a number"),
    ('{"any": {"stage": "won"}}', "takes a list of conditions"),
    ('{"any": []}', "takes a list of conditions"),
    ('{"q": "x"}', "There is no field 'q'"),
    ('{"stage__in": "won"}', "There is no field 'stage__in'"),
    ('[1, 2]', "must be a JSON object"),
    ('not json', "must be a JSON object"),
    ('{"any": [{"any": [{"any": [{"any": [{"any": [{"stage": "won"}]}]}]}]}]}', "more than 4 deep"),
])
def test_a_bad_where_is_400_saying_what_is_wrong(api, raw, text):  # noqa: F811
    assert text in refusal(api, raw)["message"]


def test_where_messages_follow_the_callers_language(api):  # noqa: F811
    response = api("GET", "order?where=" + quote('{"any": 1}'))  # ann reads Chinese
    assert response.status_code == 400
    assert "any" in response.json()["message"] and "takes a list" not in response.json()["message"]


def test_the_document_describes_where(api):  # noqa: F811
    document = api("GET", "openapi.json").json()
    parameters = document["paths"]["/api/v1/order"]["get"]["parameters"]
    where = next(p for p in parameters if p["name"] == "where")
    assert where["in"] == "query" and "any" in where["description"]
