"""The consultant's workflow through the `atrium` command: scaffold an overlay, check it, diff it,
lock its base, upgrade to a new base, and the worked example in docs/ from check to report."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from cli_kit import run

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "tests" / "fixtures" / "design_examples"
EXAMPLE = ROOT / "docs" / "examples" / "overlays" / "hengtai_machinery"
LOCATED = re.compile(r"^\s*(?P<file>[^:\s]+\.yaml):(?P<line>\d+):(?P<col>\d+): (?P<text>.*)$")


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


@pytest.fixture
def base(tmp_path) -> Path:
    return Path(shutil.copytree(DESIGN, tmp_path / "base"))


def write(folder: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
    return folder


# ----------------------------------------------------------------------------------- scaffold

def test_overlay_new_scaffolds_a_folder_that_checks(capsys, tmp_path, base):
    target = tmp_path / "overlays" / "acme-corp"
    code, out, err = run(capsys, "overlay", "new", target, "--extends", base)
    assert code == 0, err
    assert "Created overlay" in out
    manifest = yaml.safe_load((target / "blueprint.yaml").read_text(encoding="utf-8"))
    assert manifest == {"name": "acme_corp", "extends": "../../base"}
    for folder in ("entities", "pipelines", "views", "reports", "dashboards", "automations"):
        assert (target / folder).is_dir()
    readme = (target / "README.md").read_text(encoding="utf-8")
    assert "first item is `+`" in readme and "remove: true" in readme and "中文说明" in readme
    assert (target / "base.lock").is_file() and (target / "examples" / "roles.yaml").is_file()
    code, out, err = run(capsys, "--blueprint", target, "check")
    assert code == 0 and out.startswith("acme_corp: OK"), err
    code, out, _ = run(capsys, "--blueprint", target, "diff")
    assert code == 0 and "blueprint: name changed from b2b_sales to acme_corp" in out


def test_the_scaffolded_examples_are_valid_once_copied_into_place(capsys, tmp_path, base):
    target = tmp_path / "acme"
    assert run(capsys, "overlay", "new", target, "--extends", base)[0] == 0
    for example in (target / "examples").rglob("*.yaml"):
        destination = target / example.relative_to(target / "examples")
        destination.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run(capsys, "--blueprint", target, "check")
    assert code == 0, err
    code, out, _ = run(capsys, "--blueprint", target, "diff")
    assert "field site_note added" in out and "stage extra_step added after" in out and "role site_viewer added" in out


def test_overlay_new_refuses_a_folder_that_is_not_empty_and_a_base_that_is_not_a_blueprint(capsys, tmp_path, base):
    target = tmp_path / "acme"
    target.mkdir()
    (target / "notes.txt").write_text("mine", encoding="utf-8")
    code, _, err = run(capsys, "overlay", "new", target, "--extends", base)
    assert code == 1 and "already exists and is not empty; nothing was written" in err
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    code, _, err = run(capsys, "overlay", "new", tmp_path / "other", "--extends", tmp_path / "nowhere")
    assert code == 1 and "not a blueprint folder" in err and not (tmp_path / "other").exists()
    broken = Path(shutil.copytree(base, tmp_path / "broken"))
    (broken / "entities" / "order.yaml").write_text("fields: [oops\n", encoding="utf-8")
    code, _, err = run(capsys, "overlay", "new", tmp_path / "third", "--extends", broken)
    assert code == 1 and "broken/entities/order.yaml:" in err and not (tmp_path / "third").exists()


# ------------------------------------------------------------------------------- check, diff

OVERLAY = {
    "blueprint.yaml": "name: client\nextends: ../base\n",
    "entities/order.yaml": "fields:\n"
                           "  name: {label: {en: Deal, zh: 交易}}\n"
                           "  industry: {type: select, options: [energy, retail]}\n"
                           "  lost_reason:\n"
                           "    options: [+, {value: timing, remove: true}, budget_cut]\n",
    "pipelines/order.yaml": "stages:\n  - +\n  - {name: negotiation, label: {en: Price talks, zh: 议价}}\n"
                            "  - {name: on_hold, probability: 5, after: proposal}\n",
    "reports/by_industry.yaml": "name: by_industry\nsource: order\ngroup_by: [industry]\nmeasures:\n  orders: count\n",
}


def test_check_follows_extends_and_takes_the_overlay_with_overlay_too(capsys, tmp_path, base):
    overlay = write(tmp_path / "client", OVERLAY)
    code, out, err = run(capsys, "--blueprint", overlay, "check")
    assert code == 0 and out.startswith("client: OK") and "5 reports" in out, err
    code, out, err = run(capsys, "--blueprint", base, "--overlay", overlay, "check")
    assert code == 0 and out.startswith("client: OK"), err
    (overlay / "pipelines" / "order.yaml").write_text("stages:\n  - +\n  - {name: on_hold, after: proposl}\n",
                                                      encoding="utf-8")
    code, _, err = run(capsys, "--blueprint", overlay, "check")
    first = LOCATED.match(err.splitlines()[0])
    assert code == 1 and first["file"].endswith("client/pipelines/order.yaml") and first["line"] == "3"
    assert "did you mean 'proposal'?" in err


def test_diff_says_what_the_overlay_changes_with_file_and_line(capsys, tmp_path, base):
    overlay = write(tmp_path / "client", OVERLAY)
    code, out, err = run(capsys, "--blueprint", overlay, "diff")
    assert code == 0, err
    lines = {LOCATED.match(line)["text"]: LOCATED.match(line) for line in out.splitlines() if LOCATED.match(line)}
    order, pipeline = overlay / "entities" / "order.yaml", overlay / "pipelines" / "order.yaml"
    expected = {
        "entity order: field name: label set to {en: Deal, zh: 交易}": (order, "name:"),
        "entity order: field industry added (type: select)": (order, "industry:"),
        "entity order: option timing of field lost_reason removed": (order, "budget_cut"),
        "entity order: option budget_cut of field lost_reason added after other": (order, "budget_cut"),
        "pipeline order: stage negotiation: label changed from {en: Negotiation, zh: 商务谈判} to "
        "{en: Price talks, zh: 议价}": (pipeline, "negotiation"),
        "pipeline order: stage on_hold added after proposal (probability: 5)": (pipeline, "on_hold"),
        "report by_industry added (source: order)": (overlay / "reports" / "by_industry.yaml", "name:"),
    }
    for text, (path, needle) in expected.items():
        assert text in lines, (text, out)
        assert lines[text]["file"].endswith(str(path.relative_to(tmp_path))) and \
            int(lines[text]["line"]) == line_of(path, needle), (text, lines[text].group(0))
    assert out.splitlines()[0].endswith("client: 8 change(s)")
    code, out, _ = run(capsys, "--blueprint", overlay, "diff", "--format", "yaml")
    records = yaml.safe_load(out)
    on_hold = next(r for r in records if r["path"] == "stages[name=on_hold]")
    assert on_hold["action"] == "added" and on_hold["after"] == "proposal" and on_hold["thing"] == "stage on_hold"
    assert on_hold["to"] == {"name": "on_hold", "probability": 5}
    assert on_hold["at"].endswith(f"client/pipelines/order.yaml:{line_of(pipeline, 'on_hold')}:5")
    label = next(r for r in records if r["path"] == "stages[name=negotiation].label")
    assert label["from"] == {"en": "Negotiation", "zh": "商务谈判"}
    assert "/base/pipelines/order.yaml:" in label["base_at"]
    assert json.loads(run(capsys, "--blueprint", overlay, "diff", "--format", "json")[1]) == records


def test_diff_of_a_base_and_of_an_empty_overlay(capsys, tmp_path, base):
    code, out, _ = run(capsys, "--blueprint", base, "diff")
    assert code == 0 and "is a base blueprint: no overlay to compare" in out
    overlay = write(tmp_path / "client", {"blueprint.yaml": "extends: ../base\n"})
    code, out, _ = run(capsys, "--blueprint", overlay, "diff")
    assert code == 0 and out.strip() == "The overlay changes nothing."


# ----------------------------------------------------------------------------- lock, upgrade

def test_check_compares_a_base_that_changed_in_place_with_the_lock(capsys, tmp_path, base):
    overlay = write(tmp_path / "client", OVERLAY)
    code, out, err = run(capsys, "overlay", "lock", overlay)
    assert code == 0 and "client/base.lock" in out, err
    assert "note:" not in run(capsys, "--blueprint", overlay, "check")[1]
    pipeline = base / "pipelines" / "order.yaml"
    pipeline.write_text(pipeline.read_text(encoding="utf-8").replace("{en: Won, zh: 赢单}", "{en: Won!, zh: 赢单}"),
                        encoding="utf-8")
    code, out, err = run(capsys, "--blueprint", overlay, "check")
    assert code == 0 and "changed since base.lock (1 document(s)) and merges cleanly" in out, err
    pipeline.write_text(pipeline.read_text(encoding="utf-8").replace("{en: Negotiation,", "{en: Bargaining,"),
                        encoding="utf-8")
    code, out, err = run(capsys, "--blueprint", overlay, "check")
    assert code == 1 and "OK" not in out, out  # never "OK" with a non-zero exit
    [conflict] = [line for line in err.splitlines() if "both changed" in line]
    assert LOCATED.match(conflict)["file"].endswith("client/pipelines/order.yaml")
    assert LOCATED.match(conflict)["line"] == str(line_of(overlay / "pipelines" / "order.yaml", "negotiation"))
    assert "label.en of stage negotiation" in conflict
    assert f"base/pipelines/order.yaml:{line_of(pipeline, 'Bargaining')}:" in conflict
    assert "atrium overlay lock" in err
    assert run(capsys, "overlay", "lock", overlay)[0] == 0
    code, out, err = run(capsys, "--blueprint", overlay, "check")
    assert code == 0 and "note:" not in out, err


def test_upgrade_to_a_new_base_writes_extends_and_the_lock_only_when_clean(capsys, tmp_path, base):
    overlay = write(tmp_path / "client", OVERLAY)
    assert run(capsys, "overlay", "lock", overlay)[0] == 0
    new = Path(shutil.copytree(base, tmp_path / "base_v2"))
    (new / "entities" / "order.yaml").write_text(
        (new / "entities" / "order.yaml").read_text(encoding="utf-8").replace(
            "  margin: {type: money}", "  industry: {type: text}\n  margin: {type: money}"), encoding="utf-8")
    before = (overlay / "blueprint.yaml").read_text(encoding="utf-8")
    code, out, err = run(capsys, "overlay", "upgrade", overlay, "--base", new, "--write")
    assert code == 1 and "both added: the overlay adds field industry" in err and "nothing was written" in err
    assert (overlay / "blueprint.yaml").read_text(encoding="utf-8") == before
    (new / "entities" / "order.yaml").write_text(
        (new / "entities" / "order.yaml").read_text(encoding="utf-8").replace("  industry: {type: text}\n", ""),
        encoding="utf-8")
    code, out, err = run(capsys, "overlay", "upgrade", overlay, "--base", new, "--write")
    assert code == 0 and "Merges cleanly." in out, err
    assert yaml.safe_load((overlay / "blueprint.yaml").read_text(encoding="utf-8"))["extends"] == "../base_v2"
    assert yaml.safe_load((overlay / "base.lock").read_text(encoding="utf-8"))["base"] == "../base_v2"
    code, out, err = run(capsys, "--blueprint", overlay, "check")
    assert code == 0 and "note:" not in out, err


def test_lock_refuses_an_overlay_that_does_not_load(capsys, tmp_path, base):
    overlay = write(tmp_path / "client", {**OVERLAY, "entities/order.yaml": "fields:\n  amount: {min: low}\n"})
    code, _, err = run(capsys, "overlay", "lock", overlay)
    assert code == 1 and "base.lock was not written" in err and not (overlay / "base.lock").exists()
    plain = write(tmp_path / "plain", {"blueprint.yaml": "name: plain\n"})
    assert "has no extends" in run(capsys, "overlay", "lock", plain)[2]


# ------------------------------------------------------------------------- the worked example

def test_the_worked_example_checks_and_diffs(capsys):
    code, out, err = run(capsys, "--blueprint", EXAMPLE, "check")
    assert code == 0 and out.startswith("hengtai_machinery: OK"), err
    code, out, err = run(capsys, "--blueprint", EXAMPLE, "diff")
    assert code == 0, err
    located = [LOCATED.match(line) for line in out.splitlines()[1:]]
    assert all(m and "docs/examples/overlays/hengtai_machinery/" in m["file"] for m in located), out
    texts = [m["text"] for m in located]
    for expected in ("entity order: field machine_model added (type: select)",
                     "entity customer: option automotive_parts of field industry added after other",
                     "pipeline order: stage negotiation: label changed from {en: Negotiation, zh: 商务谈判} to "
                     "{en: Commercial terms, zh: 商务条款}",
                     "pipeline order: stage site_survey added after needs_confirmed (probability: 40)",
                     "report machine_mix added (source: order)",
                     "dashboard application_engineer added",
                     "roles: role application_engineer added",
                     "views of order: form section equipment added after #3"):
        assert any(text.startswith(expected) for text in texts), (expected, out)


def test_the_worked_example_migrates_seeds_and_runs_its_report(capsys, database_url):
    common = ["--blueprint", EXAMPLE, "--db", database_url]
    code, out, err = run(capsys, *common, "migrate")
    assert code == 0 and "Applied" in out, err
    engine = sa.create_engine(database_url)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("order")}
        assert {"machine_model", "units", "install_site", "site_survey_on"} <= columns
        code, out, err = run(capsys, *common, "seed", "--scale", "12")
        assert code == 0 and "engineer1/engineer1 (application_engineer)" in out, err
        code, out, err = run(capsys, *common, "report", "machine_mix", "--format", "json")
        assert code == 0, err
        result = json.loads(out)
        order = sa.Table("order", sa.MetaData(), autoload_with=engine)
        with engine.connect() as connection:
            expected = dict(connection.execute(
                sa.select(order.c.machine_model, sa.func.count()).where(order.c.stage != "lost")
                .group_by(order.c.machine_model)).all())
            surveyed = connection.execute(sa.select(sa.func.count()).select_from(order)
                                          .where(order.c.stage == "site_survey")).scalar()
    finally:
        engine.dispose()
    assert {row["machine_model"]: row["orders"] for row in result["rows"]} == expected
    assert result["totals"]["orders"] == sum(expected.values()) > 0
    assert [c["label"] for c in result["columns"]][:3] == ["机型", "订单数", "台数"]
    assert surveyed >= 0
    code, out, err = run(capsys, *common, "report", "machine_mix", "--format", "json", "--as", "engineer1")
    assert code == 0, err
    assert 0 < json.loads(out)["totals"]["orders"] <= result["totals"]["orders"]  # the team's orders only
