"""Owners that follow a parent's (`owner_follows:`), on a small blueprint of its own:

    account   pooled (recycled after 30 idle days), the parent
    person    follows its account
    deal      follows its account while open (`where: {status: {not_in: [won, lost]}}`); a check
              that reads the clock (`due` not in the past) must not hold the follow back
    offer     follows its deal (so it follows an account through its deal)
    meeting   follows its account while planned, and is released with it (`on_release: release`)

Whatever path changes an account's owner - a claim, a release, a recycle, a manager's reassignment,
a bulk update - the followers move in the same transaction, with field history, no pool event of
their own, and one notification to the new owner."""
from __future__ import annotations

import pool_kit
import pytest
import sqlalchemy as sa
from automation_kit import inbox, rows
from pool_kit import POOL, RECYCLE, clock_at, pool_rows, pool_site

from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.automation.scheduler import ScheduledRules
from atrium.runtime.pool.service import PublicPool
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.service import ValidationFailed

OWNER = {"type": "user", "default": "current_user()"}
ENTITIES = {
    "account": {"owner": "owner", "title": "{name}", "plural": {"en": "Accounts", "zh": "客户"},
                "search": ["name"], "pool": {**POOL, "max_owned_per_user": 50, "daily_claim_cap": 50},
                "fields": {"name": {"type": "text", "required": True}, "phone": {"type": "phone"},
                           "owner": {"type": "user"}, "locked": {"type": "boolean", "default": False},
                           "last_touch_at": {"type": "datetime"}}},
    "person": {"owner": "owner", "title": "{name}", "owner_follows": {"field": "account"}, "fields": {
        "account": {"type": "reference", "to": "account", "required": True, "on_delete": "cascade"},
        "name": {"type": "text", "required": True}, "owner": OWNER}},
    "deal": {"owner": "owner", "title": "{title}",
             "owner_follows": {"field": "account", "where": {"status": {"not_in": ["won", "lost"]}}},
             "fields": {
                 "title": {"type": "text", "required": True},
                 "account": {"type": "reference", "to": "account", "required": True, "on_delete": "cascade"},
                 "status": {"type": "select", "options": ["open", "won", "lost"], "default": "'open'"},
                 "due": {"type": "date"}, "owner": OWNER},
             "checks": [{"name": "due_not_past", "assert": "due is None or due >= today()",
                         "message": {"en": "Due in the past", "zh": "已过期"}}]},
    "offer": {"owner": "owner", "title": "{title}", "owner_follows": {"field": "deal"}, "fields": {
        "title": {"type": "text", "required": True},
        "deal": {"type": "reference", "to": "deal", "required": True, "on_delete": "cascade"},
        "owner": OWNER}},
    "meeting": {"owner": "owner", "title": "{topic}",
                "owner_follows": {"field": "account", "where": {"status": "planned"}, "on_release": "release"},
                "fields": {
                    "topic": {"type": "text", "required": True},
                    "account": {"type": "reference", "to": "account", "required": True, "on_delete": "cascade"},
                    "status": {"type": "select", "options": ["planned", "done"], "default": "'planned'"},
                    "owner": OWNER}},
}
FOLLOWERS = ("person", "deal", "offer", "meeting")


@pytest.fixture
def clock():
    return clock_at()


@pytest.fixture
def world(tmp_path, database_url, clock, monkeypatch):
    # pool_kit's roles name its own entities; here every role reaches the followers the same way
    own = {"read": "own", "create": True, "update": "own", "delete": "none"}
    team = {"read": "team", "create": True, "update": "team", "delete": "none"}
    monkeypatch.setattr(pool_kit, "ROLES", {"roles": {
        "admin": {"label": "Admin", "all": True},
        "manager": {"label": "Manager", "entities": {"account": {**team, "pool": True},
                                                     **{e: team for e in FOLLOWERS}}},
        "rep": {"label": {"en": "Rep", "zh": "销售"}, "entities": {"account": {**own, "pool": True},
                                                                   **{e: own for e in FOLLOWERS}}},
        "viewer": {"label": "Viewer", "entities": {e: own for e in ENTITIES}}}})
    site, people = pool_site(tmp_path, database_url, clock, {"recycle": RECYCLE}, ENTITIES)
    yield site, people
    site.engine.dispose()


