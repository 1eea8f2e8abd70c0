"""What the proposed fixes for the slow paths would give, measured without changing the platform:
a copy of the benchmark database with the indexes a default list sort needs and SQLite statistics
(`ANALYZE`), and `Queries.list` ordering NULLs last by the database's own rule instead of through an
`IS NULL` sort term (patched into this process only, from the source, so it follows edits to
queries.py; skipped if the line it changes is gone)."""
from __future__ import annotations

import inspect
import json
import re
import shutil
import sqlite3
import textwrap
import time
from pathlib import Path

CURRENT = re.compile(r"(\w+) \+= \[column\.is_\(None\), column\.desc\(\) if descending else column\.asc\(\)\]")
PROPOSED = r"\1 += [column.desc() if descending else column.asc().nulls_last()]"
INDEXES = ('CREATE INDEX IF NOT EXISTS ix_order_expected_close ON "order" (expected_close DESC)',
           'CREATE INDEX IF NOT EXISTS ix_order_owner_expected_close ON "order" (owner, expected_close DESC)')
STATISTICS = ("PRAGMA analysis_limit=400", "ANALYZE")


def patch_sort() -> bool:
    """Replace the ORDER BY terms of Queries.list in this process; False if the code has moved on."""
    from atrium.runtime import queries
    source = textwrap.dedent(inspect.getsource(queries.Queries.list))
    if not CURRENT.search(source):
        return False
    namespace = dict(vars(queries))
    exec(compile(CURRENT.sub(PROPOSED, source), queries.__file__, "exec"), namespace)  # noqa: S102
    queries.Queries.list = namespace["list"]
    return True


def prepare(database: Path) -> tuple[Path, dict]:
    """The copy with the indexes and statistics, made once and reused like the database itself."""
    copy = database.with_name(database.stem + "-whatif.db")
    saved = copy.with_suffix(".json")
    timings: dict = json.loads(saved.read_text()) if saved.exists() else {}
    if not copy.exists() or not saved.exists() or copy.stat().st_mtime < database.stat().st_mtime:
        source = sqlite3.connect(database)
        source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        source.close()
        copy.with_suffix(".db-wal").unlink(missing_ok=True)
        shutil.copyfile(database, copy)
        db = sqlite3.connect(copy, isolation_level=None)
        started = time.perf_counter()
        for sql in INDEXES:
            db.execute(sql)
        timings["indexes_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for sql in STATISTICS:
            db.execute(sql)
        timings["analyze_s"] = time.perf_counter() - started
        db.close()
        saved.write_text(json.dumps(timings))
    return copy, timings
