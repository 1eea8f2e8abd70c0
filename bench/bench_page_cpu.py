"""CPU per HTML list and detail page, in process, on the small demo database.

Seeds `atrium seed --scale 200` into a temporary SQLite file, signs in as the admin and a sales
rep, and asks each page N times through the ASGI app (Starlette's TestClient, no network).
`time.process_time` over the loop is the figure: CPU of this one process (client included, which
is small beside the page), after three warm-up requests.

    nice -n 19 .venv/bin/python bench/bench_page_cpu.py --requests 200
"""
from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine
from starlette.testclient import TestClient

from atrium.metadata import load_blueprint
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.seed.seeding import seed_demo
from atrium.ui.web.app import Settings, create_app

B2B = Path(__file__).resolve().parent.parent / "blueprints" / "b2b_sales"


def signed_in(app, name: str) -> TestClient:
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", data={"name": name, "password": name, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def cpu_per_request(client: TestClient, path: str, requests: int) -> float:
    for _ in range(3):
        assert client.get(path).status_code == 200
    start = time.process_time()
    for _ in range(requests):
        client.get(path)
    return (time.process_time() - start) * 1000 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    blueprint = load_blueprint(B2B)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/demo.db"
        engine = create_engine(url)
        migrate(engine, blueprint)
        seed_demo(blueprint, engine, scale=200, seed=1)
        app = create_app(Settings(str(B2B), url, secret_key="bench"))
        for user in ("admin", "rep1"):
            client = signed_in(app, user)
            page = client.get("/r/order").text
            first = re.search(r'href="/r/order/(\d+)"', page).group(1)
            for label, path in (("list", "/r/order"), ("detail", f"/r/order/{first}")):
                figures = [cpu_per_request(client, path, args.requests) for _ in range(args.rounds)]
                print(f"{user:6} {label:6} {min(figures):6.2f}–{max(figures):6.2f} ms CPU a request "
                      f"(median {statistics.median(figures):.2f}, {args.requests} requests × {args.rounds})")
        engine.dispose()


if __name__ == "__main__":
    main()
