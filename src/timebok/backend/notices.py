"""The outbox: each event's e-mails and SMS, written in the transaction of the change itself (so a message is never
lost, and never sent for a change that rolled back), one row per event, appointment, channel and recipient."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Executable, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from timebok.backend import notice_texts, schema
from timebok.backend.fhir import to_storage
from timebok.domain import notice_rules as rules
from timebok.domain.clock import now

# Events about a time that has begun by definition: the rules about a time's nearness do not apply (only the SMS night).
UNTIMED = {"closed-unanswered"}
# The events whose time no longer stands: a reminder still waiting for it is dropped.
_ENDS_THE_TIME = {"rejected", "cancelled-office", "cancelled-patient", "closed-unanswered"}

_CONTEXT = (
    select(
        schema.Appointment.start,
        schema.Appointment.patient_id,
        schema.Appointment.organization_id,
        schema.Appointment.no_notices,
        schema.Appointment.no_reminders,
        schema.Patient.email,
        schema.Patient.phone,
        schema.Patient.language,
        schema.Organization.name,
        schema.Location.name,
        schema.Location.address_line,
        schema.Location.postal_code,
        schema.Location.city,
        schema.Schedule.reminder_hours,
        schema.Appointment.representative_id,
    )
    .join(schema.Patient, schema.Appointment.patient_id == schema.Patient.id)
    .join(schema.Organization, schema.Appointment.organization_id == schema.Organization.id)
    .join(schema.Slot, schema.Appointment.slot_id == schema.Slot.id)
    .join(schema.Schedule, schema.Slot.schedule_id == schema.Schedule.id)
    .join(schema.Location, schema.Schedule.location_id == schema.Location.id)
)

_CONTEXT_OF = _CONTEXT.where(schema.Appointment.id == bindparam("appointment_id"))


@lru_cache(maxsize=2)
def _insert_outbox(dialect_name: str) -> Executable:
    """The outbox INSERT that leaves a row whose dedup key is already there (a repeated event) as it is."""
    if dialect_name == "postgresql":
        return postgresql.insert(schema.OutboxMessage).on_conflict_do_nothing(index_elements=["dedup_key"])
    return sqlite.insert(schema.OutboxMessage).on_conflict_do_nothing(index_elements=["dedup_key"])


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


# The inbox message's kind → the e-mail/SMS event it brings: every path that tells the patient in the inbox tells
# them by e-mail and SMS too, so no write path is missed (backend/booking.py and backend/life.py call `for_inbox`).
EVENT_OF_KIND = {
    "request-sent": "request-received",
    "change-sent": "request-received",
    "confirmed": "confirmed",
    "rejected": "rejected",
    "change-rejected": "rejected",
    "moved": "changed",
    "unanswered": "closed-unanswered",
    "offer": "offer",
}


def for_inbox(session: Session, appointment_id: int, kind: str, *, cancel_code: str | None = None) -> None:
    """The e-mail and SMS that go with an inbox message of `kind` about an appointment (none for a kind not listed)."""
    if kind == "cancelled":
        event: str | None = "cancelled-patient" if cancel_code == "pat-cpp" else "cancelled-office"
    else:
        event = EVENT_OF_KIND.get(kind)
    if event is not None:
        queue(session, appointment_id, event)


def queue(session: Session, appointment_id: int, event: str, *, key: str = "") -> None:
    """Write `event`'s e-mail and SMS about an appointment (and, on `confirmed`, its reminder) to the outbox.
    `key` tells apart repeats of one event that are meant (a second offer of the same time)."""
    session.flush()  # what session.execute did first: the query below sees the transaction's ORM changes
    # Plain Core on the session's connection, the statement built once (issue 30: the ORM path and a new statement
    # per booking cost more than the query itself).
    row = session.connection().execute(_CONTEXT_OF, {"appointment_id": appointment_id}).one_or_none()
    if row is None:
        return
    fields: tuple[Any, ...] = tuple(row)  # fifteen columns: more than Row's typed unpacking goes to
    start_stored, patient_id, office_id, no_notices, no_reminders, email, phone, language = fields[:8]
    office, place, line, postal, city, hours, representative_id = fields[8:]
    if not email and not phone and representative_id is not None:
        # A child (or whoever gave a fullmakt) with no contact of their own: the parent who booked it is told, in
        # their language (issue 27); the row stays the patient's (patient_id), as the inbox message does.
        acting = session.get(schema.Patient, representative_id)
        if acting is not None:
            email, phone, language = acting.email, acting.phone, acting.language
    start = _aware(start_stored)
    if event in _ENDS_THE_TIME:
        drop_reminders(session, appointment_id, rules.CANCELLED)
    # The place as a visitor finds it; its name only when it is not the office's own (said already).
    address = ", ".join(part for part in (line, f"{postal} {city}".strip()) if part)
    where = ", ".join(part for part in (place if place != office else "", address) if part) or place
    moment = now()
    rows: list[dict[str, Any]] = []
    plans: list[tuple[str, datetime, str | None]] = [(event, moment, rules.OPTED_OUT if no_notices else None)]
    if event in ("confirmed", "changed"):  # a booked time: its reminder (a moved one gets the new time's)
        due = rules.reminder_due(start, hours)
        if due is not None:
            reason = rules.OPTED_OUT if no_reminders else rules.TOO_SOON if due <= moment else None
            plans.append(("reminder", max(due, moment), reason))
    for what, due, reason in plans:
        subject, body = notice_texts.render(what, language, office=office, place=where, start=start)
        for channel, recipient in (("email", email), ("sms", phone)):
            if not recipient:
                continue
            at, why = due, reason
            if channel == "sms" and why is None:
                at, why = rules.sms_plan(due, None if what in UNTIMED else start)
            rows.append(
                {
                    "dedup_key": f"{what}:{appointment_id}{key}:{channel}:{recipient}"[:300],
                    "event": what,
                    "channel": channel,
                    "recipient": recipient,
                    "patient_id": patient_id,
                    "organization_id": office_id,
                    "appointment_id": appointment_id,
                    "subject": subject,
                    "body": body if channel == "email" else f"{subject}: {body}",
                    "created": to_storage(moment),
                    "due": to_storage(at),
                    "state": "skipped" if why else "pending",
                    "reason": why,
                    "attempts": 0,
                }
            )
    insert_rows(session, rows)


def insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows; one whose dedup key is already there (a repeated event) is left as it is."""
    if not rows:
        return
    session.connection().execute(_insert_outbox(session.get_bind().dialect.name), rows)


