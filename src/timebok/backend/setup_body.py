"""The office's timebook setup as a client sends it, and its rules (each problem names the field at fault)."""

from __future__ import annotations

from datetime import date, time
from typing import Any, Literal

from pydantic import Field

from timebok.backend import ids
from timebok.backend.bodies import _Element
from timebok.backend.outcome import FhirError, at_fault
from timebok.domain.appointment_life import (
    ANSWER_DAYS,
    ANSWER_DAYS_RANGE,
    DEADLINE_HOURS,
    DEADLINE_HOURS_RANGE,
    HOLD_MINUTES,
    HOLD_MINUTES_RANGE,
)
from timebok.domain.notice_rules import OFFER_MINUTES, OFFER_MINUTES_RANGE
from timebok.domain.setup_limits import HORIZON_DAYS, LEAD_MINUTES, PARALLEL, SLOT_MINUTES
from timebok.domain.timetypes import TIMETYPES

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # FHIR's daysOfWeek codes, Monday first
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class TimeRange(_Element):
    """One or more weekdays open from `start` to `end` (local time, "HH:MM")."""

    days: list[Day] = Field(max_length=7)
    start: str = Field(pattern=_CLOCK)
    end: str = Field(pattern=_CLOCK)


class CampaignBody(_Element):
    id: str | None = Field(default=None, max_length=20)
    name: str = Field(min_length=1, max_length=200)
    first: str = Field(max_length=10)
    last: str = Field(max_length=10)
    slotMinutes: int | None = Field(default=None, ge=SLOT_MINUTES[0], le=SLOT_MINUTES[1])  # none: the timebook's
    weekly: list[TimeRange] = Field(max_length=20)


class TimebookBody(_Element):
    id: str | None = Field(default=None, max_length=20)
    type: str = Field(max_length=40)
    location: str = Field(max_length=40)  # "Location/3"
    name: str = Field(min_length=1, max_length=200)
    active: bool = True
    slotMinutes: int = Field(ge=SLOT_MINUTES[0], le=SLOT_MINUTES[1])
    parallel: int = Field(default=1, ge=PARALLEL[0], le=PARALLEL[1])
    horizonDays: int = Field(default=42, ge=HORIZON_DAYS[0], le=HORIZON_DAYS[1])  # how far ahead free times are published
    leadMinutes: int = Field(default=120, ge=LEAD_MINUTES[0], le=LEAD_MINUTES[1])
    # Hours before a booked time that its e-mail/SMS reminder goes; 0 for none (domain.notice_rules.REMINDER_CHOICES).
    reminderHours: Literal[0, 24, 48, 72] = 48
    # Minutes a freed time offered from the short-notice list is held for the one it is offered to.
    offerMinutes: int = Field(default=OFFER_MINUTES, ge=OFFER_MINUTES_RANGE[0], le=OFFER_MINUTES_RANGE[1])
    # The appointment's life (README «The appointment's whole life»); the defaults keep an older setup working.
    holdMinutes: int = Field(default=HOLD_MINUTES, ge=HOLD_MINUTES_RANGE[0], le=HOLD_MINUTES_RANGE[1])
    deadlineHours: int = Field(default=DEADLINE_HOURS, ge=DEADLINE_HOURS_RANGE[0], le=DEADLINE_HOURS_RANGE[1])
    mondayByFriday: bool = False  # Monday's times must be cancelled or changed by Friday 12:00
    answerDays: int = Field(default=ANSWER_DAYS, ge=ANSWER_DAYS_RANGE[0], le=ANSWER_DAYS_RANGE[1])
    weekly: list[TimeRange] = Field(max_length=20)
    campaigns: list[CampaignBody] = Field(default_factory=list, max_length=20)
    ahead: dict[str, Any] | None = None  # read-only, sent back as read


class ServiceBody(_Element):
    type: str = Field(max_length=40)
    active: bool


class ClosureBody(_Element):
    id: str | None = Field(default=None, max_length=20)
    day: str = Field(max_length=10)
    start: str | None = Field(default=None, pattern=_CLOCK)
    end: str | None = Field(default=None, pattern=_CLOCK)
    reason: str = Field(min_length=1, max_length=200)
    timebook: str | None = Field(default=None, max_length=40)  # "Schedule/5", or the whole office


