"""The immutable, typed model a blueprint loads into.

Everything the runtime needs is here, already validated and cross-checked: the runtime never
reads YAML. Mappings are read-only views; lists are tuples.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field as dataclass_field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from atrium.metadata.expressions import Expression
from atrium.metadata.message_settings import MessageSettings

if TYPE_CHECKING:  # sign_in_settings and matching_lists build their labels with this module's Label
    from atrium.metadata.matching_lists import MatchingList
    from atrium.metadata.sign_in_settings import SignInSettings

FIELD_TYPES = (
    "text", "textarea", "integer", "number", "money", "percent", "boolean", "date", "datetime",
    "email", "phone", "url", "select", "multiselect", "reference", "user", "stage", "autonumber",
    "location", "file",
)
TEXT_TYPES = frozenset({"text", "textarea", "email", "phone", "url", "autonumber", "select", "stage"})
# what `search:` may name: values stored as the text people type and look for
SEARCHABLE_TYPES = frozenset({"text", "textarea", "email", "phone", "url", "autonumber"})
TITLE_NAMES = re.compile(r"\{([a-z][a-z0-9_]*)[^}]*\}")  # the fields a `title` template names
NUMERIC_TYPES = frozenset({"integer", "number", "money", "percent"})
TEMPORAL_TYPES = frozenset({"date", "datetime"})
# Field types a one-line input edits in place (a list cell, a kanban card's quick edit)
IN_PLACE_TYPES = frozenset({"text", "email", "phone", "url", "integer", "number", "money", "percent", "date",
                            "datetime", "boolean", "select", "user", "reference"})
SYSTEM_FIELDS = ("id", "created_at", "created_by", "updated_at", "updated_by", "version")
LOCATION_PARTS = ("lat", "lng", "address")


def freeze(value: Any) -> Any:
    """A deep, read-only copy of plain YAML data."""
    if isinstance(value, dict):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


@dataclass(frozen=True)
class Label:
    """Text in several locales; `text(locale)` falls back to the default locale, then any."""

    texts: Mapping[str, str]

    @classmethod
    def of(cls, value: Any, fallback: str = "") -> "Label":
        if isinstance(value, Label):
            return value
        if isinstance(value, Mapping):
            return cls(MappingProxyType({str(k): str(v) for k, v in value.items()}))
        if value is None or value == "":
            return cls(MappingProxyType({"": fallback.replace("_", " ").capitalize()}))
        return cls(MappingProxyType({"": str(value)}))

    def text(self, locale: str = "", default_locale: str = "") -> str:
        for key in (locale, default_locale, ""):
            if key in self.texts:
                return self.texts[key]
        return next(iter(self.texts.values()), "")

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True)
class Option:
    value: Any
    label: Label
    color: str | None = None


@dataclass(frozen=True)
class Rollup:
    """An aggregate over child records: `from: child.ref_field`, `function: field`."""

    entity: str
    via: str
    function: str  # count, sum, avg, min, max
    field: str
    where: Expression | None = None


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: Label
    help: Label | None = None
    required: bool = False
    required_when: Expression | None = None
    visible_when: Expression | None = None  # shown (and required, checked) only when this holds
    default: Expression | None = None
    unique: bool = False
    readonly: bool = False
    hidden: bool = False
    index: bool = False
    formula: Expression | None = None
    rollup: Rollup | None = None
    renamed_from: str | None = None
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    precision: int | None = None
    options: tuple[Option, ...] = ()
    to: str | None = None
    on_delete: str = "restrict"
    pipeline: str | None = None
    format: str | None = None
    reveals: tuple[str, ...] = ()  # hidden inputs this derived field may show (derived_secrecy.py)
    stamp_on_stage: tuple[str, ...] = ()  # set to today (now) on entering these stages, cleared on leaving
    multiple: bool = False  # file: any number of files, else one
    max_size: int | None = None  # file: the largest file in bytes (None: the engine's default)
    accept: tuple[str, ...] = ()  # file: extensions (`.pdf`) and MIME types (`image/*`); empty: any
    # select/multiselect: removed option value → the option its records get instead (`moved:`)
    moved: Mapping[Any, Any] = dataclass_field(default_factory=lambda: MappingProxyType({}), hash=False)
    # select/multiselect: an option's previous value → its value now (`renamed:`, value_renames.py)
    renamed: Mapping[Any, Any] = dataclass_field(default_factory=lambda: MappingProxyType({}), hash=False)

    @property
    def computed(self) -> bool:
        """Set by the engine, never by a form or the API (a file field: by the files service)."""
        return self.formula is not None or self.rollup is not None or self.type in ("autonumber", "file")

    @property
    def option_values(self) -> tuple[Any, ...]:
        return tuple(option.value for option in self.options)

    def option(self, value: Any) -> Option | None:
        return next((option for option in self.options if option.value == value), None)


@dataclass(frozen=True)
class Check:
    name: str
    assertion: Expression
    message: Label | None  # None: the engine's own words name the check
    when: Expression | None = None
    field: str | None = None  # the field its message is shown beside (default: the first it reads)


@dataclass(frozen=True)
class Pool:
    owner_field: str
    max_owned_per_user: int | None = None
    daily_claim_cap: int | None = None
    cooldown_days: int | None = None
    lock_field: str | None = None


@dataclass(frozen=True)
class OwnerFollows:
    """`owner_follows:` on an entity: its records take the owner of the record `field` links to
    whenever that record's owner changes (those that meet `where`); `on_release` says whether they
    keep their owner or lose it too when that record goes back to the pool."""

    field: str
    where: Mapping[str, Any] | None = None
    on_release: str = "keep"  # keep | release


@dataclass(frozen=True)
class FollowUpLog:
    """The parent's quick "log follow-up" action (`follow_up.log:`): one record of the child entity
    made in two clicks, `pick` offered as buttons, `note` an optional text, `values` expressions
    over the parent record. Without `label` the page says "Log follow-up" in the reader's language."""

    label: Label | None = None
    pick: str | None = None
    note: str | None = None
    values: Mapping[str, Expression] = dataclass_field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class FollowUp:
    """`follow_up:` on an entity: a record of it that meets `when` counts as a follow-up of the
    record its reference field `of` links to (`parent`): that record's `sets` field becomes the
    latest `at` of its follow-ups, and never moves back."""

    of: str
    parent: str
    at: str
    sets: str
    when: Expression | None = None
    log: FollowUpLog | None = None


