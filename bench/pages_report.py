"""The markdown section bench/bench_pages.py writes into docs/benchmarks.md."""
from __future__ import annotations

import datetime as dt
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
                   args, owned: int, end_load: str, targets: Targets) -> str:
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
             f"the sales rep measured (`rep1`, scope `own`) owns {owned:,} orders. Before each run the file "
             "gets what `atrium migrate` and `atrium serve` give a site: the indexes the metadata asks for "
             "(each view's default sort, alone and after the owner) and fresh planner statistics "
             f"({data.get('migrate_seconds', 0):.1f} s this time).", "",
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
    if pages["slow"] or (load and any(r["page"] == "detail" and r["rps"] < targets.rps for r in load["runs"])):
        lines += _findings(pages, load, targets)
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
             "| figure | req/s | p50 | p90 | p99 | not 200 or failed | workers' CPU a request | their share "
             "| load at start | target | |",
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
        lines.append(f"| {entry['role']} | {first['rss']:.0f} MiB | **{entry['rss']:.0f} MiB** "
                     f"| {entry['hwm']:.0f} MiB |"
                     if first else f"| {entry['role']} | — | **{entry['rss']:.0f} MiB** | {entry['hwm']:.0f} MiB |")
    workers = [entry for entry in load["after"] if entry["role"] == "worker"]
    if load.get("argon2_mib") and workers and max(e["hwm"] - e["rss"] for e in workers) > load["argon2_mib"] / 2:
        lines += ["", f"A worker's peak above its resident size is a sign-in: checking a password with argon2id "
                  f"(`{load['argon2']}`, the stored hashes' parameters) takes {load['argon2_mib']:.0f} MiB "
                  "while it runs, and the memory is given back afterwards (the admin and the rep signed in before "
                  "their runs)."]
    return lines


def _findings(pages: dict, load: dict | None, targets: Targets) -> list[str]:
    """What the figures say about where time goes, for the pages that miss a target."""
    lines = ["### Findings", ""]
    for (page, user), entry in pages["slow"].items():
        statements = entry["statements"]
        slowest = max(statements, key=lambda s: s["ms"]) if statements else None
        lines.append(
            f"- **{page.capitalize()} page as the {user}**: {len(statements)} SQL statements, "
            f"{sum(s['ms'] for s in statements):.1f} ms in SQLite together; the slowest {_ms(slowest)} "
            f"({_plan(slowest)}). The rest of the time is Python: building and caching Core statements, "
            "result rows, the presenter and the template (see the profile above).")
    runs = [r for r in (load or {}).get("runs", []) if r["page"] == "detail"]
    if runs:
        cpu = min(r["cpu_ms"] for r in runs)
        lines.append(
            "- **Throughput is CPU per request.** A worker runs each page on its event loop (the endpoints "
            "are `async` but the SQL is synchronous), so it serves one request at a time: throughput is at "
            "most workers ÷ CPU per request, and with 32 connections on 2 workers a request waits behind "
            "about 15 others, so p99 is roughly 16 × the service time. ≥ 500 req/s on two workers means "
            f"≤ 4 ms of CPU per request, and p99 ≤ {targets.p99} ms about 6 ms; the detail page costs the "
            f"workers {cpu:.0f} ms or more here (≈ {2000 / cpu:.0f} req/s at best with two CPUs of their "
            "own, and wrk shares those CPUs). Closing that gap needs a different kind of change than an index: "
            "fewer statements per page (a detail page with six related lists runs about twenty), "
            "statements compiled once per entity rather than per request, a lighter template, or "
            "more CPUs and workers.")
    return lines + [""]
