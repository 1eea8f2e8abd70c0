"""One error handler per surface: whatever AtriumError an endpoint raises, the pages answer with
the notice page (the error's status; its own text, or the reader's word when the text is not for
people) and the JSON API with the error's payload."""
from __future__ import annotations

import pytest
from starlette.responses import Response
from starlette.routing import Route

from atrium.errors import AtriumError
from atrium.runtime.records.errors import RecordNotFound
from tests.ui.test_app import make_client, sign_in


class Teapot(AtriumError):
    status, code = 418, "teapot"


async def teapot(request) -> Response:
    raise Teapot("短而粗 <b>")


async def missing(request) -> Response:
    raise RecordNotFound("secret_entity 42")


@pytest.fixture
def client(engine, database_url, design_blueprint):
    client, site = make_client(engine, database_url, design_blueprint)
    client.app.router.routes[:0] = [Route("/teapot", teapot), Route("/api/v1/teapot/x", teapot),
                                    Route("/missing", missing), Route("/api/v1/missing/x", missing)]
    with client:
        sign_in(client, "rep", "rep-pass")
        yield client


def test_a_page_shows_the_errors_text_with_its_status(client):
    page = client.get("/teapot")
    assert page.status_code == 418 and page.headers["content-type"].startswith("text/html")
    assert "短而粗 &lt;b&gt;" in page.text  # escaped like any text


def test_a_page_says_not_found_without_naming_what(client):
    for headers in ({}, {"HX-Request": "true"}):
        page = client.get("/missing", headers=headers)
        assert page.status_code == 404 and "secret_entity" not in page.text


def test_the_api_answers_with_the_errors_payload(client):
    answer = client.get("/api/v1/teapot/x")
    assert answer.status_code == 418 and answer.json() == {"error": "teapot", "message": "短而粗 <b>"}
    missing = client.get("/api/v1/missing/x")
    assert missing.status_code == 404 and missing.json() == {"error": "not_found"}