@dataclass(frozen=True)
class CheckIn:
    """`check_in:` on an entity: a button on its detail page stamps `at` with the time and, if the
    person lets the browser share it, `location` with where they are; `set` is written with them.
    Without `label` the button says "Check in" in the reader's language."""

    at: str
    label: Label | None = None
    location: str | None = None
    set: Mapping[str, Expression] = dataclass_field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class ConversionTarget:
    """One record a conversion makes (or links to): `map` gives its values from the source,
    `parent` its reference fields from targets made before it, `link` the source's reference
    field that remembers it, `match` the fields compared with existing records first."""

    name: str
    entity: str
    label: Label
    link: str
    map: Mapping[str, Expression]
    parent: Mapping[str, str] = dataclass_field(default_factory=lambda: MappingProxyType({}))
    match: tuple[str, ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class Conversion:
    """`convert:` on an entity: one source record becomes several target records at once."""

    label: Label
    targets: tuple[ConversionTarget, ...]
    set: Mapping[str, Expression] = dataclass_field(default_factory=lambda: MappingProxyType({}))
    when: Expression | None = None

    def target(self, name: str) -> ConversionTarget | None:
        return next((target for target in self.targets if target.name == name), None)


# Endings a company name is compared without (`duplicates.suffixes` replaces them): the legal
# forms people add or leave out when they type the same company twice
DEFAULT_NAME_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司", "Co., Ltd.", "Ltd.",
                         "Limited", "Inc.", "Corp.", "Corporation", "Company", "LLC", "GmbH")
# field types a duplicate rule may compare (a value that is typed and stored in one column)
DUPLICATE_TYPES = frozenset({"text", "email", "phone", "select", "reference", "user", "date", "integer"})
# the types whose normalised value is stored beside the field, in `<field>_key`, to be found fast
KEYED_TYPES = frozenset({"text", "email"})


@dataclass(frozen=True)
class Duplicates:
    """`duplicates:` on an entity: records equal in every field of one rule look like the same one."""

    match: tuple[tuple[str, ...], ...]
    suffixes: tuple[str, ...] = DEFAULT_NAME_SUFFIXES


