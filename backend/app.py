"""Builds the FastAPI application: routes, error answers as OperationOutcome, and the access log."""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend import routes_booking, routes_directory
from backend.db import Database
from backend.http import MAX_BODY, FhirResponse, principal
from backend.outcome import FhirError, operation_outcome
from domain.privacy import scrub

access_log = logging.getLogger("timebok.access")
error_log = logging.getLogger("timebok.error")


class Guard:
    """Refuses oversized bodies before any route runs, and logs each request with identity numbers masked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        length = dict(scope["headers"]).get(b"content-length")
        try:
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
                outcome = operation_outcome("too-long", f"The request body is larger than {MAX_BODY // 1024} KiB")
                await FhirResponse(outcome, status_code=413)(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                # Decoded before scrubbing: "%20" or "+" before or inside a number would hide it from the mask.
                query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
                target = scope["path"] + (f"?{query}" if query else "")
                access_log.info("%s %s %s %.1fms", scope["method"], scrub(target), status, (time.perf_counter() - started) * 1000)


def create_app(db: Database, *, demo: bool = False) -> FastAPI:
    """The API over `db`; `demo` also accepts synthetic (Tenor) identity numbers."""
    app = FastAPI(title="timebok FHIR booking backend", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.db = db
    app.state.demo = demo
    app.include_router(routes_directory.router)
    app.include_router(routes_booking.router)

    @app.get("/auth/userinfo")
    def userinfo(request: Request) -> FhirResponse:
        # Like OpenID Connect's userinfo: tells a client whose token it holds (SMART launch context).
        who = principal(request)
        return FhirResponse({
            "role": who.role,
            "name": who.name,
            "patient": f"Patient/{who.patient_id}" if who.patient_id else None,
            "organization": f"Organization/{who.organization_id}" if who.organization_id else None,
            "agent": who.agent,
        })

    if demo:
        @app.get("/auth/demo-users")
        def demo_users() -> FhirResponse:
            # Only a demo backend lists its tokens: the app's start screen offers them as people to be.
            from backend.seed import demo_tokens

            return FhirResponse([
                {"role": t.role, "name": t.name, "reference": t.reference, "token": t.token} for t in demo_tokens(db)
            ])

    @app.exception_handler(FhirError)
    async def fhir_error(_request: Request, error: FhirError) -> FhirResponse:
        return FhirResponse(operation_outcome(error.code, error.diagnostics, rule=error.rule), status_code=error.status, headers=error.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> FhirResponse:
        code = {404: "not-found", 405: "not-supported"}.get(error.status_code, "processing")
        text = {
            404: f"No such endpoint: {scrub(request.url.path)}",
            405: f"{request.method} is not supported on {scrub(request.url.path)}",
        }.get(error.status_code, str(error.detail))
        return FhirResponse(operation_outcome(code, text), status_code=error.status_code, headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> FhirResponse:
        return FhirResponse(operation_outcome("invalid", scrub(str(error.errors()))), status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> FhirResponse:
        error_log.error("%s %s failed: %s", request.method, scrub(request.url.path), scrub(repr(error)))
        return FhirResponse(operation_outcome("exception", "The server failed to handle the request; nothing was changed"), status_code=500)

    app.add_middleware(Guard)
    return app
