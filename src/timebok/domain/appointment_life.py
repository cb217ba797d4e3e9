"""The appointment's whole life: which status moves who may make, the cancel/change deadline, holds, answer time, lateness."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Final, Literal

from timebok.domain.clock import OSLO

Role = Literal["citizen", "staff"]
CITIZEN: Final = "citizen"
STAFF: Final = "staff"
BOTH: Final = frozenset({CITIZEN, STAFF})
ONLY_STAFF: Final = frozenset({STAFF})

# The one table of allowed moves: (from, to) → who may make it. Everything not here is an illegal transition.
# «proposed» is a hold (minutes while the user chooses); «pending» a request the office answers; «booked» a time;
# arrived / fulfilled / noshow are the desk's attendance marks, each with its undo (back to booked, or done → arrived).
TRANSITIONS: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("proposed", "pending"): BOTH,  # the hold becomes the request (a citizen's; staff may send one too)
    ("proposed", "booked"): ONLY_STAFF,  # the desk's hold becomes a booking at once
    ("proposed", "cancelled"): BOTH,  # the user went back: the hold is released
    ("pending", "booked"): ONLY_STAFF,  # the office confirms (AppointmentResponse accepted)
    ("pending", "cancelled"): BOTH,  # withdrawn by the patient (always allowed), rejected or closed unanswered
    ("booked", "cancelled"): BOTH,  # cancelled (a citizen only before the deadline)
    ("booked", "arrived"): ONLY_STAFF,
    ("booked", "fulfilled"): ONLY_STAFF,
    ("booked", "noshow"): ONLY_STAFF,  # only once the time has begun
    ("arrived", "fulfilled"): ONLY_STAFF,
    ("arrived", "booked"): ONLY_STAFF,  # undo «møtt»
    ("fulfilled", "arrived"): ONLY_STAFF,  # undo «ferdig» after «møtt»
    ("fulfilled", "booked"): ONLY_STAFF,  # undo «ferdig» marked straight from booked
    ("noshow", "booked"): ONLY_STAFF,  # undo «ikke møtt»
}

ATTENDANCE: Final = frozenset({"arrived", "fulfilled", "noshow"})
# The statuses in which an appointment still holds its time (a hold, a request, a booking or its attendance marks).
HOLDING: Final = frozenset({"proposed", "pending", "booked", "arrived", "fulfilled", "noshow"})

HOLD_MINUTES: Final = 5  # a setup's default: how long a time is held while the user chooses
HOLD_MINUTES_RANGE: Final = (1, 30)
DEADLINE_HOURS: Final = 0  # a setup's default: no deadline (the demo sets 24)
DEADLINE_HOURS_RANGE: Final = (0, 14 * 24)
ANSWER_DAYS: Final = 2  # a setup's default: working days the office has to answer a request
ANSWER_DAYS_RANGE: Final = (1, 20)
LATE_MINUTES: Final = 10  # past the start, not arrived: marked late
FRIDAY_NOON: Final = time(12, 0)

# Staff may cancel or change past the deadline with one of these reasons (audited). Our own short list: the
# Volven 8445 codes could not be checked here, so the system is the project's own (README «The appointment's whole life»).
OVERRIDE_SYSTEM: Final = "https://timebok.example/fhir/CodeSystem/deadline-override"
OVERRIDE_REASONS: Final[dict[str, str]] = {
    "sykdom": "Pasienten er syk",
    "akutt": "Akutt behov eller hendelse",
    "kontoret": "Kontoret må flytte timen",
    "annet": "Annen grunn, avtalt med pasienten",
}


def may_move(current: str, wanted: str, role: str) -> bool:
    """Whether `role` may move an appointment from `current` to `wanted` (the table above)."""
    return role in TRANSITIONS.get((current, wanted), frozenset())


def is_transition(current: str, wanted: str) -> bool:
    """Whether anyone may make this move."""
    return (current, wanted) in TRANSITIONS


def change_deadline(start: datetime, hours: int, monday_by_friday: bool) -> datetime | None:
    """The last moment a citizen may cancel or change a booked time starting at `start` (aware), or None when the
    timebook sets no deadline. With `monday_by_friday`, a Monday's time is due by the Friday before at 12:00 (Oslo),
    or earlier still when the hours say so."""
    candidates = []
    if hours > 0:
        candidates.append(start - timedelta(hours=hours))
    local = start.astimezone(OSLO)
    if monday_by_friday and local.weekday() == 0:
        friday = local.date() - timedelta(days=3)
        candidates.append(datetime.combine(friday, FRIDAY_NOON, tzinfo=OSLO))
    return min(candidates).astimezone(OSLO) if candidates else None  # Oslo time: how people read a deadline


def past_deadline(start: datetime, hours: int, monday_by_friday: bool, at: datetime) -> bool:
    deadline = change_deadline(start, hours, monday_by_friday)
    return deadline is not None and at > deadline


def hold_until(at: datetime, minutes: int) -> datetime:
    """When a hold made at `at` ends."""
    return at + timedelta(minutes=minutes)


def answer_due(created: datetime, working_days: int, is_holiday: Callable[[date], bool]) -> datetime:
    """When a request sent at `created` should have had its answer: the same clock time `working_days` working days
    later (weekends and the public holidays `is_holiday` names are skipped)."""
    local = created.astimezone(OSLO)
    day = local.date()
    left = working_days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and not is_holiday(day):
            left -= 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=OSLO)


def is_late(start: datetime, status: str, at: datetime) -> bool:
    """A booked patient not yet arrived 10 minutes after the start."""
    return status == "booked" and at >= start + timedelta(minutes=LATE_MINUTES)


# The wire (README «The appointment's whole life»): R5's replaces through its cross-version extension, and our own
# read-only extensions on an Appointment (and a Patient's no-show count, for staff).
REPLACES_URL: Final = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.replaces"
_OWN: Final = "https://timebok.example/fhir/StructureDefinition/"
DEADLINE_URL: Final = _OWN + "change-deadline"  # valueDateTime: a citizen cancels or changes until then
HOLD_URL: Final = _OWN + "hold-expires"  # valueInstant: a proposed Appointment's hold ends then
SHORT_NOTICE_OFFER_URL: Final = _OWN + "short-notice-offer"  # a waitlist wish: the hold offered for it
ANSWER_DUE_URL: Final = _OWN + "answer-due"  # valueDateTime: a pending request should be answered by then
OVERDUE_URL: Final = _OWN + "request-overdue"  # valueBoolean: the answer time has passed
LATE_URL: Final = _OWN + "late"  # valueBoolean: booked, 10 minutes past the start and not arrived
OVERRIDE_URL: Final = _OWN + "deadline-override"  # valueCoding (OVERRIDE_SYSTEM): staff past the deadline
NOSHOW_COUNT_URL: Final = _OWN + "noshow-count"  # valueUnsignedInt on a Patient read by staff
READ_ONLY_URLS: Final = frozenset({DEADLINE_URL, HOLD_URL, ANSWER_DUE_URL, OVERDUE_URL, LATE_URL})
# Why a time was cancelled, where FHIR's appointment-cancellation-reason has no code for it.
CANCEL_SYSTEM: Final = "https://timebok.example/fhir/CodeSystem/cancel-reason"
MOVED: Final = "moved"  # replaced by the new time of a change
UNANSWERED: Final = "unanswered"  # «Ikke besvart»: still pending when its time began
HOLD_ENDED: Final = "hold-ended"  # a hold released, or expired and taken by another
CHANGE_WITHDRAWN: Final = "change-withdrawn"  # a change whose old time was cancelled first
OWN_CANCEL_CODES: Final = frozenset({MOVED, UNANSWERED, HOLD_ENDED, CHANGE_WITHDRAWN})
