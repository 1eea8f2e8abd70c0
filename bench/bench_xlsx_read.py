"""Reading an import file (issue 15 item 4, "openpyxl, or python-calamine for fast reading —
measure"): the CPU time to read N leads (100,000 by default) from CSV and from .xlsx into the
import's table (runtime/io/import_files.read_table: the reader the wizard and `atrium import`
use), and beside it python-calamine's bare read of the same workbook (cell values into Python
lists, nothing converted), when that package is installed (it is not a dependency). CPU time of
this process, not wall time: the machine is shared, and bench_uploads.py's wall-clock figures
move with the load. Prints the figures and rewrites its section of docs/benchmarks.md.

    .venv/bin/python bench/bench_xlsx_read.py [--rows N] [--no-doc]

Not a timed test.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform as host
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench")) if str(ROOT / "bench") not in sys.path else None
from bench_uploads import leads_csv, leads_xlsx  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402

START, END = "<!-- bench_xlsx_read:start -->", "<!-- bench_xlsx_read:end -->"


def cpu(work: Callable[[], object], runs: int) -> float:
    """The best CPU time of `runs` runs of `work`, in seconds."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def calamine_read(data: bytes) -> Callable[[], object] | None:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:
        return None

    def read() -> list[list[object]]:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return book.get_sheet_by_index(0).to_python()
    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    from atrium.runtime.io.import_files import read_table

    csv_data, xlsx_data = leads_csv(args.rows), leads_xlsx(args.rows)
    assert len(read_table(xlsx_data, "zh").rows) == args.rows
    readers: list[tuple[str, int, Callable[[], object] | None]] = [
        ("CSV (Atrium's reader)", len(csv_data), lambda: read_table(csv_data, "zh")),
        (".xlsx, openpyxl read-only (Atrium's reader: typed cells to text, caps checked)", len(xlsx_data),
         lambda: read_table(xlsx_data, "zh")),
        (".xlsx, python-calamine, bare values (not used)", len(xlsx_data), calamine_read(xlsx_data)),
    ]
    lines = [START, "## Reading an import file: CSV, openpyxl and python-calamine (`bench/bench_xlsx_read.py`)", "",
             f"{args.rows:,} leads (company, contact, phone, budget, date), the best CPU time of {args.runs} reads "
             "in one process (CPU time, not wall time: the machine is shared).", "",
             "| reader | file | CPU time | rows/s |", "|---|---|---:|---:|"]
    for name, size, work in readers:
        if work is None:
            lines.append(f"| {name} | {size / 1e6:.1f} MB | not installed | |")
            continue
        seconds = cpu(work, args.runs)
        lines.append(f"| {name} | {size / 1e6:.1f} MB | {seconds:.2f} s | {args.rows / seconds:,.0f} |")
    lines += ["", "The whole import's figures (reading, checks and writes, wall time) are in the section above. "
              "openpyxl stays: its read-only mode streams the sheet, so the row, column and cell caps stop a "
              "hostile sheet early, where python-calamine first builds the sheet's whole used range as a dense "
              "grid whose size the sheet itself sets (one cell at XFD1048576).",
              f"Machine: {os.cpu_count()} CPUs, Python {host.python_version()}, load "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end. Measured {dt.date.today().isoformat()}.",
              END]
    section = "\n".join(lines)
    print(section)
    if not args.no_doc:
        write_section(section, START, END)


if __name__ == "__main__":
    main()
