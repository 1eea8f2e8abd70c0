"""The JSON Schemas of blueprint documents: well-formed, documented, and agreeing with the YAML we ship.

These tests use only jsonschema, referencing and PyYAML (not the loader), so a schema problem
shows up here on its own, before it turns into confusing loader errors.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "platform" / "metadata" / "schemas"
BLUEPRINTS = [ROOT / "blueprints" / "b2b_sales", ROOT / "tests" / "fixtures" / "design_examples"]
BASE_URI = "https://atrium.dev/schemas/"
KINDS = ("common", "blueprint", "entity", "pipeline", "views", "report", "dashboard", "roles",
         "automation", "seed", "integration", "periodic_report")
SINGLE_FILES = {"blueprint.yaml": "blueprint", "roles.yaml": "roles", "seed.yaml": "seed"}
FOLDERS = {"entities": "entity", "pipelines": "pipeline", "views": "views", "reports": "report",
           "dashboards": "dashboard", "automations": "automation", "integrations": "integration",
           "periodic_reports": "periodic_report"}


class BlueprintYamlLoader(yaml.SafeLoader):
    """YAML 1.2 booleans (so `on:` stays a key) and no implicit dates, like the loader's."""


BlueprintYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
BlueprintYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=BlueprintYamlLoader)


def schemas() -> dict[str, dict]:
    return {kind: json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
            for kind in KINDS}


def registry() -> Registry:
    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas().values())


def validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(schemas()[kind], registry=registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(kind: str, document: Any) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}"
            for e in validator(kind).iter_errors(document)]


def documents(folder: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name in SINGLE_FILES:
            yield SINGLE_FILES[path.name], path
        elif path.is_dir() and path.name in FOLDERS:
            for item in sorted(path.glob("*.yaml")):
                yield FOLDERS[path.name], item


ALL_DOCUMENTS = [(kind, path) for folder in BLUEPRINTS for kind, path in documents(folder)]


# ------------------------------------------------------------------------------- the schemas

def test_every_schema_file_is_known() -> None:
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == sorted(f"{k}.schema.json" for k in KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_draft_2020_12(kind: str) -> None:
    schema = schemas()[kind]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{BASE_URI}{kind}.schema.json"
    assert schema["title"] and schema["description"]


def _subschemas(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _subschemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _subschemas(value, f"{path}/{index}")


def _documented(schema: Any) -> bool:
    return isinstance(schema, dict) and bool(schema.get("title")) and bool(schema.get("description"))


@pytest.mark.parametrize("kind", KINDS)
def test_every_property_and_definition_has_title_and_description(kind: str) -> None:
    """The admin reference is generated from these; an undocumented key is a hole in it."""
    missing = []
    for path, node in _subschemas(schemas()[kind], "#"):
        if path.endswith("/if") or "/if/" in path:  # conditions restate keys, they do not define them
            continue
        for key, sub in node.get("properties", {}).items():
            if isinstance(sub, dict) and not _documented(sub):
                missing.append(f"{path}/properties/{key}")
        if path.endswith("/$defs"):
            missing.extend(f"{path}/{key}" for key, sub in node.items() if not _documented(sub))
    assert not missing, missing


@pytest.mark.parametrize("kind", KINDS)
def test_refs_are_absolute_to_common_or_local(kind: str) -> None:
    common = schemas()["common"]["$defs"]
    own = schemas()[kind].get("$defs", {})
    for path, node in _subschemas(schemas()[kind], "#"):
        target = node.get("$ref")
        if not isinstance(target, str):
            continue
        if target.startswith("#/$defs/"):
            assert target.removeprefix("#/$defs/") in own, (path, target)
        else:
            prefix = f"{BASE_URI}common.schema.json#/$defs/"
            assert target.startswith(prefix) and target.removeprefix(prefix) in common, (path, target)


@pytest.mark.parametrize("kind", KINDS)
def test_closed_objects(kind: str) -> None:
    """Every object with known keys rejects unknown ones (typos are errors, not silently ignored)."""
    open_objects = []
    for path, node in _subschemas(schemas()[kind], "#"):
        if "/if" in path or all(v.get("not") == {} for v in node.get("properties", {None: {}}).values()):
            continue  # a condition, or a `then` that only forbids keys: not an object definition
        if ("properties" in node or "patternProperties" in node) and "additionalProperties" not in node:
            open_objects.append(path)
    assert not open_objects, open_objects


# ------------------------------------------------------------------------------- the YAML we ship

def test_both_blueprints_have_every_kind() -> None:
    for folder in BLUEPRINTS:
        kinds = {kind for kind, _ in documents(folder)}
        expected = set(KINDS) - {"common"} - ({"seed", "integration"} if folder.name == "design_examples" else set())
        assert kinds >= expected, (folder, expected - kinds)


@pytest.mark.parametrize("kind,path", ALL_DOCUMENTS,
                         ids=[str(p.relative_to(ROOT)) for _, p in ALL_DOCUMENTS])
def test_document_validates(kind: str, path: Path) -> None:
    document = load_yaml(path.read_text(encoding="utf-8"))
    assert errors(kind, document) == []
    if kind in ("entity", "pipeline", "report", "dashboard", "automation"):
        assert document["name"] == path.stem
    if kind == "views":
        assert document["entity"] == path.stem


def _design_blocks() -> list[Any]:
    design = next((p for p in (ROOT.parent / "shared" / "DESIGN.md", Path("/work/shared/DESIGN.md"))
                   if p.is_file()), None)
    if design is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason="DESIGN.md not found"))]
    blocks = re.findall(r"```yaml\n(.*?)```", design.read_text(encoding="utf-8"), re.S)
    return blocks


