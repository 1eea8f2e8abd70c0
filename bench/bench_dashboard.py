"""Dashboard figures at 1,000,000 orders on SQLite (and with --pg on a PostgreSQL copy): the sales
rep's and the sales manager's home dashboards (the page and every widget partial, as a browser
loads them) timed in process, cold (widget cache empty) and warm (cached), with where the cold
CPU goes per widget; what a real order write costs the next load (only widgets reading orders
recompute); and the manager's cold load with the pre-aggregates out of the way (every report from
the base tables, as before runtime/schema/preaggregates.py), in the same run.

Reuses the database of bench/pages_data.py (built once under /tmp/atrium-bench/, migrated and
analysed as a site is) and bench_pages.py's in-process ASGI calls. Cold means the widget cache is
empty, not the database: SQLite's pages are in the OS cache after the first round, as on a
server that has been up a while. Writes a `bench_dashboard` section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pages import call, machine, sign_in, wait_for_quiet  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402
from pages_data import B2B, ROOT, build_or_reuse  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench_dashboard:start -->", "<!-- bench_dashboard:end -->"
TARGET_COLD_MS = 300
TARGET_MANAGER_CPU_MS = 500
TARGET_AFTER_WRITE_CPU_MS = 300
PEOPLE = {"sales rep": ("rep1", "rep1"), "sales manager": ("manager", "manager")}


def log(text: str) -> None:
    print(text, flush=True)


def open_app(url: str):
    from atrium.runtime.schema.database import create_engine
    from atrium.runtime.site.site import Site
    from atrium.ui.web.app import Settings, create_app
    site = Site.open(str(B2B), url, engine=create_engine(url))
    return create_app(Settings(str(B2B), url, secret_key="bench-secret"), site=site), site


class ServerCpu:
    """CPU ms the PostgreSQL server spent for the bench's database: the user + system time of every backend
    connected to it (the same machine: /proc), read through a connection to another database, whose own
    backend is therefore not counted. Zero on SQLite, whose work is in this process's time."""

    database: str | None = None

    @classmethod
    def total_ms(cls) -> float:
        if cls.database is None:
            return 0.0
        import psycopg
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
            pids = [row[0] for row in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (cls.database,))]
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks * 1000 / os.sysconf("SC_CLK_TCK")


async def load_dashboard(app, cookie: str) -> tuple[float, list[tuple[str, float]]]:
    """The home page, then each widget it names (HTMX requests): total ms and CPU ms per widget."""
    server = ServerCpu.total_ms()
    started, cpu = time.perf_counter(), time.process_time()
    status, _, page = await call(app, "GET", "/", cookie)
    assert status == 200, status
    widgets = []
    probing = 0.0  # this process's CPU reading the server's, left out of its own figures
    LAST_WIDGET_SERVER.clear()
    for path in re.findall(rb'hx-get="([^"]+)" hx-trigger="load"', page):
        path = path.decode().replace("&amp;", "&")
        probe = time.process_time()
        before = ServerCpu.total_ms()
        begun = time.process_time()
        probing += begun - probe
        status, _, body = await call(app, "GET", path, cookie)
        assert status == 200 and b"could not be computed" not in body, (path, status, body[:300])
        spent = time.process_time() - begun
        title = re.search(rb"<h2>(?:<a[^>]*>)?(.*?)<", body)
        name = title.group(1).decode() if title else path
        probe = time.process_time()
        LAST_WIDGET_SERVER[name] = ServerCpu.total_ms() - before
        probing += time.process_time() - probe
        widgets.append((name, spent * 1000))
    LAST_CPU[0] = (time.process_time() - cpu - probing) * 1000
    LAST_SERVER_CPU[0] = ServerCpu.total_ms() - server
    return (time.perf_counter() - started) * 1000, widgets


