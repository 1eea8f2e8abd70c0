"""CSV and .xlsx import in the browser: /r/{entity}/import, four steps over the runtime's import engine.

1. upload (multipart, CSRF, size-limited); the file is kept server-side under a random job id
   that only the uploading user's session can use;
2. the guessed column → field mapping as selects (a workbook's sheet chosen), the duplicate key
   and policy, all or nothing or the valid rows only, a preview;
3. a dry run naming every row's errors, with counts of creates, updates and skips;
4. the import itself in a background thread, all rows or none (or the valid rows, with a file of
   the rejected ones and their reasons); the progress page polls it (HTMX, every second) and ends
   with a summary linking to the list. A job a crash interrupted can be run again.

A job's file, options and progress live in a folder of their own (import_jobs.py), so any worker
on the machine can answer the progress poll.
"""
from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from email.utils import encode_rfc2231
from pathlib import Path
from typing import IO, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.io.import_rejects import XLSX_TYPE, rejected_file
from atrium.runtime.io.importer import Importer, ImportOptions, ImportProblem, ImportReport, read_table
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound
from atrium.runtime.site.site import Site
from atrium.translation import N_
from atrium.ui.records.import_jobs import RETRYABLE, JobStore
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import in_thread, with_form

log = logging.getLogger(__name__)
MAX_UPLOAD = 20 * 1024 * 1024
UPLOAD_PATHS = [re.compile(r"^/r/[^/]+/import/?$")]  # the one endpoint that takes a large body
PREVIEW_ROWS = 5
SHOWN_ERRORS = 500
SESSION_KEY = "import_jobs"
POLICIES = ("skip", "update", "create")
KEY_TYPES = {"text", "email", "phone", "url", "integer", "select", "reference", "user", "date"}


DEFAULT_ROOT = Path(tempfile.gettempdir()) / "atrium-imports"


def store_for(request: Request) -> JobStore:
    return JobStore(Path(getattr(request.app.state, "import_dir", None) or DEFAULT_ROOT))


def private_site(site: Site) -> Site:
    """A site of its own for work off the request thread (its evaluator binds per call)."""
    return Site.open(site.blueprint, "", engine=site.engine, clock=site.clock)


class Job:
    """The job named in the path, if it is this user's, in this session, for this entity."""

    def __init__(self, kit: Kit):
        request = kit.request
        self.kit = kit
        self.id = request.path_params["job"]
        self.store = store_for(request)
        meta = self.store.read(self.id, "meta")
        if (meta is None or self.id not in request.session.get(SESSION_KEY, [])
                or meta.get("user_id") != kit.actor.user_id or meta.get("entity") != kit.entity_name):
            raise RecordNotFound(self.id)
        self.meta = meta
        self.url = f"/r/{kit.entity_name}/import/{self.id}"

    def csv(self):
        return read_table(self.store.data(self.id), self.kit.locale, self.meta.get("sheet"))

    def options(self) -> ImportOptions | None:
        return options_of(self.meta)


def options_of(meta: dict[str, Any]) -> ImportOptions | None:
    chosen = meta.get("options")
    if not chosen:
        return None
    return ImportOptions(chosen["mapping"], chosen.get("key"), chosen.get("on_duplicate", "skip"),
                         bool(chosen.get("valid_rows")))


# --- step 1: upload ----------------------------------------------------------------------------

