"""`atrium rename entity|stage|option`: the reviewed plan, then the change applied to the site
overlay and the database with the records kept under the new names; a refusal in the reader's
language exits 1 and changes nothing."""
from __future__ import annotations

from pathlib import Path

from cli_kit import run

from atrium.metadata.loader import check_blueprint
from atrium.runtime.site.site import Site

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"


def test_entity_stage_and_option_renames_keep_the_records(capsys, database_url, tmp_path):
    site_folder = tmp_path / "site"
    base = ["--blueprint", str(MINI), "--db", database_url, "--site-overlay", str(site_folder)]
    assert run(capsys, *base, "migrate")[0] == 0
    site = Site.open(MINI, database_url)
    try:
        account = site.records.create("account", {"name": "沈阳天成"})
        deal = site.records.create("deal", {"title": "Pumps", "account": account["id"], "amount": 10,
                                            "close_date": "2099-01-31", "lost_reason": "price"})
        site.records.update("deal", deal["id"], {"stage": "won"})
    finally:
        site.engine.dispose()

    code, out, _ = run(capsys, *base, "rename", "entity", "deal", "opportunity")
    assert code == 0, out
    assert "roles roles: roles.rep.entities.deal: deal → opportunity" in out
    assert "entity deal: file: entities/deal.yaml → entities/opportunity.yaml" in out
    assert "rename table deal to opportunity" in out and "Nothing was changed" in out
    assert run(capsys, *base, "rename", "entity", "deal", "opportunity", "--apply")[0] == 0
    code, out, _ = run(capsys, *base, "rename", "stage", "deal", "won", "closed_won", "--apply")
    assert code == 0 and "rename stage won of opportunity.stage to closed_won (1 record(s)" in out
    code, out, _ = run(capsys, *base, "rename", "option", "opportunity", "lost_reason", "price", "too_pricey",
                       "--apply")
    assert code == 0, out

    blueprint, problems = check_blueprint(MINI, [site_folder])
    assert problems == [] and blueprint is not None
    assert (site_folder / "entities" / "opportunity.yaml").exists()
    site = Site.open(blueprint, database_url)
    try:
        record = site.records.get("opportunity", deal["id"])
        assert (record["title"], record["stage"], record["lost_reason"]) == ("Pumps", "closed_won", "too_pricey")
    finally:
        site.engine.dispose()

    code, _, err = run(capsys, *base, "rename", "stage", "deal", "lost", "closed_won", "--lang", "zh")
    assert code == 1 and "流程 deal 已有阶段“closed_won”" in err
    code, _, err = run(capsys, *base, "rename", "entity", "account", "atrium_x")
    assert code == 1 and "'atrium_x' is reserved" in err
