"""Builds the FastAPI application: routes, error answers as OperationOutcome, and the access log."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from timebok.backend import (
    logs,
    metrics,
    routes_auth,
    routes_booking,
    routes_directory,
    routes_ihe,
    routes_notices,
    routes_publish,
    routes_representation,
    routes_setup,
    routes_short_notice,
)
from timebok.backend.db import Database
from timebok.backend.departure import Departure
from timebok.backend.http import ERRORS_DOC, MAX_BODY, FhirResponse
from timebok.backend.http import public_url as parse_public_url
from timebok.backend.migrate import head
from timebok.backend.month import AnswerCache
from timebok.backend.month_reads import MonthReads
from timebok.backend.oidc import Verifier
from timebok.backend.outcome import FHIR_JSON, FhirError, operation_outcome
from timebok.backend.principals import Principals
from timebok.domain.privacy import scrub
from timebok.domain.release import version

access_log = logging.getLogger("timebok.access")
error_log = logging.getLogger("timebok.error")
THREADS = int(os.environ.get("TIMEBOK_THREADS", "100"))


_LETTERS = bytes(b"abcdefghijklmnopqrstuvwxyz234567"[byte % 32] for byte in range(256))  # 256 = 8 × 32: uniform
_IDS = random.Random(os.urandom(32))  # noqa: S311 - an id to find a request's log lines by, not a secret
os.register_at_fork(after_in_child=lambda: _IDS.seed(os.urandom(32)))  # a forked worker draws ids of its own
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def new_request_id() -> str:
    """16 characters of base32 (a-z, 2-7): a uuid's hex can hold eleven digits in a row, which every log and
    trace scrubber rightly takes for an identity number, so the id meant to match them would be masked."""
    # From a generator seeded once per process by the OS (no system call per request), each random byte mapped to one
    # of the 32 letters in C (base64.b32encode is a Python loop, a few percent of a cached month read).
    return _IDS.randbytes(16).translate(_LETTERS).decode("ascii")


REQUEST_ID_HEADER = "x-request-id"


class Guard:
    """Outermost of our own layers: gives each request an id (echoed in `X-Request-ID`), refuses oversized
    bodies before any route runs, answers any unexpected error with a 500 OperationOutcome and one log line
    (no traceback: its frames hold request values), and logs each request with identity numbers masked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._threads_set = False

    def _set_threads(self) -> None:
        # Routes are sync and run in anyio's thread pool (40 threads by default). SQLite writers wait their
        # turn inside a thread, so a burst of bookings could hold every thread and starve the month reads:
        # more threads, each cheap while it waits. Set on the first request: the limiter is the event loop's.
        from anyio import to_thread

        to_thread.current_default_thread_limiter().total_tokens = THREADS
        self._threads_set = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._threads_set:
            self._set_threads()
        started = time.perf_counter()
        status = 500
        sent_start = False
        headers = dict(scope["headers"])
        # The caller's id when it is a sane token (a proxy's, or the app's trace), else a new one.
        incoming = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        scope.setdefault("state", {})["request_id"] = incoming if _REQUEST_ID.fullmatch(incoming) else new_request_id()
        rid = scope["state"]["request_id"]
        length = headers.get(b"content-length")
        # A caller whose timeout runs out while we work gets an answer it never reads: logged as 499, not as sent.
        departure = Departure(receive, body_expected=b"transfer-encoding" in headers or length not in (None, b"0"))

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent_start
            if message["type"] == "http.response.start":
                status = message["status"]
                sent_start = True
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                departure.answered = True
            await send(message)

        try:
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
                outcome = operation_outcome("too-long", f"The request body is larger than {MAX_BODY // 1024} KiB")
                await FhirResponse(outcome, status_code=413)(scope, departure.receive, send_wrapper)
            else:
                await self.app(scope, departure.receive, send_wrapper)
        except ClientDisconnect:
            # The caller gave up before its request was read (its timeout, a stopped server resumed): nobody to
            # answer and nothing done. Logged as nginx does (499), not as a server failure.
            status = 499
        except Exception as error:  # noqa: BLE001 - the last place an error can become an answer instead of a traceback
            error_log.error(
                "request %s: %s %s failed: %s",
                rid,
                scope["method"],
                logs.clean(scope["path"]),
                logs.where(error),
                extra=logs.request_fields(rid),
            )
            if not sent_start:
                outcome = operation_outcome(
                    "exception", f"The server failed to handle the request (request id {rid}); nothing was changed"
                )
                await FhirResponse(outcome, status_code=500)(scope, departure.receive, send_wrapper)
        finally:
            departure.close()
            took = time.perf_counter() - started
            # Gone before the answer: 499 as nginx logs it, and what it would have been (a booking may be made).
            unread = f"{status} unread" if departure.gone and status != 499 else None
            # The route's template (/fhir/Appointment/{id_}), never the path: an id in a label makes a series per id.
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.request_done(scope["method"], route, 499 if unread else status, took)
            if access_log.isEnabledFor(logging.INFO):
                # Decoded before scrubbing: "%20" or "+" before or inside a number would hide it from the mask.
                query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
                target = scope["path"] + (f"?{query}" if query else "")
                logs.access(access_log, rid, scope["method"], target, 499 if unread else status, took * 1000, unread)


