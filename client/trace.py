"""Records every request and response of a session, identity numbers masked, for the trace panel and export."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from domain.privacy import scrub


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


def masked_body(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    try:
        # Pretty-printed, so the panel and the exported file are readable.
        text = json.dumps(json.loads(text), ensure_ascii=False, indent=2) if text.strip() else ""
    except json.JSONDecodeError:
        pass
    return scrub(text)


class Trace:
    """The exchanges of one session, in order; listeners hear of each new one."""

    def __init__(self, limit: int = 2000) -> None:
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

    def export(self, path: Path) -> Path:
        """Write the session as JSON (for a support case) and return where it went."""
        payload = [
            {**asdict(exchange), "started": exchange.started.isoformat()} for exchange in self.exchanges
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
        return path
