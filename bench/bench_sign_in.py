"""Sign-in and sessions: what a wrong password and an unknown name cost (they must match), what
looking the session up costs on each request, and how many of 30 parallel wrong passwords reach
the password check. In-process (Starlette's TestClient) on a fresh SQLite file of the DESIGN.md
example blueprint, or on PostgreSQL with `--db URL`; prints the figures and rewrites its section
of docs/benchmarks.md.

    .venv/bin/python bench/bench_sign_in.py [--db postgresql://postgres@127.0.0.1:5432/bench] [--no-doc]

Not a timed test: the figures vary with the machine's load.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench")) if str(ROOT / "bench") not in sys.path else None
from benchmarks_doc import write_section  # noqa: E402

BLUEPRINT = ROOT / "tests" / "fixtures" / "design_examples"
START, END = "<!-- bench_sign_in:start -->", "<!-- bench_sign_in:end -->"


def measure(url: str | None) -> tuple[str, list[tuple[str, str]]]:
    """(database, [(measure, value)]) on a fresh SQLite file, or the database at `url`."""
    import sqlalchemy as sa
    from starlette.testclient import TestClient

    from atrium.metadata import load_blueprint
    from atrium.runtime.access import users
    from atrium.runtime.access.sessions import SessionPolicy, session_user, start_session
    from atrium.runtime.schema.database import create_engine
    from atrium.runtime.schema.migrations import migrate
    from atrium.runtime.site.site import Site
    from atrium.ui.web.app import Settings, create_app

    folder = tempfile.mkdtemp(prefix="bench-sign-in-")
    url = url or f"sqlite:///{folder}/bench.db"
    blueprint = load_blueprint(BLUEPRINT)
    engine = create_engine(url)
    migrate(engine, blueprint)
    site = Site.open(blueprint, url, engine=engine)
    with engine.begin() as connection:
        if users.find_user(connection, site.tables, "rep") is None:
            users.add_user(connection, site.tables, blueprint, "rep", "sales_rep", password="rep-pass")
        rep = users.user_id(connection, site.tables, "rep")
        connection.execute(site.tables.system("atrium_sign_in_counts").delete())
    app = create_app(Settings(str(BLUEPRINT), url, secret_key="bench", site_overlay=folder), site=site)

    def csrf(client: TestClient) -> str:
        page = client.get("/login").text
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    def post(client: TestClient, name: str, password: str, token: str | None = None) -> tuple[float, int]:
        token = token or csrf(client)
        started = time.perf_counter()
        response = client.post("/login", data={"name": name, "password": password, "csrf_token": token},
                               follow_redirects=False)
        return time.perf_counter() - started, response.status_code

    with TestClient(app, client=("198.51.100.1", 1)) as client:
        known, unknown = [], []
        for n in range(4):  # interleaved; 4 each stays under the per-account limit
            known.append(post(client, "rep", f"wrong{n}")[0])
            unknown.append(post(client, f"nobody{n}", "wrong")[0])
    policy, now = SessionPolicy(), site.now()
    with engine.begin() as connection:
        key = start_session(connection, site.tables, rep, now, policy)
    lookups, floor = [], []
    for _ in range(2000):
        started = time.perf_counter()
        assert session_user(engine, site.tables, key, now, policy) is not None
        lookups.append(time.perf_counter() - started)
        started = time.perf_counter()
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1")).scalar()
        floor.append(time.perf_counter() - started)
    with TestClient(app, client=("203.0.113.7", 1)) as attacker:
        barrier, token = threading.Barrier(30), csrf(attacker)

        def wrong(n: int) -> int:
            barrier.wait()
            return post(attacker, "rep", f"parallel{n}", token)[1]

        with ThreadPoolExecutor(30) as pool:
            statuses = list(pool.map(wrong, range(30)))
    database = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite"
    engine.dispose()
    return database, [
        ("wrong password for a known name, median of 4", f"{statistics.median(known) * 1000:.0f} ms"),
        ("unknown name, median of 4", f"{statistics.median(unknown) * 1000:.0f} ms"),
        ("session lookup on each request, median of 2,000", f"{statistics.median(lookups) * 1e6:.0f} µs"),
        ("`SELECT 1` on the same engine (the floor), median of 2,000", f"{statistics.median(floor) * 1e6:.0f} µs"),
        ("30 parallel wrong passwords: checked / refused (limit 5)",
         f"{statuses.count(400)} / {statuses.count(429)}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a PostgreSQL URL to measure as well as a fresh SQLite file")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    results = [measure(None)] + ([measure(args.db)] if args.db else [])
    for database, rows in results:
        print(f"{database}:\n" + "\n".join(f"  {what}: {value}" for what, value in rows))
    load = os.getloadavg()[0]
    head = "| measure | " + " | ".join(database for database, _ in results) + " |"
    lines = [head, "| --- |" + " --- |" * len(results)]
    for index, (what, _) in enumerate(results[0][1]):
        lines.append(f"| {what} | " + " | ".join(rows[index][1] for _, rows in results) + " |")
    if not args.no_doc:
        section = (f"{START}\n## Sign-in and sessions (`bench/bench_sign_in.py`)\n\n"
                   "Both a wrong password and an unknown name run argon2 (an unknown name against a dummy hash), "
                   "so they take the same time; the session is one primary-key lookup joined to its user, "
                   "beside a bare `SELECT 1` for the floor. In-process, on a shared 2-core machine.\n\n"
                   + "\n".join(lines)
                   + f"\n\nLoad average {load:.1f} on {os.cpu_count()} cores while measuring.\n{END}")
        write_section(section, START, END)


if __name__ == "__main__":
    main()
