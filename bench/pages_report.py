"""The markdown section bench/bench_pages.py writes into docs/benchmarks.md."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Targets:
    ms: dict            # p50 per page, in-process
    rps: int            # detail page under wrk
    p99: int
    connections: int


def _title(figure: dict) -> str:
    page = figure["page"] + ("" if " " in figure["page"] else " page")
    return f"{page}, {figure['user']}" + (" (the next link's keyset cursor)" if "2" in page else "")


def _statuses(pages: dict) -> str:
    odd = [f for f in pages["figures"] if f["statuses"] != [200]]
    if not odd:
        return "Every response was a 200."
    return "Answers other than 200: " + "; ".join(f"{_title(f)}: {f['statuses']}" for f in odd) + "."


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _figure(pages: dict | None, page: str, user: str) -> dict | None:
    return next((f for f in (pages or {}).get("figures", []) if f["page"] == page and f["user"] == user), None)


def _slowest(pages: dict | None, page: str, user: str) -> dict | None:
    statements = (pages or {}).get("statements", {}).get((page, user))
    return max(statements, key=lambda s: s["ms"]) if statements else None


def _same(pages: dict | None, fixed: dict | None, page: str, user: str) -> dict | None:
    """In the what-if run, the statement in the place of the slowest one now (same requests, same
    statements in the same order)."""
    now = (pages or {}).get("statements", {}).get((page, user))
    then = (fixed or {}).get("statements", {}).get((page, user))
    if not now or not then or len(now) != len(then):
        return None
    return then[now.index(max(now, key=lambda s: s["ms"]))]


def _ms(statement: dict | None) -> str:
    if not statement:
        return "?"
    return f"{statement['ms']:.2f} ms" if statement["ms"] < 1 else f"{statement['ms']:.1f} ms"


def _plan(statement: dict | None) -> str:
    return "; ".join(f"`{p}`" for p in (statement or {}).get("plan", [])) or "?"


def _statements(entry: dict, top: int = 5) -> list[str]:
    statements = entry["statements"]
    lines = [f"{len(statements)} SQL statements, {sum(s['ms'] for s in statements):.1f} ms in SQLite; "
             "the slowest:", "", "| ms | statement |", "|---|---|"]
    for statement in sorted(statements, key=lambda s: -s["ms"])[:top]:
        sql = statement["sql"] if len(statement["sql"]) <= 240 else statement["sql"][:237] + "..."
        lines.append(f"| {statement['ms']:.1f} | `{sql.replace('|', '¦')}` |")
    slowest = max(statements, key=lambda s: s["ms"])
    if slowest.get("plan"):
        lines += ["", "Plan of the slowest (`EXPLAIN QUERY PLAN`): " + _plan(slowest)]
    return lines


def _profile(entry: dict) -> list[str]:
    profile = entry["profile"]
    lines = ["", f"cProfile over {profile['requests']} requests, per request ({profile['total'] * 1000:.1f} ms "
             "under the profiler; phases overlap, SQL time is inside the others):", "",
             "| phase | cumulative |", "|---|---|"]
    lines += [f"| {label} | {seconds * 1000:.1f} ms |" for label, seconds in profile["phases"]]
    lines += ["", "```", "   own  calls  function (most own time)"]
    lines += [f"{own * 1000:5.2f} ms {calls:5}  {name}" for own, calls, name in profile["own"]]
    return lines + ["```"]


def render_section(start: str, end: str, info: dict, data: dict, pages: dict, load: dict | None,
                   what_if: dict | None, args, owned: int, end_load: str, targets: Targets) -> str:
    counts = data["counts"]
    lines = [start, "## Web pages (`bench/bench_pages.py`)", "",
             f"Run {dt.date.today().isoformat()} with `.venv/bin/python bench/bench_pages.py` (`--orders "
             f"{args.orders} --requests {args.requests} --duration {args.duration}`).",
             f"Machine: **{info['cpus']} CPUs** ({info['cpu']}), {info['memory']} memory; **load average "
             f"{info['load']} at the start**, {end_load} at the end. The machine is shared with other "
             "engineers' jobs (test suites, other benchmarks), so wall times include waiting for a CPU; the "
             "CPU columns (time the measured process itself ran) are the steadier figure. "
             f"Python {info['python']}, SQLite {info['sqlite']}, "
             f"SQLAlchemy {info['sqlalchemy']}.", "",
             f"The database: one SQLite file ({data['size_mib']:,} MiB), built once by `bench/pages_data.py` "
             "and reused: the shipped `b2b_sales` blueprint migrated, `seed_demo` at scale 2,000 through the "
             "records service (demo users and teams), 60 more sales reps, then `INSERT ... SELECT` over "
             f"recursive CTEs: **{counts['order']:,} orders**, {counts['customer']:,} customers, "
             f"{counts['visit']:,} visits, {counts['task']:,} tasks, {counts['atrium_history']:,} field-history "
             f"rows, {counts['atrium_stage_history']:,} stage-history rows, {counts['atrium_users']} users "
             f"(built in {data['seed_seconds'] + data['fill_seconds']:.0f} s). Orders spread over 18 months, "
             "the six stages, the reps and manager (one in ten on unowned pool customers) and the customers; "
             f"the sales rep measured (`rep1`, scope `own`) owns {owned:,} orders. Nothing ran `ANALYZE` "
             "(the platform never does).", "",
             "### Server time in-process", "",
             "The ASGI app of `create_app` called directly (no client, no socket): signed in through `/login` "
             f"with the CSRF token, {args.warmup} warm-up requests, then {args.requests} timed ones. List: "
             "`GET /r/order`, the default view's first page (50 rows, sort `-expected_close`, count capped at "
             "1,000). Detail: `GET /r/order/{id}` over random ids (any order for the admin, the rep's own for "
             "the rep). " + _statuses(pages), "",
             "| figure | p50 | p95 | CPU p50 | target | |", "|---|---|---|---|---|---|"]
    for figure in pages["figures"]:
        target = targets.ms[figure["kind"]]
        lines.append(f"| {_title(figure)} | **{figure['p50']:.1f} ms** | {figure['p95']:.1f} ms "
                     f"| {figure['cpu_p50']:.1f} ms | p50 ≤ {target} ms | {verdict(figure['p50'] <= target)} |")
    if load is not None:
        lines += _load(load, args, targets)
    if pages["slow"]:
        lines += ["", "### Where the time goes", ""]
        for (page, user), entry in pages["slow"].items():
            lines += [f"**{page.capitalize()} page as the {user}** (one request):", ""]
            lines += _statements(entry) + _profile(entry) + [""]
    if what_if is not None:
        lines += _what_if(pages, what_if, args)
    if pages["slow"] or (load and any(r["page"] == "detail" and r["rps"] < targets.rps for r in load["runs"])):
        lines += _findings(pages, load, what_if, targets, counts['order'])
    lines += ["", end]
    return "\n".join(lines)


def _load(load: dict, args, targets: Targets) -> list[str]:
    lines = ["", "### Throughput: `atrium serve --workers 2` under wrk", "",
             "`atrium serve --workers 2` (uvicorn) on 127.0.0.1 against the same file, then "
             f"`wrk -t{args.wrk_threads} -c{targets.connections} -d{args.duration}s --latency` (Debian's package, on "
             "the same two CPUs) with the session cookie of a sign-in, a Lua script picking each request's id "
             "from 5,000 sampled (the admin: any order; the rep: their own) and counting any answer but 200. "
             "Queued requests are worked off before each run. Workers' CPU: user + system time of the two "
             "workers while wrk ran, per request, and as a share of the machine's two CPUs: well below 100% "
             "means wrk and other jobs had the rest, so req/s here is what the workers got, and CPU per "
             "request is the figure that does not depend on it (two workers on two free CPUs serve at most "
             "2,000 ÷ that many requests a second).", "",
             "| figure | req/s | p50 | p90 | p99 | not 200 or failed | workers' CPU a request | their share | load at start | target | |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in load["runs"]:
        detail = run["page"] == "detail"
        met = run["rps"] >= targets.rps and run["p99"] <= targets.p99 and not run["not200"]
        lines.append(f"| {run['page']} page, {run['user']} | **{run['rps']:.0f}** | {run['p50']:.0f} ms | "
                     f"{run['p90']:.0f} ms | {run['p99']:.0f} ms | {run['not200'] + run['socket_errors']} | "
                     f"{run['cpu_ms']:.1f} ms | {run['cpu_share']:.0%} | {run['load']} | "
                     + (f"≥ {targets.rps} req/s, p99 ≤ {targets.p99} ms | {verdict(met)} |" if detail else "— | |"))
    lines += ["", "### Memory per worker", "",
              "VmRSS from `/proc/PID/status` of the uvicorn processes, before the load and after all the runs "
              "above; VmHWM is the peak.", "", "| process | before | after the load | peak (VmHWM) |",
              "|---|---|---|---|"]
    before = {entry["pid"]: entry for entry in load["before"]}
    for entry in load["after"]:
        first = before.get(entry["pid"])
        lines.append(f"| {entry['role']} | {first['rss']:.0f} MiB | **{entry['rss']:.0f} MiB** | {entry['hwm']:.0f} MiB |"
                     if first else f"| {entry['role']} | — | **{entry['rss']:.0f} MiB** | {entry['hwm']:.0f} MiB |")
    workers = [entry for entry in load["after"] if entry["role"] == "worker"]
    if load.get("argon2_mib") and workers and max(e["hwm"] - e["rss"] for e in workers) > load["argon2_mib"] / 2:
        lines += ["", f"A worker's peak above its resident size is a sign-in: checking a password with argon2id "
                  f"(`{load['argon2']}`, the stored hashes' parameters) takes {load['argon2_mib']:.0f} MiB "
                  "while it runs, and the memory is given back afterwards (the admin and the rep signed in before "
                  "their runs)."]
    return lines


def _what_if(pages: dict, what_if: dict, args) -> list[str]:
    lines = ["### The proposed fixes, measured", "",
             "Without changing the platform: a copy of the database with two more indexes (" +
             ", ".join(f"`{sql.split(' ON ', 1)[1]}`" for sql in what_if["indexes"]) + ") and statistics "
             "(`PRAGMA analysis_limit=400; ANALYZE`" +
             (f", {what_if['analyze_s'] * 1000:.0f} ms" if "analyze_s" in what_if else "") + "), and "
             "`Queries.list` patched in the benchmark process to sort NULLs last by the database's own rule "
             "(`column.desc()`; `column.asc().nulls_last()`) instead of a leading `column IS NULL` term. Same "
             "requests as above.", "",
             "| figure | p50 now | p50 with the fixes | CPU p50 now | CPU p50 with the fixes |", "|---|---|---|---|---|"]
    for figure in what_if["figures"]:
        now = _figure(pages, figure["page"], figure["user"])
        lines.append(f"| {_title(figure)} | {now['p50']:.1f} ms | **{figure['p50']:.1f} ms** | "
                     f"{now['cpu_p50']:.1f} ms | {figure['cpu_p50']:.1f} ms |")
    return lines + [""]


def _findings(pages: dict, load: dict | None, what_if: dict | None, targets: Targets, orders: int) -> list[str]:
    lines = ["### Findings: the slow paths and what would fix them", ""]
    fixed = what_if or {}
    now = {key: _slowest(pages, *key) for key in
           (("list", "admin"), ("list", "sales rep"), ("list page 2", "admin"), ("detail", "sales rep"))}
    then = {key: _same(pages, fixed, *key) for key in now}
    if now["list", "admin"]:
        lines.append(
            "1. **List page: the default sort reads and sorts the whole table.** The page's one big query "
            f"takes {_ms(now['list', 'admin'])} for the admin ({_plan(now['list', 'admin'])}) and "
            f"{_ms(now['list', 'sales rep'])} for the rep ({_plan(now['list', 'sales rep'])}). "
            "`Queries.list` (platform/runtime/queries.py) orders by `expected_close IS NULL, expected_close "
            "DESC, id` (the view's `sort: -expected_close`, NULLs kept last by a leading `IS NULL` term) and "
            f"nothing indexes `expected_close`, so all {orders:,} orders (or all the rep's) are read and "
            "sorted to keep 51. Fix: (a) sort with `column.desc()` (SQLite already puts NULLs last when "
            "descending) and `column.asc().nulls_last()` (on PostgreSQL `desc().nulls_last()`), because the "
            "`IS NULL` term keeps any index from giving rows in order; (b) an index for each view's default "
            "sort, made by the platform from `list.sort` (`tables.entity_indexes`) or declared in the "
            "blueprint: `(expected_close DESC)` and, for an entity with an owner, `(owner, expected_close "
            "DESC)`. DESC matters: the `id` tie-break ascends, and a descending index keeps equal dates in "
            "ascending rowid order, so SQLite reads exactly 51 entries; an ascending one still sorts every "
            f"run of equal dates. With both the same query takes {_ms(then['list', 'admin'])} for the admin "
            f"({_plan(then['list', 'admin'])}) and {_ms(then['list', 'sales rep'])} for the rep "
            f"({_plan(then['list', 'sales rep'])}).")
        if now["list page 2", "admin"]:
            lines.append(
                "   Deeper pages: with the keyset condition of `Queries._after` (`x IS NULL OR x < :v OR "
                f"(x = :v AND id > :id)`) the query of page 2 takes {_ms(now['list page 2', 'admin'])} now and "
                f"{_ms(then['list page 2', 'admin'])} with the fixes above ({_plan(then['list page 2', 'admin'])}): "
                "the ORs leave SQLite walking the index from the top and testing each row, so the time grows "
                "with the page's depth. Written as `x <= :v AND (x < :v OR id > :id)`, with the NULL tail as "
                "a branch of its own, it is an index range seek.")
    rep_detail = now["detail", "sales rep"]
    if rep_detail and rep_detail["ms"] > 2:
        analyse = f" takes {fixed['analyze_s'] * 1000:.0f} ms on this file and" if "analyze_s" in fixed else ""
        child = re.search(r"FROM (\w+) WHERE", rep_detail["sql"])
        slow = [st for st in pages["statements"]["detail", "sales rep"] if st["ms"] > 1]
        lines.append(
            "2. **Detail page as a rep: the wrong index for related records.** The slowest statement takes "
            f"{_ms(rep_detail)} ({_plan(rep_detail)}); {len(slow)} statements of the page take over a "
            f"millisecond, {sum(st['ms'] for st in slow):.0f} ms together. The related lists and the "
            f"timeline's related records read `{child.group(1) if child else 'task'} WHERE owner = ? AND "
            "\"order\" = ?` (rows, then the capped count), and without statistics SQLite picks an index on "
            "`owner`, walking all the rep's records of that entity, instead of the one on `order`, which "
            "holds the one or two of this order. Fix: statistics. `PRAGMA analysis_limit=400; ANALYZE`"
            f"{analyse} flips the plans (the same statement then {_ms(then['detail', 'sales rep'])}: "
            f"{_plan(then['detail', 'sales rep'])}); the platform could run it after `atrium migrate`, `atrium "
            "seed` and imports, and `PRAGMA optimize` when a server starts (SQLite's advice for long-lived "
            "connections).")
    detail = pages.get("statements", {}).get(("detail", "admin"))
    if detail and any(page == "detail" for page, _ in pages["slow"]):
        lines.append(
            f"3. **Detail page: {len(detail)} SQL statements, and SQLAlchemy's work on each.** SQLite needs "
            f"{sum(s['ms'] for s in detail):.1f} ms for all of them (the admin's page); building each Core "
            "statement, its cache key, parameters and result rows costs a few hundred microseconds of "
            "Python, and the template a few milliseconds more. Statements that could go: "
            "`SecuredRecords.get` checks access with `SELECT id ... AND <scope>` and then reads the row (one "
            "query with the scope would do); `Queries.titles` reads the record again for its own title "
            "(format it from the row in hand); `Access.allows` runs two more queries for update and delete "
            "even when the scope is `all` or `none` (known without SQL: a rep's delete runs `WHERE 0 = 1`); "
            "the related lists and the timeline's related records query the same two children twice, each "
            "with a capped count (`Queries.list` could skip the count when a page comes back shorter than "
            "its limit: the count is the number of rows). About eight statements of the page would go.")
    runs = [r for r in (load or {}).get("runs", []) if r["page"] == "detail"]
    if runs:
        cpu = min(r["cpu_ms"] for r in runs)
        lines.append(
            "4. **Throughput is CPU per request.** A worker runs each page on its event loop (the endpoints "
            "are `async` but the SQL is synchronous), so it serves one request at a time: throughput is at "
            "most workers ÷ CPU per request, and with 32 connections on 2 workers a request waits behind "
            "about 15 others, so p99 is roughly 16 × the service time. ≥ 500 req/s on two workers means "
            f"≤ 4 ms of CPU per request, and p99 ≤ {targets.p99} ms about 6 ms; the detail page costs the "
            f"workers {cpu:.0f} ms or more here (≈ {2000 / cpu:.0f} req/s at best with two CPUs of their "
            "own). The fixes above remove the rep's extra SQL; the target also needs the statement count "
            "cut (3.), statements built once per entity rather than per request, and a lighter template, "
            "or more CPUs and workers.")
    return lines + [""]
