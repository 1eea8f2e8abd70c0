"""The JSON API keeps to its own OpenAPI document: schemathesis reads `/api/v1/openapi.json` as a
rep and as an administrator sees it, and drives the app in-process with what the document allows
and what it does not (examples, coverage, fuzzing, then stateful sequences along the links it
infers: create → read → change → delete, claim, convert, bulk, approvals). The bar: no server
error, every response a status, content type and body the document lists, no request the document
forbids accepted, no request it allows refused, and `Allow` true to it. Runs on SQLite and again
on PostgreSQL (the `database` mark), with a fixed seed so CI is reproducible."""
from __future__ import annotations

import collections
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from atrium.metadata import load_blueprint
from atrium.runtime.access import users
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.seed.seeding import seed_demo
from atrium.runtime.site.site import Site
from atrium.ui.web.app import Settings, create_app

B2B = Path(__file__).resolve().parents[3] / "blueprints" / "b2b_sales"
# A few thousand cases per run (both callers); max-examples is per operation and phase.
EXAMPLES = 4
# Sequences of the stateful phase (each up to 6 calls along the inferred links): a few hundred
# calls per caller (some 90 to 300 on this seed, by caller and database); with EXAMPLES alone the
# phase ran only some 25.
STATEFUL_EXAMPLES = 40
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "negative_data_rejection",
          "positive_data_acceptance", "unsupported_method", "allow_header_conformance", "use_after_free",
          "ensure_resource_availability")


def config(token: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "seed": 20261206,
        "headers": {"Authorization": f"Bearer {token}"},
        "suppress-health-check": ["all"],
        # A batch of up to 500 upserts (POST /by-key) on PostgreSQL passed schemathesis' default 10 s
        # on a loaded shared machine; a request that hangs still fails, a slow one is not an error here.
        "request-timeout": 60,
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "no-shrink": True, "database": "none",
                       # a NUL byte is refused at the edge before the API (another part of the hardening)
                       "allow-x00": False},
        "phases": {"stateful": {"max-steps": 6, "generation": {"max-examples": STATEFUL_EXAMPLES}}},
        # The coverage phase (every boundary and every undeclared method of an operation) on a
        # sample of the surface: pool, conversion and lines (customer, lead, quote) and approvals;
        # the engine is generic over entities, and the other operations get examples, fuzzing and
        # the stateful phase. A list's hundreds of filters make its coverage slow: fuzzed instead.
        "operations": [{"exclude-path-regex": "^/api/v1/(customer|lead|quote|approvals|reports)/",
                        "phases": {"coverage": {"enabled": False}}}],
        "checks": {
            # A request the document allows may still break what it cannot state: a rule of the
            # blueprint (a record that must exist, a check, a stage rule: 422) or an opaque cursor
            # that is not one the API gave (400). Both are documented answers.
            **{name: {"enabled": True} for name in CHECKS},
            "positive_data_acceptance": {"enabled": True,
                                         "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422"]}},
    })


def _unsendable(check: str, node) -> bool:
    """A "negative" case whose one mutation the request cannot carry: schemathesis negates an
    empty-value filter (`{"const": ""}`) with an empty object or list, which goes as `name=`, the
    very value the document allows, or negates that `const` branch alone of `anyOf: [value, ""]`
    with a text the other branch allows; a multipart file part carries whatever it is given as the
    file's bytes. The API rightly accepts these."""
    if check != "negative_data_rejection" or node is None:
        return False
    case = node.value
    data = getattr(case.meta.phase, "data", None) if case.meta is not None else None
    mutations = getattr(data, "mutations", ())
    if len(mutations) != 1:
        return False
    location = str(mutations[0].parameter_location.value)
    if location == "body":
        return (getattr(case, "media_type", None) or "").startswith("multipart/form-data")
    if location != "query":
        return False
    query = case.query or {}
    name = mutations[0].parameter
    if name not in query and mutations[0].path:  # a filter of the exploded `filters` object
        name = mutations[0].path[-1]
    value = query.get(name)
    if "/anyOf/1" in (mutations[0].schema_pointer or "") and tuple(mutations[0].keywords) == ("const",) \
            and isinstance(value, str) and value:
        return True
    return isinstance(value, dict | list) and not value


@pytest.fixture(scope="module")
def blueprint():
    return load_blueprint(B2B)


@pytest.mark.parametrize("user", ["rep1", "admin"])
def test_the_api_keeps_to_its_document(engine, database_url, blueprint, tmp_path, user, capsys):
    migrate(engine, blueprint)
    seed_demo(blueprint, engine, scale=20, seed=1)  # the demo's users (rep1, admin ...) and records to find
    site = Site.open(blueprint, database_url, engine=engine)
    with engine.begin() as connection:
        token = users.issue_token(connection, site.tables, user)
    app = create_app(Settings(str(B2B), database_url, secret_key="schemathesis",
                              site_overlay=str(tmp_path / "site")), site=site)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, config=config(token),
                                            headers={"Authorization": f"Bearer {token}"})
    cases, requests = collections.Counter(), 0
    failures: dict[tuple[str, str], str] = {}
    errors: dict[str, str] = {}
    phases: set[str] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            phases.add(event.phase.value)
            cases[event.phase.value] += len(event.recorder.cases)
            requests += len(event.recorder.interactions)
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    node = event.recorder.cases.get(case_id)
                    if check.failure_info is not None and not _unsendable(check.name, node):
                        answer = event.recorder.interactions.get(case_id)
                        seen = "" if answer is None or answer.response is None else \
                            f"\n→ {answer.response.status_code} {(answer.response.content or b'')[:300]!r}"
                        failures.setdefault((event.recorder.label, check.name),
                                            check.failure_info.code_sample + seen)
        elif isinstance(event, events.NonFatalError):
            errors.setdefault(event.label, str(event.value)[:500])
        elif isinstance(event, events.FatalError):
            errors.setdefault("fatal", repr(event.exception))
    with capsys.disabled():
        print(f"\nschemathesis as {user}: {sum(cases.values())} cases ({dict(cases)}), {requests} requests, "
              f"{len(failures)} failing checks, {len(errors)} errors")
    assert errors == {}, errors
    assert failures == {}, "\n\n".join(f"{label} — {check}:\n{sample}" for (label, check), sample in failures.items())
    assert "stateful" in phases and cases["stateful"] > 50 and sum(cases.values()) > 1000, (phases, cases)