RETRY_AFTER = 5  # seconds: about the database timeouts, after which a retry meets a database that answers or a fresh 503


_STORAGE_STATES = ("53100", "58030")  # PostgreSQL's disk_full and io_error


def storage_full(error: BaseException, db: Database) -> bool:
    """True when a write failed for want of room or a failing disk: SQLite's "database or disk is full" (SQLITE_FULL,
    also what a capped max_page_count says) or "disk I/O error", PostgreSQL's disk_full or io_error."""
    if not isinstance(error, DBAPIError):
        return False
    if getattr(error.orig, "sqlstate", None) in _STORAGE_STATES:
        return True
    text = str(error.orig).lower()
    return db.is_sqlite and ("database or disk is full" in text or "disk i/o error" in text)


def unavailable(error: BaseException, db: Database) -> bool:
    """True when a database error means the database did not answer (down, hanging, locked, out of connections),
    which a retry may cure: 503. Anything else is a defect: 500."""
    if isinstance(error, PoolTimeout):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    if db.is_sqlite:  # SQLite's OperationalError also means "no such table"; only these are the file's state
        text = str(error.orig).lower()
        return any(word in text for word in ("locked", "busy", "unable to open", "disk i/o"))
    return True  # PostgreSQL: connection refused or lost, statement or lock timeout, database gone


