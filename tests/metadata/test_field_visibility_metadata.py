"""A field's `visible_when` loads as an expression over the record, and a name it cannot read is
reported at its file:line:col."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from atrium.metadata import BlueprintError, load_blueprint

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runtime"))
from blueprint_factory import write_blueprint  # noqa: E402

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"


def test_the_b2b_check_in_location_shows_only_on_site():
    location = load_blueprint(B2B).entities["visit"].fields["location"]
    assert location.visible_when is not None and location.visible_when.names == {"kind"}


def test_a_visible_when_reading_an_unknown_field_fails_at_its_line(tmp_path):
    write_blueprint(tmp_path / "bp", {"lead": {"fields": {
        "name": {"type": "text"}, "source": {"type": "select", "options": ["web", "referral"]},
        "referrer": {"type": "text", "visible_when": "sorce == 'referral'"}}}})
    with pytest.raises(BlueprintError) as failure:
        load_blueprint(tmp_path / "bp")
    assert re.search(r"entities/lead\.yaml:\d+:\d+: fields\.referrer\.visible_when: .*unknown name 'sorce'",
                     str(failure.value)), str(failure.value)
