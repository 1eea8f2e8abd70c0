"""Each server process keeps its Site at the newest metadata version, without a restart.

The studio records every applied change as a new row of atrium_metadata_history (its id is the
metadata version) in the transaction that migrates the schema, after writing the overlay files.
Before each request a process reads the newest id (one primary-key read); when it moved, the
process loads the blueprint from the files again and swaps its Site (same engine and clock).
So with two workers, the one that applied the change reloads at once and the other on its next
request.

The files can be read while another change is being applied (written, but not yet committed, and
put back if its migration fails). So a process also compares the digest of the files it loaded
with the digest the version recorded; while they differ it checks the files again, at most once a
second, and reloads when they change. Hand edits of the overlay are picked up the same way.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from atrium.metadata.model import Blueprint
from atrium.metadata.problems import BlueprintError
from atrium.runtime.site import history as metadata_history
from atrium.runtime.site.overlay import SiteOverlay

logger = logging.getLogger("atrium.metadata")
FILE_CHECK_EVERY = 1.0  # seconds between digests of the files while unsettled
TABLE_CHECK_EVERY = 30.0  # seconds between looks for the history table on a database without it


class MetadataWatcher:
    def __init__(self, overlay: SiteOverlay, engine: Engine, site: object,
                 open_site: Callable[[Blueprint], object]):
        self.overlay, self.engine, self.site, self.open_site = overlay, engine, site, open_site
        self.version: int | None = None  # unknown until the first request
        self.loaded_digest: str | None = None
        self.settled = True
        self.reloads = 0
        self._lock = threading.Lock()
        self._files_checked = 0.0
        self._table_checked: float | None = None  # when the table was last found missing

    def _latest(self, connection: Connection | None) -> tuple[int, str | None]:
        now = time.monotonic()
        if self._table_checked is not None and now - self._table_checked < TABLE_CHECK_EVERY:
            return 0, None
        if connection is None:
            with self.engine.connect() as own:
                return self._read_latest(own, now)
        return self._read_latest(connection, now)

    def _read_latest(self, connection: Connection, now: float) -> tuple[int, str | None]:
        if self._table_checked is not None or self.version is None:
            if not metadata_history.has_table(connection):
                self._table_checked = now
                return 0, None
            self._table_checked = None
        try:
            return metadata_history.latest(connection)
        except sa.exc.DBAPIError:  # the table went away (a test's reset): look again later
            self._table_checked = now
            if connection.in_transaction():
                connection.rollback()  # PostgreSQL refuses the transaction's next statement otherwise
            return 0, None

    def current(self, connection: Connection | None = None) -> object:
        """The site to serve this request with (reloaded when the metadata moved). `connection`
        is the request's, to read the version on; without one the watcher takes its own."""
        version, digest = self._latest(connection)
        if self.version is None:  # the site given at start is taken as current
            self.version = version
            return self.site
        if version == self.version and self.settled:
            return self.site
        if not self._lock.acquire(blocking=False):
            return self.site  # another thread is reloading; this request keeps the last version
        try:
            if version != self.version:
                self.reload(version, digest)
            elif time.monotonic() - self._files_checked >= FILE_CHECK_EVERY:
                self._files_checked = time.monotonic()
                if self.overlay.digest() != self.loaded_digest:
                    self.reload(version, digest)
                elif self.loaded_digest == digest:
                    self.settled = True
        finally:
            self._lock.release()
        return self.site

    def reload(self, version: int, digest: str | None) -> object:
        """Load the blueprint from the files and open a new site on it (keep the old one if the
        files do not load: the next change of the files is tried again)."""
        before = self.overlay.digest()
        try:
            blueprint = self.overlay.load()
        except BlueprintError as error:
            logger.error("the site's metadata does not load; keeping version %s:\n%s", self.version, error)
            self.version, self.settled, self.loaded_digest = version, False, before
            return self.site
        after = self.overlay.digest()
        self.site = self.open_site(blueprint)
        self.version, self.loaded_digest = version, after
        self.settled = before == after and (digest is None or after == digest)
        self._files_checked = time.monotonic()
        self.reloads += 1
        return self.site
