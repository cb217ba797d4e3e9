"""Reads FHIR search parameters strictly (unknown names, bad dates and bad references are errors) and turns date bounds into conditions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, SQLColumnExpression

from timebok.backend.fhir import parse_id, to_storage
from timebok.backend.outcome import invalid
from timebok.domain.clock import parse_instant

# Parameters every search accepts; _format is harmless and some FHIR clients always send it.
_COMMON = {"_count", "_offset", "_format"}


@dataclass(frozen=True)
class Bound:
    at: datetime
    inclusive: bool


class SearchParams:
    """The query of one search, checked against the parameters that search supports."""

    def __init__(self, items: list[tuple[str, str]], allowed: set[str]) -> None:
        if any("\0" in name or "\0" in value for name, value in items):
            # PostgreSQL cannot compare against text holding NUL, so no database is asked.
            raise invalid("Search parameters must not contain the NUL character (%00)")
        unknown = sorted({name for name, _ in items if name not in allowed | _COMMON})
        if unknown:
            raise invalid(f"Unknown search parameter(s): {', '.join(unknown)}; supported: {', '.join(sorted(allowed))}")
        self._items = items

    def all(self, name: str) -> list[str]:
        return [value for key, value in self._items if key == name]

    def one(self, name: str) -> str | None:
        values = self.all(name)
        if len(values) > 1:
            raise invalid(f"Search parameter {name} may be given only once")
        return values[0] if values else None

    def reference(self, name: str, resource_type: str) -> int | None:
        """The id in `Type/id` (or a bare id); a malformed one is an error."""
        value = self.one(name)
        if value is None:
            return None
        type_, slash, id_ = value.rpartition("/")
        row_id = parse_id(id_)
        if (slash and type_ != resource_type) or row_id is None:
            raise invalid(f"{name} must be a reference like {resource_type}/123, got {value!r}")
        return row_id

    def boolean(self, name: str) -> bool | None:
        value = self.one(name)
        if value is None:
            return None
        if value not in ("true", "false"):
            raise invalid(f"{name} must be true or false, got {value!r}")
        return value == "true"

    def count(self, default: int, maximum: int) -> int:
        # FHIR lets a server return fewer than asked for: a large _count is capped, not refused.
        return min(self._integer("_count", default, 1, 10_000_000), maximum)

    def offset(self) -> int:
        return self._integer("_offset", 0, 0, 10_000_000)

    def _integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.one(name)
        if value is None:
            return default
        if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
            raise invalid(f"{name} must be a whole number from {low} to {high}, got {value!r}")
        return int(value)

    def date_bounds(self, name: str) -> tuple[Bound | None, Bound | None]:
        """Lower and upper bounds from `ge`/`gt`/`le`/`lt`/`eq` prefixed dates (Oslo time when no offset)."""
        lower: Bound | None = None
        upper: Bound | None = None
        for raw in self.all(name):
            prefix, text = (raw[:2], raw[2:]) if raw[:2] in ("ge", "gt", "le", "lt", "eq") else ("eq", raw)
            date_only = len(text.strip()) == 10
            try:
                at = parse_instant(text)
                end_of_day = at + timedelta(days=1) if date_only else at
                # The tables keep UTC, which the edges of year 1 and year 9999 overflow.
                at.astimezone(UTC), end_of_day.astimezone(UTC)
            except (ValueError, OverflowError):
                raise invalid(f"{name} must be a date or date-time like ge2026-12-01, got {raw!r}") from None
            if prefix == "ge":
                lower = Bound(at, True)
            elif prefix == "gt":
                lower = Bound(end_of_day, True) if date_only else Bound(at, False)
            elif prefix == "lt":
                upper = Bound(at, False)
            elif prefix == "le":
                upper = Bound(end_of_day, False) if date_only else Bound(at, True)
            else:
                lower, upper = Bound(at, True), Bound(end_of_day, not date_only)
        return lower, upper


def between(column: SQLColumnExpression[datetime], lower: Bound | None, upper: Bound | None) -> list[ColumnElement[bool]]:
    """The SQL conditions that keep `column` (a stored instant) within `date_bounds`; none for an open side."""
    conditions: list[ColumnElement[bool]] = []
    if lower is not None:
        at = to_storage(lower.at)
        conditions.append(column >= at if lower.inclusive else column > at)
    if upper is not None:
        at = to_storage(upper.at)
        conditions.append(column <= at if upper.inclusive else column < at)
    return conditions