@dataclass(frozen=True)
class Index:
    name: str
    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class Entity:
    name: str
    label: Label
    plural: Label
    fields: Mapping[str, Field]
    title: str | None = None
    search: tuple[str, ...] = ()
    owner: str | None = None
    indexes: tuple[Index, ...] = ()
    checks: tuple[Check, ...] = ()
    pool: Pool | None = None
    external_key: str | None = None  # a unique text/integer field: another system's id for a record
    convert: Conversion | None = None
    owner_follows: OwnerFollows | None = None
    follow_up: FollowUp | None = None
    check_in: CheckIn | None = None
    duplicates: Duplicates | None = None
    icon: str | None = None
    formula_order: tuple[str, ...] = ()  # formula fields, each after the formulas it reads
    renamed_from: str | None = None  # the entity's previous name: its table is renamed (table_renames.py)

    def field(self, name: str) -> Field:
        return self.fields[name]

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields.values())

    @functools.cached_property
    def searchable(self) -> tuple[str, ...]:
        """The fields the quick search and the global search look in: `search`, else the text-like
        fields the title names, else the first two text or autonumber fields."""
        if self.search:
            return self.search
        named = [name for name in TITLE_NAMES.findall(self.title or "") if name in self.fields
                 and self.fields[name].type in SEARCHABLE_TYPES and self.fields[name].type != "textarea"]
        if named:
            return tuple(dict.fromkeys(named))
        return tuple(f.name for f in self.fields.values() if f.type in ("text", "autonumber"))[:2]

    @functools.cached_property
    def keyed_fields(self) -> tuple[str, ...]:
        """The fields whose normalised value is stored beside them (`<field>_key`) for duplicate checks."""
        if self.duplicates is None:
            return ()
        named = (name for rule in self.duplicates.match for name in rule)
        return tuple(dict.fromkeys(n for n in named if n in self.fields and self.fields[n].type in KEYED_TYPES))

    @functools.cached_property
    def stage_field(self) -> Field | None:  # read for every record written: computed once
        return next((f for f in self.fields.values() if f.type == "stage"), None)

    @functools.cached_property
    def stamped_fields(self) -> tuple[Field, ...]:
        """The fields the engine stamps when a record enters one of their stages."""
        return tuple(f for f in self.fields.values() if f.stamp_on_stage)


@dataclass(frozen=True)
class Stage:
    name: str
    label: Label
    probability: float | None = None
    outcome: str | None = None  # won, lost, or None while open
    requires: tuple[str, ...] = ()
    color: str | None = None

    @property
    def is_open(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True)
class Pipeline:
    name: str
    entity: str
    field: str
    label: Label
    stages: tuple[Stage, ...]
    transitions: str | Mapping[str, frozenset[str]] = "forward"  # 'forward', 'any' or from → to
    stall_after_days: int | None = None
    learned_probability: Mapping[str, Any] = dataclass_field(default_factory=lambda: MappingProxyType({}))
    moved: Mapping[str, str] = dataclass_field(default_factory=lambda: MappingProxyType({}))  # removed → kept stage
    renamed: Mapping[str, str] = dataclass_field(default_factory=lambda: MappingProxyType({}))  # previous → now

    def stage(self, name: str) -> Stage | None:
        try:
            return self._stages_by_name.get(name)
        except TypeError:  # not a name at all (a list from a malformed value): no stage
            return None

    @functools.cached_property
    def _stages_by_name(self) -> Mapping[str, Stage]:
        # a list page asks for each row's stage, some twice: a lookup, not a walk of the stages
        found: dict[str, Stage] = {}
        for stage in self.stages:
            found.setdefault(stage.name, stage)
        return MappingProxyType(found)

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)

    def allows(self, source: str | None, target: str) -> bool:
        """Whether a record may move from stage `source` to stage `target`."""
        if source is None or source == target:
            return True
        if self.transitions == "any":
            return True
        if self.transitions == "forward":
            names = self.stage_names
            if source not in names or target not in names:
                return False
            # Forward: any later stage, and any closed outcome (a deal can be lost at any stage).
            stage = self.stage(target)
            return names.index(target) > names.index(source) or (stage is not None and not stage.is_open)
        assert isinstance(self.transitions, Mapping)
        return target in self.transitions.get(source, frozenset())


