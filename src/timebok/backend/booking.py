"""The booking rules: request a slot, the office's answer, cancelling — each atomic, each telling the patient.
They take typed values (booking_body.py reads them from the request)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, Result, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from timebok.backend import audit, life, messages, notices, overlap, representation, schema, versions
from timebok.backend.auth import Principal
from timebok.backend.booking_body import Answer, BookingRequest, check_reason
from timebok.backend.fhir import Life, to_storage
from timebok.backend.outcome import conflict, forbidden, not_found, precondition_failed, unprocessable
from timebok.domain.clock import now


class RequestedBooking(NamedTuple):
    """A new booking request and what its answer names, known from the query that claimed the slot."""

    appointment: schema.Appointment
    location_id: int
    type_code: str
    life: Life


def _context(session: Session, slot_id: int) -> tuple[schema.Organization, schema.HealthcareService, schema.Location]:
    """The office, time type and place of a slot (the foreign keys are not null, so a slot always has all three)."""
    office, service, place = session.execute(
        select(schema.Organization, schema.HealthcareService, schema.Location)
        .select_from(schema.Slot)
        .join(schema.Schedule, schema.Slot.schedule_id == schema.Schedule.id)
        .join(schema.HealthcareService, schema.Schedule.healthcare_service_id == schema.HealthcareService.id)
        .join(schema.Organization, schema.HealthcareService.organization_id == schema.Organization.id)
        .join(schema.Location, schema.Schedule.location_id == schema.Location.id)
        .where(schema.Slot.id == slot_id)
    ).one()
    return office, service, place


def _rowcount(result: Result[Any]) -> int:
    # An UPDATE's result is a CursorResult at run time; Session.execute is typed with the general Result.
    return cast(CursorResult[Any], result).rowcount


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def earlier_request(session: Session, principal: Principal, identifier: str) -> schema.Appointment | None:
    """The booking request this caller already made under `identifier`, if any."""
    found = session.scalar(select(schema.Appointment).where(schema.Appointment.identifier == identifier))
    if found is None:
        return None
    if visible_appointment(session, principal, found.id) is None:
        # Someone else's request under the same identifier: never shown, and never a second row either.
        raise conflict("This identifier belongs to another booking request; send a new one")
    return found


def earlier_answer(session: Session, principal: Principal, identifier: str) -> schema.AppointmentResponse | None:
    """The answer this office already gave under `identifier`, if any."""
    if not principal.is_staff:
        return None  # the rules refuse a citizen's answer anyway
    found = session.scalar(select(schema.AppointmentResponse).where(schema.AppointmentResponse.identifier == identifier))
    if found is None:
        return None
    if found.organization_id != principal.organization_id:
        raise conflict("This identifier belongs to another answer; send a new one")
    return found


def request_booking(
    session: Session, principal: Principal, wanted: BookingRequest, *, identifier: str | None = None
) -> RequestedBooking:
    """POST Appointment: reserve one free slot for a patient as a pending request."""
    slot_id, patient_id = wanted.slot_id, wanted.patient_id
    # Staff book for a patient they may see. A citizen books for themself, or for someone the register lets them act
    # for, asked here in the booking's own transaction: a fullmakt withdrawn a moment ago already counts.
    if principal.is_staff:
        if not visible_patient(session, principal, patient_id):
            raise unprocessable("not-found", f"Patient/{patient_id} was not found")
        acting = None
    else:
        acting = representation.acting_for(session, principal, patient_id, write=True)
    # The slot and everything the message names, in one query.
    connection = session.connection()
    where = connection.execute(_SLOT_AND_PLACE, {"slot_id": slot_id}).first()
    if where is None:
        # Named apart from an unknown patient: a time removed by a setup change (or a stale link) is one to pick anew.
        raise unprocessable("not-found", f"Slot/{slot_id} was not found", rule="slot-gone")
    (start, end, schedule_id, location_id, lead, type_code, office_id, office_name, place_name, *rest) = where
    hold_minutes, deadline_hours, monday_by_friday, answer_days, slot_status = rest
    if principal.is_staff and office_id != principal.organization_id:
        raise forbidden("Staff can only book in their own office's timebooks")
    if _aware(start) <= now():
        raise unprocessable("business-rule", f"Slot/{slot_id} starts in the past and cannot be booked", rule="slot-past")
    if not principal.is_staff and _aware(start) < now() + timedelta(minutes=lead):
        # The front desk may book closer in (and is warned); citizens keep the timebook's lead time.
        raise unprocessable(
            "business-rule",
            f"Slot/{slot_id} starts in less than {lead} minutes; citizens must book at least that far ahead",
            rule="too-soon",
        )

    status = wanted.status
    if status == "booked" and not principal.is_staff:
        raise forbidden("Only the GP office books a time directly; a citizen sends a request (status pending)")
    # A change: the old time is locked first (see life.py's lock order) and must be the patient's, active, unchanged.
    old = None
    if wanted.replaces_id is not None:
        old = life.lock_for_change(session, principal, wanted.replaces_id, patient_id, wanted.override)

    # Before the slot is claimed: the patient's own time in this very slot is theirs, not «taken by someone else».
    overlap.refuse_overlap(connection, principal, patient_id, start, end, ignore=old.id if old is not None else None)
    stamp = to_storage(now())
    held_until = to_storage(now() + timedelta(minutes=hold_minutes)) if status == "proposed" else None
    # The conditional update is the lock: of many racing requests exactly one sees the slot free (or its hold ended).
    slot_becomes = "busy" if status == "booked" else "busy-tentative"
    claim = {"slot_id": slot_id, "at": stamp, "new_status": slot_becomes, "new_until": held_until}
    if connection.execute(_CLAIM, claim).rowcount != 1 and not life.take_own_hold(
        session, principal, slot_id, patient_id, slot_becomes, held_until
    ):
        life.refuse_held(session, slot_id)
        raise conflict(f"Slot/{slot_id} is no longer free")
    if slot_status == "busy-tentative":
        life.end_stale_holds(session, slot_id)  # it was a hold that had ended: that Appointment ends now

    # Core inserts of statements built once: the ORM's unit of work cost more than the database here.
    values = dict(
        version=1,
        status=status,
        slot_id=slot_id,
        patient_id=patient_id,
        organization_id=office_id,
        start=start,
        end=end,
        description=wanted.reason,
        created=stamp,
        last_updated=stamp,
        booked_by=principal.role,
        identifier=identifier,
        representative_id=principal.patient_id if acting is not None else None,
        no_notices=wanted.no_notices,
        no_reminders=wanted.no_reminders,
        replaces_id=old.id if old is not None else None,
        held_until=held_until,
        held_by=principal.actor[:200] if status == "proposed" else None,
    )
    inserted = connection.execute(_INSERT_APPOINTMENT, values).inserted_primary_key
    assert inserted is not None  # a single-row INSERT always reports its new key
    appointment_id = inserted[0]
    message = _message(status, old, office_name, type_code, _aware(start), place_name)
    if message is not None:
        kind, (topic, text) = message
        connection.execute(
            _INSERT_MESSAGE,
            {
                "patient_id": patient_id,
                "organization_id": office_id,
                "appointment_id": appointment_id,
                "kind": kind,
                "topic": topic,
                "text": text,
                "sent": stamp,
            },
        )
        notices.for_inbox(session, appointment_id, kind)  # its e-mail and SMS, as life.tell does for the others
    if old is not None and status == "booked":
        life.cancel_replaced(session, old)  # the desk's change: the old time goes in the same transaction
    if acting is not None:
        audit.record_representation(session, principal, patient_id, "create", f"Appointment/{appointment_id} {status}")
    else:
        audit.record(session, principal, [patient_id], "create", f"Appointment/{appointment_id} {status}")
    versions.bump(
        session, versions.slot_change(schedule_id, start) + [versions.organization(office_id), versions.patient(patient_id)]
    )
    appointment = schema.Appointment(id=appointment_id, cancelation_code=None, cancelation_text=None, **values)
    # The answer needs the place and type: they come along, so the database is not asked again.
    return RequestedBooking(appointment, location_id, type_code, Life(deadline_hours, monday_by_friday, answer_days))


def _message(
    status: str, old: schema.Appointment | None, office: str, type_code: str, start: datetime, place: str
) -> tuple[str, tuple[str, str]] | None:
    """What the patient is told of a new Appointment: nothing of a hold, which is only minutes of choosing."""
    if status == "proposed":
        return None
    if old is not None:
        if status == "booked":
            return "moved", messages.moved(office, type_code, _aware(old.start), start, place)
        return "change-sent", messages.change_requested(office, type_code, _aware(old.start), start)
    if status == "booked":
        return "confirmed", messages.confirmed(office, type_code, start, place)
    return "request-sent", messages.request_sent(office, type_code, start, place)


_SLOT_AND_PLACE = (
    select(
        schema.Slot.start,
        schema.Slot.end,
        schema.Slot.schedule_id,
        schema.Schedule.location_id,
        schema.Schedule.lead_minutes,
        schema.HealthcareService.type_code,
        schema.Organization.id,
        schema.Organization.name,
        schema.Location.name,
        schema.Schedule.hold_minutes,
        schema.Schedule.deadline_hours,
        schema.Schedule.monday_by_friday,
        schema.Schedule.answer_days,
        schema.Slot.status,
    )
    .join(schema.Schedule, schema.Slot.schedule_id == schema.Schedule.id)
    .join(schema.HealthcareService, schema.Schedule.healthcare_service_id == schema.HealthcareService.id)
    .join(schema.Organization, schema.HealthcareService.organization_id == schema.Organization.id)
    .join(schema.Location, schema.Schedule.location_id == schema.Location.id)
    .where(schema.Slot.id == bindparam("slot_id"))
)
# Core statements on the mapped classes' tables: run on the Connection, so no ORM unit of work is involved.
_CLAIM = (
    update(schema.Slot)
    .where(
        schema.Slot.id == bindparam("slot_id"),
        or_(
            schema.Slot.status == "free",
            # A hold that has ended leaves its slot free to anyone, with no job having run (README: holds).
            and_(schema.Slot.status == "busy-tentative", schema.Slot.held_until <= bindparam("at")),
        ),
    )
    .values(status=bindparam("new_status"), held_until=bindparam("new_until"), version=schema.Slot.version + 1)
)
_INSERT_APPOINTMENT = insert(schema.Appointment)
_INSERT_MESSAGE = insert(schema.Communication)


def visible_patient(session: Session, principal: Principal, patient_id: int) -> bool:
    """A citizen sees themself and those they may act for; staff see their office's listed patients and anyone with
    a time there."""
    if not principal.is_staff:
        return patient_id == principal.patient_id or patient_id in representation.reach(session, principal)
    patient = session.get(schema.Patient, patient_id)
    if patient is None:
        return False
    if patient.gp_organization_id == principal.organization_id:
        return True
    return (
        session.scalar(
            select(schema.Appointment.id)
            .where(schema.Appointment.patient_id == patient_id, schema.Appointment.organization_id == principal.organization_id)
            .limit(1)
        )
        is not None
    )


def visible_appointment(session: Session, principal: Principal, appointment_id: int) -> schema.Appointment | None:
    appointment = session.get(schema.Appointment, appointment_id)
    if appointment is None:
        return None
    if principal.is_staff:
        return appointment if appointment.organization_id == principal.organization_id else None
    if appointment.patient_id == principal.patient_id:
        return appointment
    # A parent or a holder of fullmakt sees the person's times as long as the register still says so.
    return appointment if appointment.patient_id in representation.reach(session, principal) else None


def refuse_former_representative(session: Session, principal: Principal, appointment_id: int) -> None:
    """A time the citizen booked or holds for someone they may no longer act for (a fullmakt withdrawn since):
    403 `not-representative`, so they are told why, not that the time is gone (they named the person themself)."""
    if principal.is_staff or principal.patient_id is None:
        return
    row = session.get(schema.Appointment, appointment_id)
    if row is not None and row.representative_id == principal.patient_id:
        raise representation.refused()


def may_answer(principal: Principal) -> None:
    if not principal.is_staff:
        raise forbidden("Only the GP office can answer a booking request")


def respond(
    session: Session, principal: Principal, answer: Answer, *, identifier: str | None = None
) -> tuple[schema.AppointmentResponse, schema.Appointment]:
    """POST AppointmentResponse: the office confirms or declines a pending request."""
    may_answer(principal)
    appointment = visible_appointment(session, principal, answer.appointment_id)
    if appointment is None:
        raise unprocessable("not-found", f"Appointment/{answer.appointment_id} was not found")
    if appointment.status == "pending" and _aware(appointment.start) <= now():
        # Closed «Ikke besvart» by the next read (life.sweep); answered now it would be a time that has already begun.
        raise conflict(f"Appointment/{appointment.id}'s time has begun: the request is closed as unanswered", rule="unanswered")
    # A change's old time is locked first (life.py's lock order), and goes when the new one is confirmed.
    old = life.lock_for_change_of(session, principal, appointment) if answer.accepted and appointment.replaces_id else None

    values: dict[str, Any] = {
        "status": "booked" if answer.accepted else "cancelled",
        "version": schema.Appointment.version + 1,
        "last_updated": to_storage(now()),
    }
    if not answer.accepted:
        values |= {"cancelation_code": "prov", "cancelation_text": answer.comment}
    # Only a still-pending request can be answered: of two staff answering at once, one wins.
    changed = _rowcount(
        session.execute(
            update(schema.Appointment)
            .where(schema.Appointment.id == appointment.id, schema.Appointment.status == "pending")
            .values(**values)
        )
    )
    if changed != 1:
        raise conflict(f"Appointment/{appointment.id} has already been answered or cancelled")
    if answer.accepted:
        session.execute(
            update(schema.Slot)
            .where(schema.Slot.id == appointment.slot_id)
            .values(status="busy", version=schema.Slot.version + 1)
        )
    else:
        life.free_slot(session, appointment.slot_id)  # the rejected time, queued for the short-notice list too
    session.refresh(appointment)
    office, service, place = _context(session, appointment.slot_id)
    start = _aware(appointment.start)
    replaced = session.get(schema.Appointment, appointment.replaces_id) if appointment.replaces_id else None
    if old is not None:
        life.cancel_replaced(session, old)
        said = messages.moved(office.name, service.type_code, _aware(old.start), start, place.name)
        life.tell(session, appointment, "moved", said)
    elif answer.accepted:
        life.tell(session, appointment, "confirmed", messages.confirmed(office.name, service.type_code, start, place.name))
    elif replaced is not None:
        assert answer.comment is not None  # booking_body.answer refuses a decline without a reason
        said = messages.change_rejected(office.name, service.type_code, _aware(replaced.start), start, answer.comment)
        life.tell(session, appointment, "change-rejected", said)
    else:
        assert answer.comment is not None  # booking_body.answer refuses a decline without a reason
        life.tell(session, appointment, "rejected", messages.rejected(office.name, service.type_code, start, answer.comment))
        life.withdraw_changes(session, appointment)
    response = schema.AppointmentResponse(
        appointment_id=appointment.id,
        organization_id=office.id,
        status=answer.status,
        comment=answer.comment,
        created=to_storage(now()),
        identifier=identifier,
    )
    session.add(response)
    session.flush()
    audit.record(session, principal, [appointment.patient_id], "update", f"Appointment/{appointment.id} {answer.status}")
    versions.bump_for_appointment(session, appointment)
    return response, appointment


def _visible_at(session: Session, principal: Principal, appointment_id: int, expected_version: int | None) -> schema.Appointment:
    """The appointment this principal may see (404 otherwise), at the version they read when they sent one (412)."""
    appointment = visible_appointment(session, principal, appointment_id)
    if appointment is None:
        raise not_found(f"Appointment/{appointment_id}")
    if expected_version is not None and expected_version != appointment.version:
        raise precondition_failed(
            f"Appointment/{appointment_id} has changed (version {appointment.version}, you sent {expected_version}); read it again"
        )
    return appointment


def cancel(
    session: Session,
    principal: Principal,
    appointment_id: int,
    expected_version: int | None,
    reason: str | None,
    override: str | None = None,
) -> schema.Appointment:
    """Cancel a pending or booked appointment and free its slot, or release a hold; a stale version changes nothing."""
    appointment = _visible_at(session, principal, appointment_id, expected_version)
    acting = representation.acting_for(session, principal, appointment.patient_id, write=True)
    if appointment.status == "proposed":
        life.release(session, principal, appointment, expected_version)
        return appointment
    if appointment.status not in ("pending", "booked"):
        raise conflict(f"Appointment/{appointment_id} is {appointment.status} and cannot be cancelled", rule=life.ILLEGAL)
    if _aware(appointment.start) <= now():
        raise unprocessable("business-rule", "An appointment that has started cannot be cancelled")
    check_reason(reason, "cancelationReason")
    life.check_deadline(session, principal, appointment, override)
    changed = _rowcount(
        session.execute(
            update(schema.Appointment)
            .where(schema.Appointment.id == appointment.id, schema.Appointment.version == appointment.version)
            .values(
                status="cancelled",
                version=schema.Appointment.version + 1,
                last_updated=to_storage(now()),
                cancelation_code="pat" if principal.is_staff else "pat-cpp",
                cancelation_text=reason,
            )
        )
    )
    if changed != 1:
        if expected_version is None:
            # No If-Match: the caller made no claim about the version, so losing a race is a plain conflict, not 412.
            raise conflict(f"Appointment/{appointment_id} was changed by someone else while you cancelled it; read it again")
        raise precondition_failed(f"Appointment/{appointment_id} changed while you cancelled it; read it again")
    life.free_slot(session, appointment.slot_id)  # the cancelled time, queued for the short-notice list too
    session.refresh(appointment)
    office, service, _ = _context(session, appointment.slot_id)
    life.tell(
        session,
        appointment,
        "cancelled",
        messages.cancelled(
            office.name, service.type_code, _aware(appointment.start), by_office=principal.is_staff, reason=reason
        ),
    )
    if acting is not None:
        audit.record_representation(
            session, principal, appointment.patient_id, "update", f"Appointment/{appointment.id} cancelled"
        )
    else:
        audit.record(session, principal, [appointment.patient_id], "update", f"Appointment/{appointment.id} cancelled")
    life.withdraw_changes(session, appointment)
    versions.bump_for_appointment(session, appointment)
    return appointment


def set_opt_outs(
    session: Session, principal: Principal, appointment_id: int, expected_version: int | None, wanted: tuple[bool, bool]
) -> schema.Appointment:
    """PATCH /extension: the patient (or the desk for them) turns e-mail/SMS notices or the reminder off or on again."""
    appointment = _visible_at(session, principal, appointment_id, expected_version)
    changed = _rowcount(
        session.execute(
            update(schema.Appointment)
            .where(schema.Appointment.id == appointment.id, schema.Appointment.version == appointment.version)
            .values(version=schema.Appointment.version + 1, last_updated=to_storage(now()))
        )
    )
    if changed != 1:
        raise precondition_failed(f"Appointment/{appointment_id} changed meanwhile; read it again")
    notices.opt_out(session, appointment.id, notices=wanted[0], reminders=wanted[1])
    session.refresh(appointment)
    audit.record(session, principal, [appointment.patient_id], "update", f"Appointment/{appointment.id} notice opt-outs")
    versions.bump_for_appointment(session, appointment)
    return appointment
