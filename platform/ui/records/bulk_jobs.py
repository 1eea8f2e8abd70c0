"""Bulk actions that take a while run in a thread of their own; the list page polls their
progress. A job is one small JSON file (a temp folder by default, `app.state.bulk_dir` in tests),
so any worker on the machine can answer the poll, and only the user who started it may read it.

    start(...)  runs `work(progress)` in a thread; waits up to WAIT seconds, so a small selection
                is answered at once; else the page shows a progress bar polling `poll`
    state:      running (done of total) → done (count) | refused (text, refused: id → why) | failed
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from atrium.errors import AtriumError
from atrium.runtime.access.bulk_changes import BulkRefused
from atrium.runtime.records.errors import ValidationFailed

log = logging.getLogger(__name__)
WAIT = 2.0  # seconds a request waits for its job before answering with a progress bar
KEEP_SECONDS = 24 * 3600
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")

Work = Callable[[Callable[[int, int], None]], int]


class BulkJobs:
    def __init__(self, root: Path):
        self.root = root

    def path(self, job: str) -> Path | None:
        return self.root / f"{job}.json" if JOB_ID.match(job) else None

    def read(self, job: str, user_id: int | None, entity: str) -> dict[str, Any] | None:
        """The job's state, if it is this user's job on this entity."""
        path = self.path(job)
        try:
            state = json.loads(path.read_text(encoding="utf-8")) if path else None
        except (OSError, ValueError):
            return None
        if not state or state.get("user_id") != user_id or state.get("entity") != entity:
            return None
        return state

    def write(self, job: str, state: dict[str, Any]) -> None:
        path = self.path(job)
        assert path is not None  # ids come from start()
        temporary = path.with_name(f".{job}.{threading.get_ident()}.tmp")
        temporary.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, path)  # a poll never reads half a file

    def start(self, user_id: int | None, entity: str, action: str, work: Work) -> tuple[str, dict[str, Any]]:
        """Run the work; (job id, its state after at most WAIT seconds)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._cleanup()
        job = secrets.token_urlsafe(16)
        base = {"user_id": user_id, "entity": entity, "action": action}
        self.write(job, {**base, "state": "running", "done": 0, "total": 0})

        def progress(done: int, total: int) -> None:
            self.write(job, {**base, "state": "running", "done": done, "total": total})

        def run() -> None:
            try:
                count = work(progress)
                self.write(job, {**base, "state": "done", "count": count})
            except BulkRefused as refused:
                self.write(job, {**base, "state": "refused", "status": refused.status, "text": str(refused),
                                 "refused": {str(k): v for k, v in refused.refused.items()}})
            except ValidationFailed as failed:
                text = "; ".join(" ".join(texts) for texts in failed.errors.values())
                self.write(job, {**base, "state": "refused", "status": failed.status, "text": text, "refused": {}})
            except AtriumError as error:
                self.write(job, {**base, "state": "refused", "status": error.status, "private": error.private,
                                 "text": str(error), "refused": {}})
            except Exception:  # noqa: BLE001 - the page must say it stopped, whatever happened
                log.exception("bulk %s on %s failed", action, entity)
                self.write(job, {**base, "state": "failed"})

        worker = threading.Thread(target=run, name=f"atrium-bulk-{job[:6]}", daemon=True)
        worker.start()
        worker.join(WAIT)
        state = self.read(job, user_id, entity)
        assert state is not None
        return job, state

    def _cleanup(self) -> None:
        cutoff = time.time() - KEEP_SECONDS
        for path in self.root.glob("*.json"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue


def jobs_for(app: Any) -> BulkJobs:
    root = getattr(app.state, "bulk_dir", None) or Path(tempfile.gettempdir()) / "atrium-bulk"
    return BulkJobs(Path(root))
