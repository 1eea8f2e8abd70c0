"""Matching lists on the detail page (views `detail.matching`): records of another entity whose
field equals the record's, here the shipped blueprint's published cases of an open order's
industry: shown while the order is open, only for the same industry, only published ones, read
under the reader's access, with a link to the list filtered the same way."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL

SIMILAR = 'id="related-matching-case_study-industry"'


def similar(page: str) -> str:
    assert SIMILAR in page
    return page.split(SIMILAR, 1)[1].split("</section>", 1)[0]


def case(world, title, industry, published=True, by="manager"):
    return world.create("case_study", by, title=title, industry=industry, products="网关", amount=100000,
                        published=published)


def test_an_open_order_shows_the_published_cases_of_its_industry_only(world):
    factory = world.customer("精工制造", industry="manufacturing")
    bank = world.customer("城市银行", industry="finance")
    case(world, "产线数字化改造", "manufacturing")
    case(world, "草稿案例", "manufacturing", published=False)
    case(world, "核心系统迁移", "finance")
    deal = world.order("视觉检测系统", customer=factory)
    rep = world.browser("rep")
    shown = similar(rep.get(f"/r/order/{deal['id']}").text)
    assert "Similar cases" in shown and "产线数字化改造" in shown
    assert "草稿案例" not in shown and "核心系统迁移" not in shown
    assert 'href="/r/case_study?published=true&amp;industry=manufacturing"' in shown
    other = similar(rep.get(f"/r/order/{world.order('存储扩容', customer=bank)['id']}").text)
    assert "核心系统迁移" in other and "产线数字化改造" not in other


def test_the_list_follows_the_customer_s_industry_and_leaves_when_the_order_closes(world):
    factory = world.customer("精工制造", industry="manufacturing")
    case(world, "产线数字化改造", "manufacturing")
    case(world, "核心系统迁移", "finance")
    deal = world.order("视觉检测系统", customer=factory)
    rep = world.browser("rep")
    world.site.records.update("customer", factory["id"], {"industry": "finance"}, world.actor("rep"))
    shown = similar(rep.get(f"/r/order/{deal['id']}").text)
    assert "核心系统迁移" in shown and "产线数字化改造" not in shown
    world.site.records.update("order", deal["id"], {"stage": "lost", "lost_reason": "price"}, world.actor("rep"))
    assert SIMILAR not in rep.get(f"/r/order/{deal['id']}").text  # `when: is_open(stage)`


def test_an_order_without_an_industry_lists_no_cases(world):
    case(world, "产线数字化改造", "manufacturing")
    deal = world.order("视觉检测系统", customer=world.customer("无行业客户"))
    assert SIMILAR not in world.browser("rep").get(f"/r/order/{deal['id']}").text
