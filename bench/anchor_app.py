"""The anchor: a hand-written Starlette + Jinja2 + SQLAlchemy Core app that serves the order list
and detail pages Atrium serves (the same rows, columns, related lists and timeline entries) from
the same database file, as the floor bench/bench_versus.py measures Atrium's pages against.

It is written the way a careful engineer would write these two pages by hand for this one
blueprint: every statement built once at start-up, one connection per request, the scope of a
sales rep as a plain `owner = :me`, labels read from the blueprint once, rows rendered by loops in
one template (no macro per cell). What it leaves out, so the figure is a floor: field-level
permissions beyond the rep's hidden margin, approvals, attachments, follow-up panels, CSRF forms
and the header's badges. Signing in is a signed session cookie set by `GET /login?name=...`
(no password: a bench app, served on loopback only).

    ANCHOR_DATABASE_URL=sqlite:////tmp/x.db uvicorn --factory anchor_app:app_from_environment
"""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from atrium.metadata import load_blueprint

ROOT = Path(__file__).resolve().parent.parent
B2B = ROOT / "blueprints" / "b2b_sales"
TEMPLATES = Path(__file__).resolve().parent / "anchor_templates"
PAGE_ROWS, COUNT_CAP, RELATED_ROWS, RELATED_READ, TIMELINE = 50, 1000, 5, 10, 50
LIST_COLUMNS = ["code", "name", "customer", "owner", "stage", "amount", "expected_close"]
SECTIONS = [("Basics", ["code", "name", "customer", "owner", "stage", "amount", "expected_close", "opened_on",
                        "tags"]),
            ("Forecast", ["probability", "weighted_amount", "margin", "campaign"]),
            ("Expenses", ["expense_total", "margin_after_expenses"]),
            ("Follow-up and risk", ["next_step", "next_step_due", "last_visit_at", "visits_done", "visit_due_on",
                                    "attention_on", "competitor"]),
            ("Outcome", ["won_on", "lost_on", "lost_reason"]),
            ("More", ["quote_count", "quoted_amount", "contracted_amount", "received_amount"])]
# child entity, its owner column, its five columns (the link to the order left out), its title
RELATED = [("visit", "owner", ["planned_at", "customer", "contact", "kind", "purpose"], ("customer", "planned_at")),
           ("quote", "owner", ["code", "name", "customer", "owner", "total"], ("code", "name")),
           ("contract", "owner", ["code", "name", "customer", "owner", "amount"], ("code", "name")),
           ("payment_plan", "owner", ["code", "name", "customer", "owner", "planned_total"], ("code", "name")),
           ("ticket", "assignee", ["code", "subject", "customer", "kind", "priority"], ("code", "subject")),
           ("task", "owner", ["title", "kind", "priority", "customer", "owner"], ("title",)),
           ("expense", "owner", ["code", "spent_on", "category", "description", "amount"], ("code", "description"))]
HIDDEN_FOR_REPS = {"margin", "margin_after_expenses"}
NAV = ["customer", "contact", "lead", "order", "visit", "task", "quote", "contract", "payment_plan", "ticket"]

def money(value: Any) -> str:
    return "" if value is None else f"{Decimal(str(value)):,.2f}"  # history keeps money as text


@dataclass
class Entry:
    at: dt.datetime
    by: int | None
    kind: str
    label: str = ""
    old: str = ""
    new: str = ""
    href: str = ""
    who: str = ""


