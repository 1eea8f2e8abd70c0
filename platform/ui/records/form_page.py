"""Record forms: new and edit, create and update, delete, the live form state (visible_when,
required_when) and the check of one field when it loses focus.

Every write goes through SecuredRecords. On an error nothing is saved and the form comes back
with each message beside its field and the user's input kept (200 to HTMX, 422 without); a stale
edit shows a conflict with both values; a record like existing ones is warned about beside the
field before saving and refused until the user confirms (duplicate_warning.py); a save redirects to
the detail page.
"""
from __future__ import annotations

from typing import Any, Mapping

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from atrium.runtime.access.line_saves import LinesFailed, RowErrors, save_with_lines
from atrium.runtime.duplicates.finder import SimilarRecordsFound
from atrium.runtime.records.rules import RECORD_ERRORS
from atrium.runtime.records.service import StaleRecord, ValidationFailed
from atrium.ui.records.duplicate_warning import DuplicateWarning, checks, field_warning, warning_of
from atrium.ui.records.form_lines import FormLines, GridInput
from atrium.ui.records.form_model import Draft, FormModel, input_value
from atrium.ui.records.list_state import resolver
from atrium.ui.web.edge import id_or_none, whole_number
from atrium.ui.web.i18n import format_money
from atrium.ui.web.page_tools import Kit, active_users, record_page
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import in_thread, with_form


