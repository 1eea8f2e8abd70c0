"""The loader's problems in the reader's language, for `atrium check --lang zh`.

A problem is built as English text where it is found (the loader's many checks stay as they are,
and English output is exactly what it was). To say it in another language, the text is matched
against the msgids below, whose `{fields}` capture the names it carries; the catalog's translation
is then filled with them. A text no msgid matches stays English: add its msgid here or in
problem_catalog.py, run `make translations`, and translate it.
"""
from __future__ import annotations

import re
from functools import lru_cache

from atrium.metadata.problem_catalog import (
    CHECK_MESSAGES,
    DESCRIPTIONS,
    MORE_ERRORS,
    MORE_HINTS,
    MORE_WHATS,
    PYTHON_SYNTAX,
    SCHEMA_MESSAGES,
    YAML_PROBLEMS,
)
from atrium.metadata.problems import Problem, shown_values
from atrium.translation import N_, SOURCE_LOCALE, language_of, word

# Most specific first: "'x' is not a known property" before "'x' is not {what}".
MESSAGES: tuple[str, ...] = CHECK_MESSAGES + (
    N_("'{name}' is not a known property"),
    N_("'{name}' is not a valid name: use lower-case letters, digits and _, starting with a letter"),
    N_("{value} is not a valid {name}"),
    N_("{value} is {actual}; {expected} is expected here"),
    N_("'{name}' is a required key"),
    N_("duplicate key '{key}'"),
    N_("expression {text} uses unknown name '{name}'"),
    N_("invalid expression {text}: {error}"),
    N_("expression {text} uses previous(): only an entity's checks read the values stored before a change"),
    N_("expression {text}: {error}"),
    N_("formulas depend on each other in a cycle: {cycle}"),
    N_("'{name}' is removed here, but {count} place(s) still use it: {places}"),
    N_("nothing to remove: the base has no '{name}'"),
    N_("nothing to remove: the base has no such document"),
    N_("no item '{name}' to put this after"),
    N_("no item '{name}' to put this before"),
    N_("'{name}' must be a reference field of {entity} that points to {target}"),
    N_("'{step}' is not a reference, so '{path}' cannot go through it"),
    N_("name '{written}' differs from the file name '{name}'"),
    N_("'{name}' is not {what}"),
    N_("no blueprint.yaml: not a blueprint folder"),
    N_("blueprints extend each other in a cycle"),
    N_("expected a mapping of keys to values"),
) + SCHEMA_MESSAGES
# What an unknown name should have been ('x' is not {what}).
WHATS: tuple[str, ...] = (
    N_("an entity"),
    N_("a pipeline"),
    N_("a stage"),
    N_("a role"),
    N_("a report"),
    N_("a dashboard"),
    N_("a field of this entity"),
    N_("a field of {entity} or an entity that points to it"),
    N_("a field of {entity} that may be set"),
    N_("a field of {entity}"),
    N_("a stored field of {entity}"),
    N_("a date or datetime field of {entity}"),
    N_("a location field of {entity}"),
    N_("a select field of {entity}"),
    N_("a text field of {entity}"),
    N_("a reference field of {child} to {entity}"),
    N_("a stage of pipeline {pipeline}"),
    N_("a stage of {entity}"),
    N_("a choice of {field}"),
    N_("an approval rule of {entity}"),
    N_("an approval rule (an automation whose action is require_approval)"),
    N_("an input of {field}"),
    N_("a metric of {target}"),
    N_("a target listed before this one"),
    N_("a measure or metric of the report"),
    N_("a group, measure or metric of this report"),
) + MORE_WHATS
HINTS: tuple[str, ...] = (
    N_("did you mean '{name}'?"),
    N_("first written on line {line}"),
    N_("write a list as [a, b]"),
    N_("change or remove those uses in this overlay too"),
    N_("a Chinese name goes in the label (en and zh); the name itself stays ASCII, e.g. tender_no"),
) + MORE_HINTS
# Why an expression does not parse (ExpressionError): "invalid expression {text}: {error}".
ERRORS: tuple[str, ...] = MORE_ERRORS + (
    N_("empty expression"),
    N_("expressions cannot use names starting with '_': {names}"),
    N_("expressions cannot call methods (a.b()); only named functions, like round(x)"),
    N_("expressions cannot use keyword arguments; pass values in order"),
    N_("must be a single expression, not several statements"),
    N_("only named functions can be called, like round(x)"),
    N_("previous() takes one field of the record, like previous(amount)"),
    N_("unknown function {name}()"),
    N_("{name} is a function: write {name}(...)"),
    N_("expressions cannot use {construct}"),
    N_("must be an expression, not {kind}"),
    N_("syntax error at {where}: {detail}"),
    N_("expressions cannot use attribute access except dotted paths through linked records, like account.tier"),
    N_("'{step}' in '{path}' is not a field of {entity}"),
    N_("'{step}' in '{path}' is a {type} field, not a reference or user field, so the path cannot go through it"),
    N_("'{path}' ends at a location field, which a path cannot read"),
)
# A JSON type as the schema check names it (schemas.TYPE_WORDS): "{actual}" and "{expected}".
TYPES: tuple[str, ...] = (
    N_("a list"), N_("a mapping"), N_("a text"), N_("a whole number"), N_("a number"), N_("true or false"),
    N_("empty"),
)
# Parameters that are words themselves, translated from their own table.
NESTED: dict[str, tuple[str, ...]] = {"what": WHATS, "actual": TYPES, "expected": TYPES, "error": ERRORS,
                                      "problem": YAML_PROBLEMS, "description": DESCRIPTIONS,
                                      "python": PYTHON_SYNTAX}
