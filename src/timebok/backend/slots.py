"""Generates a timebook's slots from its opening hours, skipping weekends, public holidays and closure days."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from timebok.domain.clock import OSLO


@dataclass(frozen=True)
class OpeningHours:
    """When a timebook takes bookings: daily periods and the length of one slot."""

    periods: tuple[tuple[time, time], ...]
    minutes: int
    weekdays: frozenset[int] = frozenset(range(5))  # Monday=0; weekends are never open


@lru_cache(maxsize=8)
def _public_holidays(year: int) -> frozenset[date]:
    import holidays

    # The Norway calendar counts every Sunday as a holiday by default; weekends are skipped anyway.
    return frozenset(holidays.country_holidays("NO", years=year, include_sundays=False))


def is_public_holiday(day: date) -> bool:
    return day in _public_holidays(day.year)


def open_days(first: date, last: date, hours: OpeningHours, closed: Iterable[date] = ()) -> Iterator[date]:
    """Every day from `first` to `last` (inclusive) the timebook is open."""
    closed = set(closed)
    day = first
    while day <= last:
        if day.weekday() < 5 and day.weekday() in hours.weekdays and not is_public_holiday(day) and day not in closed:
            yield day
        day += timedelta(days=1)


def slot_times(day: date, hours: OpeningHours) -> Iterator[tuple[datetime, datetime]]:
    """The (start, end) of each slot on one day, as aware Oslo times."""
    step = timedelta(minutes=hours.minutes)
    for opens, closes in hours.periods:
        start = datetime.combine(day, opens, tzinfo=OSLO)
        end_of_period = datetime.combine(day, closes, tzinfo=OSLO)
        while start + step <= end_of_period:
            yield start, start + step
            start += step
