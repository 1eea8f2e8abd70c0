"""Where import jobs live: one folder per job (a temp folder by default), so any worker on the
machine can answer the progress poll: the uploaded file, what the user chose, the progress, and
a lock file.

The worker that runs a job holds an exclusive lock (flock) on the job's lock file for as long as
it runs. The kernel lets go of it when the process dies, however it dies (kill -9 included), so
a job whose status says `running` while nobody holds its lock was left by a crash: it is marked
`interrupted` (nothing was written, the import being one transaction) and may be run again. Each
worker sweeps the folder when it starts, and a progress poll checks its own job.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import IO, Any

from atrium.runtime.records.service import RecordNotFound

log = logging.getLogger(__name__)
KEEP_SECONDS = 24 * 3600
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
UPLOAD = "upload.bin"
RETRYABLE = ("interrupted", "crashed")


class JobStore:
    """One folder per job: the uploaded file, what the user chose, and the progress."""

    def __init__(self, root: Path):
        self.root = root

    def folder(self, job: str) -> Path:
        if not JOB_ID.match(job):
            raise RecordNotFound(job)
        return self.root / job

    def create(self, meta: dict[str, Any], data: bytes) -> str:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.cleanup()
        job = secrets.token_urlsafe(16)
        folder = self.folder(job)
        folder.mkdir(mode=0o700)
        (folder / UPLOAD).write_bytes(data)
        self.write(job, "meta", meta)
        return job

    def read(self, job: str, name: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.folder(job) / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write(self, job: str, name: str, value: dict[str, Any]) -> None:
        folder = self.folder(job)
        temporary = folder / f".{name}.{threading.get_ident()}.tmp"
        temporary.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, folder / f"{name}.json")  # a poll never reads half a file

    def data(self, job: str) -> bytes:
        folder = self.folder(job)
        path = folder / UPLOAD
        return (path if path.exists() else folder / "upload.csv").read_bytes()  # jobs kept from before

    def cleanup(self) -> None:
        """Forget jobs older than a day."""
        cutoff = time.time() - KEEP_SECONDS
        for folder in self.root.iterdir():
            try:
                if folder.is_dir() and folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue

    # --- who runs a job ------------------------------------------------------------------------

    def lock(self, job: str) -> IO[bytes] | None:
        """The job's run lock, held until the returned file is closed; None if someone holds it."""
        handle = open(self.folder(job) / "lock", "ab")  # held across threads: the runner closes it
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return None
        return handle

    def recover(self, job: str) -> dict[str, Any] | None:
        """The job's status, marked `interrupted` first if it says running but nobody runs it."""
        status = self.read(job, "status")
        if status is None or status.get("state") != "running":
            return status
        handle = self.lock(job)
        if handle is None:
            return status  # a worker runs it
        try:
            status = self.read(job, "status")  # it may have finished between the two reads
            if status is not None and status.get("state") == "running":
                log.warning("import %s was left running by a crash: marked interrupted", job)
                status = {**status, "state": "interrupted"}
                self.write(job, "status", status)
        finally:
            handle.close()
        return status

    def recover_all(self) -> int:
        """Mark every job a crash left running as interrupted; how many there were."""
        if not self.root.is_dir():
            return 0
        count = 0
        for folder in self.root.iterdir():
            if folder.is_dir() and JOB_ID.match(folder.name):
                before = self.read(folder.name, "status")
                after = self.recover(folder.name)
                count += bool(before and after and before.get("state") != after.get("state"))
        return count
