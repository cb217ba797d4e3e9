"""The tables of the booking backend, as SQLAlchemy 2 declarative models (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Connection, Date, DateTime, ForeignKey, Index, Integer, String, Text, event, false
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column

# Row ids: 64-bit on PostgreSQL, where INTEGER is 32-bit and a national deployment could outgrow it;
# plain INTEGER on SQLite, where only that spelling makes the column the 64-bit rowid that autoincrements.
Id = BigInteger().with_variant(Integer(), "sqlite")


def ordered_text(length: int) -> String:
    """A string column sorted by code point on both databases (SQLite's BINARY is PostgreSQL's "C"), so
    lists come back in the same order whatever locale the PostgreSQL cluster was created with."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def fold(text: str) -> str:
    """Case-folded in Python, since SQLite's lower() folds only ASCII and PostgreSQL's depends on the locale."""
    return text.casefold()


def name_key(given: str, family: str) -> str:
    """What a name search matches."""
    return fold(f"{given} {family}")


def _name_key_default(context: DefaultExecutionContext) -> str:
    values = context.get_current_parameters()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it unannotated
    return name_key(values["given"], values["family"])


class Base(DeclarativeBase):
    type_annotation_map = {int: Id}


class Organization(Base):
    """A GP office."""

    __tablename__ = "organization"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    her_id: Mapped[str] = mapped_column(String(20), unique=True)
    orgnr: Mapped[str] = mapped_column(String(9), unique=True)
    phone: Mapped[str | None] = mapped_column(String(30))


class ClosureDay(Base):
    """A day an office is closed besides weekends and public holidays."""

    __tablename__ = "closure_day"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    # Part of a day (local "HH:MM"), or the whole day when both are null.
    start_time: Mapped[str | None] = mapped_column(String(5))
    end_time: Mapped[str | None] = mapped_column(String(5))
    # One timebook only, or the whole office when null.
    schedule_id: Mapped[int | None] = mapped_column(Id)


class Location(Base):
    """An attendance place (oppmøtested)."""

    __tablename__ = "location"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address_line: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    directions: Mapped[str] = mapped_column(Text)


class HealthcareService(Base):
    """A time type an office offers (Volven 7617 code)."""

    __tablename__ = "healthcare_service"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    type_code: Mapped[str] = mapped_column(String(40))  # "Koronavaksine" is 13: PostgreSQL holds us to the length
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Schedule(Base):
    """A ressurstimebok: one bookable calendar for a time type at one place."""

    __tablename__ = "schedule"
    id: Mapped[int] = mapped_column(primary_key=True)
    healthcare_service_id: Mapped[int] = mapped_column(ForeignKey("healthcare_service.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Citizens may not book a time that starts sooner than this (the office needs time to prepare).
    lead_minutes: Mapped[int] = mapped_column(Integer, default=120, server_default="120")
    # The setup free times are generated from (backend/generation.py): slot length, seats per time, how far ahead.
    slot_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    parallel: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    horizon_days: Mapped[int] = mapped_column(Integer, default=42, server_default="42")
    # JSON [{"days": ["mon", …], "start": "08:00", "end": "11:30"}]; null: made before setup existed, left alone.
    weekly: Mapped[str | None] = mapped_column(Text)
    # Hours before a booked time that its reminder goes (e-mail/SMS): 24, 48 or 72, or 0 for none (issue 25).
    reminder_hours: Mapped[int] = mapped_column(Integer, default=48, server_default="48")
    # Minutes a freed time offered from the short-notice list is held for the one it is offered to (issue 25).
    offer_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # The appointment's life (domain/appointment_life.py): how long a time is held while the user chooses; the
    # citizen's cancel/change deadline (hours before the start, 0: none; and Monday's times by Friday 12:00); the
    # working days the office has to answer a request.
    hold_minutes: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    deadline_hours: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    monday_by_friday: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    answer_days: Mapped[int] = mapped_column(Integer, default=2, server_default="2")


class Campaign(Base):
    """A date range with its own weekly pattern, adding free times to a timebook's (e.g. influensavaksine)."""

    __tablename__ = "campaign"
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedule.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    first: Mapped[date] = mapped_column(Date)
    last: Mapped[date] = mapped_column(Date)
    slot_minutes: Mapped[int | None] = mapped_column(Integer)
    weekly: Mapped[str] = mapped_column(Text)


class Slot(Base):
    """A bookable time: free, busy-tentative while a request waits, busy when confirmed."""

    __tablename__ = "slot"
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedule.id"))
    start: Mapped[datetime] = mapped_column(DateTime)  # UTC, naive: SQLite has no time zones
    end: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="free")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Which of the parallel seats at this time (0 for the first): generation creates each (timebook, start, seat) once.
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # While a hold keeps it busy-tentative: when the hold ends (UTC, naive). Past it the slot is free to anyone, with
    # no job to run: every read and every claim compares it with now. Null for a request, a booking or a free slot.
    held_until: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_slot_schedule_status_start", "schedule_id", "status", "start"),
        Index("ix_slot_schedule_held_until", "schedule_id", "held_until"),
        Index("ux_slot_schedule_start_seq", "schedule_id", "start", "seq", unique=True),
    )


