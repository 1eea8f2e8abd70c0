"""BulkChanges (runtime/access/bulk_changes.py) on a pool blueprint: a filter is evaluated when
the action runs, under the actor's access; a bulk claim counts the pool's limits as the claims add
up and is all or nothing; a bulk delete needs the role's delete right; progress is told."""
from __future__ import annotations

import pytest
from pool_kit import clock_at, pool_site

from atrium.runtime.access.bulk_changes import BulkChanges, BulkRefused, Selection
from atrium.runtime.access.secured import AccessDenied

pytestmark = pytest.mark.database


@pytest.fixture
def world(tmp_path, database_url):
    site, people = pool_site(tmp_path, database_url, clock_at())
    yield site, people
    site.engine.dispose()


def account(site, name, owner=None):
    return site.records.create("account", {"name": name, "owner": owner})


def owners(site, records):
    return [site.records.get("account", r["id"])["owner"] for r in records]


def test_a_bulk_claim_over_the_daily_cap_claims_nothing_and_names_the_refused(world):
    site, people = world
    pooled = [account(site, f"Pool {n}") for n in range(4)]  # the cap is 3 claims a day
    with pytest.raises(BulkRefused) as refused:
        BulkChanges(site).act(people.rep1, "account", Selection(where={"owner": {"is_set": False}}), "claim")
    assert list(refused.value.refused) == [pooled[3]["id"]]
    assert "3" in str(refused.value.refused[pooled[3]["id"]])
    assert owners(site, pooled) == [None] * 4  # all or nothing
    told = []
    done = BulkChanges(site).act(people.rep1, "account", Selection(ids=[r["id"] for r in pooled[:3]]), "claim",
                                 progress=lambda n, total: told.append((n, total)))
    assert done == 3 and told[-1] == (3, 3)
    assert owners(site, pooled) == [people.rep1.user_id] * 3 + [None]


def test_a_filter_reaches_only_what_the_actor_may_read_when_the_action_runs(world):
    site, people = world
    mine = [account(site, f"Harbour {n}", people.rep1.user_id) for n in range(2)]
    theirs = account(site, "Harbour far", people.rep2.user_id)
    changes = BulkChanges(site)
    selection = Selection(search="Harbour")
    assert changes.count(people.rep1, "account", selection) == 2  # rep2's is not readable to rep1
    late = account(site, "Harbour late", people.rep1.user_id)
    assert changes.act(people.rep1, "account", selection, "release") == 3
    assert owners(site, [*mine, late, theirs]) == [None, None, None, people.rep2.user_id]


def test_a_bulk_delete_needs_the_roles_delete_right(world):
    site, people = world
    record = account(site, "Keep", people.rep1.user_id)
    with pytest.raises(AccessDenied):
        BulkChanges(site).act(people.rep1, "account", [record["id"]], "delete")
    assert site.records.get("account", record["id"]) is not None