class SetupBody(_Element):
    """PUT /setup/Organization/{id}: the whole setup; timebooks and closures without an id are new, and
    what the stored setup has but the body leaves out is removed (a timebook is switched off, never deleted)."""

    resourceType: Literal["TimebookSetup"] = "TimebookSetup"
    organization: str | None = Field(default=None, max_length=40)  # read-only, as read
    name: str | None = Field(default=None, max_length=200)  # read-only, as read
    services: list[ServiceBody] = Field(default_factory=list, max_length=10)
    timebooks: list[TimebookBody] = Field(default_factory=list, max_length=50)
    closures: list[ClosureBody] = Field(default_factory=list, max_length=500)
    locations: list[dict[str, Any]] | None = Field(default=None, max_length=50)  # read-only, sent back as read
    version: str | None = Field(default=None, max_length=40)  # read-only, as read; the check is the If-Match header


def _problem(path: str, text: str) -> FhirError:
    return at_fault(path, text, rule="setup")


def clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def parse_day(text: str, path: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _problem(path, "must be a date (YYYY-MM-DD)") from None


def check_pattern(ranges: list[TimeRange], slot_minutes: int, path: str) -> None:
    """Every range: a weekday, end after start, a whole number of slots; no two ranges overlap on a day."""
    by_day: dict[str, list[tuple[int, int, int]]] = {}
    for index, item in enumerate(ranges):
        here = f"{path}[{index}]"
        if not item.days:
            raise _problem(f"{here}.days", "the pattern has no weekday")
        start, end = minutes(clock(item.start)), minutes(clock(item.end))
        if end <= start:
            raise _problem(f"{here}.end", f"ends at {item.end}, not after it starts at {item.start}")
        if (end - start) % slot_minutes:
            raise _problem(f"{here}.end", f"{item.start}–{item.end} is not a whole number of {slot_minutes}-minute times")
        for day in item.days:
            for other_start, other_end, other in by_day.get(day, []):
                if start < other_end and other_start < end:
                    raise _problem(f"{here}.start", f"overlaps {path}[{other}] on {day}")
            by_day.setdefault(day, []).append((start, end, index))


def check(body: SetupBody, today: date, known_closures: set[int]) -> None:
    """The rules beyond types and ranges (the body's fields declare those); the first problem found, naming its field (Setup.timebooks[0].weekly[1].end)."""
    for index, service in enumerate(body.services):
        if service.type not in TIMETYPES:
            raise _problem(f"Setup.services[{index}].type", f"must be one of {sorted(TIMETYPES)}")
    for index, book in enumerate(body.timebooks):
        here = f"Setup.timebooks[{index}]"
        if book.type not in TIMETYPES:
            raise _problem(f"{here}.type", f"must be one of {sorted(TIMETYPES)}")
        if book.active and not book.weekly and not book.campaigns:
            raise _problem(f"{here}.weekly", "an open timebook needs a weekly pattern or a campaign")
        check_pattern(book.weekly, book.slotMinutes, f"{here}.weekly")
        for number, campaign in enumerate(book.campaigns):
            there = f"{here}.campaigns[{number}]"
            first, last = parse_day(campaign.first, f"{there}.first"), parse_day(campaign.last, f"{there}.last")
            if last < first:
                raise _problem(f"{there}.last", f"ends {campaign.last}, before it starts {campaign.first}")
            length = campaign.slotMinutes or book.slotMinutes
            if not campaign.weekly:
                raise _problem(f"{there}.weekly", "the campaign has no weekly pattern")
            check_pattern(campaign.weekly, length, f"{there}.weekly")
    for index, closure in enumerate(body.closures):
        here = f"Setup.closures[{index}]"
        day = parse_day(closure.day, f"{here}.day")
        is_new = closure.id is None or ids.row_id(closure.id, f"{here}.id") not in known_closures
        if is_new and day < today:
            raise _problem(f"{here}.day", f"{closure.day} is in the past")
        if (closure.start is None) != (closure.end is None):
            raise _problem(f"{here}.end" if closure.end is None else f"{here}.start", "a part of a day needs both start and end")
        if closure.start is not None and closure.end is not None and minutes(clock(closure.end)) <= minutes(clock(closure.start)):
            raise _problem(f"{here}.end", f"ends at {closure.end}, not after it starts at {closure.start}")