@pytest.mark.parametrize("block", _design_blocks())
def test_design_examples_are_copied_verbatim(block: str) -> None:
    """Every YAML example in DESIGN.md appears, character for character, in the fixture."""
    fixture = "\n".join(p.read_text(encoding="utf-8")
                        for p in sorted((ROOT / "tests" / "fixtures" / "design_examples").rglob("*.yaml")))
    order = (ROOT / "tests/fixtures/design_examples/entities/order.yaml").read_text(encoding="utf-8")
    # The one addition: roles.yaml hides order.margin, so the fixture's order has that field.
    fixture += "\n" + "".join(line + "\n" for line in order.splitlines() if "margin" not in line)
    # A block written as several files, each headed `# entities/<name>.yaml`, is checked file by
    # file: each part must be in the fixture at that path (which adds what the part leaves out).
    parts = re.split(r"^# (\S+\.yaml)\b.*\n", block, flags=re.M)
    if len(parts) > 3 and not parts[0].strip():
        for path, part in zip(parts[1::2], parts[2::2], strict=True):
            text = (ROOT / "tests/fixtures/design_examples" / path).read_text(encoding="utf-8")
            assert part in text, (path, part)
        return
    assert block in fixture, block


def test_b2b_sales_labels_are_bilingual() -> None:
    """Every label, plural, help and message in the shipped blueprint has zh and en."""
    missing = []

    def walk(node: Any, where: str, parent: str = "") -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                # under `fields:` a key names a field (a field may well be called description)
                if parent != "fields" and key in ("label", "plural", "help", "message", "description") and \
                        not (isinstance(value, dict) and {"zh", "en"} <= set(value)):
                    missing.append(f"{where}.{key}")
                walk(value, f"{where}.{key}", key)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    for _kind, path in documents(BLUEPRINTS[0]):
        walk(load_yaml(path.read_text(encoding="utf-8")), str(path.relative_to(BLUEPRINTS[0])))
    assert not missing, missing


# ------------------------------------------------------------------------------- negative cases

ORDER = BLUEPRINTS[1] / "entities" / "order.yaml"


def order() -> dict:
    return copy.deepcopy(load_yaml(ORDER.read_text(encoding="utf-8")))


def _one_error(kind: str, document: Any) -> Any:
    found = list(validator(kind).iter_errors(document))
    assert found, "expected an error"
    return found