def redirect(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _merge(*sources: Mapping[str, list[str]]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for source in sources:
        for name, texts in source.items():
            for text in texts:
                if text not in errors.setdefault(name, []):
                    errors[name].append(text)
    return errors


class FormPage:
    """One form on one request: builds the context and answers in the right shape."""

    def __init__(self, kit: Kit, record_id: int | None, current: Mapping[str, Any] | None):
        self.kit = kit
        self.record_id = record_id
        self.current = current
        self.model = FormModel(kit, current)
        self.lines = FormLines(kit, record_id)
        self.line_inputs: list[GridInput] | None = None  # None: the lines as stored
        self.line_errors: dict[str, RowErrors] = {}
        self.back = ""  # on a new record: the reference field whose record the save returns to
        base = f"/r/{kit.entity_name}" + (f"/{record_id}" if record_id else "")
        self.urls = {"action": base, "state": f"{base}/form-state", "validate": f"{base}/validate",
                     "cancel": base if record_id else f"/r/{kit.entity_name}"}

    def read(self, form: Any) -> Draft:
        with self.kit.site.engine.connect() as connection:
            draft = self.model.read(form, resolver(self.kit, connection))
            if self.lines.grids:
                self.line_inputs = self.lines.read(form, resolver(self.kit, connection))
                self.line_errors = self.lines.input_errors(self.line_inputs)
                # the record's roll-ups over its lines as typed: its formulas and conditions follow
                self.model.rolled = self.lines.rolled(connection, self.line_inputs)
        self.back = self.return_field(str(form.get("_return", "")))
        record, errors = self.model.draft_record(draft.changes)
        hidden = self.model.hidden_by_sections(record)
        # Only what the user changed is sent: a value left as it was (say, a link to a record
        # this user may not open) is not the user's to re-submit.
        draft.changes = {k: v for k, v in draft.changes.items() if k not in hidden
                         and (self.current is None or k in errors or record.get(k) != self.current.get(k))}
        return draft

    def context(self, record: Mapping[str, Any], raw: Mapping[str, Any] | None, errors: Mapping[str, list[str]],
                titles: Mapping[str, str] | None = None, touched: set[str] | None = None,
                version: Any = None, conflict: list | None = None,
                extras: Mapping[str, str] | None = None, duplicates: DuplicateWarning | None = None) -> dict:
        kit = self.kit
        shown = dict(record)
        for name, value in (raw or {}).items():  # the chosen records of pickers, for their titles
            field = kit.entity.fields.get(name)
            if field is not None and field.type == "reference":
                shown[name] = id_or_none(value)
        with kit.site.engine.connect() as connection:
            lookups = kit.presenter.load(connection, kit.entity_name, [shown], self.model.names)
            users = self.users(connection, record)
            grids = []
            if self.lines.grids:
                inputs = self.line_inputs if self.line_inputs is not None else self.lines.initial(connection)
                grids = self.lines.tables(connection, inputs, self.line_errors, users, saving=touched is None)
        sections = self.model.sections(shown, raw, lookups, errors, titles or {}, users, touched)
        placed = {w.name for s in sections if s.visible for w in s.widgets if w.visible}
        summary = []
        if touched is None:
            for name, texts in errors.items():
                if name in placed:
                    continue
                field = kit.entity.fields.get(name)
                label = kit.presenter.text(field.label) if field is not None else ""
                summary += [(label if name != RECORD_ERRORS else "", text) for text in texts]
        has_errors = (bool(summary) or any(w.errors for s in sections if s.visible for w in s.widgets if w.visible)
                      or any(row.errors or any(c.errors for c in row.cells) for g in grids for row in g.rows))
        title = kit.presenter.text(kit.entity.label)
        heading = kit.word("Edit {entity}", entity=title) if self.record_id else kit.word("New {entity}", entity=title)
        return {"entity": kit.entity, "entity_name": kit.entity_name, "active_entity": kit.entity_name,
                "sections": sections, "summary": summary, "has_errors": has_errors and touched is None,
                "urls": self.urls, "record_id": self.record_id, "heading": heading,
                "version": version, "conflict": conflict is not None, "conflict_rows": conflict or [],
                "extras": sorted((extras or {}).items()),
                "currency_symbol": format_money(0, kit.blueprint.currency, kit.locale).rstrip("0.,"),
                "record_title": self.record_title(), "grids": grids, "back": self.back,
                "duplicates": duplicates}

    def blocked(self) -> bool:
        """A row's input cannot be read (a picker left without a choice): nothing is saved."""
        return any(rows for rows in self.line_errors.values())

    def return_field(self, name: str) -> str:
        """`from=<reference field>` on a new record's form: the save returns to that record."""
        field = self.kit.entity.fields.get(name)
        return name if self.record_id is None and field is not None and field.type == "reference" else ""

    def save(self, changes: Mapping[str, Any], version: int | None = None,
             check_duplicates: bool = False) -> dict[str, Any]:
        """Create or update the record, with its lines when the form has grids (one transaction)."""
        kit, check = self.kit, check_duplicates
        if self.lines.grids and self.line_inputs is not None:
            return save_with_lines(kit.secured, kit.actor, kit.entity_name, self.record_id, changes,
                                   self.lines.changes(self.line_inputs), version=version, check_duplicates=check)
        if self.record_id is None:
            return kit.secured.create(kit.actor, kit.entity_name, changes, check_duplicates=check)
        return kit.secured.update(kit.actor, kit.entity_name, self.record_id, changes, version=version,
                                  check_duplicates=check)

    def failed(self, failed: ValidationFailed) -> dict[str, list[str]]:
        """A refused save's messages for the parent's fields; each row's go to its row."""
        if isinstance(failed, LinesFailed):
            self.line_errors = failed.lines
        return failed.errors

    def saved_url(self, saved: Mapping[str, Any]) -> str:
        if self.back and saved.get(self.back) is not None:
            return f"/r/{self.kit.entity.fields[self.back].to}/{saved[self.back]}"
        return f"/r/{self.kit.entity_name}/{saved['id']}"

    def users(self, connection, record: Mapping[str, Any]) -> list[tuple[int, str]]:
        """Users to choose from; for the owner field, only those the user may give records to."""
        users = active_users(self.kit, connection)
        owner = self.kit.entity.owner
        reach = self.kit.site.access.owner_reach(connection, self.kit.actor, self.kit.entity_name)
        if owner is None or reach is None:
            return users
        self.model.owner_choices = [(i, n) for i, n in users if i in reach or i == record.get(owner)]
        return users

    def record_title(self) -> str:
        if not self.record_id:
            return ""
        with self.kit.site.engine.connect() as connection:
            return self.kit.site.queries.titles(connection, self.kit.entity_name, [self.record_id], self.kit.actor).get(
                self.record_id, f"#{self.record_id}")

    def page(self, request: Request, context: dict, status: int = 200) -> Response:
        if is_htmx(request):
            return render(request, "form.html", context, block="form_body")
        return render(request, "form.html", context, status_code=status)


def _current_for_update(kit: Kit) -> dict[str, Any]:
    return kit.secured.get(kit.actor, kit.entity_name, kit.record_id(), action="update")


@record_page
@in_thread
def new_form(request: Request) -> Response:
    kit = Kit(request)
    kit.require("create")
    page = FormPage(kit, None, None)
    page.back = page.return_field(request.query_params.get("from", ""))
    prefill = page.model.prefill(request.query_params)
    record, _ = page.model.draft_record(prefill)
    extras = {k: v for k, v in prefill.items() if k not in page.model.names}
    raw = {k: input_value(kit.entity.fields[k], record.get(k), kit.blueprint.timezone)
           for k in prefill if k in page.model.names}
    return page.page(request, page.context(record, raw, {}, touched=set(), extras=extras))


@record_page
@with_form
def create(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    kit.require("create")
    page = FormPage(kit, None, None)
    draft = page.read(form)
    extras = {k: str(v) for k, v in draft.raw.items() if k not in page.model.names}
    record, found = page.model.draft_record(draft.changes)
    errors = _merge(draft.errors, found)
    duplicates = None
    if not draft.errors and not page.blocked():
        try:
            return redirect(request, page.saved_url(page.save(draft.changes, check_duplicates=checks(kit, form))))
        except ValidationFailed as failed:
            errors = page.failed(failed)
        except SimilarRecordsFound as similar:
            duplicates = warning_of(kit, similar.similar)
    context = page.context(record, draft.raw, errors, draft.titles, extras=extras, duplicates=duplicates)
    return page.page(request, context, 409 if duplicates else 422)


@record_page
@in_thread
def edit_form(request: Request) -> Response:
    kit = Kit(request)
    current = _current_for_update(kit)
    page = FormPage(kit, kit.record_id(), current)
    return page.page(request, page.context(current, None, {}, touched=set(), version=current["version"]))


@record_page
@with_form
def update(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    current = _current_for_update(kit)
    page = FormPage(kit, kit.record_id(), current)
    draft = page.read(form)
    version = str(form.get("version", "")).strip()
    record, found = page.model.draft_record(draft.changes)
    errors = _merge(draft.errors, found)
    duplicates = None
    if not draft.errors and not page.blocked():
        try:
            page.save(draft.changes, version=whole_number(version, "version", kit.locale),
                      check_duplicates=checks(kit, form))
            return redirect(request, f"/r/{kit.entity_name}/{kit.record_id()}")
        except ValidationFailed as failed:
            errors = page.failed(failed)
        except StaleRecord as stale:
            theirs = kit.secured.visible(kit.actor, kit.entity_name, stale.current)
            return _conflict(request, page, draft, theirs)
        except SimilarRecordsFound as similar:
            duplicates = warning_of(kit, similar.similar)
    context = page.context(record, draft.raw, errors, draft.titles, version=version or None, duplicates=duplicates)
    return page.page(request, context, 409 if duplicates else 422)


def _conflict(request: Request, page: FormPage, draft: Draft, theirs: dict[str, Any]) -> Response:
    """Someone saved first: list each field where their value differs from the user's, keep the
    user's input, and carry their version so saving again re-applies the user's values."""
    kit = page.kit
    full = {f.name: None for f in kit.entity} | theirs
    mine, _ = kit.site.records.rules.prepare(kit.entity, full, draft.changes, kit.actor,
                                             rolled=page.model.rolled or None)
    with kit.site.engine.connect() as connection:
        lookups = kit.presenter.load(connection, kit.entity_name, [theirs, mine], list(draft.changes))
    rows = []
    for name in draft.changes:
        if mine.get(name) != theirs.get(name):
            field = kit.entity.fields[name]
            rows.append((kit.presenter.text(field.label), kit.presenter.show(field, theirs.get(name), lookups),
                         kit.presenter.show(field, mine.get(name), lookups)))
    lines, rolled = page.line_inputs, page.model.rolled
    page = FormPage(kit, page.record_id, theirs)
    page.line_inputs, page.model.rolled = lines, rolled
    context = page.context(mine, draft.raw, {}, draft.titles, version=theirs["version"], conflict=rows)
    return page.page(request, context, 409)


def _state(request: Request, form: FormData, current: Mapping[str, Any] | None, record_id: int | None,
           kit: Kit) -> Response:
    page = FormPage(kit, record_id, current)
    draft = page.read(form)
    touched = {v for v in form.getlist("_touched") + form.getlist("_touched_now") if isinstance(v, str)}
    record, found = page.model.draft_record(draft.changes, touched)
    page.model.refill_copied(record, draft.raw, touched)
    errors = _merge(draft.errors, found)
    version = str(form.get("version", "")) or None
    extras = {k: str(v) for k, v in draft.raw.items() if k not in page.model.names}
    return render(request, "form.html", page.context(record, draft.raw, errors, draft.titles, touched=touched,
                                                      version=version, extras=extras), block="form_body")


@record_page
@with_form
def form_state(request: Request, form: FormData) -> Response:
    """The form redrawn for the draft: sections shown or hidden, required markers, messages of
    the fields the user has left."""
    kit = Kit(request)
    if "record_id" in request.path_params:
        return _state(request, form, _current_for_update(kit), kit.record_id(), kit)
    kit.require("create")
    return _state(request, form, None, None, kit)


@record_page
@with_form
def validate(request: Request, form: FormData) -> Response:
    """The messages of one field for the draft record (when it loses focus)."""
    kit = Kit(request)
    current = None
    if "record_id" in request.path_params:
        current = _current_for_update(kit)
    else:
        kit.require("create")
    page = FormPage(kit, kit.record_id() if current else None, current)
    name = request.query_params.get("field", "")
    draft = page.read(form)
    record, found = page.model.draft_record(draft.changes)
    errors = _merge(draft.errors, found).get(name, []) if name in page.model.names else []
    # a look-alike is told beside the field, before saving (a field with errors first gets them right)
    duplicates = (field_warning(kit, name, record, page.record_id, current)
                  if name in page.model.names and not errors else None)
    return render(request, "form.html", {"name": name, "errors": errors, "duplicates": duplicates},
                  block="field_messages")
