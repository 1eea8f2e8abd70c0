"""The `what_it_takes` dashboard widget: the runtime's plan (runtime/reports/what_it_takes.py) made
ready for _what_it_takes.html - each need with the ratio it was derived from, and the viewer's
ratios beside the peers' average and best."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from atrium.metadata.expressions import ExpressionError
from atrium.metadata.model import Label
from atrium.runtime.query.periods import RELATIVE_DAYS, local_today
from atrium.runtime.reports.runner import Reports
from atrium.runtime.reports.what_it_takes import Remember, WhatItTakes
from atrium.ui.reports.widget_cache import WidgetCache, fingerprint, metadata_version, report_paths, tables_read
from atrium.ui.web.i18n import PERIOD_WORDS, word


def what_it_takes_tables(blueprint: Any, spec: Mapping[str, Any]) -> set[str]:
    """The tables the widget reads (for its cache key)."""
    tables: set[str] = set()
    for part in [spec["achieved"], *spec.get("steps", ())]:
        tables |= figure_tables(blueprint, part)
    if blueprint.targets is not None:
        tables.add(blueprint.targets.entity)
    return tables


def figure_tables(blueprint: Any, part: Mapping[str, Any]) -> set[str]:
    """The tables one figure (the achieved value or a step) reads."""
    document = blueprint.reports[part["report"]]
    paths = report_paths(document.data) + ([part["date"]] if part.get("date") else [])
    return tables_read(blueprint, document["source"], [p for p in paths if p not in ("created_at", "updated_at")])


def remember_figures(cache: WidgetCache, maker: Any, widget_key: tuple) -> Remember:
    """Each figure kept in the widget cache under the counters of its own tables: after an order is
    written, the visits and leads figures of a chain are not read again (the widget's HTML is).
    `widget_key` is the widget's own key (viewer, metadata version, day ...), which a figure's adds to.
    A figure the runtime calls `shared` (the company's per-owner figures) is keyed without the viewer:
    by the metadata version, the local day and what it is shared by, so every viewer comparing with
    the same people reads it once."""
    blueprint = maker.blueprint

    def remember(part: Mapping[str, Any], history: str | None, kind: str, compute: Callable[[], Any],
                 shared: tuple | None = None) -> Any:
        document = blueprint.reports[part["report"]]
        figure = (fingerprint(document.data), part["report"], part["value"], part.get("date"), history, kind)
        if shared is None:
            key: tuple = ("what_it_takes figure", *widget_key, *figure)
        else:
            day = local_today(maker.site.now(), blueprint.timezone)
            key = ("what_it_takes shared figure", metadata_version(blueprint), day, *figure, shared)
        return cache.get_or_compute(maker.connection, key, figure_tables(blueprint, part), compute)
    return remember


def measure_format(blueprint: Any, part: Mapping[str, Any]) -> str:
    """`money` when the measure sums a money field, else `number`."""
    document = blueprint.reports[part["report"]]
    measure = (document.get("measures") or {}).get(part["value"])
    if isinstance(measure, Mapping) and isinstance(measure.get("sum"), str):
        entity = blueprint.entities.get(document.get("source") or "")
        field = entity.fields.get(measure["sum"]) if entity is not None else None
        if field is not None and field.type == "money":
            return "money"
    return "number"


def step_label(blueprint: Any, part: Mapping[str, Any], text: Any) -> str:
    if part.get("label"):
        return str(text(Label.of(part["label"])))
    measure = ((blueprint.reports[part["report"]].get("measures") or {}).get(part["value"]))
    if isinstance(measure, Mapping) and measure.get("label"):
        return str(text(Label.of(measure["label"])))
    return str(part["value"])


def history_words(history: str, locale: str) -> str:
    if history in PERIOD_WORDS:
        return word(PERIOD_WORDS[history], locale)
    match = RELATIVE_DAYS.match(history)
    return word("Last {days} days", locale, days=match.group(2)) if match else history


def make_plan(reports: Reports, maker: Any, spec: Mapping[str, Any], index: int) -> dict[str, Any]:
    """What _what_it_takes.html shows, for the maker's viewer."""
    expression = maker.dashboard.expressions.get(f"widgets.{index}.target")
    goal = None
    if expression is not None:
        try:
            goal = reports.evaluate(maker.actor, expression, {}, "", maker.connection)
        except (ExpressionError, ArithmeticError, TypeError, ValueError):
            goal = None
    remember = None if maker.cache is None else remember_figures(maker.cache, maker, maker.cache_key)
    plan = WhatItTakes(reports, remember).plan(maker.actor, spec, goal, maker.connection)
    blueprint = maker.blueprint
    money = measure_format(blueprint, spec["achieved"])
    parts = list(spec.get("steps") or ())
    labels = [step_label(blueprint, part, maker.text) for part in parts]
    formats = [measure_format(blueprint, part) for part in parts]
    steps = []
    for step in plan.steps[1:]:
        i = step.index
        steps.append({
            "label": labels[i], "need": step.need, "ratio": step.ratio, "history": step.history,
            "before_label": labels[i - 1], "before_history": plan.steps[i - 1].history,
            "before_need": plan.steps[i - 1].need, "average_size": i == 1,
            "ratio_format": formats[0] if i == 1 else "rate", "compared": step.compared,
        })
    return {"goal": plan.goal, "achieved": plan.achieved, "remaining": plan.remaining, "reached": plan.reached,
            "format": money, "history": history_words(plan.history, maker.locale), "steps": steps,
            "enough": plan.enough_history,
            "achieved_compared": plan.achieved_compared, "compare": spec.get("compare") or "none"}
