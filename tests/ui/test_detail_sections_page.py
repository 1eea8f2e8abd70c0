"""The detail page follows the view's `detail.sections` (the shipped order view declares its own):
those sections in that order with their own labels and fields, a section shown only while its
`visible_when` holds, hidden fields left out, and every other field under "More"."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def headings(page: str) -> list[str]:
    block = page.split('<aside class="card timeline">', 1)[0]
    return re.findall(r"<h2>([^<]*)</h2>", block)


def section_labels(page: str, label: str) -> list[str]:
    block = page.split(f"<h2>{label}</h2>", 1)[1].split("</section>", 1)[0]
    return re.findall(r"<dt>([^<]*)</dt>", block)


def test_the_detail_page_shows_the_declared_sections_in_order(world):
    deal = world.order("Pumps", amount="1200")
    page = world.browser("rep").get(f"/r/order/{deal['id']}").text
    shown = headings(page)
    assert shown[:5] == ["Basics", "Forecast", "Expenses", "Follow-up and risk", "More"]
    assert "Outcome" not in shown  # visible_when: stage in ('won', 'lost')
    assert section_labels(page, "Forecast")[:2] == ["Probability", "Weighted amount"]
    assert "Margin" not in page  # hidden from reps, in a declared section or not
    more = section_labels(page, "More")
    assert "Quote count" in more or any("uot" in label for label in more)  # not in any declared section
    assert not set(more) & set(section_labels(page, "Basics"))


def test_a_sections_visible_when_shows_it_once_it_holds(world):
    deal = world.order("Valves", amount="900")
    world.site.records.update("order", deal["id"], {"stage": "lost", "lost_reason": "price"})
    page = world.browser("manager").get(f"/r/order/{deal['id']}").text
    assert "Outcome" in headings(page)
    assert "Lost reason" in section_labels(page, "Outcome")
    assert "Margin" in section_labels(page, "Forecast")  # a manager may see it


def test_the_sections_speak_the_readers_language(world):
    deal = world.order("Gears")
    page = world.browser("rep").get(f"/r/order/{deal['id']}?lang=zh").text
    assert headings(page)[:4] == ["基本信息", "预测", "费用", "跟进与风险"]
