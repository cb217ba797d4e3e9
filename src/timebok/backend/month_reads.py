"""The calendar's month read (GET /fhir/Slot) answered by its route's own function, ahead of FastAPI's router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from timebok.backend import routes_directory
from timebok.backend.auth import AGENT_HEADER
from timebok.backend.db import Database
from timebok.backend.principals import Principals

PATH = "/fhir/Slot"


@dataclass(frozen=True)
class _Route:
    path: str


_ROUTE = _Route(PATH)


class MonthReads:
    """Inside Guard (request id, log line, metrics), in front of the router: a month read from a caller whose token is
    known (looked up in the last seconds) goes straight to `routes_directory.search_slots` on the thread pool.

    The month read is most of a campaign's requests (issue 30), and on a cached month the router's matching,
    FastAPI's dependency solving and Starlette's exception and exit-stack layers cost more than the route itself.
    The same function answers, with the same Request, so the answer is the same byte for byte; an error goes to the
    app's own exception handlers. Anything else (another path or method, an unknown token) takes the usual way."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        principals = cast(Principals, self.api.state.principals)
        who = principals.known(request.headers.get("authorization"), request.headers.get(AGENT_HEADER))
        if who is None:
            await self.app(scope, receive, send)  # a new token is looked up (or refused) the usual way
            return
        scope["route"] = _ROUTE  # what Guard labels the metrics with, as the router would have set it
        db = cast(Database, self.api.state.db)
        try:
            response: Response = await run_in_threadpool(routes_directory.search_slots, request, who, db)
        except Exception as error:
            handler = self._handler(error)
            if handler is None:
                raise  # Guard answers it as 500 with one log line, as it does for the router
            response = await handler(request, error)
        await response(scope, receive, send)

    def _handler(self, error: Exception) -> Any:
        # As Starlette's ExceptionMiddleware looks one up: the nearest class in the error's MRO.
        handlers = self.api.exception_handlers
        for kind in type(error).__mro__:
            if kind in handlers:
                return handlers[kind]
        return None
