"""`atrium user signout | disable | enable | password`: each ends the user's sessions at once."""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import sqlalchemy as sa
from test_cli import run

from atrium.metadata import load_blueprint
from atrium.runtime.access.sessions import SessionPolicy, session_user, start_session
from atrium.runtime.access.users import verify_password
from atrium.runtime.schema.database import create_engine
from atrium.runtime.schema.tables import build_tables

DESIGN = Path(__file__).resolve().parent / "fixtures" / "design_examples"
NOW = dt.datetime.now(dt.timezone.utc)


def test_user_commands_end_sessions(capsys, database_url, monkeypatch):
    base = ["--blueprint", str(DESIGN), "--db", database_url]
    assert run(capsys, *base, "migrate")[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-pass\n"))
    assert run(capsys, *base, "user", "add", "wang", "--role", "sales_rep", "--password-stdin")[0] == 0
    tables, engine = build_tables(load_blueprint(DESIGN)), create_engine(database_url)
    policy = SessionPolicy()

    def browsers(count: int) -> list[str]:
        with engine.begin() as connection:
            wang = connection.execute(sa.text("SELECT id FROM atrium_users WHERE name = 'wang'")).scalar()
            return [start_session(connection, tables, wang, NOW, policy) for _ in range(count)]

    def signed_in(keys: list[str]) -> list[bool]:
        return [session_user(engine, tables, key, NOW, policy) is not None for key in keys]

    try:
        keys = browsers(2)
        assert signed_in(keys) == [True, True]
        code, out, _ = run(capsys, *base, "user", "signout", "wang")
        assert code == 0 and "2 session(s) ended" in out and signed_in(keys) == [False, False]

        keys = browsers(1)
        code, out, _ = run(capsys, *base, "user", "disable", "wang")
        assert code == 0 and "1 session(s) ended" in out and signed_in(keys) == [False]
        assert signed_in(browsers(1)) == [False]  # a disabled user's session does not count
        assert run(capsys, *base, "user", "enable", "wang")[0] == 0

        keys = browsers(1)
        monkeypatch.setattr("sys.stdin", io.StringIO("another-pass\n"))
        code, out, _ = run(capsys, *base, "user", "password", "wang", "--password-stdin")
        assert code == 0 and signed_in(keys) == [False]
        with engine.connect() as connection:
            stored = connection.execute(sa.text("SELECT password_hash FROM atrium_users WHERE name='wang'")).scalar()
        assert verify_password(stored, "another-pass")

        code, _, err = run(capsys, *base, "user", "signout", "nobody")
        assert code == 1 and "no user 'nobody'" in err
    finally:
        engine.dispose()


def test_an_administrator_sets_a_users_email_and_a_bad_address_changes_nothing(capsys, database_url):
    base = ["--blueprint", str(DESIGN), "--db", database_url]
    assert run(capsys, *base, "migrate")[0] == 0
    assert run(capsys, *base, "user", "add", "li", "--role", "sales_rep")[0] == 0
    code, out, _ = run(capsys, *base, "user", "email", "li", "li@example.com", "--messages", "daily")
    assert code == 0 and "li@example.com, daily" in out
    code, _, err = run(capsys, *base, "user", "email", "li", "li@example.com, boss@example.com")
    assert code != 0 and "email" in err
    engine = create_engine(database_url)
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT email, email_messages FROM atrium_users WHERE name = 'li'")).one()
    engine.dispose()
    assert tuple(row) == ("li@example.com", "daily")
