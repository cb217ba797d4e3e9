"""HTTP plumbing shared by the routes: FHIR responses, the JSON body, paging links (their dependencies: deps.py)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

import orjson
from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response

from timebok.backend import bodies
from timebok.backend.bodies import Body
from timebok.backend.outcome import FHIR_JSON, FhirError, invalid
from timebok.backend.search import SearchParams

MAX_BODY = 64 * 1024
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json-patch+json")


class FhirResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        # orjson: the same compact UTF-8 as json.dumps(ensure_ascii=False, separators=(",", ":")), several times faster.
        return content if isinstance(content, bytes) else orjson.dumps(content)


async def raw_body(request: Request) -> bytes:
    """The request body, refused early when it is larger than any resource we accept."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise FhirError(413, "too-long", f"The request body is larger than {MAX_BODY // 1024} KiB")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _JSON_TYPES:
        raise FhirError(415, "not-supported", f"Send the body as application/fhir+json, not {content_type or 'no content type'}")
    data = await raw_body(request)
    if not data.strip():
        raise invalid("The request body is empty")
    try:
        body = json.loads(data, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise invalid(f"The body is not valid JSON: {error}") from None
    except RecursionError:  # "[[[[…" fits in 64 KiB yet nests deeper than the parser can go
        raise invalid("The body is not valid JSON: it nests too deeply") from None
    except ValueError:  # an integer of more than 4300 digits (Python's plain ValueError), NaN or Infinity
        raise invalid(
            "The body is not valid JSON: it holds a number this server cannot read "
            "(NaN, Infinity, or an integer of more than 4300 digits)"
        ) from None
    problem = _unstorable_text(body)
    if problem is not None:
        raise invalid(problem)
    return body


def _no_constant(name: str) -> Any:
    # Python reads NaN and Infinity, which JSON does not have.
    raise ValueError(f"{name} is not JSON")


NUL_REFUSED = "Text must not contain the NUL character (\\u0000)"
SURROGATE_REFUSED = "Text must not contain a lone UTF-16 surrogate (\\ud800-\\udfff); send whole characters"


def _unstorable_text(value: Any) -> str | None:
    """Why a string in parsed JSON cannot be stored, or None. "\\0": PostgreSQL cannot store it and SQLite
    would, so both refuse it alike; a lone surrogate ("\\ud800") is not a character either database can encode.
    A loop, not recursion: the parser accepts nesting deeper than we could recurse."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\0" in item:
                return NUL_REFUSED
            if not _encodable(item):
                return SURROGATE_REFUSED
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def typed_body(model: type[Body], root: str) -> Callable[[Request], Awaitable[Body]]:
    """A dependency: the JSON body parsed as `model`, a 400 naming the FHIR path of each wrong element."""

    async def dependency(request: Request) -> Body:
        body = await json_body(request)
        if not isinstance(body, dict) or body.get("resourceType") != root:
            raise invalid(f"The body must be an {root} resource")
        return bodies.parse(model, root, body)

    return dependency


_OUTCOME_SCHEMA = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {"resourceType": {"const": "OperationOutcome"}, "issue": {"type": "array", "minItems": 1}},
}
# OpenAPI for the errors every route answers with: an OperationOutcome, as application/fhir+json (a refused body or
# parameter is a 400 naming it, never FastAPI's 422). Given to each router with its `default_response_class`, so the
# schema's media types are the ones sent.
ERRORS_DOC: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "Refused: an OperationOutcome saying why (and, for a booking rule, which rule)",
        "content": {FHIR_JSON: {"schema": _OUTCOME_SCHEMA}},
    },
    "5XX": {
        "description": "Failed (500) or the database did not answer (503, with Retry-After): an OperationOutcome",
        "content": {FHIR_JSON: {"schema": _OUTCOME_SCHEMA}},
    },
}


def query_doc(*names: str) -> dict[str, Any]:
    """OpenAPI for a search's query parameters (read by hand through SearchParams, so FastAPI cannot see them)."""
    return {
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in (*names, "_count", "_offset")
        ]
    }


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a body parsed by hand (FHIR media types, our own errors): its schema, with every range it declares."""
    return {
        "requestBody": {
            "required": True,
            "content": {FHIR_JSON: {"schema": model.model_json_schema(by_alias=True)}},
        }
    }


def search_params(request: Request, allowed: set[str]) -> SearchParams:
    return SearchParams(list(request.query_params.multi_items()), allowed)


def fhir_base(request: Request) -> str:
    """The FHIR base for links (self, next, Location): the configured public URL, else the address the server
    listens on, never the request's Host header, which any client can set (`Host: evil.example`)."""
    public = cast(str | None, request.app.state.public_url)  # set once by create_app; Starlette types state as Any
    if public is None:
        scheme = request.scope.get("scheme", "http")
        host, port = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"[{host}]" if ":" in host else host
        public = f"{scheme}://{host}" + ("" if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f":{port}")
    return public + "/fhir"


def public_url(value: str | None) -> str | None:
    """A `--public-url` as the base links are built on (no trailing slash, no /fhir), or an error saying why not."""
    if value is None or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"the public URL must be like https://timebok.example.no, not {value!r}")
    path = parts.path.rstrip("/").removesuffix("/fhir")
    return f"{parts.scheme}://{parts.netloc}{path}"


def page_links(request: Request, offset: int, count: int, total: int) -> tuple[str, str | None]:
    """The self link and, when more matches follow, the next link."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("_offset", "_count")]
    base = f"{fhir_base(request)}/{request.url.path.rsplit('/', 1)[-1]}"
    self_url = f"{base}?{urlencode(kept + [('_count', count), ('_offset', offset)])}"
    if offset + count >= total:
        return self_url, None
    return self_url, f"{base}?{urlencode(kept + [('_count', count), ('_offset', offset + count)])}"


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'W/"{version}"'}


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not (text.isascii() and text.isdigit()):
        raise invalid(f'If-Match must be a version tag like W/"3", got {value!r}')
    return int(text)