def test_unknown_field_type() -> None:
    document = order()
    document["fields"]["amount"]["type"] = "mony"
    (error,) = _one_error("entity", document)
    assert list(error.absolute_path) == ["fields", "amount", "type"]
    assert error.validator == "enum" and "money" in error.validator_value


def test_unknown_top_level_key() -> None:
    document = order()
    document["feilds"] = {}
    (error,) = _one_error("entity", document)
    assert error.validator == "additionalProperties" and "feilds" in error.message


def test_unknown_field_property() -> None:
    document = order()
    document["fields"]["name"]["max_lenght"] = 20
    (error,) = _one_error("entity", document)
    assert list(error.absolute_path) == ["fields", "name"] and "max_lenght" in error.message


def test_reference_field_needs_to() -> None:
    document = order()
    del document["fields"]["customer"]["to"]
    (error,) = _one_error("entity", document)
    assert list(error.absolute_path) == ["fields", "customer"]
    assert error.validator == "required" and "'to'" in error.message


@pytest.mark.parametrize("kind,missing", [("select", "options"), ("multiselect", "options"),
                                          ("autonumber", "format")])
def test_select_and_autonumber_need_their_key(kind: str, missing: str) -> None:
    document = order()
    document["fields"]["extra"] = {"type": kind}
    (error,) = _one_error("entity", document)
    assert error.validator == "required" and f"'{missing}'" in error.message


def test_formula_and_rollup_exclude_each_other() -> None:
    document = order()
    document["fields"]["probability"]["rollup"] = {"from": "visit.order", "count": "id"}
    (error,) = _one_error("entity", document)
    assert list(error.absolute_path) == ["fields", "probability", "rollup"]


def test_rollup_takes_exactly_one_function() -> None:
    document = order()
    document["fields"]["visits"] = {"type": "integer",
                                    "rollup": {"from": "visit.order", "count": "id", "max": "visited_at"}}
    assert _one_error("entity", document)
    document["fields"]["visits"]["rollup"] = {"from": "visit.order"}
    assert _one_error("entity", document)


def test_field_names_are_snake_case() -> None:
    document = order()
    document["fields"]["Amount2"] = {"type": "money"}
    assert _one_error("entity", document)
    document = order()
    document["fields"]["a" * 51] = {"type": "money"}
    assert _one_error("entity", document)


def test_bad_option_values() -> None:
    document = order()
    document["fields"]["tags"]["options"].append(True)  # an unquoted `yes` in YAML 1.1
    assert _one_error("entity", document)
    document = order()
    document["fields"]["tags"]["options"].append({"label": "no value"})
    assert _one_error("entity", document)


def test_bad_within_period() -> None:
    report = load_yaml((BLUEPRINTS[1] / "reports" / "pipeline_by_stage.yaml").read_text(encoding="utf-8"))
    for period in ("this_fortnight", "last_0_days", "next_10000_days", "last_days"):
        report["where"]["expected_close"] = {"within": period}
        (error,) = _one_error("report", report)
        assert list(error.absolute_path) == ["where", "expected_close", "within"], period
    report["where"]["expected_close"] = {"within": "last_30_days"}
    assert errors("report", report) == []


def test_unknown_condition_operator() -> None:
    report = load_yaml((BLUEPRINTS[1] / "reports" / "pipeline_by_stage.yaml").read_text(encoding="utf-8"))
    report["where"]["stage"] = {"nin": ["won"]}
    assert _one_error("report", report)


def test_report_needs_source_unless_pipeline_funnel() -> None:
    assert _one_error("report", {"name": "x", "measures": {"n": "count"}})
    assert errors("report", {"name": "x", "type": "funnel", "pipeline": "order"}) == []
    assert _one_error("report", {"name": "x", "type": "summary", "pipeline": "order"})


def test_measure_shapes() -> None:
    base = {"name": "x", "source": "order"}
    assert errors("report", {**base, "measures": {"n": "count", "a": {"sum": "amount", "label": "A"}}}) == []
    assert _one_error("report", {**base, "measures": {"n": "sum"}})
    assert _one_error("report", {**base, "measures": {"a": {"sum": "amount", "avg": "amount"}}})
    assert _one_error("report", {**base, "measures": {"a": {"median": "amount"}}})


