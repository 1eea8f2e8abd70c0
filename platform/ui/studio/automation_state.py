"""An automation (or an approval: an automation whose action is `require_approval`) as the studio's
form holds it — trigger, conditions, the `when` expression, and each action with its own inputs —
and back to the automation's YAML.

What an input cannot show exactly (a link given as a path, an assignment's value map, a label
written as one plain string, a key a later version adds) is kept as YAML beside the inputs (the
rule's and each action's "other settings"), so opening a rule and applying it unchanged writes
nothing, and nothing is dropped."""
from __future__ import annotations

import re
from typing import Any, Mapping

from atrium.metadata.overlays.documents import render_overlay_yaml
from atrium.translation import N_
from atrium.ui.studio.condition_rows import CONDITION, condition_of, condition_rows
from atrium.ui.studio.forms import comma_list, label_of, rows, yaml_mapping

# trigger as the form's select holds it → its name for people
TRIGGER_WORDS: dict[str, str] = {
    "create": N_("a record is created"),
    "update": N_("a record is changed"),
    "delete": N_("a record is deleted"),
    "change": N_("one of these fields changes"),
    "stage_enter": N_("a record enters a stage"),
    "stage_leave": N_("a record leaves a stage"),
    "schedule": N_("on a schedule"),
    "request": N_("a person asks for approval"),
    "approved": N_("an approval is approved"),
    "rejected": N_("an approval is rejected"),
}
ACTION_WORDS: dict[str, str] = {
    "notify": N_("Notify people"),
    "set": N_("Set fields of the record"),
    "create": N_("Create a record"),
    "assign": N_("Assign an owner"),
    "webhook": N_("Call a webhook"),
    "require_approval": N_("Require approval"),
}
EVERY_WORDS: dict[str, str] = {"": N_("(with a time: every day)"), "hour": N_("every hour"),
                               "day": N_("every day"), "week": N_("every week")}
STRATEGY_WORDS: dict[str, str] = {"round_robin": N_("in turns"), "least_loaded": N_("to whoever has the fewest")}
# who a notification may go to besides roles and the record's user fields
RECIPIENTS = ("owner", "manager", "previous_owner", "creator")
ACTIONS = tuple(ACTION_WORDS)
TRIGGERS = tuple(TRIGGER_WORDS)
# the document keys the form's inputs hold; any other key is kept in "other settings"
RULE_KEYS = ("name", "label", "description", "entity", "on", "every", "at", "where", "when", "enabled", "do")
PAIR = ("field", "expr")
# per action kind: its pairs of field → expression, and its single inputs
PAIRS: dict[str, tuple[str, ...]] = {"set": ("set",), "create": ("values",), "webhook": ("payload",),
                                     "require_approval": ("pending", "approved", "rejected", "voided")}
SINGLES: dict[str, tuple[str, ...]] = {
    "notify": ("to", "message_en", "message_zh", "link", "group", "grouped_en", "grouped_zh"),
    "set": (),
    "create": ("create_entity",),
    "assign": ("strategy", "role", "team", "by_field", "owner_field"),
    "webhook": ("url", "secret"),
    "require_approval": ("approver", "approval_when", "lock", "question_en", "question_zh", "comment", "show",
                         "voided_by"),
}
ACTION_INPUTS = ("kind", "other", "position", "remove") + tuple(sorted({n for names in SINGLES.values()
                                                                         for n in names}))
BLANK_PAIRS = 1
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def _is_label(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) <= {"en", "zh"} and all(isinstance(v, str)
                                                                              for v in value.values())


def _names(value: Any) -> bool:
    """A list of names a comma-separated input can hold."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and IDENTIFIER.match(v) for v in value)


def expression_text(value: Any) -> str:
    """An expression as its input shows it (YAML null, true, false and numbers as YAML writes them)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def expression_value(text: str) -> Any:
    """An input's expression as the YAML holds it: null, true, false and numbers as such, else text."""
    text = text.strip()
    if text in ("null", "true", "false"):
        return {"null": None, "true": True, "false": False}[text]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text


