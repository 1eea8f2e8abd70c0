"""List pages as a user meets them: the view's columns formatted, sort by header, filters by type,
quick search, keyset pages without gaps or repeats, a capped count, HTMX partials, saved views,
the CSV export and the reference picker, all under the user's access."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil

import pytest
from record_pages_kit import B2B, TODAY, World, record_links, table_rows
from starlette.testclient import TestClient

from atrium.metadata import load_blueprint

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def test_list_shows_the_view_columns_formatted(world):
    acme = world.customer("Acme Trading", level="a")
    world.order("Pumps", customer=acme, amount="1234.5", expected_close=TODAY.isoformat(), tags=["key_account"])
    page = world.browser("rep").get("/r/order")
    assert page.status_code == 200
    headers = re.findall(r"<th[^>]*>(?:<a[^>]*>)?([^<]+)", page.text)
    assert [h.strip() for h in headers] == ["Order no.", "Order name", "Customer", "Owner", "Stage", "Amount",
                                            "Expected close"]
    row = table_rows(page.text)[0]
    assert "ORD-2026-00001" in row and "Pumps" in row
    assert f'<a href="/r/customer/{acme["id"]}">Acme Trading</a>' in page.text  # the title, linked
    assert "Rep Li" in row  # a user field shows the display name
    assert "Initial contact" in row  # a stage shows its label
    assert "¥1,234.50" in row and "2026-05-15" in row


def test_option_badges(world):
    world.customer("Zeta", level="vip", industry="retail")
    page = world.browser("rep").get("/r/customer")
    assert '<span class="badge badge-gold">VIP</span>' in page.text  # option label with its colour
    assert "Retail" in page.text


def test_dotted_columns_show_linked_values_only_when_readable(engine, database_url, tmp_path):
    folder = shutil.copytree(B2B, tmp_path / "b2b")
    view = folder / "views" / "order.yaml"
    view.write_text(view.read_text(encoding="utf-8").replace(
        "columns: [code, name, customer, owner,",
        "columns: [code, name, customer, customer.level, customer.owner, owner,")
        .replace("filters: [owner,", "filters: [customer, owner,"), encoding="utf-8")
    world = World(engine, database_url, load_blueprint(folder), folder)
    try:
        mine = world.customer("Mine Co", level="a")
        theirs = world.customer("Their Co", by="rep2", level="vip")
        world.order("Visible link", customer=mine)
        world.create("order", "boss", name="Hidden link", customer=theirs["id"], owner=world.ids["rep"])
        page = world.browser("rep").get("/r/order?sort=name")
        assert "Customer · Level" in page.text and "Customer · Owner" in page.text
        hidden, visible = table_rows(page.text)
        assert "Mine Co A Rep Li" in visible
        assert "(no access)" in hidden and "Their Co" not in page.text and "VIP" not in hidden
        picked = world.browser("rep").get(f"/r/order?customer={mine['id']}").text  # a reference filter: a picker
        assert f'<input type="hidden" name="customer" value="{mine["id"]}" class="picker-value">' in picked
        assert 'name="customer__q" value="Mine Co"' in picked and 'hx-get="/r/customer/pick"' in picked
        assert table_rows(picked) == [visible]
    finally:
        world.close()


def test_clicking_a_header_sorts_and_toggles(world):
    for name, amount in (("Small", 10), ("Big", 900), ("Mid", 300)):
        world.order(name, amount=amount)
    rep = world.browser("rep")
    page = rep.get("/r/order?sort=-amount")
    assert [r.split()[1] for r in table_rows(page.text)] == ["Big", "Mid", "Small"]
    assert 'href="/r/order?sort=amount"' in page.text  # the next click sorts the other way
    page = rep.get("/r/order?sort=amount")
    assert [r.split()[1] for r in table_rows(page.text)] == ["Small", "Mid", "Big"]
    assert "sort=-amount" in page.text
    assert rep.get("/r/order?sort=margin").status_code == 200  # a hidden field is not a sort key


def test_filters_by_option_date_period_number_and_dotted_path(world):
    gold, plain = world.customer("Gold Co", level="a"), world.customer("Plain Co", level="c")
    world.order("Now", customer=gold, amount=100, expected_close=TODAY.isoformat())
    world.order("Later", customer=plain, amount=5000, expected_close=(TODAY + dt.timedelta(days=90)).isoformat(),
                stage="proposal")
    world.order("Undated", customer=plain, amount=50)
    rep = world.browser("rep")

    def names(query: str) -> set[str]:
        page = rep.get("/r/order?" + query)
        assert page.status_code == 200, page.text
        return {row.split()[1] for row in table_rows(page.text) if row.startswith("ORD")}

    assert names("stage=proposal") == {"Later"}
    assert names("stage=proposal&stage=initial_contact") == {"Now", "Later", "Undated"}
    assert names("expected_close__period=this_month") == {"Now"}
    assert names("expected_close=this_month") == {"Now"}
    assert names("expected_close__from=2026-06-01&expected_close__to=2026-12-31") == {"Later"}
    assert names("amount__min=60&amount__max=1000") == {"Now"}
    assert names("customer.level=a") == {"Now"}
    assert names("customer.level=c&stage=initial_contact") == {"Undated"}
    assert names(f"customer={plain['id']}") == {"Later", "Undated"}
    assert names("customer__q=gold") == {"Now"}  # a reference typed as text (no JavaScript) matches titles
    page = rep.get("/r/order?amount__min=lots")
    assert "Must be a number" in page.text and len(table_rows(page.text)) == 3  # reported, ignored


def test_boolean_user_and_text_filters(world):
    world.create("task", title="Open call", done=False)
    world.create("task", title="Done call", done=True)
    world.create("task", "boss", title="Boss task", owner=world.ids["boss"])
    boss = world.browser("boss")

    def titles(query: str) -> set[str]:
        return {" ".join(row.split()[:2]) for row in table_rows(boss.get("/r/task?" + query).text)}

    assert titles("done=true") == {"Done call"}
    assert titles("done=false") == {"Open call", "Boss task"}
    assert titles("owner=me") == {"Boss task"}
    assert titles(f"owner={world.ids['rep']}") == {"Open call", "Done call"}
    assert titles("title=call") == {"Open call", "Done call"}  # text: contains
    page = boss.get("/r/task?done=true").text
    assert '<option value="true" selected>Yes</option>' in page


def test_filter_widgets_follow_field_types(world):
    page = world.browser("rep").get("/r/order?stage=won&expected_close__period=this_quarter")
    assert 'type="checkbox" name="stage" value="won" checked' in page.text
    assert '<option value="this_quarter" selected>This quarter</option>' in page.text
    assert 'name="customer.level" value="vip"' in page.text  # a dotted path filter gets its options
    assert '<option value="me">Me</option>' in page.text  # a user filter


def test_quick_search_and_related_filter(world):
    world.order("Solar panels")
    world.order("Wind turbines")
    rep = world.browser("rep")
    rows = table_rows(rep.get("/r/order?q=solar").text)
    assert len(rows) == 1 and "Solar panels" in rows[0]
    assert "ORD-2026-00002" in table_rows(rep.get("/r/order?q=00002").text)[0]


def test_keyset_pages_have_no_gaps_or_repeats(world):
    customer = world.customer("Many")
    for i in range(23):
        world.order(f"Deal{i:02d}", customer=customer, amount=(i % 4) * 100)  # many equal amounts
    rep = world.browser("rep")
    seen, url, pages = [], "/r/order?sort=-amount&limit=5", 0
    while url:
        page = rep.get(url)
        seen += record_links(page.text, "order")
        pages += 1
        found = re.search(r'<a rel="next"[^>]* href="([^"]+)"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
        assert "23" in page.text  # the count is the whole match, on every page
    assert pages == 5 and len(seen) == 23 and len(set(seen)) == 23


def test_count_is_capped_and_exact_on_demand(world):
    world.site.records.bulk_create("task", [{"title": f"T{i}", "owner": world.ids["boss"]} for i in range(1001)],
                                   world.actor("boss"))
    boss = world.browser("boss")
    page = boss.get("/r/task")
    assert '<span class="count" id="count">1,000+</span>' in page.text
    assert "exact count" in page.text
    assert '<span class="count" id="count">1,001</span>' in boss.get("/r/task?count=exact").text
    assert "1,001" in boss.get("/r/task/count", htmx=True).text
    assert "1,000+" not in boss.get("/r/task?title=T99").text  # fewer matches are counted exactly


def test_htmx_gets_only_the_results(world):
    world.order("Partial")
    rep = world.browser("rep")
    full = rep.get("/r/order")
    partial = rep.get("/r/order?sort=name", htmx=True)
    assert "<html" in full.text and "<html" not in partial.text
    assert partial.text.lstrip().startswith('<div id="results"') and "Partial" in partial.text
    assert 'id="list-form"' not in partial.text
    assert "HX-Request" in partial.headers["vary"] and "HX-Request" in full.headers["vary"]
    assert 'hx-push-url="true"' in full.text  # the URL follows every change: bookmarkable
    pushed = rep.get("/r/order?q=&owner=&stage=won&expected_close__from=&sort=-amount", htmx=True)
    assert pushed.headers["HX-Push-Url"] == "/r/order?stage=won&sort=-amount"  # without the empty fields


def test_saved_views_round_trip(world):
    world.order("Kept", stage="proposal")
    rep = world.browser("rep")
    saved = rep.post("/r/order/views", {"name": "My proposals", "query": "stage=proposal&sort=-amount&after=xyz"},
                     follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/r/order?stage=proposal&sort=-amount"
    page = rep.get("/r/order")
    assert '<a href="/r/order?stage=proposal&amp;sort=-amount">My proposals</a>' in page.text
    # with HTMX the list's own fields come along (hx-include) and the panel is redrawn
    panel = rep.post("/r/order/views", [("name", "Won"), ("stage", "won"), ("q", ""), ("sort", "")], htmx=True)
    assert panel.status_code == 200 and '<a href="/r/order?stage=won">Won</a>' in panel.text
    assert "My proposals" not in world.browser("rep2").get("/r/order").text  # per user
    view_id = re.search(r'/r/order/views/(\d+)/delete', page.text).group(1)
    assert world.browser("rep2").post(f"/r/order/views/{view_id}/delete").status_code == 404
    assert rep.post(f"/r/order/views/{view_id}/delete", follow_redirects=False).status_code == 303
    assert "My proposals" not in rep.get("/r/order").text


def read_csv(response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads Chinese right
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_export_honours_filters_access_and_hidden_fields(world, monkeypatch):
    from atrium.ui.records import export
    monkeypatch.setattr(export, "BATCH", 2)  # several pages streamed
    customer = world.customer("华东制造有限公司")
    for i in range(5):
        world.order(f"订单{i}", customer=customer, amount=100 * i, margin=7, stage="proposal" if i % 2 else None)
    world.order("Not mine", by="rep2")
    world.order("=HYPERLINK(\"http://evil\")")
    rows = read_csv(world.browser("rep").get("/r/order/export.csv?stage=proposal"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "Order no.", "Order name"] and "Margin" not in header
    assert sorted(r[2] for r in body) == ["订单1", "订单3"]
    assert all(r[header.index("Customer")] == "华东制造有限公司" for r in body)
    everything = read_csv(world.browser("rep").get("/r/order/export.csv"))
    assert len(everything) == 1 + 6 and "Not mine" not in str(everything)
    assert "'=HYPERLINK" in str(everything)  # a formula is written as text
    boss = read_csv(world.browser("boss").get("/r/order/export.csv"))
    assert "Margin" in boss[0] and len(boss) == 1 + 7


def test_picker_lists_only_readable_records_escaped(world):
    world.customer("<script>alert(1)</script> Ltd")
    world.customer("Secret Ltd", by="rep2")
    page = world.browser("rep").get("/r/customer/pick?q=ltd")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ltd" in page.text and "<script>alert" not in page.text
    assert "Secret" not in page.text
    assert 'data-id="' in page.text
    # htmx sends the box's own name (customer__q), not q
    assert "Ltd" in world.browser("rep").get("/r/customer/pick?customer__q=ltd").text


def test_list_escapes_values_and_hides_other_reps_records(world):
    world.order("<script>alert(1)</script>")
    world.order("Theirs", by="rep2")
    page = world.browser("rep").get("/r/order")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "Theirs" not in page.text


def test_unknown_entity_is_404_and_signed_out_visitors_go_to_login(world):
    rep = world.browser("rep")
    assert rep.get("/r/nothing").status_code == 404
    assert rep.get("/r/nothing/export.csv").status_code == 404
    with TestClient(world.app) as visitor:
        response = visitor.get("/r/order?stage=won", follow_redirects=False)
    assert response.status_code == 303 and "/login" in response.headers["location"]
