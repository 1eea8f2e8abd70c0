"""A migrated b2b site whose studio writes into a temporary site overlay, and the steps the
studio tests repeat: open an editor, change its form as a person would, review or apply."""
from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from form_kit import Fields, form_fields
from record_pages_kit import B2B, World

from atrium.metadata import load_blueprint
from atrium.runtime.access import users
from atrium.ui.web.app import Settings, create_app

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class StudioWorld(World):
    def __init__(self, engine, database_url, blueprint, overlay: Path):
        super().__init__(engine, database_url, blueprint)
        self.database_url, self.overlay = database_url, overlay
        with engine.begin() as connection:  # a second admin, to edit at the same time as the first
            self.ids["admin2"] = users.add_user(connection, self.site.tables, blueprint, "admin2", "admin",
                                                team="east", display_name="Admin Two", locale="en")
            table = self.site.tables.system("atrium_users")
            connection.execute(table.update().where(table.c.id == self.ids["admin2"]).values(
                password_hash=FAST_HASHER.hash("admin2-pass")))
        self.app = self.make_app()

    def create(self, entity: str, by: str = "rep", **values) -> dict:
        """A record written through the site the app serves now (its metadata may have moved)."""
        return self.app.state.site.records.create(entity, values, self.actor(by))

    def make_app(self):
        """An app (a server process) on this database and site overlay."""
        return create_app(Settings(str(B2B), self.database_url, secret_key="test-secret",
                                   site_overlay=str(self.overlay)), site=self.site)

    def loaded(self):
        """The blueprint as `atrium check` loads it from the files: base + site overlay."""
        return load_blueprint(B2B, [self.overlay] if (self.overlay / "blueprint.yaml").exists() else [])

    def overlay_files(self) -> dict[str, str]:
        if not self.overlay.exists():
            return {}
        return {p.relative_to(self.overlay).as_posix(): p.read_text(encoding="utf-8")
                for p in sorted(self.overlay.rglob("*.yaml")) if "examples" not in p.parts}

    def history_rows(self) -> list[dict]:
        with self.site.engine.connect() as connection:
            if not sa.inspect(connection).has_table("atrium_metadata_history"):
                return []
            table = sa.table("atrium_metadata_history", sa.column("id"), sa.column("user_name"), sa.column("action"))
            return [dict(r._mapping) for r in connection.execute(sa.select(table).order_by(table.c.id))]

    def columns(self, table: str) -> set[str]:
        with self.site.engine.connect() as connection:
            return {c["name"] for c in sa.inspect(connection).get_columns(table)}

    def column_values(self, table: str, column: str) -> list:
        with self.site.engine.connect() as connection:
            return [r[0] for r in connection.execute(sa.text(f'SELECT "{column}" FROM "{table}" ORDER BY id'))]


def open_form(browser, page: str, action: str | None = None) -> dict[str, str]:
    response = browser.get(page)
    assert response.status_code == 200, response.text[:500]
    return form_fields(response.text, action or page)


def submit(browser, action: str, fields: dict, intent: str = "apply", **extra):
    values = Fields({**fields, "intent": intent, **extra})
    return browser.post(action, data=values.pairs(), follow_redirects=False)


def applied_version(response) -> int:
    assert response.status_code == 303, visible_text(response.text)[:3000]
    return int(re.search(r"applied=(\d+)", response.headers["location"]).group(1))


def visible_text(page: str) -> str:
    import html
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


SEGMENT = {"name": "segment", "type": "select", "label_en": "Segment", "label_zh": "客户分层",
           "option-0-value": "smb", "option-0-label_en": "Small business", "option-0-label_zh": "小企业",
           "option-0-color": "blue", "option-1-value": "mid", "option-1-label_en": "Mid-market",
           "option-1-label_zh": "中型企业", "option-1-color": "green", "option-2-value": "enterprise",
           "option-2-label_en": "Enterprise", "option-2-label_zh": "大型企业", "option-2-color": "purple",
           "section": "0", "add_to_list": "yes", "add_to_filters": "yes"}


def add_segment(world: StudioWorld, who: str = "boss") -> int:
    """Add the select field customer.segment (three options) through the field editor."""
    browser = world.browser(who)
    fields = open_form(browser, "/studio/entities/customer/fields/new", "/studio/entities/customer/fields")
    fields.update(SEGMENT)
    return applied_version(submit(browser, "/studio/entities/customer/fields", fields))