LAST_CPU = [0.0]  # CPU ms of the last load_dashboard (the machine may be shared: wall time waits for CPU)
LAST_SERVER_CPU = [0.0]  # the PostgreSQL server's CPU ms during it (ServerCpu)
LAST_WIDGET_SERVER: dict[str, float] = {}  # and during each widget of it


def write_an_order(site, step: int) -> float:
    """A real order write through the records service (an open order's amount and, every other
    time, its stage and owner change: the pre-aggregates' triggers run, the order counter goes up); CPU ms."""
    import sqlalchemy as sa
    orders, users = site.tables["order"], site.tables.system("atrium_users")
    with site.engine.connect() as connection:
        row = connection.execute(sa.select(orders.c.id, orders.c.amount, orders.c.stage).where(
            orders.c.stage == "proposal", orders.c.expected_close >= dt.date.today() + dt.timedelta(days=30),
            orders.c.campaign.is_(None))  # the PostgreSQL copy leaves the campaigns out (they are not read)
            .order_by(orders.c.id).limit(1).offset(step)).one()
        reps = connection.execute(sa.select(users.c.id).where(users.c.name.in_(["rep1", "rep2"]))).scalars().all()
    values = {"amount": (row.amount or 0) + 1}
    if step % 2:
        values.update(stage="negotiation", owner=reps[step % len(reps)])  # forward: the pipeline's transitions
    started = time.process_time()
    site.records.update("order", row.id, values)
    return (time.process_time() - started) * 1000


async def measure_tracking(app, person: str, rounds: int, history: bool) -> dict:
    """Cold loads of `person`'s dashboard, with the stage tracking tables (runtime/schema/stage_tracking.py)
    or with every stalled/in-stage filter and funnel read from the stage history, as before them."""
    from atrium.runtime.schema import stage_tracking
    from atrium.ui.reports.widget_cache import cache_of
    name, password = PEOPLE[person]
    cookie = await sign_in(app, name, password)
    tracked = stage_tracking.tracked
    if history:
        stage_tracking.tracked = lambda *_: None
    try:
        cache, cpu, per_widget = cache_of(app.state), [], {}
        for _ in range(rounds):
            cache.clear()
            _, widgets = await load_dashboard(app, cookie)
            cpu.append(LAST_CPU[0])
            for title, ms in widgets:
                per_widget.setdefault(title, []).append(ms)
    finally:
        stage_tracking.tracked = tracked
    return {"cold_cpu": statistics.median(cpu), "n": rounds,
            "widgets": {title: statistics.median(values) for title, values in per_widget.items()}}


TRACKING_START, TRACKING_END = "<!-- bench_stage_tracking:start -->", "<!-- bench_stage_tracking:end -->"
STAGE_WIDGETS = re.compile(r"(?i)stalled|funnel|停滞|漏斗")


