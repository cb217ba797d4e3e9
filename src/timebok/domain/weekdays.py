"""The weekdays as FHIR's daysOfWeek codes, Monday first: the week as a Norwegian office plans it."""

from __future__ import annotations

from typing import Literal

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKDAYS: tuple[Weekday, ...] = WEEKDAYS[:5]  # a new timebook's pattern starts on these


def in_week_order(days: set[str] | list[str]) -> list[str]:
    """Day codes sorted Monday first, each once."""
    return sorted(set(days), key=WEEKDAYS.index)
