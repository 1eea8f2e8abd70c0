"""The issue's "Done when", end to end in a real browser, as a new user tries it on a fresh
`make run` (the demo data as `atrium seed` makes it: scale 200, seed 1, dated DEMO_DAY):

rep1 claims a customer from the public pool, converts a qualified lead (customer, contact and
order in one step), plans a visit and logs it as done, quotes the order with a discount over the
approval threshold (sending it is refused beside the status; Request approval locks it); the
manager sees the request on the home page's Today strip and in the inbox and approves it with a
comment; rep1 reads the outcome, sends the quote, has it accepted and wins the order; then the
scheduled rules run for the server's database (`atrium run-scheduled --now ...`) and rep1's inbox
shows the reminders. rep1 works in English and switches back to Chinese at the end; the manager
works in Chinese. No page logs a console error.

The flow changes the data a lot (claims, a recycle run), so it has a server and a database of
its own."""
from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from browser_kit import B2B, DEMO_DAY, VIEWPORT, pick, rows, serve, sign_in, user_id
from playwright.sync_api import expect

from atrium.cli import main

ZONE = ZoneInfo("Asia/Shanghai")  # the blueprint's time zone
OPENS_AT = dt.datetime.combine(DEMO_DAY, dt.time(10, 0), ZONE)
QUOTE_NAME = "Line automation, phase 1"
SCHEDULED_AT = dt.datetime.combine(DEMO_DAY, dt.time(8, 30))  # the day's morning rules, not yet run


class DemoClock:
    """DEMO_DAY at 10:00, running on from there, so the pages' today() matches the demo data."""

    def __init__(self):
        self.started = time.monotonic()

    def __call__(self) -> dt.datetime:
        return OPENS_AT + dt.timedelta(seconds=time.monotonic() - self.started)


@pytest.fixture(scope="module")
def flow_server(make_run_database, tmp_path_factory):
    with serve(make_run_database, tmp_path_factory.mktemp("sales-flow"), clock=DemoClock()) as running:
        yield running


class Person:
    """One user's browser session, collecting the console errors of every page it opens."""

    def __init__(self, browser, server, name: str):
        self.context = browser.new_context(base_url=server.url, viewport=VIEWPORT, locale="zh-CN")
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"{self.page.url}: {error}"))
        self.page.on("console", lambda m: self.problems.append(f"{self.page.url}: {m.text}")
                     if m.type == "error" else None)
        sign_in(self.page, name)

    def speak(self, code: str, check: str) -> None:
        """Switch the interface language from the top bar; `check` is the h1 afterwards."""
        self.page.locator(f"button[name=locale][value={code}]").click()
        expect(self.page.locator("html")).to_have_attribute("lang", code)
        expect(self.page.locator("h1").first).to_contain_text(check)


def save(page) -> None:
    page.locator("form.record-form button.primary").click()


def record_id(page) -> int:
    return int(re.search(r"/(\d+)$", page.url).group(1))


def waiting_for(site, name: str) -> int:
    """How many approvals wait for this user's decision (the demo data has some of its own)."""
    approvals, approvers = site.tables.system("atrium_approvals"), site.tables.system("atrium_approval_approvers")
    query = (sa.select(sa.func.count())
             .select_from(approvals.join(approvers, approvers.c.approval_id == approvals.c.id))
             .where(approvals.c.status == "pending", approvers.c.user_id == user_id(site, name)))
    with site.engine.connect() as connection:
        return connection.execute(query).scalar_one()


def timeline(page):
    return page.locator("aside.timeline")


# --- the steps -----------------------------------------------------------------------------------

def claim_from_the_pool(rep) -> tuple[int, str]:
    page = rep.page
    page.goto("/r/customer")
    page.locator(".page-head a.button", has_text="Public pool").click()
    expect(page.locator("h1")).to_have_text("Customers · Public pool")
    expect(page.locator(".pool-standing")).to_contain_text("claimed today: 0")
    row = page.locator("table.records tbody tr").filter(has=page.locator("button", has_text="Claim")).first
    link = row.locator("td:first-child a")
    name, href = link.inner_text(), link.get_attribute("href")
    customer = int(href.rsplit("/", 1)[1])
    row.locator("button", has_text="Claim").click()
    outcome = page.locator("tr.pool-outcome").filter(has_text=name)
    expect(outcome).to_contain_text("✓ Claimed")

    # "my customers": the owner filter set to me lists it
    page.goto("/r/customer")
    page.locator("select[name=owner]").select_option("me")
    expect(page).to_have_url(re.compile(r"owner=me"))
    expect(page.locator(f"table.records tbody a[href='/r/customer/{customer}']")).to_be_visible()
    page.locator(f"table.records tbody a[href='/r/customer/{customer}']").click()
    expect(page.locator("h1")).to_contain_text(name)
    expect(timeline(page)).to_contain_text("Claimed from the public pool")
    expect(page.locator("button", has_text="Claim")).to_have_count(0)
    return customer, name


