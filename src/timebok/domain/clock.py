"""The one clock of a process: real time, or the fixed instant in TIMEBOK_NOW."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")

_override: datetime | None = None


def parse_instant(text: str) -> datetime:
    """Read an ISO date or date-time; one without an offset is Oslo local time."""
    text = text.strip()
    if len(text) == 10:
        text += "T00:00:00"
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=OSLO)
    return value


def set_now(value: datetime | str | None) -> None:
    """Freeze the clock at an instant (tests, demos), or unfreeze it with None."""
    global _override
    _override = parse_instant(value) if isinstance(value, str) else value


def now() -> datetime:
    """The current instant as an aware datetime in Europe/Oslo."""
    if _override is not None:
        return _override.astimezone(OSLO)
    env = os.environ.get("TIMEBOK_NOW")
    if env:
        # Frozen, not ticking: snapshots and seeds must not depend on how long start-up took.
        return parse_instant(env).astimezone(OSLO)
    return datetime.now(UTC).astimezone(OSLO)


def today() -> date:
    """Today's date in Oslo."""
    return now().date()
