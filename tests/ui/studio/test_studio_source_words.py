"""The studio says nothing in English to a Chinese-speaking admin: every sentence its code and templates
show goes through the catalog (a problem text through problem_words, which has it as a msgid)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from atrium.metadata.problem_words import MESSAGES

PLATFORM = Path(__file__).resolve().parents[3] / "platform"
STUDIO = PLATFORM / "ui" / "studio"
TEMPLATES = PLATFORM / "ui" / "web" / "templates" / "studio"
CATALOG_CALLS = {"_", "word", "pword", "nword", "N_", "NC_"}
SENTENCE = re.compile(r"[A-Za-z]{2,} [A-Za-z]{2,} [A-Za-z]{2,}")


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    return ""


def english_sentences(source: str) -> list[str]:
    """String constants that read as an English sentence, outside docstrings, catalog calls and
    bilingual labels ({en: ..., zh: ...})."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and SENTENCE.search(node.value)):
            continue
        if isinstance(parents.get(node), ast.Expr) or node.value in MESSAGES:  # a docstring; a problem text
            continue
        up: ast.AST = node
        while up in parents and not isinstance(up, ast.Call):
            up = parents[up]
            if isinstance(up, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "zh" for k in up.keys):
                break
        if _call_name(up) in CATALOG_CALLS or isinstance(up, ast.Dict):
            continue
        found.append(f"{node.lineno}: {node.value!r}")
    return found


def test_the_studio_code_says_its_sentences_through_the_catalog():
    left = {path.name: found for path in sorted(STUDIO.glob("*.py"))
            if (found := english_sentences(path.read_text(encoding="utf-8")))}
    assert not left


def test_the_studio_templates_say_their_text_through_the_catalog():
    left = []
    for path in sorted(TEMPLATES.glob("*.html")):
        page = re.sub(r"\{#.*?#\}", lambda comment: "\n" * comment[0].count("\n"), path.read_text(encoding="utf-8"),
                      flags=re.S)
        for number, line in enumerate(page.splitlines(), 1):
            text = re.sub(r"<[^>]*>", " ", re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", line))
            if re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}", text) and "=" not in text:
                left.append(f"{path.name}:{number}: {text.strip()}")
    assert not left


def test_a_sentence_outside_the_catalog_is_found():
    assert english_sentences('raise PeopleError("user", "There is no such user")\n')
    assert not english_sentences('raise PeopleError("user", N_("There is no such user"))\n')
    assert not english_sentences('label = {"en": "A new record here", "zh": "新记录"}\n')
