"""`atrium rename field ENTITY OLD NEW`: the reviewed plan without --apply (nothing changes), then
the change applied to the site overlay and the database, the data kept under the new name."""
from __future__ import annotations

from pathlib import Path

from cli_kit import run

from atrium.metadata.loader import check_blueprint
from atrium.runtime.site.site import Site

B2B = Path(__file__).resolve().parent.parent / "blueprints" / "b2b_sales"


def test_rename_prints_the_plan_then_applies_it_keeping_the_data(capsys, database_url, tmp_path):
    site_folder = tmp_path / "site"
    base = ["--blueprint", str(B2B), "--db", database_url, "--site-overlay", str(site_folder)]
    assert run(capsys, *base, "migrate")[0] == 0
    site = Site.open(B2B, database_url)
    try:
        customer = site.records.create("customer", {"name": "沈阳天成建设"})
        order = site.records.create("order", {"name": "Pumps", "customer": customer["id"],
                                              "expected_close": "2099-09-30"})
    finally:
        site.engine.dispose()

    code, out, _ = run(capsys, *base, "rename", "field", "order", "expected_close", "close_on")
    assert code == 0, out
    assert "pipeline order: stages[1].requires[1]: expected_close → close_on" in out
    assert "entity order: checks[0].assert: expected_close is None or expected_close >= today() → " \
           "close_on is None or close_on >= today()" in out
    assert "rename column order.expected_close to close_on (data kept)" in out
    assert "Nothing was changed (add --apply to apply it)." in out
    assert not (site_folder / "entities" / "order.yaml").exists()

    code, out, _ = run(capsys, *base, "rename", "field", "order", "expected_close", "close_on", "--apply")
    assert code == 0 and "Applied as metadata version 1" in out
    blueprint, problems = check_blueprint(B2B, [site_folder])
    assert problems == [] and blueprint is not None
    assert blueprint.entities["order"].fields["close_on"].renamed_from == "expected_close"
    site = Site.open(blueprint, database_url)
    try:
        assert str(site.records.get("order", order["id"])["close_on"]) == "2099-09-30"
    finally:
        site.engine.dispose()
    code, out, _ = run(capsys, *base, "report", "stalled_orders", "--format", "csv")
    assert code == 0

    code, _, err = run(capsys, *base, "rename", "field", "order", "close_on", "name")
    assert code == 1 and "already has a field 'name'" in err
