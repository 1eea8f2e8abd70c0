"""What every studio editor does with a proposed change: review it (the YAML that would be written,
the migration in plain words, what leaves sight, problems at their place) or apply it, and say
why not when it is refused or stale."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from atrium.metadata.overlays.paths import document_file
from atrium.metadata.problem_words import problem_words
from atrium.metadata.problems import Problem
from atrium.runtime.schema.migrations import MigrationPlan
from atrium.runtime.schema.value_moves import MOVE_WORDS
from atrium.runtime.site.change import ChangeRefused, Preview, Proposal, StaleEdit
from atrium.ui.studio.setup import studio_of
from atrium.ui.studio.words import PLAN_WORDS, RENAME_VALUE
from atrium.ui.web.i18n import format_datetime, nword, word

PATH_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass
class Outcome:
    """The answer to a review or an apply; `applied` is the new version when it went through."""

    preview: Preview | None = None
    applied: int | None = None
    refusal: str = ""  # words to show above the review
    errors: dict[str, list[str]] = field(default_factory=dict)  # form input → messages
    others: list[Problem] = field(default_factory=list)  # problems no input of this editor holds


def path_steps(path: str) -> list[Any]:
    """`fields.amount.options[2]` → ['fields', 'amount', 'options', 2] (a Problem's path)."""
    return [int(index) if index else name for name, index in PATH_STEP.findall(path)]


def decide(request: Request, proposal: Proposal, intent: str, confirm: bool,
           mapper: Callable[[list[Any]], str | None] = lambda steps: None) -> Outcome:
    """Review (intent 'review') or apply the proposal as the signed-in person."""
    studio, locale = studio_of(request), request.state.locale
    if intent != "apply":
        preview = studio.changes.preview(proposal)
        outcome = Outcome(preview=preview)
        if preview.held:  # said at the review already, not only when Apply is refused
            outcome.refusal = " ".join(held.text(locale) for held in preview.held)
    else:
        try:
            version = studio.changes.apply(proposal, request.state.actor, confirm)
            studio.applied(request.app.state, version)
            return Outcome(applied=version)
        except StaleEdit as stale:
            return Outcome(refusal=stale_words(stale, locale, request.app.state.site.blueprint.timezone))
        except ChangeRefused as refused:
            outcome = Outcome(preview=refused.preview, refusal=refusal_words(refused, locale))
    _place(outcome, proposal, mapper, locale)
    return outcome


def stale_words(stale: StaleEdit, locale: str, timezone: str) -> str:
    entry = stale.by
    if entry is None:
        return word("Not applied: the metadata changed after you opened the editor. Reload it and try again.", locale)
    return word("Not applied: {who} changed this at {when} (“{summary}”) after you opened the editor. "
                "Reload the editor to see their change, then make yours again.",
                locale, who=entry.user_name or "?", when=format_datetime(entry.at, locale, timezone),
                summary=entry.summary_text(locale))


def refusal_words(refused: ChangeRefused, locale: str) -> str:
    preview = refused.preview
    if preview.problems:
        return word("Problems (nothing was applied)", locale)
    if preview.held:
        return " ".join(held.text(locale) for held in preview.held)
    if preview.plan is not None and any(item.target is None for item in preview.plan.stranded):
        return word("Refused: records are in a stage or option that goes; choose where they move "
                    "(nothing was applied)", locale)
    if preview.plan is not None and preview.plan.refused:
        return word("Refused: this would lose data (nothing was applied)", locale)
    if preview.impacts:
        return word("Tick the confirmation below to apply this change.", locale)
    if preview.empty:
        return word("This changes nothing.", locale)
    return word("Not applied: {reason}", locale, reason=refused.reason)


def _place(outcome: Outcome, proposal: Proposal, mapper: Callable[[list[Any]], str | None], locale: str) -> None:
    """Problems in the edited documents go next to the input that holds them; the rest on top."""
    preview = outcome.preview
    if preview is None:
        return
    files = {document_file(*key) for key in proposal.documents}
    for problem in preview.problems:
        mark_file = (problem.mark.file if problem.mark else "").replace("\\", "/")
        target = mapper(path_steps(problem.path)) if any(mark_file.endswith(f) for f in files) else None
        if target is None:
            outcome.others.append(problem)
        else:
            outcome.errors.setdefault(target, []).append(problem_text(problem, locale, with_path=False))


def problem_text(problem: Problem, locale: str, with_path: bool = True) -> str:
    """A problem in the admin's language: what is wrong, the hint and the valid values."""
    return problem_words(problem, locale, with_path)


def plan_lines(plan: MigrationPlan | None, locale: str) -> list[str]:
    """The migration plan in the reader's language, one line a step."""
    if plan is None:
        return []
    lines = []
    for step in plan.steps:
        if step.action == "move_values":
            lines.append(word(MOVE_WORDS, locale, count=step.records, value=step.value, target=step.target,
                              entity=step.table, field=step.name))
        elif step.action == "rename_value":
            lines.append(word(RENAME_VALUE, locale, count=step.records, value=step.value, target=step.target,
                              entity=step.table, field=step.name))
        elif locale == "en" or step.action not in PLAN_WORDS:
            lines.append(step.description)
        else:
            lines.append(word(PLAN_WORDS[step.action], locale, table=step.table, name=step.name,
                              new_name=step.new_name or "", description=step.description))
    return lines + [f"! {reason}" for reason in plan.refusals(locale)]


def computed_words(preview: Preview | None, locale: str) -> str:
    """How many records the apply computes new or changed formulas and roll-ups for."""
    if preview is None or not preview.computed:
        return ""
    return nword("{count} record will be computed", "{count} records will be computed", preview.computed, locale)


def diff_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(css class, text) lines of a unified diff."""
    lines = []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        kind = ("add" if line.startswith("+") else "del" if line.startswith("-")
                else "hunk" if line.startswith("@@") else "")
        lines.append((kind, line))
    return lines


def review_context(outcome: Outcome, locale: str) -> dict[str, Any]:
    """What templates/studio/_review.html shows."""
    preview = outcome.preview
    return {
        "refusal": outcome.refusal,
        "others": [(str(p.mark) if p.mark else "", problem_text(p, locale)) for p in outcome.others],
        "plan": plan_lines(preview.plan if preview else None, locale),
        "computed": computed_words(preview, locale),
        "impacts": [impact.text(locale) for impact in (preview.impacts if preview else [])],
        "files": [(path, after, diff_lines(before, after))
                  for path, before, after in (preview.files if preview else [])],
        "shown": preview is not None,
        "applicable": bool(preview and preview.applicable and not preview.empty),
        "empty": bool(preview and preview.empty),
    }


def applied_redirect(url: str, version: int) -> Response:
    joiner = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{joiner}applied={version}", status_code=303)


def first_errors(errors: dict[str, list[str]], names: Iterable[str]) -> dict[str, str]:
    return {name: "; ".join(errors[name]) for name in names if name in errors}
