"""What an inbound webhook accepts (runtime/access/inbound.py): a sender's HMAC in hex or base64,
with or without a signed timestamp, and a payload mapped onto rows by JSON paths."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from atrium.metadata.integrations import Inbound
from atrium.metadata.model import Label
from atrium.runtime.access.inbound import InboundRefused, mapped, sign, verify

NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.timezone.utc)
BODY = json.dumps({"items": [{"no": "A-1", "ship": {"date": "2026-05-14", "carrier": "SF"}},
                             {"no": 7, "lines": [{"sku": "P-9"}]}]}).encode()


def spec(**changes) -> Inbound:
    values = dict(name="erp", label=Label.of("ERP"), secret="ERP_KEY", run_as="erp", entity="thing", key="no",
                  fields={"shipped_on": "ship.date", "sku": "lines.0.sku"}, records="items")
    return Inbound(**{**values, **changes})


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("ERP_KEY", "s3cret")


def test_a_hex_or_base64_signature_of_the_body_is_accepted_and_any_change_refused():
    verify(spec(), {"x-signature": sign("s3cret", BODY)}, BODY, NOW)
    verify(spec(), {"x-signature": "sha256=" + sign("s3cret", BODY)}, BODY, NOW)  # GitHub's style
    verify(spec(encoding="base64"), {"x-signature": sign("s3cret", BODY, encoding="base64")}, BODY, NOW)
    for headers, body in (({"x-signature": sign("s3cret", BODY)}, BODY + b" "),
                          ({"x-signature": sign("other", BODY)}, BODY),
                          ({"x-signature": "not hex"}, BODY), ({}, BODY)):
        with pytest.raises(InboundRefused) as refused:
            verify(spec(), headers, body, NOW)
        assert refused.value.status == 401


def test_a_signed_timestamp_must_be_within_the_tolerance():
    timed = spec(timestamp_header="X-Time", tolerance_seconds=300)
    fresh = str(int(NOW.timestamp()) - 200)
    verify(timed, {"x-signature": sign("s3cret", BODY, fresh), "x-time": fresh}, BODY, NOW)
    old = str(int(NOW.timestamp()) - 301)
    for headers in ({"x-signature": sign("s3cret", BODY, old), "x-time": old},  # a replay
                    {"x-signature": sign("s3cret", BODY, fresh), "x-time": old},  # the time changed
                    {"x-signature": sign("s3cret", BODY)}):  # no time at all
        with pytest.raises(InboundRefused):
            verify(timed, headers, BODY, NOW)


def test_without_its_key_in_the_environment_every_delivery_is_refused(monkeypatch):
    monkeypatch.delenv("ERP_KEY")
    with pytest.raises(InboundRefused) as refused:
        verify(spec(), {"x-signature": sign("", BODY)}, BODY, NOW)
    assert refused.value.status == 401


def test_the_payload_becomes_one_row_per_item_by_its_paths():
    assert mapped(spec(), "code", BODY) == [{"code": "A-1", "shipped_on": "2026-05-14"},
                                            {"code": 7, "sku": "P-9"}]
    single = spec(records=None)
    assert mapped(single, "code", b'{"no": "B-2", "ship": {"date": "2026-01-02"}}') == \
        [{"code": "B-2", "shipped_on": "2026-01-02"}]
    for body in (b"{not json", b'{"items": {}}', b'{"items": [{"ship": {}}]}', b'{"items": []}'):
        with pytest.raises(InboundRefused) as refused:
            mapped(spec(), "code", body)
        assert refused.value.status == 400
