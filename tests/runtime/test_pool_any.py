"""One recycling rule with `any:` returns both never-touched and long-untouched accounts to the
public pool (before `any:` this took two rules), and leaves recently touched and locked ones."""
from __future__ import annotations

import datetime as dt

from automation_kit import inbox
from pool_kit import RECYCLE, START, clock_at, pool_rows, pool_site

from atrium.runtime.automation.scheduler import ScheduledRules

EITHER = {**RECYCLE, "where": {"owner": {"is_set": True},
                               "any": [{"last_touch_at": {"is_set": False}},
                                       {"last_touch_at": {"older_than_days": 30}}]}}


def test_one_rule_with_any_pools_never_touched_and_long_untouched_accounts(tmp_path, database_url):
    site, people = pool_site(tmp_path, database_url, clock_at(), automations={"recycle": EITHER})
    try:
        create = site.records.create
        rep = people.rep1.user_id
        never = create("account", {"name": "Never", "owner": rep})
        old = create("account", {"name": "Old", "owner": rep, "last_touch_at": START - dt.timedelta(days=40)})
        fresh = create("account", {"name": "Fresh", "owner": rep, "last_touch_at": START - dt.timedelta(days=3)})
        locked = create("account", {"name": "Kept", "owner": rep, "locked": True})
        results = ScheduledRules(site).run_due()
        assert [(r.rule, r.status) for r in results] == [("recycle", "done")]
        owners = {r["name"]: site.records.get("account", r["id"])["owner"] for r in (never, old, fresh, locked)}
        assert owners == {"Never": None, "Old": None, "Fresh": rep, "Kept": rep}
        assert pool_rows(site) == [("recycle", None, rep, "recycle")] * 2
        assert inbox(site, people.rep1) == ["2 records for you: recycle"]  # one digest, not one each
    finally:
        site.engine.dispose()
