"""JSON Schema validation of blueprint documents, one schema file per document kind."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from atrium.metadata.problems import Mark, Problem, did_you_mean, valid_names
from atrium.metadata.yaml_source import format_path, mark_at
from atrium.translation import N_

SCHEMA_DIR = Path(__file__).parent / "schemas"
# A JSON type as a person says it: "'won, lost' is a text; a list is expected here".
TYPE_WORDS = {"array": N_("a list"), "object": N_("a mapping"), "string": N_("a text"),
              "integer": N_("a whole number"), "number": N_("a number"), "boolean": N_("true or false"),
              "null": N_("empty")}
KINDS = ("blueprint", "entity", "pipeline", "views", "report", "dashboard", "roles", "automation", "seed",
         "integration", "periodic_report")


def schema_uri(kind: str) -> str:
    return f"https://atrium.dev/schemas/{kind}.schema.json"


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def fast_validator(kind: str) -> jsonschema_rs.Draft202012Validator:
    """jsonschema-rs (compiled, ~100x faster) answers "valid?"; the Python validator, only when
    the answer is no, explains every error with the positions and hints people need."""
    schemas = [(uri, _registry().contents(uri)) for uri in map(schema_uri, KINDS)]
    common = "https://atrium.dev/schemas/common.schema.json"
    registry = jsonschema_rs.Registry(schemas + [(common, _registry().contents(common))])
    return jsonschema_rs.Draft202012Validator(_registry().contents(schema_uri(kind)), registry=registry,
                                              validate_formats=True)


@lru_cache(maxsize=None)
def validator(kind: str) -> Draft202012Validator:
    schema = _registry().contents(schema_uri(kind))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_problems(kind: str, document: Any, file: str) -> list[Problem]:
    """Every shape error in `document`, each at its line in the file that wrote it."""
    try:
        if fast_validator(kind).is_valid(document):
            return []
    except ValueError:  # jsonschema-rs takes only text keys (YAML `? ` gives a null key): explain below
        pass
    problems: list[Problem] = []
    for error in validator(kind).iter_errors(document):
        problems.extend(_describe(error, document, file))
    return problems


def _describe(error: ValidationError, document: Any, file: str) -> Iterator[Problem]:
    if error.context:  # anyOf / oneOf: the branch that got furthest says the most
        deepest = best_match(error.context)
        if len(deepest.absolute_path) > len(error.absolute_path) or deepest.validator != "type":
            yield from _describe(deepest, document, file)
            return
    path = list(error.absolute_path)
    where = mark_at(document, path) or Mark(file, 1, 1)
    name = next((step for step in reversed(path) if isinstance(step, str)), "value")
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {})) if isinstance(error.schema, Mapping) else set()
        patterns = list(error.schema.get("patternProperties", {})) if isinstance(error.schema, Mapping) else []
        for key in error.instance:
            if patterns and key not in allowed and not any(re.search(p, str(key)) for p in patterns):
                # a name the author chose (a field, a measure): the name's spelling is what is wrong
                yield Problem(mark_at(document, path + [key], key=True) or where, format_path(path + [key]),
                              f"'{key}' is not a valid name: use lower-case letters, digits and _, "
                              "starting with a letter", _spelling_hint(key))
            elif key not in allowed and not patterns:
                yield Problem(mark_at(document, path + [key], key=True) or where,
                              format_path(path + [key]), f"'{key}' is not a known property",
                              did_you_mean(key, allowed), valid_names(allowed))
        return
    if error.validator == "enum":
        options = error.validator_value if isinstance(error.validator_value, list) else []
        yield Problem(where, format_path(path), f"{error.instance!r} is not a valid {name}",
                      did_you_mean(error.instance, [str(v) for v in options]), tuple(str(v) for v in options))
        return
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        yield Problem(where, format_path(path),
                      f"{error.instance!r} is {_type_of(error.instance)}; "
                      f"{' or '.join(TYPE_WORDS.get(str(t), str(t)) for t in expected)} is expected here",
                      "write a list as [a, b]" if "array" in expected and isinstance(error.instance, str) else "")
        return
    if error.validator == "required":
        yield Problem(where, format_path(path), error.message.replace("property", "key"))
        return
    if error.validator in ("not", "pattern") and isinstance(error.schema, dict) \
            and error.schema.get("description"):
        shown = repr(error.instance) if error.validator == "pattern" else "not allowed here"
        yield Problem(where, format_path(path), f"{shown}: {error.schema['description']}")
        return
    yield Problem(where, format_path(path), error.message)


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return TYPE_WORDS["boolean"]
    kinds = ((dict, "object"), (list, "array"), (str, "string"), (int, "integer"), (float, "number"))
    return next((TYPE_WORDS[kind] for python, kind in kinds if isinstance(value, python)), TYPE_WORDS["null"])


def _spelling_hint(name: Any) -> str:
    text = str(name)
    if re.search(r"[^\x00-\x7f]", text):
        return "a Chinese name goes in the label (en and zh); the name itself stays ASCII, e.g. tender_no"
    return ""
