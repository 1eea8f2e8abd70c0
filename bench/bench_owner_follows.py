"""Owners that follow a parent's: one parent's owner change moving N followers (`owner_follows:`)
on SQLite, through the records service as a manager's reassignment does it (field history, one
notification, the followers' rollups and event rules). Prints the figures and rewrites its own
section of docs/benchmarks.md.

    .venv/bin/python bench/bench_owner_follows.py [--followers 10000] [--repeat 5] [--no-doc]

Not a timed test: run it on a quiet machine; the figures vary with load.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform as python_platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.runtime.access import users  # noqa: E402
from atrium.runtime.records.evaluation import Actor  # noqa: E402
from atrium.runtime.schema.migrations import migrate  # noqa: E402
from atrium.runtime.site.site import Site  # noqa: E402

B2B = ROOT / "blueprints" / "b2b_sales"
START, END = "<!-- bench_owner_follows:start -->", "<!-- bench_owner_follows:end -->"
TARGET_S = 1.0
LEAN = {
    "account": {"name": "account", "label": {"en": "Account", "zh": "客户"}, "owner": "owner", "title": "{name}",
                "fields": {"name": {"type": "text", "required": True}, "owner": {"type": "user"}}},
    "person": {"name": "person", "label": {"en": "Person", "zh": "联系人"}, "owner": "owner",
               "owner_follows": {"field": "account"},
               "fields": {"account": {"type": "reference", "to": "account", "required": True},
                          "name": {"type": "text", "required": True}, "owner": {"type": "user"}}},
}


def log(text: str) -> None:
    print(text, flush=True)


def lean_blueprint(folder: Path) -> Path:
    (folder / "entities").mkdir(parents=True)
    (folder / "blueprint.yaml").write_text("name: lean\nlabel: Lean\nlocales: [en, zh]\n", encoding="utf-8")
    for name, document in LEAN.items():
        (folder / "entities" / f"{name}.yaml").write_text(yaml.safe_dump(document, allow_unicode=True),
                                                          encoding="utf-8")
    (folder / "roles.yaml").write_text("roles:\n  admin: {label: Admin, all: true}\n", encoding="utf-8")
    return folder


def measure(folder: Path, lean: bool, followers: int, repeat: int) -> dict:
    blueprint = load_blueprint(lean_blueprint(folder / "bp") if lean else B2B)
    parent, child = ("account", "person") if lean else ("customer", "contact")
    site = Site.open(blueprint, f"sqlite:///{folder / 'bench.db'}")
    migrate(site.engine, blueprint)
    role = "admin"
    with site.engine.begin() as connection:
        ids = [users.add_user(connection, site.tables, blueprint, f"u{i}", role, locale="en") for i in range(3)]
    boss = Actor(user_id=ids[0], name="u0", role=role, locale="en")
    record = site.records.create(parent, {"name": "Acme", "owner": ids[1]}, boss)
    started = time.perf_counter()
    site.records.bulk_create(child, ({parent: record["id"], "name": f"p{i}", "owner": ids[1]}
                                     for i in range(followers)), boss)
    setup = time.perf_counter() - started
    walls, cpus = [], []
    for run in range(repeat):
        owner = ids[2] if run % 2 == 0 else ids[1]
        wall, cpu = time.perf_counter(), time.process_time()
        site.records.update(parent, record["id"], {"owner": owner}, boss)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        table = site.tables[child]
        with site.engine.connect() as connection:
            moved = connection.execute(sa.select(sa.func.count()).select_from(table)
                                       .where(table.c.owner == owner)).scalar()
        assert moved == followers, (moved, followers)
    history = site.tables.system("atrium_history")
    with site.engine.connect() as connection:
        rows = connection.execute(sa.select(sa.func.count()).select_from(history).where(
            history.c.entity == child, history.c.field == "owner")).scalar()
    site.engine.dispose()
    return {"lean": lean, "followers": followers, "runs": repeat, "best": min(walls),
            "median": statistics.median(walls), "cpu_median": statistics.median(cpus), "setup": setup,
            "history": rows, "load": os.getloadavg()}


def machine() -> str:
    import sqlite3
    return (f"{python_platform.system()} {python_platform.machine()}, {os.cpu_count()} CPUs (shared), "
            f"Python {python_platform.python_version()}, SQLite {sqlite3.sqlite_version}")


def report(runs: list[dict], argv: str) -> str:
    lines = [START, "## Owners that follow (`bench/bench_owner_follows.py`)", "",
             f"Run {dt.date.today().isoformat()} with `.venv/bin/python bench/bench_owner_follows.py {argv}` on "
             f"{machine()}, shared with other work.", "",
             "One parent's owner changed by `RecordService.update` (a manager's reassignment), its followers "
             "(`owner_follows: {field: ...}`) moving in the same transaction: one SELECT of the followers that "
             "have another owner, one bulk update of them all (one outcome for every record, one "
             "`UPDATE ... WHERE id IN (...)` per 1,000 ids), one insert of their field history, their rollups and "
             "event rules, one notification. Each run moves every follower (the owner goes back and forth).", "",
             "- **lean**: an account and its people, three fields each;",
             "- **shipped**: a b2b_sales customer and its contacts (the customer's own automations run too).", "",
             "| blueprint | followers | runs | wall: best / median | CPU median | load avg | target ≤ 1 s | "
             "history rows |", "|---|---|---|---|---|---|---|---|"]
    for run in runs:
        verdict = ("met" if run["median"] <= TARGET_S else
                   "met in CPU time" if run["cpu_median"] <= TARGET_S else "missed")
        lines.append(f"| {'lean' if run['lean'] else 'shipped'} | {run['followers']:,} | {run['runs']} | "
                     f"**{run['best']:.2f}** / {run['median']:.2f} s | {run['cpu_median']:.2f} s | "
                     f"{run['load'][0]:.1f} | {verdict} | {run['history']:,} |")
    lines += ["", "Wall time runs far ahead of CPU time at this load (2 shared CPUs): the CPU time is what the "
              "engine costs. Most of it is the bulk update's general path, not the following: reading the "
              "followers' rows whole (their date-times converted), their before/after pairs and one history "
              "row each.", "", END]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=10_000, help="followers of the one parent")
    parser.add_argument("--repeat", type=int, default=5, help="owner changes measured (best and median kept)")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    log(f"machine: {machine()}")
    runs = []
    for lean in (True, False):
        with tempfile.TemporaryDirectory() as folder:
            figures = measure(Path(folder), lean, args.followers, args.repeat)
        log(f"{'lean' if lean else 'shipped'}: {figures['followers']:,} followers, best {figures['best']:.2f} s, "
            f"median {figures['median']:.2f} s (CPU {figures['cpu_median']:.2f} s); setup {figures['setup']:.1f} s")
        runs.append(figures)
    section = report(runs, " ".join(sys.argv[1:]))
    print(section)
    if not args.no_doc:
        write_section(section, START, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
