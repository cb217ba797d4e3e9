"""The domain models the client hands to the app: typed, immutable, no FHIR JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum

from timebok.domain.identity import IdKind, InvalidIdentityNumber, mask, parse_identity_number


@dataclass(frozen=True)
class Office:
    """A GP office (legekontor)."""

    id: str
    name: str
    her_id: str | None = None
    orgnr: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Place:
    """An attendance place (oppmøtested): where the patient goes."""

    id: str
    name: str
    address: str
    postal_code: str
    city: str
    directions: str

    @property
    def full_address(self) -> str:
        return f"{self.address}, {self.postal_code} {self.city}".strip(", ")


@dataclass(frozen=True)
class TimeType:
    """A time type an office offers (Koronatest, Koronavaksine, Lab, Vaksine)."""

    id: str
    code: str
    office_id: str


@dataclass(frozen=True)
class Timebook:
    """A ressurstimebok for one time type at one attendance place."""

    id: str
    name: str
    time_type_code: str
    place: Place
    lead_minutes: int = 120  # citizens cannot book a time that starts sooner than this
    service_id: str = ""  # its HealthcareService (a short-notice wish names the timebook by it and the place)


@dataclass(frozen=True)
class Slot:
    """A free time in a timebook."""

    id: str
    timebook_id: str
    start: datetime
    end: datetime
    held_until: datetime | None = None  # a time someone else holds while choosing (`held_times`), until then

    @property
    def day(self) -> date:
        return self.start.date()


@dataclass(frozen=True)
class Patient:
    """A citizen; the identity number is kept whole but shown masked."""

    id: str
    given: str
    family: str
    birth_date: date | None
    identity_number: str
    office_id: str | None = None
    noshow_count: int | None = None  # no-shows at the reading office; read by staff only
    # Where the office's e-mails and SMS reach them (Patient.telecom): shown to staff on the patient's page only.
    email: str | None = None
    mobile: str | None = None

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}".strip()

    @property
    def masked_number(self) -> str:
        return mask(self.identity_number)

    @property
    def has_d_number(self) -> bool:
        """A D-nummer (day + 40), which the front desk must see labelled as one."""
        try:
            return parse_identity_number(self.identity_number, allow_synthetic=True).kind is IdKind.D_NUMMER
        except InvalidIdentityNumber:
            return False

    def __repr__(self) -> str:  # never let the whole number slip into a log or a traceback
        return f"Patient(id={self.id!r}, name={self.name!r}, identity_number={self.masked_number!r})"


@dataclass(frozen=True)
class Represented:
    """Someone the signed-in citizen may act for, as the backend decided from the register (GET /fhir/Patient)."""

    patient: Patient
    relation: str  # "parent" or "fullmakt"
    access: str  # "write": book, cancel and read; "read": see their times only
    rule: str  # the rule that decided («child-under-12», «child-12-16», «fullmakt-health»)

    @property
    def may_book(self) -> bool:
        return self.access == "write"


@dataclass(frozen=True)
class RepresentationReason:
    """For support: one person the register ties to the citizen, what they may do for them and the rule that decided."""

    name: str
    age: int
    relation: str
    access: str  # "write", "read" or "none"
    rule: str


class AppointmentState(Enum):
    """What became of a booking request, as a person would say it."""

    WAITING = "waiting"  # sent, the office has not answered
    HELD = "held"  # a hold: kept for this user for a few minutes while they choose (`hold_expires`)
    CONFIRMED = "confirmed"
    ARRIVED = "arrived"  # the desk marked the patient «møtt»
    DONE = "done"  # «ferdig»
    NO_SHOW = "no_show"  # «ikke møtt»
    REJECTED = "rejected"  # the office said no
    CANCELLED = "cancelled"  # cancelled by the patient (or by the office on their behalf)
    MOVED = "moved"  # replaced by the new time of a change
    UNANSWERED = "unanswered"  # «Ikke besvart»: still waiting when its time began, so closed


@dataclass(frozen=True)
class Appointment:
    """A booking request or appointment, with the place and office filled in where known."""

    id: str
    version: int
    state: AppointmentState
    start: datetime
    end: datetime
    time_type_code: str
    patient_id: str
    office_id: str
    place_id: str | None
    reason: str | None = None
    office_reason: str | None = None  # why the office rejected it, in their words
    created: datetime | None = None
    place: Place | None = None
    office: Office | None = None
    patient: Patient | None = None
    representative: str | None = None  # the name of whoever booked it on the patient's behalf (a parent, a fullmakt)
    # The appointment's life (README «The appointment's whole life»).
    status: str = ""  # the FHIR status as sent (pending, proposed, booked, arrived, fulfilled, noshow, cancelled)
    replaces_id: str | None = None  # a change: the Appointment this new time replaces
    deadline: datetime | None = None  # a booked time: a citizen cancels or changes it until then; None: any time
    hold_expires: datetime | None = None  # a hold: kept for this user until then
    answer_due: datetime | None = None  # a request: the office should have answered by then
    overdue: bool = False  # a request past its answer time (the queue marks and sorts these first)
    late: bool = False  # booked, 10 minutes past the start and not marked arrived
    cancel_code: str | None = None  # why it was cancelled (prov, pat-cpp, moved, unanswered, hold-ended, …)
    no_notices: bool = False  # the patient turned off e-mail/SMS notices about this time (the inbox stays)
    no_reminders: bool = False  # … or only its reminder
    slot_id: str | None = None  # the time in its timebook

    def is_upcoming(self, now: datetime) -> bool:
        return self.end > now

    def past_deadline(self, at: datetime) -> bool:
        """Whether a citizen may no longer cancel or change it (they call the office instead)."""
        return self.deadline is not None and at > self.deadline


@dataclass(frozen=True)
class ShortNoticeWish:
    """«Kan komme på kort varsel»: the patient would take an earlier time of this type at this place (a `waitlist`
    Appointment). While it is on the list a freed time may be offered to them: `offer_id` is that hold."""

    id: str  # waitlist-N
    patient_id: str
    time_type_code: str
    service_id: str  # the time type's HealthcareService
    place_id: str
    period_start: datetime
    period_end: datetime
    active: bool  # still on the list (waiting, or with an offer out)
    created: datetime | None = None
    replaces_id: str | None = None  # the later time they hold, which an accepted offer replaces
    offer_id: str | None = None  # the hold (a proposed Appointment) offered to them
    ended: str | None = None  # why it left the list: met, declined (let go or run out) or withdrawn
    # The desk's list (an office's search with _include): while a time is offered, its start and until when it is
    # held; the patient and the place, named.
    offered_start: datetime | None = None
    offered_until: datetime | None = None
    patient: Patient | None = None
    place: Place | None = None

    @property
    def offered(self) -> bool:
        return self.offered_until is not None


@dataclass(frozen=True)
class InboxMessage:
    """A message to the patient from the office, tied to an appointment."""

    id: str
    sent: datetime
    topic: str
    text: str
    kind: str
    office_id: str | None
    appointment_id: str | None
    patient_id: str | None = None  # whose message it is: the citizen's own, or a person they act for


@dataclass(frozen=True)
class User:
    """Who the token belongs to: a citizen with their Patient and GP office, or staff with their office."""

    role: str
    name: str
    patient: Patient | None = None
    office: Office | None = None
    agent: str | None = None  # the support agent seeing this citizen's screens
    read_only: bool = False  # that agent may not write as the citizen (until «Skriv som», see client.write_as_citizen)

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"

    @property
    def is_support(self) -> bool:
        return self.agent is not None


@dataclass(frozen=True)
class DemoUser:
    """Someone the demo backend lets you be: a citizen, front-desk staff, or a support agent."""

    role: str
    name: str
    reference: str
    token: str


@dataclass(frozen=True)
class MonthAvailability:
    """The free times of one timebook in one month, grouped by date."""

    year: int
    month: int
    slots: tuple[Slot, ...] = field(default_factory=tuple)

    @property
    def dates(self) -> frozenset[date]:
        return frozenset(slot.day for slot in self.slots)

    def on(self, day: date) -> list[Slot]:
        return [slot for slot in self.slots if slot.day == day]


@dataclass
class WeeklyRange:
    """Open from `start` to `end` («08:00», «15:30») on each of `days` (FHIR day codes, domain.weekdays)."""

    days: list[str]
    start: str
    end: str


@dataclass
class Campaign:
    """A period in which a timebook has times beyond its weekly pattern (a vaccination drive, say)."""

    name: str
    first: date
    last: date
    weekly: list[WeeklyRange]
    slot_minutes: int | None = None  # None: the timebook's own
    id: str | None = None  # None until saved


@dataclass(frozen=True)
class Ahead:
    """The free times a timebook has published ahead, of how many (read-only: it moves as citizens book)."""

    free: int
    total: int


@dataclass
class SetupTimebook:
    """One timebook as the setup document holds it: its time type, place, weekly pattern and rules."""

    type: str  # a time-type code (domain.timetypes)
    location: str  # «Location/3»
    name: str
    slot_minutes: int
    weekly: list[WeeklyRange]
    active: bool = True
    parallel: int = 1
    horizon_days: int = 42
    lead_minutes: int = 120
    reminder_hours: int = 48  # the e-mail/SMS reminder this many hours before a booked time; 0: none
    offer_minutes: int = 30  # a freed time offered from the short-notice list is held this long for its patient
    hold_minutes: int = 5  # how long a time is held for the user choosing it
    deadline_hours: int = 0  # a citizen cancels or changes a booked time at the latest this long before (0: any time)
    monday_by_friday: bool = False  # Monday's times by the Friday before at 12:00
    answer_days: int = 2  # working days the office has to answer a request before it is marked overdue
    campaigns: list[Campaign] = field(default_factory=list)
    ahead: Ahead | None = None
    id: str | None = None  # None until saved


@dataclass
class Closure:
    """A day, or part of one, with no times: for the whole office, or for one timebook."""

    day: date
    reason: str
    start: str | None = None  # None (with `end`): the whole day
    end: str | None = None
    timebook: str | None = None  # «Schedule/5», or None for the whole office
    id: str | None = None  # None until saved

    @property
    def timebook_id(self) -> str | None:
        return self.timebook.split("/")[1] if self.timebook else None


@dataclass
class Service:
    """Whether the office offers a time type at all."""

    type: str
    active: bool


@dataclass(frozen=True)
class SetupLocation:
    id: str  # «Location/3»
    name: str


@dataclass
class OfficeSetup:
    """An office's timebook setup (the backend's /setup document); the client edits a copy and sends it back whole.

    client.setup_json reads it from and writes it to the wire."""

    organization: str  # «Organization/1»
    services: list[Service] = field(default_factory=list)
    timebooks: list[SetupTimebook] = field(default_factory=list)
    closures: list[Closure] = field(default_factory=list)
    locations: list[SetupLocation] = field(default_factory=list)
    name: str | None = None
    version: str | None = None  # the version it was read at (the backend's ETag), sent back as If-Match when saving

    @property
    def office_id(self) -> str:
        return self.organization.split("/")[1]

    def timebook(self, timebook_id: str) -> SetupTimebook:
        return next(b for b in self.timebooks if b.id == timebook_id)


@dataclass(frozen=True)
class AffectedAppointment:
    """A booked or requested time a setup change no longer wants: the office phones, moves or cancels it."""

    id: str
    status: str
    start: datetime
    patient_name: str
    timebook_id: str
    timebook_name: str | None = None  # absent from an older backend's answer


@dataclass(frozen=True)
class TimebookChange:
    """What a setup change does to one timebook: free times created and removed, on which days."""

    timebook_id: str
    name: str
    created: int
    removed: int
    days: list[date]
    more_days: int = 0  # days past those listed


@dataclass
class SetupChange:
    setup: OfficeSetup
    created: int
    removed: int
    preview: bool
    affected: list[AffectedAppointment]
    # Per timebook; empty from a backend that answers with the totals only (the preview then shows those).
    changes: list[TimebookChange] = field(default_factory=list)


@dataclass(frozen=True)
class NoticeAttempt:
    """One try at handing a notice to its channel."""

    at: datetime
    ok: bool
    detail: str | None = None


@dataclass(frozen=True)
class Notice:
    """One e-mail or SMS to the patient: what it was about, where it went and what became of it."""

    id: str
    event: str  # request-received, confirmed, rejected, cancelled-office, cancelled-patient, reminder, …
    channel: str  # email | sms
    recipient: str
    subject: str
    state: str  # pending (venter) | sent (sendt) | failed (feilet) | skipped (hoppet over)
    created: datetime
    due: datetime
    reason: str | None = None  # why skipped: quiet-hours, opted-out, too-soon, cancelled, no-channel
    sent: datetime | None = None
    appointment: str | None = None
    attempts: tuple[NoticeAttempt, ...] = ()
