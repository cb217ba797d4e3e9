"""The timing rules of e-mail and SMS (domain/notice_rules.py): the quiet night, the 45-minute floor, retries."""

from __future__ import annotations

from datetime import datetime, timedelta

from timebok.domain import notice_rules as rules
from timebok.domain.clock import OSLO


def oslo(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=OSLO)


def test_an_sms_at_night_waits_until_eight_in_oslo_also_across_the_dst_change():
    assert rules.after_quiet_hours(oslo("2026-11-25T22:30")) == oslo("2026-11-26T08:00")
    assert rules.after_quiet_hours(oslo("2026-11-26T07:59")) == oslo("2026-11-26T08:00")
    assert rules.after_quiet_hours(oslo("2026-11-26T08:00")) == oslo("2026-11-26T08:00")
    assert rules.after_quiet_hours(oslo("2026-11-26T20:59")) == oslo("2026-11-26T20:59")
    # The night the clocks go back (25 October 2026): 08:00 on the wall clock, in winter time (UTC+1) by then.
    morning = rules.after_quiet_hours(oslo("2026-10-24T23:00"))
    assert (morning.hour, morning.minute, morning.utcoffset()) == (8, 0, timedelta(hours=1))


def test_sms_plan_says_too_soon_or_quiet_hours_when_it_would_not_help():
    start = oslo("2026-11-26T08:30")
    assert rules.sms_plan(oslo("2026-11-26T07:50"), start) == (oslo("2026-11-26T08:00"), rules.TOO_SOON)
    assert rules.sms_plan(oslo("2026-11-25T22:00"), start) == (oslo("2026-11-26T08:00"), rules.QUIET_HOURS)
    later = oslo("2026-11-26T09:00")
    assert rules.sms_plan(oslo("2026-11-25T22:00"), later) == (oslo("2026-11-26T08:00"), None)
    assert rules.sms_plan(oslo("2026-11-26T10:00"), oslo("2026-11-26T10:45")) == (oslo("2026-11-26T10:00"), None)


def test_reminder_times_and_the_backoff():
    start = oslo("2026-12-03T08:00")
    assert rules.reminder_due(start, 48) == oslo("2026-12-01T08:00")
    assert rules.reminder_due(start, 0) is None
    assert [rules.retry_after(n) for n in (1, 2, 3)] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert rules.retry_after(20) == timedelta(hours=1)
    assert rules.still_useful("sms", start, start - timedelta(minutes=45))
    assert not rules.still_useful("sms", start, start - timedelta(minutes=44))
    assert rules.still_useful("email", start, start - timedelta(minutes=1)) and not rules.still_useful("email", start, start)


def test_an_offer_is_held_for_its_window_from_when_the_notice_can_go_and_never_past_the_time():
    start = datetime(2026, 12, 8, 13, 0, tzinfo=OSLO)
    by_day = datetime(2026, 12, 7, 10, 0, tzinfo=OSLO)
    assert rules.offer_held_until(by_day, 30, start) == by_day + timedelta(minutes=30)
    # Offered at 23:10: the SMS waits for 08:00, and so does the window (else it would run out while they sleep).
    at_night = datetime(2026, 12, 7, 23, 10, tzinfo=OSLO)
    assert rules.offer_held_until(at_night, 30, start) == datetime(2026, 12, 8, 8, 30, tzinfo=OSLO)
    # A time that begins within the window is held until it begins, no longer.
    soon = by_day + timedelta(minutes=20)
    assert rules.offer_held_until(by_day, 30, soon) == soon
