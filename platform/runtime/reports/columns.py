"""The columns of a report result: what each is, its type, its label in zh and en, and how its
values are normalised so that SQLite and PostgreSQL give the same Python values.

Column kinds: `group` (a field or a date bucket the rows are grouped by), `measure` (an aggregate),
`metric` (an expression over the row's groups and measures), `field` (a list report's record
field), `stage` (a funnel's stage), `conversion` (a funnel's stage-to-stage rates), `previous` and
`change` (a time series' comparison with the previous period or year).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any, Mapping

from atrium.metadata.model import Field, Label

STEPS = {"money": Decimal("0.01"), "percent": Decimal("0.0001")}
FLOAT_DIGITS = 6  # averages and sums of number fields: the same digits on both databases


def words(en: str, zh: str) -> Label:
    return Label(MappingProxyType({"en": en, "zh": zh}))


AGGREGATE_WORDS = {
    "count": ("{field} (count)", "{field}数量"),
    "count_distinct": ("{field} (distinct)", "{field}（去重数）"),
    "sum": ("{field} (sum)", "{field}合计"),
    "avg": ("{field} (average)", "平均{field}"),
    "min": ("{field} (lowest)", "最小{field}"),
    "max": ("{field} (highest)", "最大{field}"),
}
BUCKET_NAMES = {"day": ("day", "日"), "week": ("week", "周"), "month": ("month", "月"),
                "quarter": ("quarter", "季度"), "year": ("year", "年")}
RECORDS = words("Records", "记录数")
TOTAL = words("Total", "合计")
CONVERSION = words("Conversion from previous stage", "阶段转化率")
CONVERSION_FROM_FIRST = words("Conversion from first stage", "总转化率")
COMPARE_WORDS = {"previous_period": ("{label} (previous period)", "{label}（上期）"),
                 "previous_year": ("{label} (a year earlier)", "{label}（去年同期）")}
CHANGE_WORDS = ("{label} change", "{label}变化率")


def label_of(label: Any, fallback: Label) -> Label:
    return Label.of(label) if label else fallback


def field_words(field: Field, template: tuple[str, str], **extra: str) -> Label:
    en, zh = template
    return words(en.format(field=field.label.text("en"), **extra), zh.format(field=field.label.text("zh"), **extra))


def bucket_words(field: Field, bucket: str) -> Label:
    en, zh = BUCKET_NAMES[bucket]
    return words(f"{field.label.text('en')} ({en})", f"{field.label.text('zh')}（{zh}）")


def derived_words(label: Label, template: tuple[str, str]) -> Label:
    en, zh = template
    return words(en.format(label=label.text("en")), zh.format(label=label.text("zh")))


@dataclass(frozen=True)
class ReportColumn:
    """One column of a report result.

    `type` is a field type (`stage`, `select`, `reference`, `user`, `date`, `money`, `integer`,
    `number`, `percent`, `text`, `boolean` ...); a date bucket has type `date` and its `bucket`.
    `entity` is the entity `field` belongs to (reference titles, option labels). `of` names the
    column a `previous` or `change` column compares.
    """

    name: str
    kind: str
    type: str
    label: Label
    field: Field | None = None
    entity: str | None = None
    bucket: str | None = None
    function: str | None = None
    format: str | None = None
    of: str | None = None

    def to_json(self, locale: str, default_locale: str) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "type": self.type,
                "label": self.label.text(locale, default_locale), "bucket": self.bucket,
                "function": self.function, "format": self.format, "of": self.of}


def measure_type(function: str, field: Field | None) -> str:
    """The type of an aggregate's values: counts are integers; sums keep the field's type; an
    average of whole numbers is a number."""
    if function in ("count", "count_distinct") or field is None:
        return "integer"
    if function == "avg":
        return field.type if field.type in STEPS else "number"
    return field.type


def metric_type(spec: Any) -> str:
    return spec.get("format", "number") if isinstance(spec, Mapping) else "number"


def normalize(kind: str, value: Any) -> Any:
    """One Python value per column type, whichever database computed it."""
    if value is None:
        return None
    if kind == "integer":
        return int(value)
    if kind in STEPS:
        return Decimal(str(value)).quantize(STEPS[kind], rounding=ROUND_HALF_UP)
    if kind == "number":
        return round(float(value), FLOAT_DIGITS)
    if kind == "boolean":
        return bool(value)
    if kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def zero(kind: str) -> Any:
    """An empty period's value of an additive measure."""
    return Decimal(0).quantize(STEPS[kind]) if kind in STEPS else 0.0 if kind == "number" else 0
