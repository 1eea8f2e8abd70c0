"""A field's own `visible_when`: while it does not hold on the record, the field is neither
required nor checked (its min/max, its required_when; only its column's size still holds); once it
holds, it is, on create and on update."""
from __future__ import annotations

import pytest
from blueprint_factory import make_blueprint

from atrium.runtime.records.service import RecordService, ValidationFailed
from atrium.runtime.schema.migrations import migrate

ENTITIES = {"lead": {"fields": {
    "name": {"type": "text", "required": True},
    "source": {"type": "select", "options": ["web", "referral", "fair"]},
    "referrer": {"type": "text", "required": True, "max_length": 5, "visible_when": "source == 'referral'"},
    "booth": {"type": "integer", "min": 1, "required_when": "source == 'fair'", "visible_when": "source != 'web'"},
}}}


@pytest.fixture
def leads(tmp_path, engine):
    blueprint = make_blueprint(tmp_path / "bp", ENTITIES)
    migrate(engine, blueprint)
    return RecordService(blueprint, engine)


def errors(call, *args) -> dict:
    with pytest.raises(ValidationFailed) as failure:
        call(*args)
    return failure.value.errors


def test_a_hidden_field_is_neither_required_nor_checked(leads):
    web = leads.create("lead", {"name": "From the site", "source": "web", "booth": -3})
    assert web["booth"] == -3  # kept as given, not checked
    # only the column's size still holds: a longer text cannot be stored at all
    assert set(errors(leads.create, "lead", {"name": "Web", "source": "web", "referrer": "far too long"})) \
        == {"referrer"}
    assert set(errors(leads.create, "lead", {"name": "Tipped", "source": "referral"})) == {"referrer"}
    assert set(errors(leads.create, "lead", {"name": "Tipped", "source": "referral", "referrer": "far too long"})) \
        == {"referrer"}
    assert leads.create("lead", {"name": "Tipped", "source": "referral", "referrer": "Wang"})["referrer"] == "Wang"
    assert set(errors(leads.create, "lead", {"name": "Met", "source": "fair", "booth": 0})) == {"booth"}


def test_an_update_that_shows_a_field_checks_it(leads):
    web = leads.create("lead", {"name": "From the site", "source": "web"})
    assert set(errors(leads.update, "lead", web["id"], {"source": "referral"})) == {"referrer"}
    moved = leads.update("lead", web["id"], {"source": "referral", "referrer": "Li"})
    assert moved["referrer"] == "Li"
    assert leads.update("lead", web["id"], {"source": "web", "referrer": None})["referrer"] is None
