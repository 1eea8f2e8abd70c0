"""A Chinese-speaking admin reads the studio's problems in Chinese: the YAML editor's live check and
review, the expression check as it is typed, and a problem placed beside the form's input."""
from __future__ import annotations

import html
import re

import pytest
from studio_kit import open_form, submit, visible_text

pytestmark = pytest.mark.database
# English left once the names quoted from the YAML are taken out: two English words in a row
ENGLISH = re.compile(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}")
QUOTED = re.compile(r"'[^']*'|“[^”]*”|\S*[._]\S*")


@pytest.fixture
def boss(studio):
    browser = studio.browser("boss")
    browser.post("/language", data={"locale": "zh"})
    yield browser
    browser.post("/language", data={"locale": "en"})  # kept on the user: put back for the other tests


def said_in_chinese(page: str, says: str) -> None:
    """The page shows `says`, and the text it is part of has no English sentence left."""
    texts = [text for text in re.findall(r">([^<]+)<", html.unescape(page)) if says in " ".join(text.split())]
    assert texts, visible_text(page)
    for text in texts:
        assert not ENGLISH.findall(QUOTED.sub(" ", text)), text


def test_the_yaml_editors_live_check_speaks_the_admins_language(boss):
    fields = open_form(boss, "/studio/yaml/roles/roles")
    lines = fields["text"].splitlines()
    row = next(i for i, line in enumerate(lines) if "sales_rep:" in line)
    scope = "\n".join(lines[:row + 1] + ["    studio: maybe"] + lines[row + 1:])
    checked = boss.post("/studio/yaml/roles/roles/check", data={"text": scope}, htmx=True).text
    assert f"第 {row + 2} 行" in visible_text(checked)
    said_in_chinese(checked, "'maybe' 是文本；这里应为true 或 false")
    mine = fields["text"].replace("read: own", "read: mine", 1)
    checked = boss.post("/studio/yaml/roles/roles/check", data={"text": mine}, htmx=True).text
    said_in_chinese(checked, "'mine' 不是有效的 read；可选：'none'、'own'、'team'、'all'")


def test_a_review_with_problems_speaks_the_admins_language(boss):
    fields = open_form(boss, "/studio/yaml/roles/roles")
    text = fields["text"].replace("read: own", "read: mine", 1)
    page = submit(boss, "/studio/yaml/roles/roles", {**fields, "text": text}, intent="review").text
    said_in_chinese(page, "'mine' 不是有效的 read；可选：")


def test_the_expression_check_speaks_the_admins_language(boss):
    def check(text: str) -> str:
        return boss.post("/studio/check-expression", htmx=True, data={
            "which": "formula", "entity": "order", "formula": text}).text
    said_in_chinese(check("amont * 2"), "表达式 'amont * 2' 使用了未知的名称“amont”（是否想写“amount”？）；可选：")
    said_in_chinese(check("customer.levl"), "表达式 'customer.levl'：“levl”（在“customer.levl”中）不是 customer 的字段")
    assert "无效的表达式 'amount *'：语法错误" in visible_text(check("amount *"))  # Python's own words follow


def test_a_problem_beside_a_form_input_speaks_the_admins_language(boss):
    fields = open_form(boss, "/studio/entities/order/fields/new", "/studio/entities/order/fields")
    fields.update({"name": "double_amount", "type": "money", "formula": "amont * 2"})
    page = submit(boss, "/studio/entities/order/fields", fields).text
    said_in_chinese(page, "使用了未知的名称“amont”")
