"""Fixtures of the record-page tests: one migrated b2b database per test module, emptied before
each test (a test module may define its own `world` instead)."""
from __future__ import annotations

import pytest
from record_pages_kit import World, module_database


@pytest.fixture(scope="module")
def shared(tmp_path_factory, b2b):
    with module_database(tmp_path_factory) as (engine, url):
        world = World(engine, url, b2b)
        yield world
        world.close()


@pytest.fixture
def world(shared):
    shared.reset()
    yield shared
    shared.close()
