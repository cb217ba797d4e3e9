"""SMART Scheduling Links over HTTP: the public `$bulk-publish` manifest and its NDJSON files, with ETag and 304."""

from __future__ import annotations

import os
import threading
from datetime import datetime

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from timebok.backend import conditional, publish
from timebok.backend.db import Database
from timebok.backend.deps import DatabaseDep
from timebok.backend.http import fhir_base
from timebok.backend.outcome import not_found
from timebok.domain.clock import now

router = APIRouter(prefix="/fhir")


class NdjsonResponse(Response):
    media_type = publish.NDJSON


# Finders poll every minute or few; a file is regenerated only when a timebook changed or a minute has passed
# (times slide into the lead time as the clock moves), and keeps its tag and transactionTime while it reads the same.
_CACHE_CONTROL = {"Cache-Control": "public, max-age=60"}
BOOKING_LINK_ENV = "TIMEBOK_BOOKING_LINK"


class PublishedCache:
    """The last published set per base URL, with the fingerprint and minute it was made for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[tuple[int, int, int], datetime, publish.Published]] = {}

    def current(self, db: Database, base: str) -> publish.Published:
        minute = now().replace(second=0, microsecond=0)
        with db.reading() as session:
            mark = publish.fingerprint(session)
            with self._lock:
                kept = self._kept.get(base)
            if kept is not None and kept[0] == mark and kept[1] == minute:
                return kept[2]
            fresh = publish.render(session, base, os.environ.get(BOOKING_LINK_ENV))
        with self._lock:
            kept = self._kept.get(base)
            if kept is not None and kept[2].tag == fresh.tag:
                fresh = kept[2]  # the same content: the same tag and the time it was first published
            self._kept[base] = (mark, minute, fresh)
        return fresh


def _cache(request: Request) -> PublishedCache:
    cache: PublishedCache = request.app.state.published
    return cache


@router.get("/$bulk-publish", responses={200: {"content": {"application/json": {}}, "description": "The manifest"}})
def bulk_publish(request: Request, db: DatabaseDep) -> Response:
    # Public on purpose (SMART: "open, publicly accessible endpoints"): places, timebooks and free times only.
    base = fhir_base(request)
    published = _cache(request).current(db, base)
    headers = {"ETag": published.tag} | _CACHE_CONTROL
    if conditional.matches(request.headers.get("if-none-match"), published.tag):
        return Response(status_code=304, headers=headers)
    return Response(orjson.dumps(publish.manifest(published, base)), media_type="application/json", headers=headers)


@router.get(
    "/$bulk-publish/{name}",
    response_class=NdjsonResponse,
    responses={200: {"content": {publish.NDJSON: {}}, "description": "One NDJSON file"}},
)
def bulk_file(name: str, request: Request, db: DatabaseDep) -> Response:
    published = _cache(request).current(db, fhir_base(request))
    body = published.files.get(name)
    if body is None:
        raise not_found(f"$bulk-publish/{name}")
    tag = f'"{publish.file_tag(body)}"'
    headers = {"ETag": tag} | _CACHE_CONTROL
    if conditional.matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=publish.NDJSON, headers=headers)