def test_widget_requirements() -> None:
    def dashboard(widget: dict) -> dict:
        return {"name": "d", "widgets": [widget]}
    for widget in ({"type": "kpi"}, {"type": "chart"}, {"type": "table"}, {"type": "funnel"},
                   {"type": "list"}, {"type": "gauge", "report": "r"}):
        assert _one_error("dashboard", dashboard(widget)), widget
    assert errors("dashboard", dashboard({"type": "list", "entity": "visit", "width": 6})) == []
    assert _one_error("dashboard", dashboard({"type": "list", "entity": "visit", "width": 13}))


def test_automation_trigger_shapes() -> None:
    base = {"name": "a", "entity": "order", "do": [{"set": {"owner": None}}]}
    for trigger in ("create", {"change": ["owner"]}, {"stage": {"enter": "won"}}, {"stage": {"leave": "won"}}):
        assert errors("automation", {**base, "on": trigger}) == [], trigger
    for trigger in ("creat", {"change": []}, {"stage": {"enter": "won", "leave": "lost"}},
                    {"stage": {"arrive": "won"}}, {"change": ["owner"], "stage": {"enter": "won"}}):
        assert _one_error("automation", {**base, "on": trigger}), trigger
    assert _one_error("automation", {**base, "on": "schedule"})  # needs `every`
    assert errors("automation", {**base, "on": "schedule", "every": "day", "at": "08:30"}) == []
    assert _one_error("automation", {**base, "on": "schedule", "every": "day", "at": "8:30"})


def test_automation_action_has_exactly_one_kind() -> None:
    base = {"name": "a", "entity": "order", "on": "create"}
    assert _one_error("automation", {**base, "do": [{"set": {"owner": None},
                                                     "notify": {"to": "owner", "message": "m"}}]})
    assert _one_error("automation", {**base, "do": [{"sett": {"owner": None}}]})
    assert _one_error("automation", {**base, "do": []})
    assert _one_error("automation", {**base, "do": [{"assign": {"strategy": "random"}}]})
    assert _one_error("automation", {**base, "do": [{"webhook": {"url": "https://x.example", "secret": "s3cr3t"}}]})


def test_yaml_1_1_on_key_would_be_caught() -> None:
    """With PyYAML's default resolver `on:` becomes the boolean True: the schema must say so."""
    text = (BLUEPRINTS[1] / "automations" / "kickoff_task_on_won.yaml").read_text(encoding="utf-8")
    assert errors("automation", yaml.safe_load(text))
    assert errors("automation", load_yaml(text)) == []


def test_seed_generators() -> None:
    base = {"base": "order", "entities": {"order": {"fields": {}}}}
    def seed(generator: Any, plan: dict | None = None) -> dict:
        return {**base, "entities": {"order": {**(plan or {}), "fields": {"name": generator}}}}
    for generator in ("company_name", {"choice": ["a", "b"], "weights": [1, 2]}, {"range": [1, 9]},
                      {"date_within": {"days_before": 5}}, {"value": None}, {"ref": "customer"},
                      {"same_as": "order.customer"}, {"sequence": "P-{n:04}"}):
        assert errors("seed", seed(generator)) == [], generator
    for generator in ("company", {"choice": ["a"], "range": [1, 2]}, {"weights": [1]}, {"range": [1]},
                      {"sequence": "P-"}, {}):
        assert _one_error("seed", seed(generator)), generator
    assert _one_error("seed", seed("phone", {"per_base": 1, "count": 3}))


def test_labels() -> None:
    blueprint = {"name": "b"}
    for label in ("B2B", {"en": "B2B", "zh": "B2B 销售"}, {"zh-TW": "銷售"}):
        assert errors("blueprint", {**blueprint, "label": label}) == [], label
    for label in ("", {}, {"english": "B2B"}, {"en": ""}, 3, ["B2B"]):
        assert _one_error("blueprint", {**blueprint, "label": label}), label