def family(site, owner=None, name="Acme"):
    """An account with two people, an open deal (with an offer), a won deal (with an offer), a
    planned and a done meeting: everyone owned by `owner`, the account too."""
    create = site.records.create
    account = create("account", {"name": name, "owner": owner})
    made = {"account": account,
            "people": [create("person", {"account": account["id"], "name": n, "owner": owner})
                       for n in ("Ann", "Bo")],
            "open": create("deal", {"title": f"{name} open", "account": account["id"], "owner": owner}),
            "won": create("deal", {"title": f"{name} won", "account": account["id"], "status": "won",
                                   "owner": owner}),
            "planned": create("meeting", {"topic": "Kick-off", "account": account["id"], "owner": owner}),
            "done": create("meeting", {"topic": "Intro", "account": account["id"], "status": "done",
                                       "owner": owner})}
    made["open_offer"] = create("offer", {"title": "Offer A", "deal": made["open"]["id"], "owner": owner})
    made["won_offer"] = create("offer", {"title": "Offer B", "deal": made["won"]["id"], "owner": owner})
    return made


def owners(site, made):
    get = site.records.get
    return {"people": [get("person", p["id"])["owner"] for p in made["people"]],
            **{key: get(entity, made[key]["id"])["owner"] for key, entity in
               (("account", "account"), ("open", "deal"), ("won", "deal"), ("open_offer", "offer"),
                ("won_offer", "offer"), ("planned", "meeting"), ("done", "meeting"))}}


def owner_history(site, entity, record_id):
    return [(r["old_value"], r["new_value"], r["changed_by"])
            for r in rows(site, "atrium_history", entity=entity, record_id=record_id, field="owner")
            if r["action"] == "update"]


def test_a_claim_moves_the_people_open_deals_their_offers_and_planned_meetings(world):
    site, people = world
    made = family(site, owner=people.rep2.user_id)
    site.records.update("account", made["account"]["id"], {"owner": None}, people.rep2)  # released: all kept
    old = people.rep2.user_id
    assert owners(site, made) == {"people": [old, old], "account": None, "open": old, "won": old,
                                  "open_offer": old, "won_offer": old, "planned": None, "done": old}
    PublicPool(site).claim(people.rep1, "account", made["account"]["id"])
    new = people.rep1.user_id
    assert owners(site, made) == {"people": [new, new], "account": new, "open": new, "won": old,
                                  "open_offer": new, "won_offer": old, "planned": new, "done": old}
    # field history on every follower, by the claimer; the closed deal's offer did not move
    assert owner_history(site, "person", made["people"][0]["id"]) == [(old, new, new)]
    assert owner_history(site, "offer", made["open_offer"]["id"]) == [(old, new, new)]
    assert owner_history(site, "offer", made["won_offer"]["id"]) == []
    assert owner_history(site, "meeting", made["planned"]["id"]) == [(old, None, old), (None, new, new)]
    # only the account's release and claim are pool events
    assert [(action, entity) for action, entity in
            ((r["action"], r["entity"]) for r in rows(site, "atrium_pool_history"))] == \
        [("release", "account"), ("claim", "account")]
    assert inbox(site, people.rep1) == ["5 record(s) of Acme now yours"]


def test_the_claimer_lists_the_followers_and_the_old_owner_no_longer_does(world):
    site, people = world
    made = family(site, owner=people.rep2.user_id)
    site.records.update("account", made["account"]["id"], {"owner": None}, people.rep2)
    PublicPool(site).claim(people.rep1, "account", made["account"]["id"])
    secured = SecuredRecords(site)
    related = ListQuery("person", where={"account": made["account"]["id"]}, sort=("name",))
    assert [r["name"] for r in secured.list(people.rep1, related).records] == ["Ann", "Bo"]
    assert secured.list(people.rep2, related).records == []
    deals = ListQuery("deal", where={"account": made["account"]["id"]}, sort=("title",))
    assert [r["title"] for r in secured.list(people.rep1, deals).records] == ["Acme open"]
    assert [r["title"] for r in secured.list(people.rep2, deals).records] == ["Acme won"]


