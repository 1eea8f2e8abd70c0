"""The loader's problems in the reader's language, for `atrium check --lang zh`.

A problem is built as English text where it is found (the loader's many checks stay as they are,
and English output is exactly what it was). To say it in another language, the text is matched
against the msgids below, whose `{fields}` capture the names it carries; the catalog's translation
is then filled with them. A text no msgid matches stays English: add its msgid here, run
`make translations`, and translate it.
"""
from __future__ import annotations

import re
from functools import lru_cache

from atrium.metadata.problems import Problem
from atrium.translation import N_, SOURCE_LOCALE, language_of, word

# Most specific first: "'x' is not a known property" before "'x' is not {what}".
MESSAGES: tuple[str, ...] = (
    N_("'{name}' is not a known property"),
    N_("{value} is not a valid {name}"),
    N_("'{name}' is a required key"),
    N_("duplicate key '{key}'"),
    N_("expression {text} uses unknown name '{name}'"),
    N_("'{name}' is not {what}"),
    N_("no blueprint.yaml: not a blueprint folder"),
    N_("blueprints extend each other in a cycle"),
)
# What an unknown name should have been ('x' is not {what}).
WHATS: tuple[str, ...] = (
    N_("an entity"),
    N_("a pipeline"),
    N_("a stage"),
    N_("a role"),
    N_("a field of this entity"),
    N_("a field of {entity}"),
    N_("a stored field of {entity}"),
    N_("a stage of {entity}"),
    N_("an approval rule of {entity}"),
    N_("an input of {field}"),
    N_("a target listed before this one"),
    N_("a measure or metric of the report"),
    N_("a group, measure or metric of this report"),
)
HINTS: tuple[str, ...] = (
    N_("did you mean '{name}'?"),
    N_("first written on line {line}"),
)


@lru_cache(maxsize=None)
def _pattern(msgid: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", msgid)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(regex, re.S)


def translated(text: str, msgids: tuple[str, ...], locale: str) -> str | None:
    """text said in the locale's language, or None when no msgid matches it."""
    for msgid in msgids:
        found = _pattern(msgid).fullmatch(text)
        if found is None:
            continue
        params = found.groupdict()
        if "what" in params:
            what = translated(params["what"], WHATS, locale)
            if what is None:
                continue
            params["what"] = what
        return word(msgid, locale, **params)
    return None


def problem_text(problem: Problem, locale: str | None) -> str:
    """A problem as `atrium check` prints it, in the locale's language where the catalog has it."""
    language = language_of(locale)
    if language == SOURCE_LOCALE:
        return str(problem)
    message = translated(problem.message, MESSAGES, language) or problem.message
    hint = (translated(problem.hint, HINTS, language) or problem.hint) if problem.hint else ""
    where = f"{problem.mark}: " if problem.mark else ""
    path = f"{problem.path}: " if problem.path else ""
    return f"{where}{path}{message}" + (f" ({hint})" if hint else "")