def _pairs(mapping: Any) -> list[dict[str, str]]:
    return [{"field": str(key), "expr": expression_text(value)} for key, value in (mapping or {}).items()]


def _label_inputs(target: dict[str, str], prefix: str, value: Any, other: dict, key: str) -> None:
    if value is None:
        return
    if _is_label(value):
        target[f"{prefix}_en"], target[f"{prefix}_zh"] = value.get("en", ""), value.get("zh", "")
    else:
        other[key] = value


def action_state(step: Mapping[str, Any]) -> dict[str, Any]:
    """One action of `do:` → the inputs of its block (kind, singles, pairs, other settings)."""
    kind, spec = next(iter(step.items())) if len(step) == 1 else ("", {})
    spec = dict(spec) if isinstance(spec, Mapping) else {}
    state: dict[str, Any] = {name: "" for name in ACTION_INPUTS}
    state["kind"] = kind if kind in ACTIONS else ""
    state["pairs"] = {group: [] for names in PAIRS.values() for group in names}
    other: dict[str, Any] = {}
    if kind not in ACTIONS:
        state["other"] = render_overlay_yaml(dict(step)) if step else ""
        return state
    if kind == "set":
        state["pairs"]["set"] = _pairs(spec)
        return state
    for key, value in spec.items():
        if kind in PAIRS and key in PAIRS[kind] and isinstance(value, Mapping):
            state["pairs"][key] = _pairs(value)
        elif key == "message":  # a notification's message, or the question an approval asks
            _label_inputs(state, "question" if kind == "require_approval" else "message", value, other, key)
        elif kind == "notify" and key == "grouped":
            _label_inputs(state, "grouped", value, other, key)
        elif kind == "notify" and key == "to" and (isinstance(value, str) or _names(value)):
            state["to"] = value if isinstance(value, str) else ", ".join(value)
        elif kind == "notify" and key in ("link", "group") and isinstance(value, bool):
            state[key] = "true" if value else "false"
        elif kind == "create" and key == "entity" and isinstance(value, str):
            state["create_entity"] = value
        elif kind == "assign" and key in ("strategy", "role", "team", "by_field") and isinstance(value, str):
            state[key] = value
        elif kind == "assign" and key == "field" and isinstance(value, str):
            state["owner_field"] = value
        elif kind == "webhook" and key in ("url", "secret") and isinstance(value, str):
            state[key] = value
        elif kind == "require_approval" and key in ("approver", "comment") and isinstance(value, str):
            state[key] = value
        elif kind == "require_approval" and key == "when" and isinstance(value, str):
            state["approval_when"] = value
        elif kind == "require_approval" and key == "lock" and isinstance(value, bool):
            state["lock"] = "true" if value else "false"
        elif kind == "require_approval" and key in ("show", "voided_by") and _names(value):
            state[key] = ", ".join(value)
        else:
            other[key] = value
    state["other"] = render_overlay_yaml(other) if other else ""
    return state


def trigger_state(on: Any) -> dict[str, str]:
    state = {"on": "", "on_fields": "", "on_stage": "", "on_rules": "", "on_other": ""}
    if isinstance(on, str):
        state["on"] = on
    elif isinstance(on, Mapping) and len(on) == 1:
        key, value = next(iter(on.items()))
        if key == "change" and _names(value):
            state.update(on="change", on_fields=", ".join(value))
        elif key == "stage" and isinstance(value, Mapping) and len(value) == 1:
            direction, stage = next(iter(value.items()))
            state.update(on=f"stage_{direction}", on_stage=str(stage))
        elif key in ("approved", "rejected") and (isinstance(value, str) or _names(value)):
            state.update(on=key, on_rules=value if isinstance(value, str) else ", ".join(value))
    if state["on"] not in TRIGGERS:
        state.update(on="", on_other=render_overlay_yaml({"on": on}) if on is not None else "")
    return state


