"""Fixtures of the studio tests: the shipped b2b blueprint on a database of its own per test
(SQLite, or a PostgreSQL schema with ATRIUM_TEST_DB=postgresql), with the site overlay in the
test's temporary folder, and signed-in browsers for an admin (studio role), a second admin,
a rep and a manager."""
from __future__ import annotations

import pytest
from studio_kit import StudioWorld


@pytest.fixture
def studio(engine, database_url, b2b, tmp_path):
    world = StudioWorld(engine, database_url, b2b, tmp_path / "overlays" / "site")
    yield world
    world.close()