def convert_a_lead(rep, site) -> dict:
    page = rep.page
    page.goto("/r/lead?status=qualified&owner=me")
    first = page.locator("table.records tbody tr td:first-child a").first
    first.click()
    lead = record_id(page)
    page.locator(".page-head a.button", has_text="Convert to customer").click()
    expect(page.locator("h1")).to_have_text("Convert to customer")
    form = page.locator("form.convert-form")
    expect(form.locator("#target-customer")).to_be_visible()
    expect(form.locator("#target-contact")).to_be_visible()
    expect(form.locator("#target-order input[name='order._include']")).to_be_checked()
    for choice in form.locator("input[type=radio][value=new]").all():  # look-alikes: make new ones
        choice.check()
    form.locator("[id='f-order.amount']").fill("")  # the lead's budget is not the deal: a quote will say
    form.locator("button[type=submit]").click()

    expect(page.locator("h1")).to_have_text("Converted")
    result = page.locator("table.convert-result")
    expect(result.locator("tr")).to_have_count(3)
    for row in result.locator("tr").all():
        expect(row).to_contain_text("Created")
    stored = rows(site, "lead", id=lead)[0]
    assert stored["status"] == "converted" and stored["converted_at"] is not None
    made = {"lead": lead, "customer": stored["customer"], "contact": stored["converted_contact"],
            "order": stored["converted_order"]}
    assert all(made.values())
    assert rows(site, "order", id=made["order"])[0]["customer"] == made["customer"]
    assert rows(site, "contact", id=made["contact"])[0]["customer"] == made["customer"]

    page.locator("a.button", has_text="Back").click()  # the lead links to what it became
    expect(page.locator("h1 .badge")).to_have_text("Converted")
    for entity in ("customer", "contact", "order"):
        expect(page.locator(f".detail-main a[href='/r/{entity}/{made[entity]}']")).to_be_visible()
    expect(page.locator(".page-head a.button", has_text="Convert to customer")).to_have_count(0)
    page.locator(f".detail-main a[href='/r/customer/{made['customer']}']").click()
    expect(page.locator(f"#related-lead a[href='/r/lead/{lead}']")).to_be_visible()  # and back
    expect(page.locator(f"#related-order a[href='/r/order/{made['order']}']")).to_be_visible()
    return made


def plan_and_log_a_visit(rep, site, customer: int, order: int) -> int:
    page = rep.page
    day = DEMO_DAY.isoformat()  # this morning's visit, logged once back at the desk
    page.goto(f"/r/customer/{customer}")
    page.locator("#related-visit a.button", has_text="Add").click()
    expect(page).to_have_url(re.compile(r"/r/visit/new\?customer="))
    page.fill("#f-planned_at", f"{day}T09:00")
    page.locator("#f-purpose").select_option("demo")
    pick(page, "order", rows(site, "order", id=order)[0]["code"])
    save(page)
    expect(page).to_have_url(re.compile(rf"/r/customer/{customer}$"))  # back where the visit was started
    visit = rows(site, "visit", customer=customer)[-1]["id"]
    page.goto(f"/r/visit/{visit}")
    expect(page.locator("main")).to_contain_text("Planned")

    page.locator(".page-head a.button", has_text="Edit").click()
    page.locator("#f-status").select_option("done")  # the Result section opens
    expect(page.locator("#f-visited_at")).to_be_visible()
    page.fill("#f-visited_at", f"{day}T09:10")
    page.fill("#f-outcome", "Demo went well; they want a quote this week")
    save(page)
    expect(page).to_have_url(re.compile(rf"/r/visit/{visit}$"))
    expect(page.locator("main")).to_contain_text("Demo went well")
    stored = rows(site, "visit", id=visit)[0]
    assert stored["status"] == "done" and stored["customer"] == customer and stored["order"] == order

    page.goto("/r/visit")  # on the calendar, on today
    page.locator(".page-head a", has_text="Calendar").click()
    entry = page.locator(f"td.day[data-date='{day}'] li.entry a[href='/r/visit/{visit}']")
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("09:00")
    expect(entry).to_contain_text("Product demo")
    page.goto(f"/r/customer/{customer}")  # and on the customer's page
    expect(page.locator(f"#related-visit a[href='/r/visit/{visit}']")).to_be_visible()
    expect(timeline(page)).to_contain_text("New Visit")
    expect(page.locator(".detail-main")).to_contain_text(f"{day} 09:10")  # its last visit
    return visit


