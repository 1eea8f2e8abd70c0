"""One running Atrium site: a blueprint with its overlays, a database, and the services over them.

The composition root: `Site.open` builds each service once and passes each its collaborators
(the records service with automations and approvals wired in: services.py)."""
from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from sqlalchemy.engine import Engine

from atrium.metadata import Blueprint, load_blueprint
from atrium.runtime.access.policy import Access
from atrium.runtime.approvals.service import Approvals
from atrium.runtime.comments.service import Comments
from atrium.runtime.files.service import Files
from atrium.runtime.files.storage import storage_from_setting
from atrium.runtime.query.lists import Queries
from atrium.runtime.records.service import RecordService
from atrium.runtime.schema.database import create_engine
from atrium.runtime.schema.tables import Tables, build_tables
from atrium.runtime.search.service import GlobalSearch
from atrium.runtime.site.services import records_service
from atrium.runtime.trash.bin import Trash


@dataclass
class Site:
    blueprint: Blueprint
    engine: Engine
    tables: Tables
    records: RecordService
    access: Access
    queries: Queries
    clock: Callable[[], dt.datetime]

    @classmethod
    def open(cls, blueprint: Blueprint | str | Path, database_url: str, overlays: Sequence[str | Path] = (),
             clock: Callable[[], dt.datetime] | None = None, engine: Engine | None = None) -> "Site":
        if not isinstance(blueprint, Blueprint):
            blueprint = load_blueprint(blueprint, overlays)
        engine = engine or create_engine(database_url)
        clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        tables = build_tables(blueprint)
        records = records_service(blueprint, engine, tables, clock=clock)
        access = Access(blueprint, tables)
        return cls(blueprint, engine, tables, records, access, Queries(blueprint, tables, access, records), clock)

    def now(self) -> dt.datetime:
        return self.clock()

    @functools.cached_property
    def search(self) -> GlobalSearch:
        """The global search over every entity, under the caller's access (search/service.py)."""
        return GlobalSearch(self.blueprint, self.tables, self.access, self.queries)

    @functools.cached_property
    def trash(self) -> Trash:
        """The recycle bin: deleted records listed, restored and purged (trash/bin.py)."""
        return Trash(self)

    @functools.cached_property
    def files(self) -> Files:
        """Files attached to records (files/service.py), stored where ATRIUM_FILES says (storage.py)."""
        return Files(self, storage_from_setting(os.environ.get("ATRIUM_FILES"), self.engine.url))

    @functools.cached_property
    def comments(self) -> Comments:
        """Comments on records and their @mentions (comments/service.py), under the access layer."""
        return Comments(self)

    @property
    def approvals(self) -> Approvals:
        """Requests, decisions and withdrawals of approvals (approvals/service.py), over the records service."""
        assert self.records.approvals is not None  # Site.open wires them in
        return self.records.approvals