class Probe:
    """Whether the database answers, asked on a thread of its own so a hanging database cannot take the asker with it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="timebok-health")
        self._running: Future[None] | None = None

    async def answers(self, patience: float = 2.0) -> bool:
        if self._running is None or self._running.done():
            self._running = self._executor.submit(self.db.ping)  # one question at a time, however many ask
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._running)), patience)
        except Exception:  # noqa: BLE001 - a refused connection, a timeout: either way it does not answer
            return False
        return True

    async def revision(self, patience: float = 2.0) -> tuple[bool, str | None]:
        """(answered, the schema revision it is at), asked on the same single thread as `answers`."""
        asked = self._executor.submit(self.db.revision)
        try:
            return True, await asyncio.wait_for(asyncio.wrap_future(asked), patience)
        except Exception:  # noqa: BLE001 - as in answers: it does not answer
            return False, None


def create_app(
    db: Database,
    *,
    demo: bool = False,
    public_url: str | None = None,
    oidc: Verifier | None = None,
    static_tokens: bool | None = None,
) -> FastAPI:
    """The API over `db`; `demo` also accepts synthetic (Tenor) identity numbers; links are built on `public_url`
    (e.g. https://timebok.example.no), else on the address the server listens on. `oidc` verifies tokens from the
    trusted OpenID Connect issuers; static (database) tokens are accepted only on a demo (or when `static_tokens`)."""
    logs.install()
    probe = Probe(db)
    # The OpenAPI document is generated from the routes and the typed bodies (backend/bodies.py); no docs pages.
    app = FastAPI(
        title="timebok FHIR booking backend", version=version(), docs_url=None, redoc_url=None, openapi_url="/fhir/openapi.json"
    )
    app.state.db = db
    app.state.demo = demo
    app.state.oidc = oidc
    app.state.static_tokens = demo if static_tokens is None else static_tokens
    app.state.public_url = parse_public_url(public_url)
    # token lookups (and verified OpenID Connect tokens), remembered for a few seconds
    app.state.principals = Principals(db, verifier=oidc, static_tokens=app.state.static_tokens)
    app.state.slot_answers = AnswerCache()  # the month query's serialized answers, checked against the database's versions
    # The media type each answer is sent with, and the OperationOutcome every route may answer instead, in the schema.
    app.include_router(routes_directory.router, default_response_class=FhirResponse, responses=ERRORS_DOC)
    # Before the booking routes: GET /Appointment/$find must not be read as GET /Appointment/{id}.
    app.include_router(routes_ihe.router, default_response_class=FhirResponse, responses=ERRORS_DOC)
    app.include_router(routes_booking.router, default_response_class=FhirResponse, responses=ERRORS_DOC)
    app.include_router(routes_representation.router, default_response_class=FhirResponse, responses=ERRORS_DOC)
    app.include_router(routes_short_notice.router, default_response_class=FhirResponse, responses=ERRORS_DOC)
    app.include_router(routes_representation.support_router, default_response_class=FhirResponse, responses=ERRORS_DOC)
    app.state.published = routes_publish.PublishedCache()  # the SMART Scheduling Links files, kept while unchanged
    app.include_router(routes_publish.router, responses=ERRORS_DOC)
    app.include_router(routes_setup.router, default_response_class=routes_setup.SetupResponse, responses=ERRORS_DOC)
    app.include_router(routes_auth.router, default_response_class=FhirResponse, responses=ERRORS_DOC)
    app.include_router(routes_notices.router, default_response_class=routes_notices.NoticesResponse, responses=ERRORS_DOC)
    if demo:
        app.include_router(routes_auth.demo_router, default_response_class=FhirResponse, responses=ERRORS_DOC)

    @app.get(
        "/health",
        include_in_schema=True,
        response_class=FhirResponse,
        responses={
            503: {
                "description": "The database does not answer, or its storage is full (with Retry-After)",
                "content": {FHIR_JSON: {}},
            }
        },
    )
    async def health() -> FhirResponse:
        # Async, with its own thread and connection: it answers while every worker waits for a hanging database.
        answers = await probe.answers()
        body: dict[str, Any] = {
            "status": "ok" if answers else "unavailable",
            "database": "answers" if answers else "does not answer",
        }
        if db.storage_full:  # reads answer, writes do not: not ok until one commits again
            answers, body["status"], body["storage"] = False, "unavailable", "full"
        if oidc is not None:
            # An issuer that went away is no outage: tokens still verify on the cached keys until they rotate.
            # At most a second's wait: a hanging issuer must not hang /health (the refetch goes on in its thread).
            await asyncio.wait([asyncio.ensure_future(asyncio.to_thread(oidc.recheck))], timeout=1.0)
            body["issuers"] = oidc.health()
        return FhirResponse(
            body, status_code=200 if answers else 503, headers={} if answers else {"Retry-After": str(RETRY_AFTER)}
        )

    metrics_token = os.environ.get(metrics.TOKEN_ENV) or None

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        client = request.client.host if request.client else None
        if not metrics.allowed(client, dict(request.scope["headers"]), metrics_token):
            outcome = operation_outcome(
                "forbidden", f"/metrics answers callers on this machine, and others with the bearer token in {metrics.TOKEN_ENV}"
            )
            return FhirResponse(outcome, status_code=403)
        body, media_type = await asyncio.to_thread(metrics.scrape)  # reading N workers' files is file I/O
        return Response(body, media_type=media_type)

    # For operators and load balancers, not FHIR clients: kept out of the API's schema, like /metrics.
    @app.get("/ready", include_in_schema=False, response_class=FhirResponse)
    async def ready() -> FhirResponse:
        # For a load balancer: send traffic here only when the database answers and is migrated to this code's schema.
        answered, found = await probe.revision()
        wanted = head()
        body: dict[str, Any] = {
            "status": "ready" if answered and found == wanted else "not ready",
            "database": "answers" if answered else "does not answer",
            "schema": {"current": found, "expected": wanted},
            "version": version(),
        }
        ok = body["status"] == "ready"
        return FhirResponse(body, status_code=200 if ok else 503, headers={} if ok else {"Retry-After": str(RETRY_AFTER)})

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, error: Exception) -> FhirResponse:
        rid = request.scope.get("state", {}).get("request_id")
        if storage_full(error, db):
            db.storage_full = True  # until a write commits again; /health says so meanwhile
            error_log.error(
                "request %s: %s %s: the database's storage is full or failing (%s)",
                rid,
                request.method,
                logs.clean(request.url.path),
                logs.where(error),
                extra=logs.request_fields(rid),
            )
            outcome = operation_outcome(
                "transient", "The server's storage is full; nothing was changed. Try again later.", rule="storage-full"
            )
            return FhirResponse(outcome, status_code=503, headers={"Retry-After": str(RETRY_AFTER)})
        if not unavailable(error, db):
            raise error  # a defect, not an outage: Guard answers it as 500 with one log line
        if isinstance(error, PoolTimeout):
            metrics.POOL_TIMEOUTS.inc()
        error_log.warning(
            "request %s: %s %s: the database did not answer (%s)",
            rid,
            request.method,
            logs.clean(request.url.path),
            logs.where(error),
            extra=logs.request_fields(rid),
        )
        outcome = operation_outcome("transient", "The database did not answer in time; nothing was changed. Try again shortly.")
        return FhirResponse(outcome, status_code=503, headers={"Retry-After": str(RETRY_AFTER)})

    @app.exception_handler(FhirError)
    async def fhir_error(_request: Request, error: FhirError) -> FhirResponse:
        if error.rule is not None or error.status in (409, 412, 422):  # a rule said no, not a typo or a missing id
            metrics.refused(error.status, error.rule or error.code)
        return FhirResponse(
            operation_outcome(
                error.code, error.diagnostics, expression=error.expression, rule=error.rule, extension=error.extension
            ),
            status_code=error.status,
            headers=error.headers,
        )

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
        # FastAPI keeps the errors as plain dicts (its errors() takes no pydantic options): drop what the caller sent.
        problems = [{key: value for key, value in problem.items() if key not in ("input", "url")} for problem in error.errors()]
        return FhirResponse(operation_outcome("invalid", str(problems)), status_code=400)

    app.add_middleware(MonthReads, api=app)  # inside Guard: its id, log line and metrics count these reads too
    app.add_middleware(Guard)
    return app
