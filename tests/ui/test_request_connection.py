"""A request takes one connection for its identity (the metadata version and the session's user)
and one for its page (the records and the header's badges), shared by the code of each phase and
given back to the pool as soon as the phase is done."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from atrium.ui.web.request_connection import RequestConnection, request_connection

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def checkouts(engine, browser, path: str) -> tuple[int, int, int]:
    """(connections taken, connections given back, status) of one request."""
    taken: list[object] = []
    returned: list[object] = []

    def on_checkout(*_args) -> None:
        taken.append(1)

    def on_checkin(*_args) -> None:
        returned.append(1)

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)
    try:
        status = browser.get(path).status_code
    finally:
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "checkin", on_checkin)
    return len(taken), len(returned), status


def test_a_detail_and_a_list_page_take_two_connections_and_give_both_back(world):
    order = world.order("Deal", amount=100)
    rep = world.browser("rep")
    rep.get("/r/order")  # warm: the first request of a process reads more (the metadata history table)
    for path in (f"/r/order/{order['id']}", "/r/order"):
        taken, returned, status = checkouts(world.site.engine, rep, path)
        assert status == 200
        assert (taken, returned) == (2, 2), path  # was 4: watcher, user, page and badges each their own


def test_code_of_one_phase_shares_one_connection_and_gives_it_back_at_the_end(world):
    holder = RequestConnection()
    scope = {"state": {"request_connection": holder}}
    engine = world.site.engine
    with request_connection(scope, engine) as outer:
        with request_connection(scope, engine) as inner:
            assert inner is outer  # nested code borrows the phase's connection
        assert not outer.closed  # the inner borrower does not end the phase
    assert outer.closed and holder.connection is None
    with request_connection(scope, engine) as next_phase:
        assert next_phase is not outer
    assert holder.opened == 2


def test_an_error_in_a_phase_gives_its_connection_back(world):
    holder = RequestConnection()
    scope = {"state": {"request_connection": holder}}
    with pytest.raises(RuntimeError):
        with request_connection(scope, world.site.engine) as connection:
            raise RuntimeError("boom")
    assert connection.closed and holder.connection is None