def render_tracking(info: dict, data: dict, runs: dict, args, owned_by: dict, whole: dict) -> str:
    lines = [TRACKING_START, "## Stage tracking: stalled and funnel widgets (`bench/bench_dashboard.py --tracking`)",
             "",
             f"Run {dt.date.today().isoformat()} with `.venv/bin/python bench/bench_dashboard.py --tracking "
             f"--orders {args.orders} --rounds {args.rounds} --manager-rounds {args.manager_rounds}"
             f"{' --pg URL' if args.pg else ''}` on {info['cpus']} cores "
             f"({info['cpu']}), SQLite {info['sqlite']}, load average {info['load']} at the start (a shared machine: "
             "CPU is this process's own time). **Scale: "
             f"{data.get('counts', {}).get('order', args.orders):,} orders**; rep1 owns {owned_by['sales rep']:,}, "
             f"the manager's team {owned_by['sales manager']:,}. Cold dashboard loads (widget cache emptied), "
             "median CPU ms per widget partial; *history*: every `stalled` / `in_stage_longer_than_days` condition "
             "and every funnel read from atrium_stage_history, as before; *tracking*: from the per-record stage "
             "tracking table (entered-stage time, furthest stage: runtime/schema/stage_tracking.py, docs/reports.md).",
             "", "| database | dashboard | widget | history (CPU ms) | tracking (CPU ms) |", "|---|---|---|---:|---:|"]
    for (database, person), (before, after) in runs.items():
        for title in sorted(before["widgets"], key=lambda t: -before["widgets"][t]):
            if STAGE_WIDGETS.search(title):
                lines.append(f"| {database} | {person} | {title} | {before['widgets'][title]:.1f} | "
                             f"{after['widgets'].get(title, 0):.1f} |")
        lines.append(f"| {database} | {person} | **whole cold load** | {before['cold_cpu']:.0f} | "
                     f"**{after['cold_cpu']:.0f}** |")
    if whole:
        lines += ["", "The manager's whole dashboard (every widget, stage tracking in use), the same way as the role "
                  "dashboards section measures it: median CPU ms of this process; *after a write*: one order changed "
                  "through the records service first (its amount; every other round also its stage and owner), then "
                  "the dashboard loaded (the widgets reading orders compute afresh).", "",
                  "| database | cold load (CPU) | after an order write (CPU) | the write itself (CPU) | rounds |",
                  "|---|---:|---:|---:|---:|"]
        for database, result in whole.items():
            lines.append(f"| {database} | **{result['cold_cpu']:.0f} ms** | **{result['after_cpu']:.0f} ms** | "
                         f"{result['write_cpu']:.1f} ms | {result['cold']['n']} |")
        lines += ["", "Where that cold load goes (median CPU ms per widget partial):", "",
                  "| widget | " + " | ".join(whole) + " |", "|---|" + "---:|" * len(whole)]
        first = next(iter(whole.values()))["widgets"]
        for title in sorted(first, key=lambda t: -first[t]):
            lines.append(f"| {title} | " + " | ".join(f"{r['widgets'].get(title, 0):.1f}" for r in whole.values())
                         + " |")
    lines += ["", "A funnel counting the records of the viewer's scope (the dashboards') sums the rows of the "
              "owners in scope in the aggregate by owner × furthest stage kept beside the tracking table "
              "(runtime/schema/funnel_aggregates.py); a funnel with sums or a filter joins each record in scope to "
              "its tracking row (a primary-key lookup, instead of grouping its history); a period funnel "
              "(`period:`) still reads the history. `stalled` and `in_stage_longer_than_days` compare the "
              "entity's own `<stage field>_entered_at` column (kept by the same triggers), which an index "
              "(owner column, stage, entered) serves. The manager's stalled list (a list report sorted by expected "
              "close) walks the expected-close index from today (query/index_walk.py, now also for list reports) "
              "and keeps the first 50 matches, instead of sorting every open order of the team: in this data "
              "nearly every open order is stalled, so it is the sort, not the entered-time test, that cost.",
              TRACKING_END]
    return "\n".join(lines)


async def measure(app, site, person: str, rounds: int, base_tables: bool = False) -> dict:
    from atrium.runtime.schema import preaggregates
    name, password = PEOPLE[person]
    cookie = await sign_in(app, name, password)
    present = preaggregates.present
    if base_tables:  # every report from the base tables, as before the pre-aggregates
        preaggregates.present = lambda connection, shape: False
    try:
        return await _measure(app, site, cookie, rounds, cold_only=base_tables)
    finally:
        preaggregates.present = present


