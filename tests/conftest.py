"""Shared fixtures: blueprints, and a fresh database per test on SQLite or PostgreSQL.

The suite runs on SQLite by default. With ATRIUM_TEST_DB=postgresql (and ATRIUM_TEST_PG_URL,
e.g. postgresql://postgres@127.0.0.1:5432/test) every database test runs on PostgreSQL, each in
a schema of its own that is dropped afterwards. `make test` runs both passes.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from atrium.metadata import load_blueprint
from atrium.runtime.schema.database import create_engine

ROOT = Path(__file__).resolve().parent.parent
B2B = ROOT / "blueprints" / "b2b_sales"
DESIGN_EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "design_examples"
ON_POSTGRES = os.environ.get("ATRIUM_TEST_DB", "sqlite") == "postgresql"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)
        elif "postgres_only" in item.keywords and not ON_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="runs in the PostgreSQL pass"))


def pytest_configure(config):
    config.addinivalue_line("markers", "database: uses a database (runs on SQLite and on PostgreSQL)")


def pytest_report_header(config):
    if ON_POSTGRES:
        return f"database: PostgreSQL ({os.environ.get('ATRIUM_TEST_PG_URL')})"
    return "database: SQLite (set ATRIUM_TEST_DB=postgresql and ATRIUM_TEST_PG_URL for PostgreSQL)"


@pytest.fixture(autouse=True)
def files_storage(tmp_path_factory, monkeypatch):
    """Attached files go to a temporary folder (ATRIUM_FILES), never beside a PostgreSQL test's
    working folder (runtime/files/storage.py's default there)."""
    monkeypatch.setenv("ATRIUM_FILES", str(tmp_path_factory.mktemp("files")))


@pytest.fixture(scope="session")
def b2b():
    return load_blueprint(B2B)


@pytest.fixture(scope="session")
def design_blueprint():
    return load_blueprint(DESIGN_EXAMPLES)


@pytest.fixture
def database_url(tmp_path):
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = os.environ.get("ATRIUM_TEST_PG_URL")
    if not base:
        pytest.fail("ATRIUM_TEST_DB=postgresql needs ATRIUM_TEST_PG_URL")
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def count_rows(engine):
    def count(table: str) -> int:
        with engine.connect() as connection:
            return connection.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar()
    return count
