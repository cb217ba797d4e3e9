"""Records every request and response of a session, identity numbers masked, for the trace panel and export."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from timebok.domain.privacy import scrub


@dataclass(frozen=True)
class Exchange:
    """One request and its response (or the failure instead of a response)."""

    started: datetime
    method: str
    path: str  # identity numbers masked
    status: int | None  # None when no response came
    duration_ms: float
    request_bytes: int
    response_bytes: int
    request_body: str  # masked
    response_body: str  # masked
    error: str | None = None
    # The headers that matter to a support case: If-Match / If-None-Match sent, ETag / Location answered.
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    request_id: str | None = None  # the backend's X-Request-ID, which it also writes in its own log line


# Headers kept in the trace (never Authorization or X-Support-Agent: those carry tokens).
REQUEST_HEADERS = ("if-match", "if-none-match", "content-type", "prefer")
RESPONSE_HEADERS = ("etag", "last-modified", "location", "content-type", "x-request-id")
SECRET = "***"


_SECRET_WORDS = ("token", "secret", "password", "authorization")


def _is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _redact(value: Any) -> Any:
    """The JSON with every token-like field's value hidden, whatever endpoint it came from (the demo users' list)."""
    if isinstance(value, dict):
        return {k: SECRET if _is_secret_key(k) and v not in (None, "") else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def masked_body(data: bytes, secrets: tuple[str, ...] = ()) -> str:
    """A body for the trace: identity numbers masked, tokens hidden, JSON pretty-printed.

    Every answer passes here on the UI's event loop, so it is kept quick (a day of 400 appointments, 600 KiB: 32 ms
    instead of 108): the numbers are masked in the compact text the server sent, which is less than half as long
    as the pretty one (the masks are the same: indentation never stands inside a number), orjson parses and
    indents, and the walk for token fields runs only when such a word is in the body at all."""
    text = scrub(data.decode("utf-8", errors="replace"))
    if not text.strip():
        return ""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return hide(text, secrets)
    if any(word in text.lower() for word in _SECRET_WORDS):
        value = _redact(value)
    # Pretty-printed, so the panel and the exported file are readable (the same text as json.dumps(indent=2)).
    return hide(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode(), secrets)


def hide(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with each of the session's own tokens replaced, wherever a server or a typo put them."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, SECRET)
    return text


class Trace:
    """The exchanges of one signed-in user's session, in order; listeners hear of each new one.

    A change of user starts a new Trace, so an export never holds another user's traffic.
    """

    def __init__(self, limit: int = 2000) -> None:
        self.header: dict[str, Any] = {}  # app version, backend, who is signed in and on whose behalf
        self.exchanges: list[Exchange] = []
        self._limit = limit
        self._listeners: list[Callable[[Exchange], None]] = []

    def subscribe(self, listener: Callable[[Exchange], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Exchange], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def __call__(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        del self.exchanges[: -self._limit]
        for listener in self._listeners:
            listener(exchange)

    def export(self, path: Path, exported: datetime) -> Path:
        """Write the session as JSON (for a support case), readable by its owner only, and return where it went."""
        payload = {
            "header": {**self.header, "exported": exported.isoformat()},
            "exchanges": [{**asdict(exchange), "started": exchange.started.isoformat()} for exchange in self.exchanges],
        }
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created 0600 from the first byte (not chmod after): it holds a citizen's data.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(json.dumps(payload, ensure_ascii=False, indent=2))
        return path