def drop_reminders(session: Session, appointment_id: int, reason: str) -> None:
    """A reminder not yet sent for a time that no longer stands (or the patient turned off) is skipped, saying why."""
    session.execute(
        update(schema.OutboxMessage)
        .where(
            schema.OutboxMessage.appointment_id == appointment_id,
            schema.OutboxMessage.event == "reminder",
            schema.OutboxMessage.state == "pending",
        )
        .values(state="skipped", reason=reason, lease_until=None, lease_owner=None)
    )


def opt_out(session: Session, appointment_id: int, *, notices: bool, reminders: bool) -> None:
    """The patient's opt-outs for one appointment, from now on: what waits in the outbox is skipped as «reservert»."""
    session.execute(
        update(schema.Appointment)
        .where(schema.Appointment.id == appointment_id)
        .values(no_notices=notices, no_reminders=reminders)
    )
    if reminders:
        drop_reminders(session, appointment_id, rules.OPTED_OUT)
    if notices:
        session.execute(
            update(schema.OutboxMessage)
            .where(
                schema.OutboxMessage.appointment_id == appointment_id,
                schema.OutboxMessage.event != "reminder",
                schema.OutboxMessage.state == "pending",
            )
            .values(state="skipped", reason=rules.OPTED_OUT, lease_until=None, lease_owner=None)
        )