def upload_context(kit: Kit, error: str | None = None) -> dict[str, Any]:
    return {"entity": kit.entity, "entity_name": kit.entity_name, "active_entity": kit.entity_name,
            "step": 1, "error": error, "max_mb": MAX_UPLOAD // (1024 * 1024)}


@record_page
@in_thread
def upload_page(request: Request) -> Response:
    kit = Kit(request)
    kit.require("create")
    return render(request, "import.html", upload_context(kit))


@record_page
async def upload(request: Request) -> Response:
    """The multipart body and the file's bytes are read on the event loop; the checks, the CSV
    parsing (seconds for a large file) and storing the job run in a worker thread."""
    kit = Kit(request)  # no query: the role's right to create is in the metadata
    kit.require("create")  # before a large body is read
    try:
        form = await request.form(max_files=1, max_fields=4, max_part_size=4096)
    except HTTPException:
        form = None
    upload = form.get("file") if form is not None else None
    if not isinstance(upload, UploadFile) or not upload.filename:
        upload = None
    data = await upload.read(MAX_UPLOAD + 1) if upload is not None else b""
    return await run_in_threadpool(_store_upload, kit, upload, data)


def _store_upload(kit: Kit, upload: UploadFile | None, data: bytes) -> Response:
    request = kit.request
    if upload is None:
        return render(request, "import.html", upload_context(kit, kit.word("Choose a CSV or Excel file to upload")),
                      400)
    if len(data) > MAX_UPLOAD:
        return render(request, "import.html",
                      upload_context(kit, kit.word("The file is larger than {size} MB",
                                                   size=MAX_UPLOAD // (1024 * 1024))), 413)
    try:
        csv_file = read_table(data, kit.locale)
    except ImportProblem as problem:
        return render(request, "import.html", upload_context(kit, str(problem)), problem.status)
    assert upload.filename  # upload() passes a file only when it has a name
    meta = {"user_id": kit.actor.user_id, "entity": kit.entity_name,
            "filename": Path(upload.filename).name[:200], "rows": csv_file.total, "created": time.time(),
            "sheet": csv_file.sheet, "sheets": csv_file.sheets}
    job = store_for(request).create(meta, data)
    request.session[SESSION_KEY] = (request.session.get(SESSION_KEY, []) + [job])[-10:]
    return RedirectResponse(f"/r/{kit.entity_name}/import/{job}", status_code=303)


# --- step 2: mapping ---------------------------------------------------------------------------

def mapping_context(job: Job, csv_file, options: ImportOptions, error: str | None = None) -> dict[str, Any]:
    kit = job.kit
    importer = Importer(kit.site, kit.actor, kit.entity_name)
    fields = [(f.name, f.label) for f in importer.fields()]
    columns = []
    for index, column in enumerate(csv_file.header):
        samples = [cells[index].strip() for _, cells in csv_file.rows[:50]
                   if index < len(cells) and cells[index].strip()]
        columns.append({"index": index, "name": column, "field": options.mapping.get(column) or "",
                        "samples": list(dict.fromkeys(samples))[:3]})
    keys = [(f.name, f.label) for f in importer.fields() if f.type in KEY_TYPES]
    preview = [[(cells[i] if i < len(cells) else "") for i in range(len(csv_file.header))]
               for _, cells in csv_file.rows[:PREVIEW_ROWS]]
    delimiter = {",": N_("commas"), ";": N_("semicolons"), "\t": N_("tabs"), "": ""}[csv_file.delimiter]
    return {"entity": kit.entity, "entity_name": kit.entity_name, "active_entity": kit.entity_name, "step": 2,
            "job": job, "csv_file": csv_file, "columns": columns, "fields": fields,
            "keys": keys, "key": options.key or "", "policy": options.on_duplicate, "policies": POLICIES,
            "preview": preview, "delimiter": kit.word(delimiter) if delimiter else "", "error": error,
            "valid_rows": options.valid_rows}


@record_page
@in_thread
def mapping_page(request: Request) -> Response:
    kit = Kit(request)
    kit.require("create")
    job = Job(kit)
    sheet = request.query_params.get("sheet")
    if sheet and sheet in job.meta.get("sheets", []) and sheet != job.meta.get("sheet"):
        job.meta.update(sheet=sheet, options=None)  # another sheet: its own columns, matched afresh
        job.store.write(job.id, "meta", job.meta)
    csv_file = job.csv()
    options = job.options() or ImportOptions(Importer(kit.site, kit.actor, kit.entity_name)
                                             .guess_mapping(csv_file.header))
    return render(request, "import_mapping.html", mapping_context(job, csv_file, options))


# --- step 3: dry run ---------------------------------------------------------------------------

def options_from(form, csv_file) -> ImportOptions:
    mapping = {column: (str(form.get(f"map.{index}") or "") or None)
               for index, column in enumerate(csv_file.header)}
    policy = str(form.get("on_duplicate") or "skip")
    return ImportOptions(mapping, str(form.get("key") or "") or None, policy if policy in POLICIES else "skip",
                         form.get("mode") == "valid_rows")


def report_context(kit: Kit, report: ImportReport) -> dict[str, Any]:
    labels = {f.name: f.label for f in kit.entity}
    errors = [{"row": e.row, "column": e.column, "field": labels.get(e.field or ""), "message": e.message}
              for e in report.errors[:SHOWN_ERRORS]]
    return {"report": report, "errors": errors, "more_errors": max(0, len(report.errors) - SHOWN_ERRORS)}


@record_page
@with_form
def check(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    kit.require("create")
    job = Job(kit)
    csv_file = job.csv()
    options = options_from(form, csv_file)
    job.meta["options"] = {"mapping": dict(options.mapping), "key": options.key,
                           "on_duplicate": options.on_duplicate, "valid_rows": options.valid_rows}
    job.store.write(job.id, "meta", job.meta)
    importer = Importer(private_site(kit.site), kit.actor, kit.entity_name)
    try:
        report = importer.dry_run(csv_file, options)
    except ImportProblem as problem:
        return render(request, "import_mapping.html", mapping_context(job, csv_file, options, str(problem)),
                      problem.status)
    context = {"entity": kit.entity, "entity_name": kit.entity_name, "active_entity": kit.entity_name,
               "step": 3, "job": job, "valid_rows": options.valid_rows, **report_context(kit, report)}
    return render(request, "import_check.html", context)


# --- step 4: the import, and its progress ------------------------------------------------------

@record_page
@in_thread
def start(request: Request) -> Response:
    """Run the job in a background thread, which holds the job's lock while it runs; a second
    click finds it locked or done and only shows the progress. A job a crash interrupted runs again."""
    kit = Kit(request)
    kit.require("create")
    job = Job(kit)
    options = job.options()
    if options is None:
        return RedirectResponse(job.url, status_code=303)
    status = job.store.recover(job.id)
    if status is None or status.get("state") in RETRYABLE:
        lock = job.store.lock(job.id)
        if lock is not None:
            job.store.write(job.id, "status", {"state": "running", "phase": "write", "done": 0,
                                               "total": job.meta.get("rows", 0)})
            worker = threading.Thread(target=work, name=f"atrium-import-{job.id[:6]}", daemon=True,
                                      args=(private_site(kit.site), kit.actor, kit.entity_name, job.store, job.id,
                                            options, job.meta.get("sheet"), lock))
            worker.start()
    return RedirectResponse(job.url + "/progress", status_code=303)


def work(site: Site, actor: Actor, entity: str, store: JobStore, job: str, options: ImportOptions,
         sheet: str | None = None, lock: IO[bytes] | None = None) -> None:
    last = 0.0

    def progress(done: int, total: int, phase: str) -> None:
        nonlocal last
        if time.monotonic() - last >= 0.2 or done == total:
            last = time.monotonic()
            store.write(job, "status", {"state": "running", "phase": phase, "done": done, "total": total})

    try:
        csv_file = read_table(store.data(job), actor.locale, sheet)
        report = Importer(site, actor, entity).run(csv_file, options, progress=progress)
        if options.valid_rows and report.rejected:
            content, extension, _ = rejected_file(csv_file, report.errors, actor.locale)
            (store.folder(job) / f"rejected.{extension}").write_bytes(content)
        # the end is written while the lock is held: a poll between the two would find the job
        # running with nobody holding its lock, and mark a finished import interrupted
        store.write(job, "status", {
            "state": "done" if report.written else "failed", "total": report.total,
            "created": report.created, "updated": report.updated, "skipped": report.skipped,
            "seconds": round(report.seconds, 1), "error_count": len(report.errors),
            "rows_in_error": report.rows_in_error, "rejected": report.rejected,
            "errors": [[e.row, e.field, e.column, e.message] for e in report.errors[:SHOWN_ERRORS]]})
    except Exception:  # the page must end, not poll forever; the log keeps the reason
        log.exception("import %s failed", job)
        store.write(job, "status", {"state": "crashed"})
    finally:
        if lock is not None:
            lock.close()


@record_page
@in_thread
def rejected_download(request: Request) -> Response:
    """The rejected rows of an import of the valid rows, with the reason on each."""
    kit = Kit(request)
    kit.require("create")
    job = Job(kit)
    for extension, media in (("xlsx", XLSX_TYPE), ("csv", "text/csv; charset=utf-8")):
        path = job.store.folder(job.id) / f"rejected.{extension}"
        if path.exists():
            stem = Path(job.meta.get("filename") or "import").stem
            name = kit.word("{name} - rejected rows", name=stem) + "." + extension
            return Response(path.read_bytes(), media_type=media, headers={
                "Content-Disposition": f"attachment; filename=\"rejected.{extension}\"; "
                                       f"filename*={encode_rfc2231(name, 'utf-8')}", "Cache-Control": "no-store"})
    raise RecordNotFound(job.id)


@record_page
@in_thread
def progress_page(request: Request) -> Response:
    kit = Kit(request)
    kit.require("create")
    job = Job(kit)
    status = job.store.recover(job.id)  # a job a crash left running says so, and may run again
    if status is None:
        return RedirectResponse(job.url, status_code=303)
    labels = {f.name: f.label for f in kit.entity}
    errors = [{"row": row, "column": column, "field": labels.get(field or ""), "message": text}
              for row, field, column, text in status.get("errors", [])]
    done, total = status.get("done", 0), status.get("total", 0) or 0
    context = {"entity": kit.entity, "entity_name": kit.entity_name, "active_entity": kit.entity_name,
               "step": 4, "job": job, "status": status, "errors": errors,
               "more_errors": max(0, status.get("error_count", 0) - len(errors)),
               "percent": 100 if status["state"] != "running" else int(100 * done / total) if total else 0}
    if is_htmx(request):
        return render(request, "import_progress.html", context, block="progress")
    return render(request, "import_progress.html", context)


R = "/r/{entity}/import"
routes = [
    Route(R, upload_page, methods=["GET"], name="record_import"),
    Route(R, upload, methods=["POST"], name="record_import_upload"),
    Route(R + "/{job}", mapping_page, methods=["GET"], name="record_import_mapping"),
    Route(R + "/{job}/check", check, methods=["POST"], name="record_import_check"),
    Route(R + "/{job}/run", start, methods=["POST"], name="record_import_run"),
    Route(R + "/{job}/progress", progress_page, methods=["GET"], name="record_import_progress"),
    Route(R + "/{job}/rejected", rejected_download, methods=["GET"], name="record_import_rejected"),
]
