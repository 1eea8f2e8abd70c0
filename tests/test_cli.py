"""The `atrium` command as an admin uses it: migrate with a plan, drop only on request, users."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_kit import run

from atrium.cli import main

DESIGN = Path(__file__).resolve().parent / "fixtures" / "design_examples"


@pytest.fixture
def blueprint_dir(tmp_path):
    return Path(shutil.copytree(DESIGN, tmp_path / "bp"))


def columns(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_migrate_plan_changes_nothing_then_migrate_applies(capsys, database_url, blueprint_dir):
    base = ["--blueprint", str(blueprint_dir), "--db", database_url]
    code, out, _ = run(capsys, *base, "migrate", "--plan")
    assert code == 0 and "create table order" in out
    engine = sa.create_engine(database_url)
    assert "order" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    code, out, _ = run(capsys, *base, "migrate")
    assert code == 0 and "Applied" in out
    code, out, _ = run(capsys, *base, "migrate")
    assert "nothing to do" in out


def test_removed_field_is_kept_until_dropped_by_name(capsys, database_url, blueprint_dir):
    base = ["--blueprint", str(blueprint_dir), "--db", database_url]
    assert run(capsys, *base, "migrate")[0] == 0
    order = blueprint_dir / "entities" / "order.yaml"
    order.write_text(order.read_text(encoding="utf-8").replace(
        "  tags: {type: multiselect, options: [key_account, price_sensitive, long_decision_chain]}\n", ""),
        encoding="utf-8")
    view = blueprint_dir / "views" / "order.yaml"
    view.write_text(view.read_text(encoding="utf-8").replace(", tags]", "]"), encoding="utf-8")
    code, out, _ = run(capsys, *base, "migrate")
    assert code == 0 and "keep column order.tags" in out
    assert "tags" in columns(database_url, "order")
    code, out, err = run(capsys, *base, "migrate", "--drop", "order.nothing")
    assert code == 1 and "order.nothing" in out + err
    code, out, _ = run(capsys, *base, "migrate", "--drop", "order.tags")
    assert code == 0 and "DROP column order.tags" in out
    assert "tags" not in columns(database_url, "order")


def test_users_and_teams(capsys, database_url, monkeypatch):
    base = ["--blueprint", str(DESIGN), "--db", database_url]
    assert run(capsys, *base, "migrate")[0] == 0
    assert run(capsys, *base, "team", "add", "east", "--label", "华东")[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-pass\n"))
    code, out, _ = run(capsys, *base, "user", "add", "wang", "--role", "sales_rep", "--team", "east",
                       "--password-stdin")
    assert code == 0
    code, _, err = run(capsys, *base, "user", "add", "li", "--role", "nobody")
    assert code == 1 and "no role 'nobody'" in err
    code, out, _ = run(capsys, *base, "user", "list")
    assert "wang" in out and "sales_rep" in out and "east" in out
    code, token, _ = run(capsys, *base, "user", "token", "wang")
    assert code == 0 and token.startswith("atr_")
    from atrium.runtime.access.users import verify_password
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT password_hash FROM atrium_users WHERE name='wang'")).scalar()
        hashes = connection.execute(sa.text("SELECT token_hash FROM atrium_tokens")).scalars().all()
    engine.dispose()
    assert verify_password(stored, "s3cret-pass") and not verify_password(stored, "wrong")
    assert token.strip() not in hashes  # only the hash is stored


@pytest.mark.parametrize("command", ["check", "migrate", "seed", "user", "team", "serve"])
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: atrium" in capsys.readouterr().out


def test_user_add_hashes_the_password_before_its_transaction(capsys, database_url, monkeypatch):
    from atrium.runtime.access import users
    base = ["--blueprint", str(DESIGN), "--db", database_url]
    assert run(capsys, *base, "migrate")[0] == 0
    open_transactions: set[int] = set()
    listeners = [("begin", lambda connection: open_transactions.add(id(connection))),
                 ("commit", lambda connection: open_transactions.discard(id(connection))),
                 ("rollback", lambda connection: open_transactions.discard(id(connection)))]
    hashed = []
    real_hash = users.hash_password
    monkeypatch.setattr(users, "hash_password", lambda password: hashed.append(set(open_transactions))
                        or real_hash(password))
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-pass\n"))
    for name, listener in listeners:
        sa.event.listen(sa.engine.Engine, name, listener)
    try:
        code, _, _ = run(capsys, *base, "user", "add", "wang", "--role", "sales_rep", "--password-stdin")
    finally:
        for name, listener in listeners:
            sa.event.remove(sa.engine.Engine, name, listener)
    assert code == 0 and hashed == [set()]
