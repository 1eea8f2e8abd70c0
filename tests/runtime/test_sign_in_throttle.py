"""The sign-in throttle's counts: atomic under parallel attempts on both databases, a sliding
window (the previous window weighs as much as still overlaps), waits rounded up, old counts
forgotten."""
from __future__ import annotations

import datetime as dt
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from atrium.runtime.access import sign_in_throttle as throttle
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.schema.tables import build_tables

# the start of a window: WINDOW divides the epoch seconds of this moment
START = dt.datetime.fromtimestamp(1_800_000_000 // throttle.WINDOW * throttle.WINDOW, dt.timezone.utc)


def test_parallel_attempts_each_get_their_own_count(engine, design_blueprint):
    migrate(engine, design_blueprint)
    tables = build_tables(design_blueprint)
    start = threading.Barrier(30)

    def attempt(_: int) -> throttle.Attempt:
        start.wait()
        return throttle.attempt(engine, tables, "rep", "203.0.113.7", START)

    with ThreadPoolExecutor(30) as pool:
        attempts = list(pool.map(attempt, range(30)))
    assert sum(not a.refused for a in attempts) == throttle.ACCOUNT_LIMIT
    table = tables.system("atrium_sign_in_counts")
    with engine.connect() as connection:
        counts = sorted(connection.execute(sa.select(table.c.current)).scalars())
    assert counts == [30, 30, 30]  # address, account, pair: none lost


def test_the_window_slides_and_waits_round_up(engine, design_blueprint):
    migrate(engine, design_blueprint)
    tables = build_tables(design_blueprint)
    for _ in range(throttle.ACCOUNT_LIMIT):
        assert not throttle.attempt(engine, tables, "rep", "203.0.113.7", START).refused
    refused = throttle.attempt(engine, tables, "rep", "203.0.113.7", START + dt.timedelta(seconds=0.4))
    # 6 attempts, 5 allowed: until the next window, then a sixth of it; 0.4 s gone: rounded up, not down
    assert refused.wait_seconds == math.ceil(throttle.WINDOW - 0.4 + throttle.WINDOW / 6)
    assert refused.wait_seconds > throttle.WINDOW - 0.4 + throttle.WINDOW / 6
    later = START + dt.timedelta(seconds=throttle.WINDOW * 1.1)  # a tenth into the next window
    assert throttle.attempt(engine, tables, "rep", "203.0.113.7", later).refused  # 6 x 0.9 + 1 > 5: they still weigh
    fresh = throttle.attempt(engine, tables, "rep", "203.0.113.7", START + dt.timedelta(seconds=throttle.WINDOW * 2.9))
    assert not fresh.refused  # the hammering is nearly out of the window


def test_counts_a_window_no_longer_reaches_are_forgotten(engine, design_blueprint):
    migrate(engine, design_blueprint)
    tables = build_tables(design_blueprint)
    throttle.attempt(engine, tables, "rep", "203.0.113.7", START)
    throttle.attempt(engine, tables, "boss", "198.51.100.1", START + dt.timedelta(seconds=throttle.WINDOW * 3))
    throttle.forget_old(engine, tables, START + dt.timedelta(seconds=throttle.WINDOW * 3))
    table = tables.system("atrium_sign_in_counts")
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 3  # boss's only
