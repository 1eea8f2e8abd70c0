"""A field as the studio's form holds it, and back to the field's YAML.

The form manages the properties a business admin changes (type, labels, options with colours,
required, required_when and visible_when, min/max, maximum length, default, formula, the referenced entity,
an autonumber's format); every other property of the field (a rollup, help, unique, index ...)
is kept as it was. An option ticked "remove" goes, and the option picked beside it is where the
records holding it move (the field's `moved` map, written as `moved_to:` beside `remove: true`)."""
from __future__ import annotations

from typing import Any, Mapping

from atrium.translation import N_
from atrium.ui.studio.forms import label_of, label_texts, number_of, rows

TYPES = ("text", "textarea", "integer", "number", "money", "percent", "boolean", "date", "datetime", "email",
         "phone", "url", "select", "multiselect", "reference", "user", "autonumber", "location")
CHOICE_TYPES = ("select", "multiselect")
NUMBER_TYPES = ("integer", "number", "money", "percent")
LENGTH_TYPES = ("text", "textarea")
MANAGED = ("type", "label", "required", "required_when", "visible_when", "default", "formula", "min", "max",
           "max_length", "options", "to", "format")
OPTION_COLUMNS = ("value", "label_en", "label_zh", "color", "remove", "moved_to")
BLANK_OPTION_ROWS = 3
EXPRESSIONS = ("formula", "default", "required_when", "visible_when")


def state_of(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values for a field as written."""
    label = label_texts(spec.get("label"))
    options = []
    for option in spec.get("options") or ():
        if isinstance(option, Mapping):
            texts = label_texts(option.get("label"))
            options.append({"value": str(option.get("value", "")), "label_en": texts["en"], "label_zh": texts["zh"],
                            "color": str(option.get("color") or ""), "remove": "", "moved_to": ""})
        else:
            options.append({"value": str(option), "label_en": "", "label_zh": "", "color": "", "remove": "",
                            "moved_to": ""})
    text = lambda key: "" if spec.get(key) is None else str(spec.get(key))  # noqa: E731
    return {"name": name, "type": spec.get("type", "text"), "label_en": label["en"], "label_zh": label["zh"],
            "required": bool(spec.get("required")), "required_when": text("required_when"),
            "visible_when": text("visible_when"),
            "default": text("default"), "formula": text("formula"), "min": text("min"), "max": text("max"),
            "max_length": text("max_length"), "to": text("to"), "format": text("format"), "options": options,
            "rollup": "rollup" in spec}


def state_from_form(form: Any) -> dict[str, Any]:
    options = [row for row in rows(form, "option", OPTION_COLUMNS) if row.get("value", "").strip()]
    keep = {key: str(form.get(key, "")).strip() for key in
            ("name", "type", "label_en", "label_zh", "required_when", "visible_when", "default", "formula", "min",
             "max", "max_length", "to", "format")}
    return {**keep, "required": form.get("required") == "yes", "options": options,
            "rollup": form.get("rollup") == "yes"}


def spec_from_state(state: Mapping[str, Any],
                    original: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """(the field's YAML, form errors found before the loader: numbers that are not numbers)."""
    spec = {key: value for key, value in (original or {}).items() if key not in MANAGED}
    errors: dict[str, str] = {}
    kind = state["type"] or "text"
    spec = {"type": kind, **spec}
    if (label := label_of(state)) is not None:
        written = (original or {}).get("label")
        spec["label"] = written if isinstance(written, str) and label == {"en": written} else label
    if state["required"]:
        spec["required"] = True
    for key in EXPRESSIONS:
        if state[key]:
            spec[key] = _literal(state[key]) if key == "default" else state[key]
    for key in ("min", "max") if kind in NUMBER_TYPES else ():
        try:
            if (value := number_of(state[key])) is not None:
                spec[key] = value
        except ValueError:
            errors[key] = N_("Not a number")
    if kind in LENGTH_TYPES:
        try:
            if (value := number_of(state["max_length"])) is not None:
                spec["max_length"] = value
        except ValueError:
            errors["max_length"] = N_("Not a number")
    if kind == "reference" and state["to"]:
        spec["to"] = state["to"]
    if kind == "autonumber" and state["format"]:
        spec["format"] = state["format"]
    if kind in CHOICE_TYPES:
        kept = [row for row in state["options"] if str(row.get("value", "")).strip() and row.get("remove") != "yes"]
        spec["options"] = [_option(row) for row in kept]
        moves = {_literal(row["value"].strip()): _literal(row["moved_to"]) for row in state["options"]
                 if row.get("remove") == "yes" and row.get("moved_to") and row["moved_to"] != row["value"].strip()}
        if moves:
            spec["moved"] = {**(spec.get("moved") or {}), **moves}
    return spec, errors


def _literal(text: str) -> Any:
    """A default typed as a number stays a number (`0`); anything else is an expression's text."""
    try:
        return number_of(text)
    except ValueError:
        return text


def _option(row: Mapping[str, str]) -> Any:
    value = row["value"].strip()
    label = label_of(row)
    colour = row.get("color", "").strip()
    if label is None and not colour:
        return value
    option: dict[str, Any] = {"value": value}
    if label is not None:
        option["label"] = label
    if colour:
        option["color"] = colour
    return option


def input_of(steps: list[Any]) -> str | None:
    """The form input a problem at `fields.<name>.<...>` belongs to."""
    if len(steps) >= 3 and steps[0] == "fields":
        key = steps[2]
        if key == "moved":
            return "options"
        if key in MANAGED:
            return "label_en" if key == "label" else key
        return "type"
    if len(steps) == 2 and steps[0] == "fields":
        return "type"
    if steps and steps[0] in ("form", "list"):
        return "section"
    return None