async def _measure(app, site, cookie: str, rounds: int, cold_only: bool = False) -> dict:
    from atrium.ui.reports.widget_cache import cache_of
    cache = cache_of(app.state)
    cache.clear()
    if not cold_only:
        await load_dashboard(app, cookie)  # the database's pages into memory; not counted
    cold, warm, after_write, per_widget, cold_cpu, warm_cpu, write_cpu, after_cpu = [], [], [], {}, [], [], [], []
    cold_server, after_server, per_widget_server = [], [], {}
    for step in range(rounds):
        cache.clear()
        total, widgets = await load_dashboard(app, cookie)
        cold.append(total)
        cold_cpu.append(LAST_CPU[0])
        cold_server.append(LAST_SERVER_CPU[0])
        for title, ms in widgets:
            per_widget.setdefault(title, []).append(ms)
            per_widget_server.setdefault(title, []).append(LAST_WIDGET_SERVER.get(title, 0.0))
        if cold_only:  # seconds a load from the base tables: the warm and after-write loads say nothing new
            continue
        total, _ = await load_dashboard(app, cookie)
        warm.append(total)
        warm_cpu.append(LAST_CPU[0])
        write_cpu.append(write_an_order(site, step))
        total, _ = await load_dashboard(app, cookie)
        after_write.append(total)
        after_cpu.append(LAST_CPU[0])
        after_server.append(LAST_SERVER_CPU[0])
    if cold_only:
        warm, after_write, warm_cpu, after_cpu, write_cpu = cold, cold, cold_cpu, cold_cpu, cold_cpu
        after_server = cold_server
    return {"cold": summary(cold), "warm": summary(warm), "after_write": summary(after_write),
            "cold_cpu": statistics.median(cold_cpu), "warm_cpu": statistics.median(warm_cpu),
            "after_cpu": statistics.median(after_cpu), "write_cpu": statistics.median(write_cpu),
            "cold_server": statistics.median(cold_server), "after_server": statistics.median(after_server),
            "widgets": {title: statistics.median(values) for title, values in per_widget.items()},
            "widgets_server": {title: statistics.median(values) for title, values in per_widget_server.items()},
            "count": len(per_widget)}


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"p50": statistics.median(values), "p90": ordered[min(len(ordered) - 1, int(len(ordered) * .9))],
            "max": max(values), "n": len(values)}


def owned(site, name: str) -> int:
    import sqlalchemy as sa
    users, orders = site.tables.system("atrium_users"), site.tables["order"]
    with site.engine.connect() as connection:
        uid = connection.execute(sa.select(users.c.id).where(users.c.name == name)).scalar_one()
        return connection.execute(sa.select(sa.func.count()).where(orders.c.owner == uid)).scalar_one()


