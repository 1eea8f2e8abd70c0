"""Every problem text the loader and its cross-checks can word has a msgid, so `--lang zh` says it in
Chinese: the checks' own source is read for the texts they build (a new check with a new text and no
msgid fails here, before an admin meets it in English)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from atrium.metadata.problem_words import ERRORS, HINTS, MESSAGES, WHATS, translated

METADATA = Path(__file__).resolve().parents[2] / "platform" / "metadata"
# What a placeholder stands for when it is itself a word of a table (an ExpressionError, a JSON type).
SAMPLES = {"error": "empty expression", "found.message": "empty expression", "article": "a", "kind": "entity",
           "_type_of(error.instance)": "a list", "when": " when xq", "why": "it shows records, not groups",
           "' or '.join((TYPE_WORDS.get(str(t), str(t)) for t in expected))": "a text or a mapping",
           "shown": "'xq'", "error.schema['description']": "Where to send it.",
           "'n' if kind == 'entity' else ''": "n"}
# Report.unknown words every "'x' is not {what}": its `what` arguments are checked where they are written.
GENERIC = {"'xq' is not xq"}
HAN = re.compile(r"[\u4e00-\u9fff]")
# As tests/metadata/test_check_in_chinese.py reads a message: names from the YAML quoted, English in runs.
QUOTED = re.compile(r"'[^']*'|“[^”]*”|\"[^\"]*\"|\[[^\]]*\]|`[^`]*`|\S*[._]\S*|\{[^}]*\}")
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:\s+[A-Za-z]{2,}){2,}")


def _sample(node: ast.expr) -> str | None:
    """The text an f-string or a concatenation builds, with a made-up name for each value it fills."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [_sample(v) if isinstance(v, ast.Constant) else _value(v) for v in node.values]
        return "".join(p or "" for p in parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _sample(node.left), _sample(node.right)
        return None if left is None and right is None else (left or "xq") + (right or "xq")
    if isinstance(node, ast.IfExp):  # "... which has no hours" if ... else "": the longer text
        return _sample(node.body)
    return None


def _value(node: ast.expr) -> str:
    assert isinstance(node, ast.FormattedValue)
    source = ast.unparse(node.value)
    if source in SAMPLES:
        return SAMPLES[source]
    if isinstance(node.value, ast.IfExp):
        return _sample(node.value.body) or "xq"
    return "'xq'" if node.conversion == ord("r") else "xq"


def _texts() -> list[tuple[str, str, str]]:
    """(where, table, text) for each problem text the metadata package builds in a call."""
    found = []
    for path in sorted(METADATA.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            where = f"{path.relative_to(METADATA)}:{node.lineno}"
            arguments = {"add": [(2, "message"), (3, "hint")], "Problem": [(2, "message"), (3, "hint")],
                         "unknown": [(2, "what")], "ExpressionError": [(0, "error")],
                         "PathProblem": [(0, "error"), (1, "hint")]}.get(name, [])
            for index, table in arguments:
                if len(node.args) > index and (text := _sample(node.args[index])) and text not in GENERIC:
                    found.append((where, table, text))
            for keyword in node.keywords:
                if keyword.arg == "hint" and name in ("add", "Problem") and (text := _sample(keyword.value)):
                    found.append((where, "hint", text))
    return found


TABLES = {"message": MESSAGES, "hint": HINTS, "what": WHATS, "error": ERRORS}


def test_the_source_is_read_for_its_problem_texts():
    texts = _texts()
    assert len(texts) > 150
    assert any(text == "'xq' is not a known property" for _, _, text in texts)


@pytest.mark.parametrize("where, table, text", _texts(), ids=lambda value: str(value)[:60])
def test_every_problem_text_has_a_chinese_msgid(where, table, text):
    said = translated(text, TABLES[table], "zh")
    assert said is not None and HAN.search(said), f"{where}: no msgid says {text!r}"
    assert not ENGLISH.findall(QUOTED.sub(" ", said)), f"{where}: {said!r} is partly English"
