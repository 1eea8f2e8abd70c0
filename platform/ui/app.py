"""The web application. For now one page: the blueprint's entities and how many records each has."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from atrium.metadata import load_blueprint
from atrium.runtime.database import create_engine
from atrium.runtime.tables import build_tables

TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                               autoescape=True)


@dataclass(frozen=True)
class Settings:
    blueprint: str
    database_url: str = "sqlite:///atrium.db"
    overlays: tuple[str, ...] = field(default_factory=tuple)


def create_app(settings: Settings) -> Starlette:
    blueprint = load_blueprint(settings.blueprint, settings.overlays)
    engine = create_engine(settings.database_url)
    tables = build_tables(blueprint)

    async def home(request: Request) -> HTMLResponse:
        locale = request.query_params.get("lang", blueprint.default_locale)
        counts = {}
        with engine.connect() as connection:
            for name in blueprint.entities:
                counts[name] = connection.execute(
                    sa.select(sa.func.count()).select_from(tables[name])).scalar()
        html = TEMPLATES.get_template("home.html").render(blueprint=blueprint, counts=counts, locale=locale)
        return HTMLResponse(html)

    return Starlette(routes=[Route("/", home)])


def app_from_environment() -> Starlette:
    overlays = tuple(p for p in os.environ.get("ATRIUM_OVERLAYS", "").split(os.pathsep) if p)
    return create_app(Settings(blueprint=os.environ["ATRIUM_BLUEPRINT"],
                               database_url=os.environ.get("ATRIUM_DATABASE_URL", "sqlite:///atrium.db"),
                               overlays=overlays))