def render(info: dict, data: dict, runs: dict, args, owned_by: dict, end_load: str) -> str:
    first = next(iter(runs))[0]
    rep = runs.get((first, "sales rep"))  # absent with --rounds 0
    manager = runs.get((first, "sales manager"))
    lines = [START, "## Role dashboards (`bench/bench_dashboard.py`)", "",
             f"Run {dt.date.today().isoformat()} with `.venv/bin/python bench/bench_dashboard.py` "
             f"(`--orders {args.orders} --rounds {args.rounds} --manager-rounds {args.manager_rounds}"
             f"{' --pg URL' if args.pg else ''}`) on {info['cpus']} cores ({info['cpu']}), "
             f"SQLite {info['sqlite']}, load average {info['load']} at the start and {end_load} at the end "
             "(a machine shared with other work: the CPU columns are this process's own time, "
             "`time.process_time`, which is what the dashboard costs; wall time also counts the waits for a core).",
             "",
             f"The database of `bench/pages_data.py`: {data.get('counts', {}).get('order', args.orders):,} orders; "
             f"rep1 owns {owned_by['sales rep']:,} of them, the manager's team "
             f"{owned_by['sales manager']:,} (manager's scope). A *dashboard load* is what a browser does: "
             "`GET /`, then each widget partial it names (`hx-get`), one after another, through the ASGI "
             "app in process (no socket). *Cold*: the widget cache emptied before the load; *warm*: "
             "loaded again at once (every widget from the cache); *after a write*: one order changed "
             "through the records service first (its amount; every other round also its stage and owner), "
             "so the widgets that read orders compute afresh and the others (tasks, visits, instalments) "
             "come from the cache. *Base tables*: the same cold load with the pre-aggregates out of the way "
             "(every report recomputed from the orders, as before them).", "",
             "*Server CPU* is what the PostgreSQL server's backends for the bench's database spent during the "
             "load (user + system time from /proc; on SQLite that work is in the process's own CPU); "
             "*CPU + server* is the figure the targets are held to.", "",
             "| database | dashboard | widgets | cold CPU p50 | cold server CPU | cold CPU + server | cold wall p50 | "
             "after an order write: CPU p50 | server CPU | CPU + server | wall p50 | warm CPU p50 | "
             "the write itself (CPU) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (database, person), result in runs.items():
        after = f"{result['after_cpu']:.0f} ms" if "after_cpu" in result else "—"
        after_wall = f"{result['after_write']['p50']:.0f} ms" if "after_cpu" in result else "—"
        warm = f"{result['warm_cpu']:.1f} ms" if "after_cpu" in result else "—"
        write = f"{result['write_cpu']:.1f} ms" if "write_cpu" in result else "—"
        server = database != "SQLite"
        cold_server = f"{result['cold_server']:.0f} ms" if server else "—"
        after_server = f"{result['after_server']:.0f} ms" if server and "after_cpu" in result else "—"
        cold_sum = result["cold_cpu"] + (result["cold_server"] if server else 0)
        after_sum = (f"**{result['after_cpu'] + (result['after_server'] if server else 0):.0f} ms**"
                     if "after_cpu" in result else "—")
        lines.append(f"| {database} | {person} | {result['count']} | {result['cold_cpu']:.0f} ms | {cold_server} | "
                     f"**{cold_sum:.0f} ms** | {result['cold']['p50']:.0f} ms | {after} | {after_server} | "
                     f"{after_sum} | {after_wall} | {warm} | {write} |")
    rep_verdict = "not measured" if rep is None else (
        f"{'met' if rep['cold']['p50'] <= TARGET_COLD_MS else '**missed**'} "
        f"({rep['cold']['p50']:.0f} ms wall, {rep['cold_cpu']:.0f} ms CPU)")
    lines += ["", f"Targets: the rep's dashboard p50 ≤ {TARGET_COLD_MS} ms cold — {rep_verdict}; the manager's ≤ "
              f"{TARGET_MANAGER_CPU_MS} ms of CPU cold and ≤ {TARGET_AFTER_WRITE_CPU_MS} ms after an order write."]
    if manager is not None:
        lines += ["", "Where the manager's cold CPU goes (median per widget partial, CPU ms; on PostgreSQL the "
                  "process's plus the server's; *base* = the same widget from the base tables):", "",
                  "| widget | " + " | ".join(f"{database}" + (" (base)" if person.endswith("base tables") else "")
                                            + (" + server" if database != "SQLite" else "")
                                            for database, person in runs if person.startswith("sales manager"))
                  + " |", "|---|" + "---:|" * sum(1 for _, p in runs if p.startswith("sales manager"))]
        columns = [{title: ms + (runs[key].get("widgets_server", {}).get(title, 0.0) if key[0] != "SQLite" else 0.0)
                    for title, ms in runs[key]["widgets"].items()}
                   for key in runs if key[1].startswith("sales manager")]
        for title in sorted(manager["widgets"], key=lambda t: -manager["widgets"][t]):
            lines.append(f"| {title} | " + " | ".join(f"{c.get(title, 0):.1f}" for c in columns) + " |")
    lines += ["", "What answers the manager's summary widgets: the pre-aggregates "
              "(runtime/schema/preaggregates.py, docs/reports.md): per owner × the report's filter and group "
              "fields, a count and the sums its measures read, kept by the database's own row triggers in "
              "the writing transaction, so the team scope sums the team members' rows (a few thousand) "
              "instead of reading 900,000 orders. The funnel counts from the stage tracking aggregate (owner × "
              "furthest stage), the stalled list from the entered-stage column the stage tracking keeps, walking the "
              "expected-close index (see the stage tracking section); "
              "the other list widgets (overdue, the loss board) and the time series still read the base tables.",
              "", "The cache: per process, keyed by the metadata version, the widget's YAML (and its report's), "
              "the viewer, the filters, the language and the day, and valid while the change counters of the tables "
              "the widget reads (`atrium_data_versions`, raised in the committing transaction) stay put, "
              "so a second worker sees a write on its next request.", END]
    return "\n".join(lines)


def write_doc(section: str) -> None:
    write_section(section, START, END, DOC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--db", default="/tmp/atrium-bench/orders-1m.db", help="kept and reused between runs")
    parser.add_argument("--rounds", type=int, default=15,
                        help="cold, warm and after-write loads of the rep's dashboard")
    parser.add_argument("--manager-rounds", type=int, default=5, help="the same for the manager's; 0 skips")
    parser.add_argument("--base-rounds", type=int, default=1,
                        help="cold loads of the manager's from the base tables (seconds each); 0 skips")
    parser.add_argument("--pg", default=None, help="also on a PostgreSQL copy of the file on this server "
                        "(a database of its own, made with bench/pg_copy.py, kept between runs)")
    parser.add_argument("--skip-sqlite", action="store_true", help="measure only the PostgreSQL copy")
    parser.add_argument("--quiet", type=float, default=1.5, help="load average to wait for before starting")
    parser.add_argument("--wait", type=float, default=3, help="minutes to wait at most for that load")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--tracking", action="store_true",
                        help="only the stalled and funnel widgets, from the stage history and from stage tracking "
                             "(--rounds cold loads of each dashboard), and the manager's whole dashboard cold and "
                             "after an order write (--manager-rounds); writes its own section")
    args = parser.parse_args()
    database = Path(args.db)
    data = build_or_reuse(database, args.orders)
    urls = {} if args.skip_sqlite else {"SQLite": f"sqlite:///{database}"}
    if args.pg:
        urls["PostgreSQL"] = postgres_copy(database, args.pg)
    wait_for_quiet(args.quiet, args.wait)
    info = machine()
    log(f"machine: {info}")
    runs: dict = {}
    owned_by: dict = {}
    if args.tracking:
        whole: dict = {}
        for name, url in urls.items():
            app, site = open_app(url)
            owned_by = {"sales rep": owned(site, "rep1"), "sales manager": team_owned(site)}
            if args.manager_rounds:
                log(f"{name}, sales manager: {args.manager_rounds} cold, warm and after-write loads ...")
                whole[name] = asyncio.run(measure(app, site, "sales manager", args.manager_rounds))
                log(f"  cold CPU {whole[name]['cold_cpu']:.0f} ms, after an order write CPU "
                    f"{whole[name]['after_cpu']:.0f} ms, the write {whole[name]['write_cpu']:.1f} ms")
            for person in PEOPLE:
                log(f"{name}, {person}: {args.rounds} cold loads from the history, then from stage tracking ...")
                runs[(name, person)] = (asyncio.run(measure_tracking(app, person, args.rounds, True)),
                                        asyncio.run(measure_tracking(app, person, args.rounds, False)))
                for title, ms in runs[(name, person)][0]["widgets"].items():
                    log(f"    {ms:8.1f} -> {runs[(name, person)][1]['widgets'].get(title, 0):8.1f} ms CPU  {title}")
            site.engine.dispose()
        section = render_tracking(info, data, runs, args, owned_by, whole)
        if args.no_doc:
            print(section)
        else:
            write_section(section, TRACKING_START, TRACKING_END, DOC)
        return 0
    for name, url in urls.items():
        app, site = open_app(url)
        ServerCpu.database = site.engine.url.database if name == "PostgreSQL" else None
        owned_by = {"sales rep": owned(site, "rep1"), "sales manager": team_owned(site)}
        plan = [("sales rep", args.rounds, False), ("sales manager", args.manager_rounds, False),
                ("sales manager, base tables", args.base_rounds, True)]
        for person, rounds, base in plan:
            if not rounds:
                continue
            log(f"{name}, {person}: {rounds} rounds ...")
            result = asyncio.run(measure(app, site, person.split(",")[0], rounds, base))
            runs[(name, person)] = result
            log(f"  cold p50 {result['cold']['p50']:.0f} ms (CPU {result['cold_cpu']:.0f} ms, "
                f"server {result['cold_server']:.0f} ms), after a write server {result['after_server']:.0f} ms, "
                f"warm CPU {result['warm_cpu']:.1f} ms, "
                f"after an order write CPU {result['after_cpu']:.0f} ms (wall {result['after_write']['p50']:.0f} ms)")
            for title, ms in sorted(result["widgets"].items(), key=lambda item: -item[1]):
                log(f"    {ms:7.1f} ms CPU + {result['widgets_server'].get(title, 0.0):6.0f} ms server  {title}")
            if base:  # the after-write and warm loads of a base-table run say nothing new
                for key in ("after_cpu", "write_cpu"):
                    result.pop(key)
        site.engine.dispose()
    end_load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    section = render(info, data, runs, args, owned_by, end_load)
    if args.no_doc:
        print(section)
    else:
        write_doc(section)
        log(f"wrote {DOC.relative_to(ROOT)}")
    return 0


PG_TABLES = ("atrium_teams", "atrium_users", "customer", "order", "atrium_stage_history", "task", "visit",
             "payment_plan", "instalment", "receipt", "sales_target")  # what the two dashboards read


def postgres_copy(database: Path, server_url: str) -> str:
    """The SQLAlchemy URL of a PostgreSQL copy of the tables the dashboards read (bench/pg_copy.py's
    COPY, triggers off, into a database of its own), its pre-aggregates computed from the copied rows."""
    import pg_copy
    import sqlalchemy as sa

    from atrium.metadata import load_blueprint
    from atrium.runtime.schema import preaggregates, stage_tracking
    from atrium.runtime.schema.database import create_engine, refresh_statistics
    from atrium.runtime.schema.tables import build_tables
    pg_copy.DATABASE, pg_copy.TABLES = "atrium_bench_dashboard", PG_TABLES
    url = pg_copy.copy_to_postgres(database, server_url)
    blueprint = load_blueprint(B2B)
    tables = build_tables(blueprint)
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        preaggregates.rebuild(connection, blueprint, tables)
        stage_tracking.rebuild(connection, blueprint, tables)
        refilled = connection.execute(sa.select(sa.func.count()).select_from(
            preaggregates.shapes(blueprint, tables)[0].table)).scalar_one()
    refresh_statistics(engine, [*PG_TABLES, *(s.name for s in preaggregates.shapes(blueprint, tables)),
                                *(t.name for t in stage_tracking.trackings(blueprint))])
    engine.dispose()
    pg_copy.vacuum(url)
    log(f"PostgreSQL: pre-aggregates computed in {time.perf_counter() - started:.1f} s "
        f"({refilled:,} rows in the first)")
    return url


def team_owned(site) -> int:
    import sqlalchemy as sa

    from atrium.runtime.records.evaluation import Actor
    users, orders = site.tables.system("atrium_users"), site.tables["order"]
    with site.engine.connect() as connection:
        row = connection.execute(sa.select(users).where(users.c.name == "manager")).one()
        actor = Actor(user_id=row.id, name=row.name, role=row.role, team_id=row.team_id)
        return connection.execute(sa.select(sa.func.count()).select_from(orders).where(
            site.access.row_filter(connection, actor, "order", "read", orders))).scalar_one()


if __name__ == "__main__":
    sys.exit(main())
