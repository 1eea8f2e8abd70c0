"""A small site with a file field and three people, for the files tests."""
from __future__ import annotations

from pathlib import Path

from blueprint_factory import make_blueprint

from atrium.runtime.access.users import add_user
from atrium.runtime.files.service import Files
from atrium.runtime.files.storage import LocalStorage, Storage
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

ROLES = {"roles": {
    "rep": {"label": "Rep", "entities": {"deal": {"read": "own", "create": True, "update": "own",
                                                         "delete": "own"}}},
    "clerk": {"label": "Clerk", "entities": {"deal": {"read": "all", "update": "all"}}},
    "viewer": {"label": "Viewer", "entities": {"deal": {"read": "all", "update": "none"}},
               "fields": {"deal.secret_scan": "hidden"}},
}}
ENTITIES = {"deal": {"owner": "owner", "fields": {
    "name": {"type": "text"}, "owner": {"type": "user", "default": "current_user()"},
    "signed": {"type": "file", "accept": [".pdf", "image/*"], "max_size": "1KB",
               "label": {"en": "Signed copy", "zh": "签署件"}},
    "photos": {"type": "file", "multiple": True},
    "secret_scan": {"type": "file"},
}}}


def files_site(folder: Path, database_url: str, storage: Storage | None = None) -> tuple[Site, dict[str, Actor]]:
    blueprint = make_blueprint(folder / "bp", ENTITIES, roles=ROLES)
    site = Site.open(blueprint, database_url)
    migrate(site.engine, blueprint)
    people = {}
    with site.engine.begin() as connection:
        for name, role in [("rep", "rep"), ("other", "rep"), ("clerk", "clerk"), ("viewer", "viewer")]:
            user = add_user(connection, site.tables, blueprint, name, role)
            people[name] = Actor(user_id=user, name=name, role=role, locale="en")
    site.__dict__["files"] = Files(site, storage or LocalStorage(folder / "files"))
    return site, people
