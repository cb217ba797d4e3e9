"""Conditional search reads: an ETag from a change counter, and 304 Not Modified for a client that holds it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response


def tag(version: int) -> str:
    return f'W/"{version}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks for GET)."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for item in if_none_match.split(","):
        item = item.strip()
        if item == "*" or item.removeprefix("W/") == wanted:
            return True
    return False


def not_modified(request: Request, etag: str) -> Response | None:
    """The 304 answer when the client already holds `etag`, else None."""
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return None
