"""Fixtures of the b2b_sales blueprint tests (see b2b_kit)."""
import pytest
from b2b_kit import make_world


@pytest.fixture
def world(engine, b2b):
    return make_world(engine, b2b)
