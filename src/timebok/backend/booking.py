"""The booking rules: request a slot, the office's answer, cancelling — each atomic, each telling the patient.
They take typed values (booking_body.py reads them from the request)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from timebok.backend import audit, messages, overlap, schema, versions
from timebok.backend.auth import Principal
from timebok.backend.booking_body import Answer, BookingRequest, check_reason
from timebok.backend.fhir import to_storage
from timebok.backend.outcome import FhirError, conflict, forbidden
from timebok.domain.clock import now


def _unprocessable(code: str, diagnostics: str, *, rule: str | None = None) -> FhirError:
    return FhirError(422, code, diagnostics, rule=rule)


def _context(session: Session, slot: schema.Slot) -> tuple[schema.Organization, schema.HealthcareService, schema.Location]:
    schedule = session.get(schema.Schedule, slot.schedule_id)
    service = session.get(schema.HealthcareService, schedule.healthcare_service_id)
    place = session.get(schema.Location, schedule.location_id)
    office = session.get(schema.Organization, service.organization_id)
    return office, service, place


def _tell_patient(session: Session, appointment: schema.Appointment, kind: str, topic_and_text: tuple[str, str]) -> None:
    topic, text = topic_and_text
    session.add(
        schema.Communication(
            patient_id=appointment.patient_id,
            organization_id=appointment.organization_id,
            appointment_id=appointment.id,
            kind=kind,
            topic=topic,
            text=text,
            sent=to_storage(now()),
        )
    )


def _aware(value):
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
) -> schema.Appointment:
    """POST Appointment: reserve one free slot for a patient as a pending request."""
    slot_id, patient_id = wanted.slot_id, wanted.patient_id
    # A citizen books only for themself (their token's Patient exists); staff for a patient they may see.
    if not visible_patient(session, principal, patient_id):
        raise _unprocessable("not-found", f"Patient/{patient_id} was not found")
    # The slot and everything the message names, in one query.
    connection = session.connection()
    where = connection.execute(_SLOT_AND_PLACE, {"slot_id": slot_id}).first()
    if where is None:
        # Named apart from an unknown patient: a time removed by a setup change (or a stale link) is one to pick anew.
        raise _unprocessable("not-found", f"Slot/{slot_id} was not found", rule="slot-gone")
    start, end, schedule_id, location_id, lead, type_code, office_id, office_name, place_name = where
    if principal.is_staff and office_id != principal.organization_id:
        raise forbidden("Staff can only book in their own office's timebooks")
    if _aware(start) <= now():
        raise _unprocessable("business-rule", f"Slot/{slot_id} starts in the past and cannot be booked", rule="slot-past")
    if not principal.is_staff and _aware(start) < now() + timedelta(minutes=lead):
        # The front desk may book closer in (and is warned); citizens keep the timebook's lead time.
        raise _unprocessable(
            "business-rule",
            f"Slot/{slot_id} starts in less than {lead} minutes; citizens must book at least that far ahead",
            rule="too-soon",
        )

    # Before the slot is claimed: the patient's own time in this very slot is theirs, not «taken by someone else».
    overlap.refuse_overlap(connection, principal, patient_id, start, end)
    # The conditional update is the lock: of many racing requests exactly one sees status 'free'.
    if connection.execute(_CLAIM, {"slot_id": slot_id}).rowcount != 1:
        raise conflict(f"Slot/{slot_id} is no longer free")

    # Core inserts of statements built once: the ORM's unit of work cost more than the database here.
    stamp = to_storage(now())
    values = dict(
        version=1,
        status="pending",
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
    )
    appointment_id = connection.execute(_INSERT_APPOINTMENT, values).inserted_primary_key[0]
    topic, text = messages.request_sent(office_name, type_code, _aware(start), place_name)
    connection.execute(
        _INSERT_MESSAGE,
        {
            "patient_id": patient_id,
            "organization_id": office_id,
            "appointment_id": appointment_id,
            "kind": "request-sent",
            "topic": topic,
            "text": text,
            "sent": stamp,
        },
    )
    audit.record(session, principal, [patient_id], "create", f"Appointment/{appointment_id}")
    versions.bump(
        session, versions.slot_change(schedule_id, start) + [versions.organization(office_id), versions.patient(patient_id)]
    )
    appointment = schema.Appointment(id=appointment_id, cancelation_code=None, cancelation_text=None, **values)
    appointment.place_and_type = (location_id, type_code)  # the answer needs them; no need to ask the database again
    return appointment


_SLOT_TABLE = schema.Slot.__table__.c
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
    )
    .join(schema.Schedule, schema.Slot.schedule_id == schema.Schedule.id)
    .join(schema.HealthcareService, schema.Schedule.healthcare_service_id == schema.HealthcareService.id)
    .join(schema.Organization, schema.HealthcareService.organization_id == schema.Organization.id)
    .join(schema.Location, schema.Schedule.location_id == schema.Location.id)
    .where(schema.Slot.id == bindparam("slot_id"))
)
_CLAIM = (
    update(schema.Slot.__table__)
    .where(_SLOT_TABLE.id == bindparam("slot_id"), _SLOT_TABLE.status == "free")
    .values(status="busy-tentative", version=_SLOT_TABLE.version + 1)
)
_INSERT_APPOINTMENT = insert(schema.Appointment.__table__)
_INSERT_MESSAGE = insert(schema.Communication.__table__)


def visible_patient(session: Session, principal: Principal, patient_id: int) -> bool:
    """A citizen sees themself; staff see their office's listed patients and anyone with a time there."""
    if not principal.is_staff:
        return patient_id == principal.patient_id
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
    return appointment if appointment.patient_id == principal.patient_id else None


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
        raise _unprocessable("not-found", f"Appointment/{answer.appointment_id} was not found")

    values: dict[str, Any] = {
        "status": "booked" if answer.accepted else "cancelled",
        "version": schema.Appointment.version + 1,
        "last_updated": to_storage(now()),
    }
    if not answer.accepted:
        values |= {"cancelation_code": "prov", "cancelation_text": answer.comment}
    # Only a still-pending request can be answered: of two staff answering at once, one wins.
    changed = session.execute(
        update(schema.Appointment)
        .where(schema.Appointment.id == appointment.id, schema.Appointment.status == "pending")
        .values(**values)
    ).rowcount
    if changed != 1:
        raise conflict(f"Appointment/{appointment.id} has already been answered or cancelled")
    session.execute(
        update(schema.Slot)
        .where(schema.Slot.id == appointment.slot_id)
        .values(status="busy" if answer.accepted else "free", version=schema.Slot.version + 1)
    )
    session.refresh(appointment)
    slot = session.get(schema.Slot, appointment.slot_id)
    office, service, place = _context(session, slot)
    start = _aware(appointment.start)
    if answer.accepted:
        _tell_patient(session, appointment, "confirmed", messages.confirmed(office.name, service.type_code, start, place.name))
    else:
        _tell_patient(session, appointment, "rejected", messages.rejected(office.name, service.type_code, start, answer.comment))
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