@dataclass(frozen=True)
class FormSection:
    label: Label
    fields: tuple[str, ...]
    visible_when: Expression | None = None
    columns: int = 2


@dataclass(frozen=True)
class LineGrid:
    """Child records edited on the parent's form as a grid: `entity` rows whose reference field
    `via` points to the parent, shown as `columns`."""

    entity: str
    via: str
    columns: tuple[str, ...]
    label: Label

    @property
    def key(self) -> str:
        return f"{self.entity}.{self.via}"


@dataclass(frozen=True)
class View:
    entity: str
    columns: tuple[str, ...] = ()
    sort: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    page_size: int = 50
    kanban: Mapping[str, Any] | None = None
    calendar: Mapping[str, Any] | None = None
    sections: tuple[FormSection, ...] = ()
    related: tuple[str, ...] = ()
    detail_sections: tuple[FormSection, ...] = ()  # the detail page's own layout (else the form's)
    lines: tuple[LineGrid, ...] = ()
    matching: tuple[MatchingList, ...] = ()  # lists of records whose fields equal this record's


@dataclass(frozen=True)
class EntityGrant:
    read: str = "none"
    create: bool = False
    update: str = "none"
    delete: str = "none"
    pool: bool = False  # may see and claim the entity's unowned records (its public pool)


@dataclass(frozen=True)
class Role:
    name: str
    label: Label
    all: bool = False
    studio: bool = False
    entities: Mapping[str, EntityGrant] = dataclass_field(default_factory=lambda: MappingProxyType({}))
    fields: Mapping[str, str] = dataclass_field(default_factory=lambda: MappingProxyType({}))

    def grant(self, entity: str) -> EntityGrant:
        if self.all:
            return EntityGrant("all", True, "all", "all", pool=True)
        return self.entities.get(entity, EntityGrant())


@dataclass(frozen=True)
class Document:
    """A report, dashboard, automation or seed plan: validated and cross-checked, kept as read-only
    data until the component that runs it (reports, dashboards, automation) gives it a typed model."""

    name: str
    data: Mapping[str, Any]
    label: Label
    expressions: Mapping[str, Expression] = dataclass_field(default_factory=lambda: MappingProxyType({}))

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


@dataclass(frozen=True)
class Targets:
    """Where `target(name, period)` reads goals (blueprint.yaml `targets:`): records of `entity`
    whose `metric` field names the metric, whose `period` date falls in the period, summing `value`."""

    entity: str
    metric: str
    period: str
    value: str
    owner: str | None = None
    where: Mapping[str, Any] = dataclass_field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Blueprint:
    name: str
    label: Label
    version: Any
    locales: tuple[str, ...]
    currency: str
    timezone: str
    entities: Mapping[str, Entity]
    pipelines: Mapping[str, Pipeline]
    views: Mapping[str, View]
    roles: Mapping[str, Role]
    reports: Mapping[str, Document]
    dashboards: Mapping[str, Document]
    automations: Mapping[str, Document]
    teams: tuple[Mapping[str, Any], ...] = ()
    seed: Document | None = None
    sources: tuple[str, ...] = ()  # the folders merged, base first
    targets: Targets | None = None
    phone_country_code: int | None = None  # of phone numbers typed without one (86)
    navigation: tuple[Any, ...] = ()  # navigation.NavGroup: the header's declared menus
    trash_retention_days: int = 30  # trash: {retention_days:}: how long deleted records can be restored
    messages: MessageSettings | None = None  # blueprint.yaml `messages:`: email and group robots
    sign_in: SignInSettings | None = None  # blueprint.yaml `sign_in:` (None: passwords only)
    integrations: Mapping[str, Any] = dataclass_field(default_factory=dict)  # integrations.Inbound by name
    # periodic_reports/<name>.yaml: periodic_reports.PeriodicReport, reports people submit each day/week/month
    periodic_reports: Mapping[str, Any] = dataclass_field(default_factory=lambda: MappingProxyType({}))

    @property
    def default_locale(self) -> str:
        return self.locales[0]

    def pipeline_for(self, entity: str) -> Pipeline | None:
        """The pipeline of the entity's stage field, if it has one."""
        stage = self.entities[entity].stage_field
        return self.pipelines.get(stage.pipeline) if stage and stage.pipeline else None

    def view(self, entity: str) -> View:
        return self.views.get(entity) or View(entity=entity)