class Patient(Base):
    """A citizen, identified by fødselsnummer or D-nummer."""

    __tablename__ = "patient"
    id: Mapped[int] = mapped_column(primary_key=True)
    identifier_system: Mapped[str] = mapped_column(String(60))
    identifier: Mapped[str] = mapped_column(String(11), unique=True)
    given: Mapped[str] = mapped_column(ordered_text(100))
    family: Mapped[str] = mapped_column(ordered_text(100))
    birth_date: Mapped[date] = mapped_column(Date)
    gp_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    # Filled from given and family on insert (and by the ORM on update); null only in a row written
    # by hand with SQL, which name searches then do not find.
    name_key: Mapped[str | None] = mapped_column(String(201), default=_name_key_default)
    # Where notices and reminders reach them (Patient.telecom) and in which language (Patient.communication).
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(5), default="nb", server_default="nb")


@event.listens_for(Patient, "before_update")
def _refresh_name_key(_mapper: Mapper[Patient], _connection: Connection, target: Patient) -> None:
    target.name_key = name_key(target.given, target.family)


class Appointment(Base):
    """A booking request and what became of it."""

    __tablename__ = "appointment"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    start: Mapped[datetime] = mapped_column(DateTime)
    end: Mapped[datetime] = mapped_column(DateTime)
    description: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime)
    last_updated: Mapped[datetime] = mapped_column(DateTime)
    cancelation_code: Mapped[str | None] = mapped_column(String(20))
    cancelation_text: Mapped[str | None] = mapped_column(Text)
    booked_by: Mapped[str] = mapped_column(String(20), default="citizen")
    # The client's "system|value" for this request (FHIR conditional create): a repeat finds it, not a second booking.
    identifier: Mapped[str | None] = mapped_column(String(401), unique=True, index=True)
    # The Patient who booked it on the patient's behalf (a parent, or someone with fullmakt); null: the patient or staff.
    representative_id: Mapped[int | None] = mapped_column(Id)
    # The patient's opt-outs for this time: no e-mail/SMS notices, no reminder (extensions on the wire; the inbox stays).
    no_notices: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    no_reminders: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A change of a time: the Appointment this one replaces (R5 Appointment.replaces), cancelled when this one is booked.
    replaces_id: Mapped[int | None] = mapped_column(Id, index=True)
    # A hold (status proposed): when it ends (UTC, naive), and who holds it (the audit log's name of the user).
    held_until: Mapped[datetime | None] = mapped_column(DateTime)
    held_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_appointment_org_status_start", "organization_id", "status", "start"),)


class AppointmentResponse(Base):
    """The office's answer to a booking request."""

    __tablename__ = "appointment_response"
    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    status: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime)
    identifier: Mapped[str | None] = mapped_column(String(401), unique=True, index=True)


class Communication(Base):
    """A message in a patient's inbox."""

    __tablename__ = "communication"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    kind: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    sent: Mapped[datetime] = mapped_column(DateTime)


class AccessToken(Base):
    """A bearer token bound to one citizen (Patient) or one office's staff (Organization)."""

    __tablename__ = "access_token"
    token: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(ordered_text(10))
    name: Mapped[str] = mapped_column(ordered_text(200))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))