def quote_with_a_large_discount(rep, site, made: dict) -> int:
    page = rep.page
    page.goto(f"/r/order/{made['order']}")
    page.locator("#related-quote a.button", has_text="Add").click()
    expect(page).to_have_url(re.compile(r"/r/quote/new\?order="))
    # the order's customer comes along; the lines are typed into the quote's own grid
    expect(page.locator("#field-customer .picker-value")).to_have_value(str(made["customer"]))
    page.fill("#f-name", QUOTE_NAME)
    page.locator(".line-add").click()
    expect(page.locator("#g0-0-product")).to_be_focused()
    for text in ("Assembly line controller", "2", "60000", "20"):  # over the 15% a rep may give alone
        page.keyboard.press("Tab")
        page.keyboard.press("Control+A")
        page.keyboard.type(text)
    save(page)
    expect(page).to_have_url(re.compile(rf"/r/order/{made['order']}$"))  # back where the quote was started
    quote = rows(site, "quote", name=QUOTE_NAME)[-1]["id"]
    assert rows(site, "quote", id=quote)[0]["customer"] == made["customer"]
    page.goto(f"/r/quote/{quote}")
    expect(page.locator(".detail-main")).to_contain_text("96,000")

    # sending it is refused, with the reason beside the status
    page.locator(".page-head a.button", has_text="Edit").click()
    page.locator("#f-status").select_option("sent")
    save(page)
    expect(page.locator("#msg-status .error")).to_contain_text("needs a manager's approval")
    assert rows(site, "quote", id=quote)[0]["status"] == "draft"

    page.goto(f"/r/quote/{quote}")
    page.locator("#approval-panel button", has_text="Request approval").click()
    panel = page.locator("#approval-panel.approval-waiting")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Waiting for approval: Approve large discount")
    expect(panel).to_contain_text("locked")
    expect(page.locator(".page-head a.button", has_text="Edit")).to_have_count(0)
    assert rows(site, "quote", id=quote)[0]["approval_status"] == "pending"
    return quote


def manager_approves(manager, site, quote: int) -> None:
    page = manager.page  # the manager works in Chinese
    code = rows(site, "quote", id=quote)[0]["code"]
    page.goto("/")
    strip = page.locator("nav.today-strip")
    expect(strip).to_contain_text("今日待办")
    expect(strip.locator(".today-approvals.due .count")).to_have_text(str(waiting_for(site, "manager")))
    strip.locator(".today-approvals").click()
    expect(page).to_have_url(re.compile(r"/approvals$"))
    expect(page.locator(".approval-list")).to_contain_text(code)

    page.goto("/notifications")
    row = page.locator("#approvals li.approval-row").filter(has_text=code)
    expect(row).to_contain_text(f"是否批准 {QUOTE_NAME} 的折扣？")
    row.locator("textarea[name=comment]").fill("同意，本季度重点客户")
    row.locator("button[name=decision][value=approve]").click()
    decided = page.locator("li.approval-row.status-approved").filter(has_text=code)
    expect(decided).to_contain_text("已通过")
    expect(decided).to_contain_text("同意，本季度重点客户")
    stored = rows(site, "quote", id=quote)[0]
    assert stored["approval_status"] == "approved" and stored["approved_by"] == user_id(site, "manager")


