"""The `atrium` command and the studio's site overlay: every command that works on the site's
database loads it (beside a SQLite database file by default, or where --site-overlay /
ATRIUM_SITE_OVERLAY says), `check`, `diff` and `overlay` only when `--site-overlay` asks, and
`atrium serve` hands it to the server processes."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from cli_kit import run

DESIGN = Path(__file__).resolve().parent / "fixtures" / "design_examples"
REPORT = """name: deals_by_owner
label: {en: Deals by owner, zh: 各负责人订单}
source: order
group_by: [owner]
measures: {deals: count}
"""


def site_overlay(folder: Path, base: Path) -> Path:
    (folder / "reports").mkdir(parents=True)
    (folder / "blueprint.yaml").write_text(f"extends: {os.path.relpath(base, folder)}\n", encoding="utf-8")
    (folder / "reports" / "deals_by_owner.yaml").write_text(REPORT, encoding="utf-8")
    return folder


@pytest.fixture
def base(tmp_path) -> Path:
    return Path(shutil.copytree(DESIGN, tmp_path / "bp"))


def reports_counted(out: str) -> str:
    return out.split(" reports")[0].rsplit(", ", 1)[-1]


def test_a_site_command_loads_the_site_overlay_beside_the_database_and_check_only_when_asked(capsys, tmp_path, base):
    url = f"sqlite:///{tmp_path / 'data' / 'atrium.db'}"
    code, out, _ = run(capsys, "--blueprint", str(base), "--db", url, "check")
    assert code == 0
    before = int(reports_counted(out))
    folder = site_overlay(tmp_path / "data" / "overlays" / "site", base)
    assert run(capsys, "--blueprint", str(base), "--db", url, "migrate")[0] == 0
    code, out, err = run(capsys, "--blueprint", str(base), "--db", url, "report", "deals_by_owner", "--format", "csv")
    assert code == 0, err  # the report the studio wrote is part of the site
    # a consultant's check of the blueprint they name never picks up a site overlay lying beside it
    code, out, err = run(capsys, "--blueprint", str(base), "--db", url, "check")
    assert code == 0 and int(reports_counted(out)) == before, err
    code, out, err = run(capsys, "--blueprint", str(base), "--db", url, "--site-overlay", str(folder), "check")
    assert code == 0, err
    assert int(reports_counted(out)) == before + 1


def test_a_broken_site_overlay_beside_the_folder_does_not_fail_a_consultants_check(capsys, tmp_path, base,
                                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)  # a folder where `make run` was used: ./overlays/site beside ./atrium.db
    folder = site_overlay(tmp_path / "overlays" / "site", base)
    (folder / "reports" / "deals_by_owner.yaml").write_text(REPORT.replace("[owner]", "[ownr]"), encoding="utf-8")
    code, out, err = run(capsys, "--blueprint", str(base), "check")
    assert code == 0 and "OK" in out and not err
    code, out, err = run(capsys, "--blueprint", str(base), "diff")
    assert code == 0 and "base blueprint" in out
    code, out, err = run(capsys, "--blueprint", str(base), "--site-overlay", "overlays/site", "check")
    assert code == 1 and "OK" not in out and "'ownr'" in err


def test_an_explicit_site_overlay_and_its_problems_at_file_line(capsys, tmp_path, base):
    folder = site_overlay(tmp_path / "elsewhere", base)
    (folder / "reports" / "deals_by_owner.yaml").write_text(REPORT.replace("[owner]", "[ownr]"), encoding="utf-8")
    code, _, err = run(capsys, "--blueprint", str(base), "--site-overlay", str(folder), "check")
    assert code == 1
    assert "elsewhere/reports/deals_by_owner.yaml:4:" in err.replace("\\", "/") and "'ownr'" in err


def test_serve_hands_the_site_overlay_to_the_workers(capsys, tmp_path, base, monkeypatch):
    import uvicorn
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs) or None)
    url = f"sqlite:///{tmp_path / 'atrium.db'}"
    run(capsys, "--blueprint", str(base), "--db", url, "migrate")
    for name in ("ATRIUM_SITE_OVERLAY", "ATRIUM_OVERLAYS", "ATRIUM_BLUEPRINT", "ATRIUM_DATABASE_URL"):
        monkeypatch.setenv(name, "")  # so that what serve sets for its workers is undone after the test
        monkeypatch.delenv(name)
    folder = site_overlay(tmp_path / "overlays" / "site", base)
    code, _, _ = run(capsys, "--blueprint", str(base), "--db", url, "serve", "--workers", "2")
    assert code == 0 and seen["workers"] == 2
    assert Path(os.environ["ATRIUM_SITE_OVERLAY"]) == folder
    assert os.environ["ATRIUM_OVERLAYS"] == ""  # the site overlay is not passed twice
