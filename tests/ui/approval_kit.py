"""A small site with an approval rule, for the approval pages and API tests.

The blueprint is the automation tests' (account ← deal ← chore, roles admin / manager / rep) with
a deal that can be sent for a discount approval (`on: request`, the owner's manager approves,
the record locked while it waits; a rejection needs a comment) and an `auditor` role that reads
every deal and changes nothing. People: boss (admin), manager (east's manager), rep and rep2
(east), auditor. Each has a password `<name>-pass` and an API token.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

from record_pages_kit import FAST_HASHER, Browser
from starlette.testclient import TestClient

from atrium.metadata import load_blueprint
from atrium.runtime.access import users
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from atrium.ui.web.app import Settings, create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runtime"))
from automation_kit import ENTITIES, PIPELINES, ROLES, Clock, write_automations  # noqa: E402
from blueprint_factory import write_blueprint  # noqa: E402

DEAL_FIELDS = {
    "discount": {"type": "integer", "min": 0, "max": 100, "label": {"en": "Discount", "zh": "折扣"}},
    "approval_status": {"type": "select", "options": ["pending", "approved", "rejected"],
                        "label": {"en": "Approval status", "zh": "审批状态"}},
    "approval_note": {"type": "textarea", "label": {"en": "Approver's note", "zh": "审批意见"},
                      "required_when": "approval_status == 'rejected'"},
}
AUTOMATIONS = {"discount_approval": {
    "label": {"en": "Discount approval", "zh": "折扣审批"},
    "entity": "deal", "on": "request",
    "do": [{"require_approval": {
        "approver": "manager", "lock": True,
        "message": {"en": "Approve a {discount}% discount on {title}?", "zh": "是否批准{title}的 {discount}% 折扣？"},
        "pending": {"approval_status": "'pending'"},
        "approved": {"approval_status": "'approved'"},
        "rejected": {"approval_status": "'rejected'"},
        "comment": "approval_note", "voided_by": ["discount"]}}]}}
PEOPLE = (("boss", "admin", None, "Boss Chen"), ("manager", "manager", "east", "Manager Zhou"),
          ("rep", "rep", "east", "Rep Li"), ("rep2", "rep", "east", "Rep Wang"),
          ("auditor", "auditor", "east", "Auditor Wu"))


def approval_blueprint(folder: Path):
    entities = copy.deepcopy(ENTITIES)
    entities["deal"]["fields"].update(DEAL_FIELDS)
    entities["deal"]["title"] = "{title}"
    roles = copy.deepcopy(ROLES)
    roles["roles"]["auditor"] = {"label": {"en": "Auditor", "zh": "审计"}, "entities": {
        "deal": {"read": "all", "create": False, "update": "none", "delete": "none"}}}
    write_blueprint(folder, entities, PIPELINES, roles, timezone="Asia/Shanghai")
    write_automations(folder, AUTOMATIONS)
    return load_blueprint(folder)


class ApprovalWorld:
    """The site, its app, the people in it, a browser and an API client per person."""

    def __init__(self, folder: Path, database_url: str, engine=None):
        self.blueprint = approval_blueprint(folder)
        self.clock = Clock()
        self.site = Site.open(self.blueprint, database_url, engine=engine, clock=self.clock)
        migrate(self.site.engine, self.blueprint)
        self.ids: dict[str, int] = {}
        self.tokens: dict[str, str] = {}
        self.roles: dict[str, str] = {}
        with self.site.engine.begin() as connection:
            users.add_team(connection, self.site.tables, "east")
            table = self.site.tables.system("atrium_users")
            for name, role, team, display in PEOPLE:
                self.ids[name] = users.add_user(connection, self.site.tables, self.blueprint, name, role,
                                                team=team, display_name=display, locale="en")
                self.roles[name] = role
                connection.execute(table.update().where(table.c.id == self.ids[name]).values(
                    password_hash=FAST_HASHER.hash(f"{name}-pass")))
                self.tokens[name] = users.issue_token(connection, self.site.tables, name)
            users.set_team_manager(connection, self.site.tables, "east", "manager")
            self.team = connection.execute(
                self.site.tables.system("atrium_teams").select()).first().id
        self.app = create_app(Settings(str(folder), database_url, secret_key="test-secret"), site=self.site)
        self.clients: list[TestClient] = []

    def actor(self, name: str) -> Actor:
        return Actor(user_id=self.ids[name], name=name, role=self.roles[name],
                     team_id=self.team if name != "boss" else None, locale="en")

    def deal(self, title: str = "Big deal", by: str = "rep", **values) -> dict:
        return self.site.records.create("deal", {"title": title, "discount": 15, **values}, self.actor(by))

    def get(self, record_id: int) -> dict:
        return self.site.records.get("deal", record_id)

    def request(self, deal: dict, by: str = "rep"):
        return self.site.records.approvals.request("discount_approval", "deal", deal["id"], self.actor(by))

    def browser(self, name: str) -> Browser:
        client = TestClient(self.app)
        self.clients.append(client)
        browser = Browser(client)
        answer = browser.post("/login", data={"name": name, "password": f"{name}-pass"}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return browser

    def api(self, method: str, path: str, user: str, lang: str | None = None, **kwargs):
        if not self.clients:
            self.clients.append(TestClient(self.app))
        headers = {"Authorization": f"Bearer {self.tokens[user]}", **kwargs.pop("headers", {})}
        if lang:
            headers["Accept-Language"] = lang
        return self.clients[0].request(method, "/api/v1/" + path, headers=headers, **kwargs)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.clients = []
        self.site.engine.dispose()
