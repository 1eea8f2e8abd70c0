"""CPU per HTML list and detail page, in process, on the small demo database.

Seeds `atrium seed --scale 200` into a temporary SQLite file, signs in as the admin and a sales
rep, and asks each page N times through the ASGI app (Starlette's TestClient, no network).
`time.process_time` over the loop is the figure: CPU of this one process (client included, which
is small beside the page), after three warm-up requests.

With `--baseline DIR` (a directory holding an older `atrium` package, e.g. `git archive COMMIT
platform` unpacked and renamed to DIR/atrium) each round runs twice in fresh processes, the
baseline and this checkout alternating, so both see the same machine load; `--write` puts the
table in docs/benchmarks.md.

    nice -n 19 .venv/bin/python bench/bench_page_cpu.py --requests 200 --rounds 3 --baseline /tmp/base --write
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
B2B = HERE.parent / "blueprints" / "b2b_sales"
PAGES = (("admin", "list"), ("admin", "detail"), ("rep1", "list"), ("rep1", "detail"))
START, END = "<!-- bench_page_cpu:start -->", "<!-- bench_page_cpu:end -->"


def signed_in(app, name: str):
    from starlette.testclient import TestClient
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", data={"name": name, "password": name, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def connections_per_request(client, engine, path: str, requests: int = 10) -> float:
    """Connections taken from the pool per request (the pool's checkout event)."""
    from sqlalchemy import event
    taken = []

    def count(*_args) -> None:
        taken.append(1)
    event.listen(engine, "checkout", count)
    for _ in range(requests):
        client.get(path)
    event.remove(engine, "checkout", count)
    return len(taken) / requests


def cpu_per_request(client, path: str, requests: int) -> float:
    for _ in range(3):
        assert client.get(path).status_code == 200
    start = time.process_time()
    for _ in range(requests):
        client.get(path)
    return (time.process_time() - start) * 1000 / requests


def measure(requests: int) -> dict[str, float]:
    """One round in this process: (user, page) → CPU ms a request."""
    from sqlalchemy import create_engine

    from atrium.metadata import load_blueprint
    from atrium.runtime.schema.migrations import migrate
    from atrium.runtime.seed.seeding import seed_demo
    from atrium.ui.web.app import Settings, create_app
    blueprint = load_blueprint(B2B)
    figures = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/demo.db"
        engine = create_engine(url)
        migrate(engine, blueprint)
        seed_demo(blueprint, engine, scale=200, seed=1)
        app = create_app(Settings(str(B2B), url, secret_key="bench"))
        for user in ("admin", "rep1"):
            client = signed_in(app, user)
            first = re.search(r'href="/r/order/(\d+)"', client.get("/r/order").text).group(1)
            for page, path in (("list", "/r/order"), ("detail", f"/r/order/{first}")):
                figures[f"{user} {page}"] = cpu_per_request(client, path, requests)
                figures[f"{user} {page} connections"] = connections_per_request(client, app.state.site.engine, path)
        engine.dispose()
    return figures


def in_child(requests: int, baseline: str | None) -> dict[str, float]:
    environment = dict(os.environ)
    if baseline:
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [baseline, environment.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, __file__, "--child", "--requests", str(requests)], env=environment,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def spread(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.1f} ms" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f}–{high:.1f} ms"


def section(args: argparse.Namespace, runs: dict[str, list[dict[str, float]]], seconds: float) -> str:
    load = os.getloadavg()
    lines = [START, "## CPU per list and detail page, in process (`bench/bench_page_cpu.py`)", "",
             f"Run {time.strftime('%Y-%m-%d')} with `.venv/bin/python bench/bench_page_cpu.py --requests "
             f"{args.requests} --rounds {args.rounds} --baseline DIR` ({seconds:.0f} s), niced, on a machine of "
             f"{os.cpu_count()} CPUs shared with other jobs (load average {load[0]:.2f} at the end). "
             f"Python {platform.python_version()}.", "",
             "The small demo database (`atrium seed --scale 200`, SQLite); the order list (50 rows, the view's "
             "columns) and an order's detail page, asked through the ASGI app in process; CPU per request is "
             f"`time.process_time` over {args.requests} requests after three warm-ups; connections are the "
             f"pool's checkouts per request. **Before** is {args.before_is}; each round runs both in fresh "
             "processes, alternating. Ranges are over the rounds.", "",
             "| page | user | before | after | after ÷ before (medians) | connections before → after |",
             "|---|---|---|---|---|---|"]
    for user, page in PAGES:
        key = f"{user} {page}"
        before = [r[key] for r in runs["before"]]
        after = [r[key] for r in runs["after"]]
        connections = [f"{statistics.median([r.get(key + ' connections', float('nan')) for r in runs[tree]]):.0f}"
                       for tree in ("before", "after")]
        lines.append(f"| HTML {page} page | {user} | {spread(before)} | **{spread(after)}** | "
                     f"{statistics.median(after) / statistics.median(before):.2f}× | "
                     f"{connections[0]} → {connections[1]} |")
    lines.append(END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="a directory holding an older atrium package to compare with")
    parser.add_argument("--write", action="store_true", help="write the section of docs/benchmarks.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--before-is", default="the tree before the change measured",
                        help="what the baseline is, for the text of the section")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.requests)))
        return
    started = time.monotonic()
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        if args.baseline:
            runs["before"].append(in_child(args.requests, args.baseline))
        runs["after"].append(in_child(args.requests, None))
    for name, rounds in runs.items():
        for user, page in PAGES if rounds else ():
            values = [r[f"{user} {page}"] for r in rounds]
            print(f"{name:6} {user:6} {page:6} {spread(values)} (median {statistics.median(values):.2f} ms)")
    if args.write and args.baseline:
        sys.path.insert(0, str(HERE))
        from benchmarks_doc import write_section
        write_section(section(args, runs, time.monotonic() - started), START, END)


if __name__ == "__main__":
    main()
