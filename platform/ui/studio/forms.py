"""Reading studio forms: labels in two languages, names, numbers, comma lists and YAML values, and
the token that tells a stale editor from a current one."""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

import yaml

from atrium.metadata.overlays.paths import plain
from atrium.metadata.yaml_source import parse_yaml
from atrium.runtime.site.change import Key, token
from atrium.ui.studio.flow import Outcome, review_context
from atrium.ui.studio.setup import studio_of
from atrium.ui.web.edge import id_or_none
from atrium.ui.web.templating import render

NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
COLOURS = ("", "blue", "cyan", "green", "gold", "yellow", "orange", "red", "purple", "gray")


def label_of(form: Mapping[str, Any], prefix: str = "label") -> dict[str, str] | None:
    """{en, zh} from `<prefix>_en` / `<prefix>_zh` (None when both are empty)."""
    texts = {locale: str(form.get(f"{prefix}_{locale}", "")).strip() for locale in ("en", "zh")}
    texts = {locale: text for locale, text in texts.items() if text}
    return texts or None


def label_texts(label: Any) -> dict[str, str]:
    """A label as written (a string or a mapping) → {'en': ..., 'zh': ...} for the two inputs."""
    if isinstance(label, Mapping):
        return {"en": str(label.get("en", "")), "zh": str(label.get("zh", ""))}
    return {"en": str(label or ""), "zh": ""}


def set_or_drop(target: dict, key: str, value: Any) -> None:
    if value is None or value == "" or value == []:
        target.pop(key, None)
    else:
        target[key] = value


def number_of(text: Any) -> int | float | None:
    """A number typed in a form ('' → None); ValueError when it is not one."""
    text = str(text or "").strip()
    if not text:
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def comma_list(text: Any) -> list[str]:
    return [part.strip() for part in re.split(r"[,，\s]+", str(text or "")) if part.strip()]


def yaml_value(text: Any) -> Any:
    """A value typed as YAML ('won', '[won, lost]', 'true', '30'); ValueError when unreadable."""
    text = str(text or "").strip()
    if not text:
        return None
    try:
        data, problems = parse_yaml(f"value: {text}\n", "<input>")
    except Exception as error:  # noqa: BLE001  the parser's own errors come back as problems
        raise ValueError(str(error)) from error
    if problems or not isinstance(data, dict):
        raise ValueError(problems[0].message if problems else "not a value")
    return plain(data["value"])


def yaml_mapping(text: Any) -> dict[str, Any]:
    """A mapping typed as YAML ('' → {}); ValueError when it is not one."""
    text = str(text or "").strip()
    if not text:
        return {}
    data, problems = parse_yaml(text + "\n", "<input>")
    if problems or not isinstance(data, dict):
        raise ValueError(problems[0].message if problems else "not a mapping")
    return plain(data)


def inline_yaml(value: Any) -> str:
    """A value as one line of YAML for an input ('' for None)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return yaml.safe_dump(plain(value), default_flow_style=True, allow_unicode=True, width=10_000,
                          sort_keys=False).strip().removesuffix("...").strip()


def rows(form: Any, prefix: str, names: Iterable[str]) -> list[dict[str, str]]:
    """Table rows posted as `<prefix>-<n>-<name>` inputs, by n."""
    names = tuple(names)
    found: dict[int, dict[str, str]] = {}
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)-(\w+)$")
    wanted = set(names)
    for key in form.keys():
        match = pattern.match(key)
        if match and match.group(2) in wanted:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = str(form.get(key, ""))
    return [{name: found[index].get(name, "") for name in names} for index in sorted(found)]


def editor_token(request: Any, keys: Iterable[Key]) -> str:
    return token(studio_of(request).changes.documents(), list(keys))


def watched_of(form: Mapping[str, Any]) -> tuple[Key, ...]:
    """The documents the editor loaded (hidden input `watched`: kind/name;kind/name)."""
    keys = []
    for part in str(form.get("watched", "")).split(";"):
        kind, _, name = part.partition("/")
        if kind and name:
            keys.append((kind, name))
    return tuple(keys)


def watched_text(keys: Iterable[Key]) -> str:
    return ";".join(f"{kind}/{name}" for kind, name in keys)


def page(request: Any, template: str, context: Mapping[str, Any], outcome: Outcome | None = None,
         status_code: int = 200):
    """An editor page with its review (when there is one) and the applied banner."""
    locale = request.state.locale
    values = {"rv": review_context(outcome or Outcome(), locale), "errors": (outcome.errors if outcome else {}),
              "applied": _applied(request), **context}
    return render(request, template, values, status_code=status_code)


def _applied(request: Any) -> int | None:
    return id_or_none(request.query_params.get("applied", ""))