OR = N_(" or ")
SEPARATOR, MORE, VALID = N_(", "), N_("... (+{count})"), N_("; valid: {values}")


@lru_cache(maxsize=None)
def _pattern(msgid: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", msgid)
    seen: set[str] = set()
    regex = ""
    for i, part in enumerate(parts):
        if i % 2 == 0:
            regex += re.escape(part)
        else:  # a field written twice ("{name} is a function: write {name}(...)") matches the same text
            regex += f"(?P={part})" if part in seen else f"(?P<{part}>.+?)"
            seen.add(part)
    return re.compile(regex, re.S)


def _nested(text: str, table: tuple[str, ...], locale: str) -> str | None:
    """A word parameter; "a list or a mapping" is said part by part when it is no word as a whole."""
    if text in table:  # said as written (a schema's description may hold braces of its own)
        return word(text, locale)
    whole = translated(text, table, locale)
    if whole is not None:
        return whole
    pieces, said = text.split(OR), []
    while pieces:  # the longest run of pieces that is a word: "a text or true or false" has "true or false"
        for size in range(len(pieces), 0, -1):
            found = translated(OR.join(pieces[:size]), table, locale)
            if found is not None:
                said.append(found)
                del pieces[:size]
                break
        else:
            return None
    return word(OR, locale).join(said)


def translated(text: str, msgids: tuple[str, ...], locale: str) -> str | None:
    """text said in the locale's language, or None when no msgid matches it."""
    for msgid in msgids:
        found = _pattern(msgid).fullmatch(text)
        if found is None:
            continue
        params = found.groupdict()
        for name, table in NESTED.items():
            if name in params:
                said = _nested(params[name], table, locale)
                if said is None:
                    break
                params[name] = said
        else:
            return word(msgid, locale, **params)
    return None


def problem_words(problem: Problem, locale: str | None, with_path: bool = True) -> str:
    """What is wrong, the hint and the valid values in the locale's language (English for a text
    no msgid matches), after the path inside the document unless with_path is False."""
    language = language_of(locale)
    path = f"{problem.path}: " if with_path and problem.path else ""
    if language == SOURCE_LOCALE:
        return path + problem.words()
    message = translated(problem.message, MESSAGES, language) or problem.message
    hint = (translated(problem.hint, HINTS, language) or problem.hint) if problem.hint else ""
    listed = shown_values(problem.valid, word(SEPARATOR, language), word(MORE, language, count="{count}"))
    valid = word(VALID, language, values=listed) if problem.valid else ""
    return path + message + (word(" ({hint})", language, hint=hint) if hint else "") + valid


def problem_text(problem: Problem, locale: str | None) -> str:
    """A problem as `atrium check` prints it: file:line:col, path, then problem_words."""
    where = f"{problem.mark}: " if problem.mark else ""
    return where + problem_words(problem, locale)
