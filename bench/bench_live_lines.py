"""The live redraw of a form with a line grid (views `form.lines`): what one `form-state` request
costs when the quote's roll-ups, formulas and conditions follow the lines as typed, for quotes of
10, 50 and 150 saved lines with one line changed in the grid. In process (Starlette's TestClient),
on a temporary SQLite file of the b2b blueprint; `time.process_time` over the loop (client
included) and wall time per request. Prints the figures and rewrites its own section of
docs/benchmarks.md.

    nice -n 19 .venv/bin/python bench/bench_live_lines.py [--requests 20] [--no-doc] [--baseline DIR]

With `--baseline DIR` (a directory holding an older `atrium` package: `git archive main platform`
unpacked and renamed to DIR/atrium) the same requests are also measured with that code, in a child
process, beside this checkout's.

Not a timed test: run it on a quiet machine; the figures vary with load.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform as python_platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
from benchmarks_doc import write_section  # noqa: E402

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.runtime.access import users  # noqa: E402
from atrium.runtime.records.evaluation import Actor  # noqa: E402
from atrium.runtime.schema.migrations import migrate  # noqa: E402
from atrium.runtime.site.site import Site  # noqa: E402

B2B = ROOT / "blueprints" / "b2b_sales"
START, END = "<!-- bench_live_lines:start -->", "<!-- bench_live_lines:end -->"
SIZES = (10, 50, 150)  # 5 inputs a row: a form post holds at most 1,000 fields (sessions.py)


def signed_in(app, name: str):
    from starlette.testclient import TestClient
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", data={"name": name, "password": name, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def measure(requests: int) -> list[tuple[int, float, float, float]]:
    from atrium.ui.web.app import Settings, create_app
    blueprint = load_blueprint(B2B)
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        site = Site.open(blueprint, url)
        migrate(site.engine, blueprint)
        with site.engine.begin() as connection:
            rep = users.add_user(connection, site.tables, blueprint, "rep", "sales_rep",
                                 password="rep", locale="en")
        actor = Actor(user_id=rep, name="rep", role="sales_rep", locale="en")
        customer = site.records.create("customer", {"name": "Acme"}, actor)
        order = site.records.create("order", {"name": "Deal", "customer": customer["id"]}, actor)
        product = site.records.create("product", {"code": "P1", "name": "Robot", "unit_price": 1000}, actor)
        app = create_app(Settings(str(B2B), url, secret_key="bench"))
        client = signed_in(app, "rep")
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/r/quote/new").text).group(1)
        for size in SIZES:
            quote = site.records.create("quote", {"name": f"Q{size}", "order": order["id"],
                                                  "customer": customer["id"]}, actor)
            site.records.bulk_create("quote_line", ({"quote": quote["id"], "product": product["id"], "quantity": 1,
                                                     "unit_price": 1000, "discount": 5} for _ in range(size)), actor)
            with site.engine.connect() as connection:
                lines = sorted(r["id"] for r in site.records.read_where(connection, "quote_line", "quote",
                                                                          [quote["id"]]))
            stored = site.records.get("quote", quote["id"])
            form: list[tuple[str, object]] = [("csrf_token", token), ("version", stored["version"]),
                                              ("g0-rows", size)]
            for name, value in (("name", quote["name"]), ("order", order["id"]), ("customer", customer["id"]),
                                ("quoted_on", "2026-05-15"), ("status", "draft")):
                form += [("_fields", name), (name, value)]
            for i, line in enumerate(lines):
                discount = "30" if i == 0 else "5"  # one line changed in the grid
                form += [(f"g0-{i}-_id", line), (f"g0-{i}-product", product["id"]), (f"g0-{i}-quantity", "1"),
                         (f"g0-{i}-unit_price", "1000"), (f"g0-{i}-discount", discount)]
            path = f"/r/quote/{quote['id']}/form-state"
            headers = {"HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded"}
            body = urlencode(form)
            answer = client.post(path, content=body, headers=headers)
            assert answer.status_code == 200, answer.text[:500]
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(requests):
                client.post(path, content=body, headers=headers)
            cpu_ms = (time.process_time() - cpu) * 1000 / requests
            wall_ms = (time.perf_counter() - wall) * 1000 / requests
            figures.append((size, cpu_ms, wall_ms, len(answer.content) / 1024))
            print(f"{size} lines: {cpu_ms:.1f} ms CPU, {wall_ms:.1f} ms wall, {figures[-1][3]:.0f} KiB",
                  file=sys.stderr, flush=True)
        site.engine.dispose()
    return figures


def in_child(requests: int, baseline: str) -> list[tuple[int, float, float, float]]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [baseline, environment.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, __file__, "--child", "--requests", str(requests)], env=environment,
                         check=True, capture_output=True, text=True).stdout
    return [tuple(row) for row in json.loads(out.strip().splitlines()[-1])]


def section(requests: int, figures: list[tuple[int, float, float, float]],
            base: list[tuple[int, float, float, float]] | None) -> str:
    if base:
        head = ("| lines | CPU ms / request | before (no live roll-ups) | wall ms / request | answer KiB |\n"
                "|---:|---:|---:|---:|---:|")
        rows = "\n".join(f"| {size} | {cpu:.1f} | {old[1]:.1f} | {wall:.1f} | {kib:.0f} |"
                         for (size, cpu, wall, kib), old in zip(figures, base, strict=True))
    else:
        head = "| lines | CPU ms / request | wall ms / request | answer KiB |\n|---:|---:|---:|---:|"
        rows = "\n".join(f"| {size} | {cpu:.1f} | {wall:.1f} | {kib:.0f} |" for size, cpu, wall, kib in figures)
    return f"""{START}
## Live redraw of a form with lines (`bench/bench_live_lines.py`)

One `form-state` request of a quote's edit form (a rep, SQLite, in process) with one line's
discount changed in the grid: the lines drafted through their rules, the quote's roll-ups computed
over them (`Rollups.over_rows`), its formulas and conditions, and the form redrawn. {requests}
requests per size; {dt.date.today().isoformat()}, Python {python_platform.python_version()},
a shared 2-core machine under `nice -n 19` (other work running: figures vary by 10-20%). A form post
holds at most 1,000 fields, so a grid of 5 inputs a row posts at most about 190 rows.

{head}
{rows}
{END}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--baseline", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.requests)))
        return
    base = in_child(args.requests, args.baseline) if args.baseline else None
    figures = measure(args.requests)
    if not args.no_doc:
        write_section(section(args.requests, figures, base), START, END)
    print(section(args.requests, figures, base))


if __name__ == "__main__":
    main()