def test_a_managers_reassignment_moves_the_followers_and_tells_the_new_owner_once(world):
    site, people = world
    made = family(site, owner=people.rep1.user_id)
    SecuredRecords(site).update(people.manager, "account", made["account"]["id"], {"owner": people.rep2.user_id})
    new = people.rep2.user_id
    moved = owners(site, made)
    assert moved["people"] == [new, new] and moved["open"] == moved["open_offer"] == moved["planned"] == new
    assert moved["won"] == moved["won_offer"] == moved["done"] == people.rep1.user_id
    assert inbox(site, people.rep2) == ["Acme 的 5 条记录已转给您"]  # rep2 reads Chinese
    assert inbox(site, people.rep1) == []
    assert rows(site, "atrium_pool_history") == []  # a transfer is no pool event, for anyone
    assert owner_history(site, "deal", made["open"]["id"]) == [(people.rep1.user_id, new, people.manager.user_id)]


def test_a_bulk_update_of_several_parents_tells_each_new_owner_once(world):
    site, people = world
    first, second = family(site, people.rep1.user_id, "Acme"), family(site, people.rep1.user_id, "Bolt")
    new = people.rep2.user_id
    site.records.bulk_update("account", [(first["account"]["id"], {"owner": new}),
                                         (second["account"]["id"], {"owner": new})], people.manager)
    assert owners(site, first)["people"] == owners(site, second)["people"] == [new, new]
    assert inbox(site, people.rep2) == ["2 个客户的 10 条记录已转给您"]


def test_a_follower_moves_even_when_a_check_reading_the_clock_no_longer_holds(world):
    site, people = world
    made = family(site, owner=people.rep1.user_id)
    site.records.update("deal", made["open"]["id"], {"due": "2026-03-20"})
    site.clock.advance(days=30)  # the deal is overdue: saving it as such would be refused
    with pytest.raises(ValidationFailed):
        site.records.update("deal", made["open"]["id"], {"title": "Renamed"})
    site.records.update("account", made["account"]["id"], {"owner": people.rep2.user_id}, people.manager)
    assert site.records.get("deal", made["open"]["id"])["owner"] == people.rep2.user_id


def test_release_keeps_or_releases_the_followers_as_each_says(world):
    site, people = world
    made = family(site, owner=people.rep1.user_id)
    PublicPool(site).release(people.rep1, "account", made["account"]["id"])
    after = owners(site, made)
    assert after["people"] == [people.rep1.user_id] * 2 and after["open"] == people.rep1.user_id  # keep
    assert after["planned"] is None and after["done"] == people.rep1.user_id  # release: only the planned one
    assert [(r[0], r[1]) for r in pool_rows(site)] == [("release", people.rep1.user_id)]
    assert inbox(site, people.rep1) == []  # nobody gained anything


def test_a_recycle_by_the_scheduled_rule_is_a_release_for_the_followers(world, clock):
    site, people = world
    made = family(site, owner=people.rep1.user_id)
    site.records.update("account", made["account"]["id"], {"last_touch_at": clock()})
    clock.advance(days=31)
    ScheduledRules(site).run_due()
    after = owners(site, made)
    assert after["account"] is None and after["planned"] is None
    assert after["people"] == [people.rep1.user_id] * 2
    assert [r[0] for r in pool_rows(site)] == ["recycle"]  # the account's, by the rule; none for a follower


def test_a_change_of_the_deal_owner_alone_moves_its_offers(world):
    site, people = world
    made = family(site, owner=people.rep1.user_id)
    site.records.update("deal", made["open"]["id"], {"owner": people.rep2.user_id}, people.manager)
    assert site.records.get("offer", made["open_offer"]["id"])["owner"] == people.rep2.user_id
    assert owners(site, made)["people"] == [people.rep1.user_id] * 2  # nothing above the deal moved
    assert inbox(site, people.rep2) == ["Acme open 的 1 条记录已转给您"]


def test_nothing_moves_or_is_told_when_the_followers_already_have_the_owner(world):
    site, people = world
    made = family(site, owner=people.rep1.user_id)
    table = site.tables["person"]
    with site.engine.begin() as connection:  # the people already belong to rep2
        connection.execute(table.update().values(owner=people.rep2.user_id))
    site.records.update("deal", made["open"]["id"], {"status": "won"})
    site.records.update("deal", made["won"]["id"], {"status": "won"})
    site.records.update("meeting", made["planned"]["id"], {"status": "done"})
    site.records.update("account", made["account"]["id"], {"owner": people.rep2.user_id}, people.manager)
    assert inbox(site, people.rep2) == []
    with site.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(table)
                                  .where(table.c.owner == people.rep2.user_id)).scalar() == 2