def state_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """The automation's YAML → what its form shows."""
    other: dict[str, Any] = {key: value for key, value in document.items() if key not in RULE_KEYS}
    state: dict[str, Any] = {"name": str(document.get("name", "")), "label_en": "", "label_zh": "",
                             "entity": str(document.get("entity", "")), "every": "", "at": "", "when": "",
                             "enabled": "no" if document.get("enabled") is False else "yes",
                             "enabled_written": "yes" if "enabled" in document else ""}
    state.update(description_en="", description_zh="")
    _label_inputs(state, "label", document.get("label"), other, "label")
    _label_inputs(state, "description", document.get("description"), other, "description")
    state.update(trigger_state(document.get("on")))
    if state["on_other"]:
        other["on"] = document.get("on")
    for key in ("every", "at", "when"):
        value = document.get(key)
        if isinstance(value, str):
            state[key] = value
        elif value is not None:
            other[key] = value
    state["conditions"] = condition_rows(document.get("where"))
    steps = document.get("do") or []
    state["actions"] = [{**action_state(step if isinstance(step, Mapping) else {}),
                         "position": str((index + 1) * 10)} for index, step in enumerate(steps)]
    state["other"] = render_overlay_yaml(other) if other else ""
    return state


def state_from_form(form: Any) -> dict[str, Any]:
    """The posted inputs → the form's state (the same shape `state_of` gives)."""
    keep = {key: str(form.get(key, "")).strip() for key in
            ("name", "label_en", "label_zh", "description_en", "description_zh", "entity", "on", "on_fields",
             "on_stage", "on_rules", "every", "at", "when", "enabled_written")}
    keep["enabled"] = "yes" if form.get("enabled") == "yes" else "no"
    actions = []
    for index, posted in enumerate(rows(form, "act", ACTION_INPUTS)):
        action: dict[str, Any] = dict(posted)
        action["pairs"] = {group: [pair for pair in rows(form, f"act-{index}-{group}", PAIR)
                                   if pair["field"].strip() or pair["expr"].strip()]
                           for names in PAIRS.values() for group in names}
        actions.append(action)
    return {**keep, "other": str(form.get("other", "")),
            "conditions": [r for r in rows(form, "cond", CONDITION) if r["field"].strip()],
            "actions": actions}


def with_blank_rows(state: Mapping[str, Any]) -> dict[str, Any]:
    """The state with room to add: two condition rows, one more action, a pair row in each group."""
    result = dict(state)
    result["conditions"] = list(state["conditions"]) + [{"field": "", "op": "eq", "value": "", "blank": True}
                                                        for _ in range(2)]
    blank = {**{name: "" for name in ACTION_INPUTS}, "kind": "", "blank": True,
             "position": str((len(state["actions"]) + 1) * 10),
             "pairs": {group: [] for names in PAIRS.values() for group in names}}
    actions = []
    for action in list(state["actions"]) + [blank]:
        pairs = {group: list(found) + [{"field": "", "expr": ""} for _ in range(BLANK_PAIRS)]
                 for group, found in action["pairs"].items()}
        actions.append({**action, "pairs": pairs})
    result["actions"] = actions
    return result


def _label(row: Mapping[str, str], prefix: str) -> dict[str, str] | None:
    return label_of({"label_en": row.get(f"{prefix}_en", ""), "label_zh": row.get(f"{prefix}_zh", "")})