class AuditEvent(Base):
    """One read or change of a patient's data by staff or support (Normen)."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(200))


class ChangeVersion(Base):
    """How often the data behind a search has changed: per timebook (its slots), office and patient."""

    __tablename__ = "change_version"
    scope: Mapped[str] = mapped_column(ordered_text(40), primary_key=True)  # "timebook:4", "organization:1", "patient:7"
    version: Mapped[int] = mapped_column(BigInteger)


class SetupEvent(Base):
    """One read (by support) or change of an office's timebook setup: who, when and what."""

    __tablename__ = "setup_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)


class OutboxMessage(Base):
    """One e-mail or SMS to one person, written in the transaction of the change it tells of, sent later by the
    sender loop (backend/sender.py). `dedup_key` (event, appointment, channel, recipient) makes it exactly one row."""

    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    event: Mapped[str] = mapped_column(String(30))  # confirmed, rejected, reminder, … (backend/notices.py)
    channel: Mapped[str] = mapped_column(String(10))  # email | sms
    recipient: Mapped[str] = mapped_column(String(200))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime)
    due: Mapped[datetime] = mapped_column(DateTime)  # not sent before (a reminder's time, 08:00 after a quiet night)
    # pending (venter) | sent (sendt) | failed (feilet: gave up) | skipped (hoppet over, `reason` says why)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str | None] = mapped_column(String(30))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A sender's claim: until `lease_until` no other sender takes it; an instance killed mid-batch lets it lapse.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(40))
    sent: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_outbox_state_due", "state", "due"),)


class OutboxAttempt(Base):
    """One try at handing a message to its channel: when, and what the channel said."""

    __tablename__ = "outbox_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str | None] = mapped_column(String(300))


class ShortNotice(Base):
    """«Kan komme på kort varsel»: a patient's wish for a time of a type at a place within a period (an Appointment in
    `waitlist` on the wire), offered a freed time in turn, first in first (backend/short_notice.py)."""

    __tablename__ = "short_notice"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    healthcare_service_id: Mapped[int] = mapped_column(ForeignKey("healthcare_service.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    period_start: Mapped[datetime] = mapped_column(DateTime)  # UTC, naive
    period_end: Mapped[datetime] = mapped_column(DateTime)
    replaces_id: Mapped[int | None] = mapped_column(Id)  # a later time they hold: only an earlier one is offered
    created: Mapped[datetime] = mapped_column(DateTime)
    # waiting | offered (a hold is theirs) | done (taken) | declined (let go or expired) | withdrawn
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    offer_id: Mapped[int | None] = mapped_column(Id)  # the hold (a proposed Appointment) offered to them

    __table_args__ = (Index("ix_short_notice_status_created", "status", "created"),)


class FreedSlot(Base):
    """A time that has just become free (cancelled, rejected, changed, let go, a closure lifted, added by a setup
    while someone waits), written in the transaction that freed it; the short-notice run offers it to the first in
    line and deletes the row (backend/freed.py). `slot_id` has no foreign key: generation deletes free slots."""

    __tablename__ = "freed_slot"
    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(Id)

    # Ids never reused (SQLite's AUTOINCREMENT; PostgreSQL's sequence never does): a run deletes by id only the rows
    # it read, so a row written after another instance deleted the highest must not take that deleted row's id.
    __table_args__ = {"sqlite_autoincrement": True}


class RegisterPerson(Base):
    """A person in the demo folkeregister (backend/register.py): name, birth date, address and address protection."""

    __tablename__ = "register_person"
    identifier: Mapped[str] = mapped_column(String(11), primary_key=True)
    given: Mapped[str] = mapped_column(String(100))
    family: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    address: Mapped[str] = mapped_column(String(200))
    protection: Mapped[str] = mapped_column(String(20), default="none")  # domain.representation.Protection


class RegisterRelation(Base):
    """A tie in the demo folkeregister: a parent of a child, or a fullmakt one person gave another."""

    __tablename__ = "register_relation"
    id: Mapped[int] = mapped_column(primary_key=True)
    representative: Mapped[str] = mapped_column(String(11), index=True)  # the parent, or who was given the fullmakt
    person: Mapped[str] = mapped_column(String(11))  # the child, or who gave the fullmakt
    kind: Mapped[str] = mapped_column(String(20))  # domain.representation.Kind
    parental_responsibility: Mapped[bool] = mapped_column(Boolean, default=False)
    area: Mapped[str | None] = mapped_column(String(40))
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
