"""When an e-mail or SMS may go: reminder times, the SMS quiet night and the 45-minute floor, and retry backoff."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from timebok.domain.clock import OSLO

REMINDER_CHOICES = (0, 24, 48, 72)  # hours before the time; 0: no reminder
REMINDER_DEFAULT = 48  # as Helsenorge and the EPJs send them
# A freed time offered from the short-notice list is held this long for the one it is offered to (per timebook):
# long enough for an e-mail or SMS to reach them and be answered, short enough for the next in line to get a chance.
OFFER_MINUTES = 30
OFFER_MINUTES_RANGE = (10, 240)
# Appointment.extension, repeated: valueCode `notices` (no e-mail/SMS about this time) or `reminders` (no reminder).
OPT_OUT_URL = "https://timebok.example/fhir/StructureDefinition/notice-opt-out"
OPT_OUTS = ("notices", "reminders")
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)  # no SMS in this span (Oslo wall clock); they wait until 08:00
SMS_FLOOR = timedelta(minutes=45)  # no SMS about a time less than this far away (Pridok's rule)
MAX_ATTEMPTS = 8  # then «feilet»: about four hours of retries with the backoff below
_FIRST_RETRY, _LONGEST_RETRY = timedelta(seconds=30), timedelta(hours=1)

# Why a message was skipped (hoppet over): stored codes, worded by the app.
QUIET_HOURS = "quiet-hours"  # stilletid: waiting until 08:00 would bring it too close to the time
OPTED_OUT = "opted-out"  # reservert: the patient turned these off for this appointment
TOO_SOON = "too-soon"  # for kort tid: the time is too close (or past) for this message to help
CANCELLED = "cancelled"  # the time was cancelled or changed before its reminder was due
NO_CHANNEL = "no-channel"  # this server has no e-mail or SMS set up
REASONS = (QUIET_HOURS, OPTED_OUT, TOO_SOON, CANCELLED, NO_CHANNEL)


def reminder_due(start: datetime, hours: int) -> datetime | None:
    """When the reminder of a time starting at `start` goes, or None when the timebook sends none."""
    return start - timedelta(hours=hours) if hours else None


def in_quiet_hours(moment: datetime) -> bool:
    local = moment.astimezone(OSLO).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def after_quiet_hours(moment: datetime) -> datetime:
    """`moment`, or the next 08:00 in Oslo when it falls in the quiet night (DST-safe: built from the wall clock)."""
    if not in_quiet_hours(moment):
        return moment
    local = moment.astimezone(OSLO)
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=OSLO)


def offer_held_until(moment: datetime, minutes: int, start: datetime) -> datetime:
    """Until when a time offered at `moment` is held: the window counted from when the notice can go (an offer made
    at night waits for 08:00 with its SMS, so the window starts then), and never past the time's own start."""
    return min(after_quiet_hours(moment) + timedelta(minutes=minutes), start)


def sms_plan(due: datetime, start: datetime | None) -> tuple[datetime, str | None]:
    """When an SMS due at `due` about a time at `start` goes, and why it is skipped instead (None: it goes)."""
    at = after_quiet_hours(due)
    if start is None:
        return at, None
    if start - due < SMS_FLOOR:
        return at, TOO_SOON
    if start - at < SMS_FLOOR:
        return at, QUIET_HOURS  # it would have gone in time, but not at night
    return at, None


def still_useful(channel: str, start: datetime | None, moment: datetime) -> bool:
    """Checked again as it goes (after retries): an SMS needs 45 minutes to spare, an e-mail a time not yet begun."""
    if start is None:
        return True
    return start - moment >= SMS_FLOOR if channel == "sms" else start > moment


def retry_after(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 30 s, 1 min, 2 min, … at most an hour."""
    wait: timedelta = _FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(wait, _LONGEST_RETRY)