class Anchor:
    """The statements, labels and templates, made once; `list_page` and `detail_page` per request."""

    def __init__(self, database_url: str):
        if database_url.startswith("postgresql://"):  # the driver Atrium uses too
            database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
        self.engine = sa.create_engine(database_url)
        blueprint = load_blueprint(B2B)
        en = lambda label: label.texts.get("en", "")  # noqa: E731
        self.entities = {name: entity for name, entity in blueprint.entities.items()}
        self.labels = {name: {f.name: en(f.label) for f in entity} for name, entity in self.entities.items()}
        self.options = {name: {f.name: {o.value: en(o.label) for o in (f.options or ())} for f in entity
                               if f.type in ("select", "multiselect")} for name, entity in self.entities.items()}
        self.stages = {s.name: en(s.label) for s in blueprint.pipeline_for("order").stages}
        self.open_stages = [s.name for s in blueprint.pipeline_for("order").stages if s.is_open]
        self.plural = {name: en(entity.plural) for name, entity in self.entities.items()}
        self.nav = [(f"/r/{name}", self.plural[name]) for name in NAV if name in self.entities]
        self.types = {name: {f.name: f.type for f in entity} for name, entity in self.entities.items()}
        meta = sa.MetaData()
        names = ["order", "customer", "contact", "campaign", "atrium_users", "atrium_history", "atrium_stage_history",
                 "atrium_notifications", "atrium_approvals", "atrium_approval_approvers", "atrium_saved_views"] \
            + [child for child, *_ in RELATED]
        meta.reflect(self.engine, only=names)
        self.t = meta.tables
        self.sql = self._statements()
        customer = self.labels["customer"]
        self.selects = [("stage", self.labels["order"]["stage"], list(self.stages.items())),
                        ("lost_reason", self.labels["order"]["lost_reason"],
                         list(self.options["order"]["lost_reason"].items()))] + \
                       [(f"customer.{name}", customer[name], list(self.options["customer"][name].items()))
                        for name in ("level", "region")]
        self.history_is_text = not isinstance(self.t["atrium_history"].c.old_value.type, sa.JSON)
        self.templates = jinja2.Environment(
            autoescape=True, auto_reload=False, loader=jinja2.FileSystemLoader(TEMPLATES))
        closing = [s for s in blueprint.pipeline_for("order").stages if not s.is_open]
        self.templates.globals.update(money=money, nav=self.nav, stages=self.stages,
                                      open_stages={s.name for s in blueprint.pipeline_for("order").stages if s.is_open},
                                      closing=[(s.name, en(s.label)) for s in closing])

    def _statements(self) -> dict[str, Any]:
        t = self.t
        order, customer, users = t["order"], t["customer"], t["atrium_users"]
        me = sa.bindparam("me")
        sql: dict[str, Any] = {"user": sa.select(users.c.id, users.c.name, users.c.display_name, users.c.role)
                               .where(users.c.id == sa.bindparam("id"))}
        owner_name = users.alias("owner_user")
        rows = (sa.select(order.c.id, order.c.code, order.c.name, order.c.customer,
                          customer.c.name.label("customer_title"), order.c.owner,
                          owner_name.c.display_name.label("owner_name"), order.c.stage, order.c.amount,
                          order.c.expected_close, order.c.version)
                .select_from(order.outerjoin(customer, customer.c.id == order.c.customer)
                             .outerjoin(owner_name, owner_name.c.id == order.c.owner))
                .order_by(order.c.expected_close.desc(), order.c.id.desc()).limit(PAGE_ROWS + 1))
        capped = lambda where: sa.select(sa.func.count()).select_from(  # noqa: E731
            sa.select(sa.literal(1)).select_from(order).where(*where).limit(COUNT_CAP + 1).subquery())
        sql["list"] = {"all": rows, "own": rows.where(order.c.owner == me)}
        sql["count"] = {"all": capped([]), "own": capped([order.c.owner == me])}
        sql["owners"] = sa.select(users.c.id, users.c.display_name).where(users.c.active.is_(True)) \
            .order_by(users.c.display_name) if "active" in users.c else \
            sa.select(users.c.id, users.c.display_name).order_by(users.c.display_name)
        campaign = t["campaign"]
        record = (sa.select(order, customer.c.name.label("customer_title"), campaign.c.name.label("campaign_title"))
                  .select_from(order.outerjoin(customer, customer.c.id == order.c.customer)
                               .outerjoin(campaign, campaign.c.id == order.c.campaign))
                  .where(order.c.id == sa.bindparam("id")))
        sql["record"] = {"all": record, "own": record.where(order.c.owner == me)}
        sql["related"] = {}
        for child, owner_column, columns, _ in RELATED:
            table = t[child]
            joins, selected = table, [table.c.id, table.c.created_at, table.c.created_by]
            for name in dict.fromkeys(columns + ["customer"]):
                column = table.c[name]
                kind = self.types[child][name]
                if kind == "reference":
                    target = t[self.entities[child].fields[name].to].alias(f"{child}_{name}")
                    joins = joins.outerjoin(target, target.c.id == column)
                    selected += [column, target.c.name.label(f"{name}_title")]
                elif kind == "user":
                    target = users.alias(f"{child}_{name}")
                    joins = joins.outerjoin(target, target.c.id == column)
                    selected += [column, target.c.display_name.label(f"{name}_title")]
                else:
                    selected.append(column)
            read = (sa.select(*selected).select_from(joins).where(table.c.order == sa.bindparam("id"))
                    .order_by(table.c.created_at.desc(), table.c.id.desc()).limit(RELATED_READ))
            count = lambda where, table=table: sa.select(sa.func.count()).select_from(  # noqa: E731
                sa.select(sa.literal(1)).select_from(table).where(table.c.order == sa.bindparam("id"), *where)
                .limit(COUNT_CAP + 1).subquery())
            sql["related"][child] = {"all": (read, count([])),
                                     "own": (read.where(table.c[owner_column] == me),
                                             count([table.c[owner_column] == me]))}
        history, stages = t["atrium_history"], t["atrium_stage_history"]
        sql["history"] = (sa.select(history.c.action, history.c.field, history.c.old_value, history.c.new_value,
                                    history.c.changed_at, history.c.changed_by)
                          .where(history.c.entity == "order", history.c.record_id == sa.bindparam("id"))
                          .order_by(history.c.changed_at.desc(), history.c.id.desc()).limit(TIMELINE * 4))
        sql["stages"] = (sa.select(stages.c.from_stage, stages.c.to_stage, stages.c.changed_at, stages.c.changed_by)
                         .where(stages.c.entity == "order", stages.c.record_id == sa.bindparam("id"))
                         .order_by(stages.c.changed_at.desc(), stages.c.id.desc()).limit(TIMELINE))
        notes, approvals, approvers = t["atrium_notifications"], t["atrium_approvals"], t["atrium_approval_approvers"]
        unread = sa.select(sa.func.count()).select_from(notes).where(notes.c.user_id == me, notes.c.read_at.is_(None))
        waiting = sa.select(sa.func.count()).select_from(approvals).where(approvals.c.status == "pending", sa.or_(
            approvals.c.id.in_(sa.select(approvers.c.approval_id).where(approvers.c.user_id == me)),
            sa.bindparam("admin")))
        sql["badges"] = sa.select(unread.scalar_subquery(), waiting.scalar_subquery())  # the header, one statement
        views = t["atrium_saved_views"]
        sql["views"] = sa.select(views.c.id, views.c.name, views.c.query).where(
            views.c.user_id == me, views.c.entity == "order").order_by(views.c.name)
        sql["names"] = sa.select(users.c.id, users.c.display_name).where(
            users.c.id.in_(sa.bindparam("ids", expanding=True)))
        return sql

    # --- pages -----------------------------------------------------------------------------

    def user(self, connection: sa.Connection, request: Request) -> Any:
        uid = request.session.get("uid")
        return connection.execute(self.sql["user"], {"id": uid}).first() if uid else None

    def badges(self, connection: sa.Connection, user: Any) -> tuple[int, int]:
        """The header's unread notifications and approvals waiting for the user."""
        row = connection.execute(self.sql["badges"], {"me": user.id, "admin": user.role == "admin"}).one()
        return row[0], row[1]

    def list_page(self, request: Request) -> Response:
        with self.engine.connect() as connection:
            user = self.user(connection, request)
            if user is None:
                return RedirectResponse("/login", 303)
            scope, params = ("all", {}) if user.role == "admin" else ("own", {"me": user.id})
            rows = connection.execute(self.sql["list"][scope], params).fetchall()
            count = connection.execute(self.sql["count"][scope], params).scalar_one()
            owners = connection.execute(self.sql["owners"]).fetchall()
            views = connection.execute(self.sql["views"], {"me": user.id}).fetchall()
            badges = self.badges(connection, user)
        labels = self.labels["order"]
        selects = self.selects
        html = self.templates.get_template("list.html").render(
            title=self.plural["order"], plural=self.plural["order"], user=user, labels=labels, rows=rows[:PAGE_ROWS],
            more=rows[PAGE_ROWS - 1].id if len(rows) > PAGE_ROWS else None, columns=LIST_COLUMNS,
            count=f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}", owners=owners, selects=selects,
            views=views, badges=badges,
            dates=["expected_close", "won_on", "lost_on", "attention_on", "visit_due_on", "last_visit_at"])
        return HTMLResponse(html)

    def detail_page(self, request: Request) -> Response:
        try:
            record_id = int(request.path_params["id"])
        except ValueError:
            return HTMLResponse("Not found", 404)
        with self.engine.connect() as connection:
            user = self.user(connection, request)
            if user is None:
                return RedirectResponse("/login", 303)
            scope = "all" if user.role == "admin" else "own"
            params = {"id": record_id, "me": user.id}
            record = connection.execute(self.sql["record"][scope], params).first()
            if record is None:
                return HTMLResponse("Not found", 404)
            related, read = [], {}
            for child, _, columns, title in RELATED:
                rows_sql, count_sql = self.sql["related"][child][scope]
                rows = connection.execute(rows_sql, params).fetchall()
                count = connection.execute(count_sql, params).scalar_one()
                read[child] = (rows, title)
                related.append({"entity": child, "label": self.plural[child],
                                "count": f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}",
                                "columns": [self.labels[child][c] for c in columns],
                                "rows": [(r.id, [self._cell(child, c, r) for c in columns])
                                         for r in rows[:RELATED_ROWS]]})
            history = connection.execute(self.sql["history"], params).fetchall()
            stage_rows = connection.execute(self.sql["stages"], params).fetchall()
            entries = self._timeline(history, stage_rows, read)
            ids = {e.by for e in entries} | {record.owner, record.created_by, record.updated_by}
            names = dict(connection.execute(self.sql["names"], {"ids": [i for i in ids if i]}).fetchall())
            badges = self.badges(connection, user)
        for entry in entries:
            entry.who = names.get(entry.by, "System") if entry.by else "System"
        html = self.templates.get_template("detail.html").render(
            title=f"{record.code} {record.name}", plural=self.plural["order"], user=user, record=record,
            labels=self.labels["order"], sections=self._sections(record, names, user.role != "admin"),
            related=related, timeline=entries, badges=badges, actions=self._actions(record.stage),
            created_by=names.get(record.created_by, "System"),
            updated_by=names.get(record.updated_by, "System"))
        return HTMLResponse(html)

    # --- what the pages show ------------------------------------------------------------------

    def _actions(self, stage: str | None) -> list[tuple[str, str, str]]:
        """The stage buttons: the next open stage, then won and lost, while the order is open."""
        if stage not in self.open_stages:
            return []
        following = self.open_stages[self.open_stages.index(stage) + 1:]
        moves = [(following[0], f"Move to {self.stages[following[0]]} →", "primary")] if following else []
        return moves + [(name, label, f"secondary outcome-{name}") for name, label in self.stages.items()
                        if name not in self.open_stages]

    def _cell(self, entity: str, name: str, row: Any) -> str:
        kind, value = self.types[entity][name], getattr(row, name)
        if kind in ("reference", "user"):
            return getattr(row, f"{name}_title") or ""
        return self._text(entity, name, kind, value)

    def _text(self, entity: str, name: str, kind: str, value: Any) -> str:
        if value is None:
            return ""
        if kind == "money":
            return money(value)
        if kind == "percent":
            return f"{Decimal(str(value)):g}%"
        if kind == "select":
            return self.options[entity][name].get(value, value)
        if kind == "stage":
            return self.stages.get(value, value)
        if kind == "multiselect":
            return ", ".join(self.options[entity][name].get(v, v) for v in (value or []))
        if kind == "boolean":
            return "Yes" if value else "No"
        return str(value)

    def _stored(self, value: Any) -> Any:
        """A history value: JSON text unless the reflected column type decoded it already."""
        return json.loads(value) if self.history_is_text and value else value

    def _sections(self, record: Any, names: dict, rep: bool) -> list:
        result = []
        for label, fields in SECTIONS:
            if label == "Outcome" and record.stage not in ("won", "lost"):
                continue
            items = []
            for name in fields:
                if rep and name in HIDDEN_FOR_REPS:
                    continue
                kind, value = self.types["order"][name], getattr(record, name)
                if name == "customer":
                    items.append((name, record.customer_title, f"/r/customer/{value}" if value else ""))
                elif name == "campaign":
                    items.append((name, record.campaign_title, f"/r/campaign/{value}" if value else ""))
                elif kind == "user":
                    items.append((name, names.get(value, "") if value else "", ""))
                else:
                    items.append((name, self._text("order", name, kind, value), ""))
            result.append((label, items))
        return result

    def _timeline(self, history: list, stage_rows: list, read: dict) -> list[Entry]:
        fields, entries, created = self.entities["order"].fields, [], False
        for row in history:
            if row.action == "create":
                if not created:
                    entries.append(Entry(row.changed_at, row.changed_by, "created"))
                    created = True
                continue
            field = fields.get(row.field or "")
            if row.action != "update" or field is None or field.computed or field.type == "stage":
                continue
            old, new = (self._stored(v) for v in (row.old_value, row.new_value))
            entries.append(Entry(row.changed_at, row.changed_by, "change", self.labels["order"][field.name],
                                 self._text("order", field.name, field.type, old),
                                 self._text("order", field.name, field.type, new)))
        for row in stage_rows:
            entries.append(Entry(row.changed_at, row.changed_by, "stage", self.labels["order"]["stage"],
                                 self.stages.get(row.from_stage, ""), self.stages.get(row.to_stage, "")))
        for child, (rows, title) in read.items():
            label = self.entities[child].label.texts.get("en", child)
            for r in rows:
                text = " ".join(str(getattr(r, f"{n}_title", None) or getattr(r, n) or "") for n in title)
                entries.append(Entry(r.created_at, r.created_by, "related", f"New {label}", new=text,
                                     href=f"/r/{child}/{r.id}"))
        entries.sort(key=lambda e: e.at, reverse=True)
        return entries[:TIMELINE]


def create_anchor_app(database_url: str) -> Starlette:
    anchor = Anchor(database_url)

    def login(request: Request) -> Response:
        with anchor.engine.connect() as connection:
            users = anchor.t["atrium_users"]
            uid = connection.execute(sa.select(users.c.id).where(
                users.c.name == request.query_params.get("name", ""))).scalar()
        if uid is None:
            return HTMLResponse("Unknown user", 403)
        request.session["uid"] = uid
        return RedirectResponse("/r/order", 303)

    app = Starlette(routes=[Route("/login", login), Route("/r/order", anchor.list_page),
                            Route("/r/order/{id}", anchor.detail_page)],
                    middleware=[Middleware(SessionMiddleware, secret_key=os.environ.get("ANCHOR_SECRET", "anchor"))])
    app.state.anchor = anchor
    return app


def app_from_environment() -> Starlette:
    return create_anchor_app(os.environ["ANCHOR_DATABASE_URL"])