def _pair_mapping(pairs: list[dict[str, str]], where: str, errors: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for index, pair in enumerate(pairs):
        name = pair["field"].strip()
        if not IDENTIFIER.match(name):
            errors[f"{where}-{index}-field"] = N_("Choose a field")
            continue
        found[name] = expression_value(pair["expr"])
    return found


def _flag(text: str) -> bool | None:
    return {"true": True, "false": False}.get(text)


def action_document(row: Mapping[str, Any], index: int, errors: dict[str, str]) -> dict[str, Any] | None:
    """One action block → its step of `do:` (None: the block is empty or taken out)."""
    kind = row.get("kind", "")
    try:
        other = yaml_mapping(row.get("other", ""))
    except ValueError:
        errors[f"act-{index}-other"] = N_("Not a value YAML can read")
        other = {}
    if row.get("remove") == "yes" or (not kind and not other):
        return None
    if not kind:  # an action this form does not know: kept as it was written
        return other
    spec: dict[str, Any] = {}
    text = {name: str(row.get(name, "")).strip() for name in SINGLES[kind]}
    pairs = {group: _pair_mapping(row["pairs"].get(group, []), f"act-{index}-{group}", errors)
             for group in PAIRS.get(kind, ())}
    if kind == "set":
        spec = pairs["set"]
    elif kind == "notify":
        to = comma_list(text["to"])
        if to:
            spec["to"] = to[0] if len(to) == 1 else to
        if (message := _label(text, "message")) is not None:
            spec["message"] = message
        for key in ("link", "group"):
            if (flag := _flag(text[key])) is not None:
                spec[key] = flag
        if (grouped := _label(text, "grouped")) is not None:
            spec["grouped"] = grouped
    elif kind == "create":
        if text["create_entity"]:
            spec["entity"] = text["create_entity"]
        if pairs["values"]:
            spec["values"] = pairs["values"]
    elif kind == "assign":
        for key in ("strategy", "role", "team", "by_field"):
            if text[key]:
                spec[key] = text[key]
        if text["owner_field"]:
            spec["field"] = text["owner_field"]
    elif kind == "webhook":
        for key in ("url", "secret"):
            if text[key]:
                spec[key] = text[key]
        if pairs["payload"]:
            spec["payload"] = pairs["payload"]
    elif kind == "require_approval":
        if text["approver"]:
            spec["approver"] = text["approver"]
        if text["approval_when"]:
            spec["when"] = text["approval_when"]
        if (lock := _flag(text["lock"])) is not None:
            spec["lock"] = lock
        if (message := _label(text, "question")) is not None:
            spec["message"] = message
        for group in PAIRS[kind]:
            if pairs[group]:
                spec[group] = pairs[group]
        if text["comment"]:
            spec["comment"] = text["comment"]
        for key in ("voided_by", "show"):
            if names := comma_list(text[key]):
                spec[key] = names
    for key, value in other.items():
        spec.setdefault(key, value)
    return {kind: spec}


def trigger_document(state: Mapping[str, Any]) -> Any:
    on = state["on"]
    if on == "change":
        return {"change": comma_list(state["on_fields"])}
    if on in ("stage_enter", "stage_leave"):
        return {"stage": {on.removeprefix("stage_"): state["on_stage"]}}
    if on in ("approved", "rejected"):
        names = comma_list(state["on_rules"])
        return {on: names[0] if len(names) == 1 else names}
    return on or None


def _position(row: Mapping[str, Any], index: int) -> float:
    try:
        return float(str(row.get("position", "")).strip() or index)
    except ValueError:
        return float(index)


def document_from_state(state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str], list[int]]:
    """(the automation's YAML, errors by input, the form block of each action in `do:`)."""
    errors: dict[str, str] = {}
    document: dict[str, Any] = {"name": state["name"]}
    if (label := label_of(state)) is not None:
        document["label"] = label
    if (description := _label(state, "description")) is not None:
        document["description"] = description
    if state["entity"]:
        document["entity"] = state["entity"]
    if (on := trigger_document(state)) is not None:
        document["on"] = on
    if state["on"] == "schedule":
        if state["every"]:
            document["every"] = state["every"]
        if state["at"]:
            document["at"] = state["at"]
    where, found = condition_of(state["conditions"])
    errors.update(found)
    if where:
        document["where"] = where
    if state["when"]:
        document["when"] = state["when"]
    if state["enabled"] != "yes":
        document["enabled"] = False
    elif state.get("enabled_written"):
        document["enabled"] = True
    ordered = sorted(enumerate(state["actions"]), key=lambda item: (_position(item[1], item[0]), item[0]))
    steps, placed = [], []
    for index, row in ordered:
        step = action_document(row, index, errors)
        if step is not None:
            steps.append(step)
            placed.append(index)
    document["do"] = steps
    try:
        other = yaml_mapping(state["other"])
    except ValueError:
        errors["other"] = N_("Not a value YAML can read")
        other = {}
    for key, value in other.items():
        document.setdefault(key, value)
    return document, errors, placed