def win_the_order(rep, site, quote: int, order: int) -> None:
    page = rep.page
    page.goto("/notifications")
    outcome = page.locator("ul.inbox li.unread a").filter(has_text="approved")
    expect(outcome.first).to_contain_text("Comment: 同意，本季度重点客户")
    outcome.first.click()
    expect(page).to_have_url(re.compile(rf"/r/quote/{quote}$"))
    expect(page.locator("#approval-panel")).to_contain_text("Approved")

    for status, shown in (("sent", "Sent to customer"), ("accepted", "Accepted")):
        page.locator(".page-head a.button", has_text="Edit").click()
        page.locator("#f-status").select_option(status)
        save(page)
        expect(page).to_have_url(re.compile(rf"/r/quote/{quote}$"))
        expect(page.locator(".detail-main")).to_contain_text(shown)
    assert rows(site, "quote", id=quote)[0]["status"] == "accepted"

    # the board: drag the card to Won, which asks for what the stage requires and is missing
    assert rows(site, "order", id=order)[0]["amount"] is None
    page.goto("/r/order/kanban")
    card = page.locator(f"section.kanban-col[data-value=initial_contact] #card-{order}")
    expect(card).to_be_visible()
    card.scroll_into_view_if_needed()
    card.drag_to(page.locator("section.kanban-col[data-value=won] header"), source_position={"x": 8, "y": 8})
    ask = page.locator("#board-dialog form.kanban-ask")
    expect(ask.locator("#f-amount")).to_be_visible()
    ask.locator("#f-amount").fill("96000")
    ask.locator("button[type=submit]").click()
    expect(page.locator("#board-dialog form")).to_have_count(0)
    won = page.locator("section.kanban-col[data-value=won]")
    won.locator("summary").click()  # closed outcomes are folded
    expect(won.locator(f"#card-{order}")).to_contain_text("96,000")

    page.goto(f"/r/order/{order}")
    expect(page.locator("h1 .badge")).to_have_text("Won")
    expect(timeline(page)).to_contain_text("Won")
    stored = rows(site, "order", id=order)[0]
    assert stored["stage"] == "won" and stored["amount"] == 96000 and stored["quoted_amount"] == 96000


def reminders_after_the_morning_run(rep, server) -> None:
    """The day's scheduled rules, run as cron would for the server's database; rep1's inbox then
    tells of the customers due back in the pool: one unread notification for the run (several
    records become one, grouped), in English and in Chinese, whose link lists exactly those customers."""
    site, page = server.site, rep.page
    code = main(["--blueprint", str(B2B), "--db", str(site.engine.url), "run-scheduled",
                 "--now", SCHEDULED_AT.isoformat()])
    assert code == 0
    rep1 = user_id(site, "rep1")
    soon = [c["name"] for c in rows(site, "customer", owner=rep1)
            if c["recycle_on"] and DEMO_DAY <= c["recycle_on"] <= DEMO_DAY + dt.timedelta(days=3)]
    assert soon, "the demo data has a customer of rep1 due back in the pool within three days"
    page.goto("/notifications")
    inbox = page.locator("ul.inbox li.unread")
    if len(soon) == 1:
        expect(inbox.filter(has_text=soon[0]).first).to_contain_text("returns to the public pool on")
        rep.speak("zh", "消息")  # and in Chinese, after switching
        expect(inbox.filter(has_text=soon[0]).first).to_contain_text("退回公海，请及时跟进")
        return
    grouped = inbox.filter(has_text="Warn owners before customers return to the pool")
    expect(grouped).to_have_count(1)
    expect(grouped).to_contain_text(f"{len(soon)} records for you")
    rep.speak("zh", "消息")  # and in Chinese, after switching
    grouped = inbox.filter(has_text="客户退回公海前提醒")
    expect(grouped).to_contain_text(f"您有 {len(soon)} 条记录")
    grouped.locator("a").first.click()
    listed = page.locator("table.records tbody tr")
    expect(listed).to_have_count(len(soon))
    for name in soon:
        expect(listed.filter(has_text=name)).to_have_count(1)


def test_from_the_pool_to_a_won_order_with_a_quote_approval_and_reminders(browser, flow_server):
    site = flow_server.site
    rep = Person(browser, flow_server, "rep1")
    manager = Person(browser, flow_server, "manager")
    try:
        rep.page.goto("/r/customer")
        rep.speak("en", "Customers")
        claimed, _ = claim_from_the_pool(rep)
        assert rows(site, "customer", id=claimed)[0]["owner"] == user_id(site, "rep1")
        made = convert_a_lead(rep, site)
        plan_and_log_a_visit(rep, site, made["customer"], made["order"])
        quote = quote_with_a_large_discount(rep, site, made)
        manager_approves(manager, site, quote)
        win_the_order(rep, site, quote, made["order"])
        reminders_after_the_morning_run(rep, flow_server)
        assert rep.problems == [] and manager.problems == []
    finally:
        rep.context.close()
        manager.context.close()
