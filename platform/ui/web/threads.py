"""Blocking work off the event loop: endpoints that touch the database, render a page (whose
header counts the inbox) or parse an upload run in a worker thread, so one slow request never
stalls the others on its worker.

A plain `def` route endpoint needs nothing: Starlette runs it in its threadpool. The guards
(login_required, record_page, api_endpoint ...) are `async`, so the endpoints they wrap say how
they run: `@in_thread` for one that needs nothing but the request, `@with_form` / `@with_body`
for one that needs the request's form or body, which is read on the event loop (it is I/O) and
handed to the endpoint as `form=` / `body=` in the thread. Each marks what it makes, so a test
can walk the routes and refuse an `async def` endpoint that does its work on the loop
(tests/ui/test_event_loop.py).
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Awaitable, Callable, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from atrium.ui.web.edge import check_form

RUNS_IN_THREAD = "runs_in_thread"  # the mark; functools.wraps copies it onto every guard around
Result = TypeVar("Result")


def in_thread(function: Callable[..., Result]) -> Callable[..., Awaitable[Result]]:
    """`function(request, ...)` run in a worker thread, as a coroutine function for async guards."""
    @functools.wraps(function)
    async def threaded(*args: Any, **kwargs: Any) -> Result:
        return await run_in_threadpool(function, *args, **kwargs)
    setattr(threaded, RUNS_IN_THREAD, True)
    return threaded


def with_form(function: Callable[..., Result]) -> Callable[..., Awaitable[Result]]:
    """The form read on the loop, then `function(request, ..., form=form)` in a worker thread."""
    @functools.wraps(function)
    async def threaded(request: Request, *args: Any, **kwargs: Any) -> Result:
        form = await request.form()
        check_form(form, request.state.locale)
        return await run_in_threadpool(function, request, *args, form=form, **kwargs)
    setattr(threaded, RUNS_IN_THREAD, True)
    return threaded


def with_body(function: Callable[..., Result]) -> Callable[..., Awaitable[Result]]:
    """The body read on the loop, then `function(request, ..., body=body)` in a worker thread."""
    @functools.wraps(function)
    async def threaded(request: Request, *args: Any, **kwargs: Any) -> Result:
        body = await request.body()
        return await run_in_threadpool(function, request, *args, body=body, **kwargs)
    setattr(threaded, RUNS_IN_THREAD, True)
    return threaded


def runs_in_thread(endpoint: Callable[..., Any]) -> bool:
    """Whether a route's endpoint does its work in a thread: a plain `def` (Starlette threads it),
    or one of the wrappers above anywhere under its guards."""
    while True:
        if getattr(endpoint, RUNS_IN_THREAD, False):
            return True
        wrapped = getattr(endpoint, "__wrapped__", None)
        if wrapped is None:
            return not inspect.iscoroutinefunction(endpoint)
        endpoint = wrapped