def cancel(
    session: Session, principal: Principal, appointment_id: int, expected_version: int | None, reason: str | None
) -> schema.Appointment:
    """Cancel a pending or booked appointment and free its slot; a stale version changes nothing."""
    appointment = visible_appointment(session, principal, appointment_id)
    if appointment is None:
        raise FhirError(404, "not-found", f"Appointment/{appointment_id} was not found")
    if expected_version is not None and expected_version != appointment.version:
        raise FhirError(
            412,
            "conflict",
            f"Appointment/{appointment_id} has changed (version {appointment.version}, you sent {expected_version}); read it again",
        )
    if appointment.status not in ("pending", "booked"):
        raise conflict(f"Appointment/{appointment_id} is {appointment.status} and cannot be cancelled")
    if _aware(appointment.start) <= now():
        raise _unprocessable("business-rule", "An appointment that has started cannot be cancelled")
    check_reason(reason, "cancelationReason")
    changed = session.execute(
        update(schema.Appointment)
        .where(schema.Appointment.id == appointment.id, schema.Appointment.version == appointment.version)
        .values(
            status="cancelled",
            version=schema.Appointment.version + 1,
            last_updated=to_storage(now()),
            cancelation_code="pat" if principal.is_staff else "pat-cpp",
            cancelation_text=reason,
        )
    ).rowcount
    if changed != 1:
        if expected_version is None:
            # No If-Match: the caller made no claim about the version, so losing a race is a plain conflict, not 412.
            raise conflict(f"Appointment/{appointment_id} was changed by someone else while you cancelled it; read it again")
        raise FhirError(412, "conflict", f"Appointment/{appointment_id} changed while you cancelled it; read it again")
    session.execute(
        update(schema.Slot).where(schema.Slot.id == appointment.slot_id).values(status="free", version=schema.Slot.version + 1)
    )
    session.refresh(appointment)
    slot = session.get(schema.Slot, appointment.slot_id)
    office, service, _ = _context(session, slot)
    _tell_patient(
        session,
        appointment,
        "cancelled",
        messages.cancelled(office.name, service.type_code, _aware(appointment.start), by_office=principal.is_staff),
    )
    audit.record(session, principal, [appointment.patient_id], "update", f"Appointment/{appointment.id} cancelled")
    versions.bump_for_appointment(session, appointment)
    return appointment
