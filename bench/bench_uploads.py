"""Uploads (issue 14 F1, issue 15 item 4): for each hostile file of the probe, the time until the
import page refuses it, and the delay a `GET /login` on the same single worker sees meanwhile;
then the import of N leads (100,000 by default) from CSV and from .xlsx, rows per second for
reading the file and for the whole import. Runs `atrium serve --workers 1` on a fresh SQLite file
of the shipped b2b_sales blueprint; prints the figures and rewrites its section of
docs/benchmarks.md.

    .venv/bin/python bench/bench_uploads.py [--rows N] [--no-doc]

Not a timed test: the figures vary with the machine's load.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench")) if str(ROOT / "bench") not in sys.path else None
from bench_event_loop import Worker, run_cli  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402

BLUEPRINT = ROOT / "blueprints" / "b2b_sales"
START, END = "<!-- bench_uploads:start -->", "<!-- bench_uploads:end -->"
HOSTILE = {
    '`"\\n` × 10,000 (20 KB)': b'"\n' * 10_000,
    "64 KB of quotes": b'"' * 65_536,
    "1,000,000 columns (7.9 MB)": b",".join([b"a"] * 1_000_000) + b"\n1\n",
    "a 200,000-character cell": b"name\n" + b"x" * 200_000 + b"\n",
    "a zip that is not a workbook (.xlsx)": b"PK\x03\x04" + b"\x00" * 4096,
}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def signed_in(base: str, name: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=120)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"name": name, "password": name, "csrf_token": token})
    page = client.get("/r/lead/import")
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def hostile_figures(base: str) -> list[tuple[str, int, float, float, float]]:
    """(file, status, time to answer, worst and median GET /login delay meanwhile)."""
    client, token = signed_in(base, "bench")
    probe = httpx.Client(base_url=base, timeout=120)
    for _ in range(5):
        probe.get("/login")
    figures = []
    for name, data in HOSTILE.items():
        answer: dict[str, float] = {}

        def post(data: bytes = data, answer: dict[str, float] = answer) -> None:
            started = time.perf_counter()
            response = client.post("/r/lead/import", data={"csrf_token": token},
                                   files={"file": ("hostile.csv", data, "text/csv")})
            answer.update(status=response.status_code, seconds=time.perf_counter() - started)
        uploading = threading.Thread(target=post)
        delays = []
        uploading.start()
        while uploading.is_alive() or not delays:
            started = time.perf_counter()
            probe.get("/login")
            delays.append(time.perf_counter() - started)
        uploading.join()
        figures.append((name, int(answer["status"]), answer["seconds"], max(delays), statistics.median(delays)))
    return figures


def leads_csv(rows: int) -> bytes:
    lines = ["公司名称,联系人,电话,预算,预计采购时间"]
    lines += [f"公司{n:06d}有限公司,联系人{n % 997},139{n:08d},{10000 + n},2027-{1 + n % 12:02d}-{1 + n % 28:02d}"
              for n in range(rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def leads_xlsx(rows: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("线索")
    sheet.append(["公司名称", "联系人", "电话", "预算", "预计采购时间"])
    for n in range(rows):
        sheet.append([f"公司{n:06d}有限公司", f"联系人{n % 997}", 13900000000 + n, 10000 + n,
                      dt.datetime(2027, 1 + n % 12, 1 + n % 28)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_figures(database_url: str, rows: int) -> list[tuple[str, int, float, float]]:
    """(format, file bytes, seconds to read it, seconds for the whole import)."""
    from atrium.metadata import load_blueprint
    from atrium.runtime.io.import_files import read_table
    from atrium.runtime.io.importer import Importer, ImportOptions
    from atrium.runtime.records.evaluation import Actor
    from atrium.runtime.site.site import Site

    site = Site.open(load_blueprint(BLUEPRINT), database_url)
    boss = Actor(user_id=1, name="bench", role="admin", locale="zh")
    figures = []
    for kind, data in (("CSV", leads_csv(rows)), (".xlsx (openpyxl, read-only)", leads_xlsx(rows))):
        started = time.perf_counter()
        table = read_table(data, "zh")
        read = time.perf_counter() - started
        importer = Importer(site, boss, "lead")
        report = importer.run(table, ImportOptions(importer.guess_mapping(table.header)))
        assert report.written and report.created == rows, report.errors[:3]
        figures.append((kind, len(data), read, time.perf_counter() - started))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="atrium-bench-uploads-"))
    database = folder / "uploads.db"
    env = dict(os.environ, ATRIUM_BLUEPRINT=str(BLUEPRINT), ATRIUM_DATABASE_URL=f"sqlite:///{database}",
               ATRIUM_SECRET_KEY="bench-uploads-secret", ATRIUM_SCHEDULER="off",
               ATRIUM_SITE_OVERLAY=str(folder / "site"))
    run_cli(env, "migrate")
    run_cli(env, "user", "add", "bench", "--role", "admin", "--password-stdin", stdin="bench\n")
    worker = Worker(env, database)
    try:
        hostile = hostile_figures(f"http://127.0.0.1:{worker.port}")
    finally:
        worker.stop()
    imports = import_figures(f"sqlite:///{database}", args.rows)
    lines = [START, "## Hostile uploads and Excel import (`bench/bench_uploads.py`)", "",
             "One `atrium serve --workers 1` on SQLite (b2b_sales). Each hostile file of the issue 14 probe is",
             "uploaded to the import page by a signed-in user while another client sends `GET /login` to the same",
             "worker in a loop: the time until the upload is refused, and the delay those requests saw.", "",
             "| file | answer | time to answer | GET /login meanwhile: worst | median |",
             "|---|---|---|---|---|"]
    lines += [f"| {name} | {status} | {ms(took)} | {ms(worst)} | {ms(median)} |"
              for name, status, took, worst, median in hostile]
    lines += ["", f"Import of {args.rows:,} leads (company, contact, phone, budget, date) as the admin, "
              "in one process:", "",
              "| format | file | read | rows/s (read) | whole import | rows/s (import) |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {kind} | {size / 1e6:.1f} MB | {read:.1f} s | {args.rows / read:,.0f} | {total:.1f} s | "
              f"{args.rows / total:,.0f} |" for kind, size, read, total in imports]
    lines += ["", "Workbooks are read with openpyxl in read-only mode: it streams the sheet row by row, so the row,",
              "column and cell caps stop a hostile sheet early. python-calamine reads much faster but first loads",
              "the whole used range of a sheet as a dense grid, whose size a hostile sheet sets (one cell at",
              "XFD1048576), so it is not used. Measured " + dt.date.today().isoformat() + ".", END]
    section = "\n".join(lines)
    print(section)
    if not args.no_doc:
        write_section(section, START, END)


if __name__ == "__main__":
    main()
