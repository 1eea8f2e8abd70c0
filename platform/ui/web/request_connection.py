"""One database connection for each phase of a request, shared by the code of that phase.

A page used to take a connection from the pool four times: the metadata version check (the
studio's watcher), the session's user (sessions.py), the page itself and the header's badges
(templating.py). A request now has two phases that touch the database, each one call in a worker
thread: the identity middleware (the metadata version, then the user) and the endpoint (the page,
then its template with the badges). `RequestConnections` (a middleware) puts a `RequestConnection`
in the request's state; code borrows it with `request_connection`, and the outermost borrower of
a phase gives it back to the pool when it is done.

Why not one connection for the whole request: between the phases the request waits on the event
loop for a worker thread. A connection held across that wait could leave every pooled connection
with a request that waits for a thread while every thread waits for a connection (with more
requests in flight than the pool holds connections). A connection held only inside one thread
call is always given back by a thread that is running.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, MutableMapping

from sqlalchemy.engine import Connection, Engine
from starlette.types import ASGIApp, Receive, Scope, Send

STATE_KEY = "request_connection"


class RequestConnection:
    """The connection the code of one phase of a request shares (see the module's docstring)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.connection: Connection | None = None
        self.depth = 0  # uses in progress: code of a phase may call code that borrows it again
        self.opened = 0  # connections taken from the pool (one a phase), for tests and benches

    @contextlib.contextmanager
    def use(self, engine: Engine) -> Iterator[Connection]:
        if self.connection is not None and self.engine is not engine:
            # the site moved to another engine during the request (a test's swap): its own connection
            with engine.connect() as own:
                yield own
            return
        if self.connection is None:
            self.connection, self.engine = engine.connect(), engine
            self.opened += 1
        connection = self.connection
        self.depth += 1
        try:
            yield connection
        finally:
            self.depth -= 1
            if self.depth == 0:  # the phase is done, whether it ended well or not
                self.close()

    def close(self) -> None:
        connection, self.connection, self.engine = self.connection, None, None
        if connection is not None:
            connection.close()


def holder_of(scope: MutableMapping[str, Any]) -> RequestConnection | None:
    state = scope.get("state")
    return state.get(STATE_KEY) if isinstance(state, dict) else None


@contextlib.contextmanager
def request_connection(scope: MutableMapping[str, Any], engine: Engine) -> Iterator[Connection]:
    """The request's shared connection to `engine`, or a connection of its own outside a request
    the middleware saw (a test calling an endpoint's helper directly). `scope` is the ASGI scope
    (`request.scope`)."""
    holder = holder_of(scope)
    if holder is None:
        with engine.connect() as connection:
            yield connection
        return
    with holder.use(engine) as connection:
        yield connection


class RequestConnections:
    """Outermost middleware: a `RequestConnection` for every HTTP request. Each phase gives its
    connection back itself; the `close` at the end only guards against a phase that did not."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder = RequestConnection()
        scope.setdefault("state", {})[STATE_KEY] = holder
        try:
            await self.app(scope, receive, send)
        finally:
            holder.close()
