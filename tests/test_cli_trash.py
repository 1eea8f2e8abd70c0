"""`atrium trash list|restore|purge` as an administrator uses it from the shell."""
from __future__ import annotations

from pathlib import Path

from cli_kit import run

from atrium.runtime.records.evaluation import SYSTEM
from atrium.runtime.site.site import Site

B2B = Path(__file__).resolve().parent.parent / "blueprints" / "b2b_sales"


def test_list_restore_and_purge(capsys, database_url, tmp_path):
    base = ["--blueprint", str(B2B), "--db", database_url, "--site-overlay", str(tmp_path / "site")]
    assert run(capsys, *base, "migrate")[0] == 0
    site = Site.open(B2B, database_url)
    try:
        customer = site.records.create("customer", {"name": "沈阳天成建设"})
        site.records.create("contact", {"customer": customer["id"], "name": "张伟"})
        entry = site.records.delete("customer", customer["id"], SYSTEM)
        other = site.records.create("customer", {"name": "大连港务"})
        site.records.delete("customer", other["id"], SYSTEM)

        code, out, _ = run(capsys, *base, "trash", "list")
        assert code == 0 and f"customer #{customer['id']}  沈阳天成建设 (+1 linked)" in out
        assert "2 deletion(s) in the bin." in out

        code, out, _ = run(capsys, *base, "trash", "restore", str(entry))
        assert code == 0 and f"Restored customer #{customer['id']}." in out
        assert site.records.get("customer", customer["id"])["name"] == "沈阳天成建设"
        assert run(capsys, *base, "trash", "restore", str(entry))[0] == 1  # gone from the bin: not found

        code, out, _ = run(capsys, *base, "trash", "purge")  # nothing is older than 30 days
        assert code == 0 and "Purged 0 record(s)" in out
        code, out, _ = run(capsys, *base, "trash", "purge", "--older-than", "0")
        assert code == 0 and "Purged 1 record(s)" in out
        assert "0 deletion(s) in the bin." in run(capsys, *base, "trash", "list")[1]
    finally:
        site.engine.dispose()
