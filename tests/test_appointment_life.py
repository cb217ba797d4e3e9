"""The appointment's life rules in domain/: who may move which status, the deadline, answer time, lateness."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from timebok.backend.slots import is_public_holiday
from timebok.domain.appointment_life import (
    TRANSITIONS,
    answer_due,
    change_deadline,
    hold_until,
    is_late,
    may_move,
    past_deadline,
)
from timebok.domain.clock import OSLO


def oslo(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=OSLO)


@pytest.mark.parametrize(
    ("current", "wanted", "citizen", "staff"),
    [
        ("proposed", "pending", True, True),
        ("proposed", "booked", False, True),
        ("pending", "booked", False, True),
        ("booked", "cancelled", True, True),
        ("booked", "arrived", False, True),
        ("arrived", "booked", False, True),
        ("noshow", "booked", False, True),
        ("fulfilled", "arrived", False, True),
        ("cancelled", "booked", False, False),
        ("noshow", "fulfilled", False, False),
        ("pending", "arrived", False, False),
    ],
)
def test_the_table_says_who_may_make_each_move(current, wanted, citizen, staff):
    assert may_move(current, wanted, "citizen") is citizen
    assert may_move(current, wanted, "staff") is staff


def test_a_citizen_makes_no_attendance_mark():
    assert not any("citizen" in who for (_, to), who in TRANSITIONS.items() if to in ("arrived", "fulfilled", "noshow"))


def test_the_deadline_is_hours_before_the_start():
    start = oslo(2026, 12, 3, 10, 0)  # a Thursday
    assert change_deadline(start, 24, False) == oslo(2026, 12, 2, 10, 0)
    assert change_deadline(start, 24, True) == oslo(2026, 12, 2, 10, 0)  # not a Monday: the rule does not apply
    assert change_deadline(start, 0, False) is None
    assert past_deadline(start, 24, False, oslo(2026, 12, 2, 10, 1))
    assert not past_deadline(start, 24, False, oslo(2026, 12, 2, 9, 59))


def test_mondays_times_are_due_by_friday_noon():
    monday = oslo(2026, 12, 7, 8, 15)
    assert change_deadline(monday, 24, True) == oslo(2026, 12, 4, 12, 0)
    assert change_deadline(monday, 0, True) == oslo(2026, 12, 4, 12, 0)
    assert change_deadline(monday, 24, False) == oslo(2026, 12, 6, 8, 15)
    assert change_deadline(monday, 96, True) == oslo(2026, 12, 3, 8, 15)  # the hours say earlier still


def test_a_hold_lasts_its_minutes():
    assert hold_until(oslo(2026, 11, 25, 9, 0), 5) == oslo(2026, 11, 25, 9, 5)


def test_the_answer_time_counts_working_days_only():
    assert answer_due(oslo(2026, 11, 25, 9, 0), 2, is_public_holiday) == oslo(2026, 11, 27, 9, 0)  # Wed → Fri
    assert answer_due(oslo(2026, 11, 27, 15, 0), 2, is_public_holiday) == oslo(2026, 12, 1, 15, 0)  # Fri → Tue
    # Christmas: 24 Dec is a Thursday, 25 and 26 Dec are holidays, then the weekend.
    assert answer_due(oslo(2026, 12, 24, 9, 0), 1, is_public_holiday) == oslo(2026, 12, 28, 9, 0)
    assert is_public_holiday(date(2026, 12, 25))


def test_late_is_ten_minutes_past_the_start_and_not_arrived():
    start = oslo(2026, 11, 25, 9, 0)
    assert not is_late(start, "booked", oslo(2026, 11, 25, 9, 9))
    assert is_late(start, "booked", oslo(2026, 11, 25, 9, 10))
    assert not is_late(start, "arrived", oslo(2026, 11, 25, 9, 30))
