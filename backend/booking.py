"""The booking rules: request a slot, the office's answer, cancelling — each atomic, each telling the patient."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend import audit, messages, schema
from backend.auth import Principal
from backend.fhir import parse_id, to_storage
from backend.outcome import FhirError, conflict, forbidden, invalid
from domain.clock import now

MAX_REASON = 1000


def _unprocessable(code: str, diagnostics: str, *, rule: str | None = None) -> FhirError:
    return FhirError(422, code, diagnostics, rule=rule)


def _reference_id(value: Any, resource_type: str, where: str) -> int:
    text = value.get("reference") if isinstance(value, dict) else None
    id_ = parse_id(text.split("/", 1)[1]) if isinstance(text, str) and text.startswith(f"{resource_type}/") else None
    if id_ is None:
        raise invalid(f"{where} must be a reference like {{\"reference\": \"{resource_type}/123\"}}")
    return id_


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


def request_booking(session: Session, principal: Principal, body: Any, *, identifier: str | None = None) -> schema.Appointment:
    """POST Appointment: reserve one free slot for a patient as a pending request."""
    if not isinstance(body, dict) or body.get("resourceType") != "Appointment":
        raise invalid("The body must be an Appointment resource")
    if body.get("status") != "pending":
        raise invalid("A booking request must have status 'pending'")
    slots = body.get("slot")
    if not isinstance(slots, list) or len(slots) != 1:
        raise invalid("A booking request must name exactly one slot")
    slot_id = _reference_id(slots[0], "Slot", "slot[0]")
    reason = body.get("description")
    if reason is not None and not isinstance(reason, str):
        raise invalid("description must be a string")
    reason = (reason or "").strip() or None
    if reason and len(reason) > MAX_REASON:
        raise FhirError(400, "too-long", f"description is {len(reason)} characters; at most {MAX_REASON} are allowed")
    participants = body.get("participant")
    if not isinstance(participants, list):
        raise invalid("participant must list the patient")
    patient_refs = [
        p["actor"] for p in participants if isinstance(p, dict) and isinstance(p.get("actor"), dict)
        and str(p["actor"].get("reference", "")).startswith("Patient/")
    ]
    if len(patient_refs) != 1:
        raise invalid("participant must name exactly one Patient")
    patient_id = _reference_id(patient_refs[0], "Patient", "participant.actor")

    patient = session.get(schema.Patient, patient_id)
    if patient is None or not _may_book_for(session, principal, patient):
        raise _unprocessable("not-found", f"Patient/{patient_id} was not found")
    slot = session.get(schema.Slot, slot_id)
    if slot is None:
        raise _unprocessable("not-found", f"Slot/{slot_id} was not found")
    office, service, place = _context(session, slot)
    if principal.is_staff and office.id != principal.organization_id:
        raise forbidden("Staff can only book in their own office's timebooks")
    if _aware(slot.start) <= now():
        raise _unprocessable("business-rule", f"Slot/{slot_id} starts in the past and cannot be booked", rule="slot-past")
    if not principal.is_staff:  # the front desk may book closer in (and is warned); citizens keep the lead time
        lead = session.get(schema.Schedule, slot.schedule_id).lead_minutes
        if _aware(slot.start) < now() + timedelta(minutes=lead):
            raise _unprocessable("business-rule", f"Slot/{slot_id} starts in less than {lead} minutes; citizens must book "
                                 f"at least that far ahead", rule="too-soon")

    # The conditional update is the lock: of many racing requests exactly one sees status 'free'.
    taken = session.execute(
        update(schema.Slot)
        .where(schema.Slot.id == slot_id, schema.Slot.status == "free")
        .values(status="busy-tentative", version=schema.Slot.version + 1)
    ).rowcount
    if taken != 1:
        raise conflict(f"Slot/{slot_id} is no longer free")

    stamp = to_storage(now())
    appointment = schema.Appointment(
        version=1,
        status="pending",
        slot_id=slot.id,
        patient_id=patient.id,
        organization_id=office.id,
        start=slot.start,
        end=slot.end,
        description=reason,
        created=stamp,
        last_updated=stamp,
        booked_by=principal.role,
        identifier=identifier,
    )
    session.add(appointment)
    session.flush()
    _tell_patient(session, appointment, "request-sent", messages.request_sent(office.name, service.type_code, _aware(slot.start), place.name))
    audit.record(session, principal, [patient.id], "create", f"Appointment/{appointment.id}")
    return appointment


def _may_book_for(session: Session, principal: Principal, patient: schema.Patient) -> bool:
    if principal.is_staff:
        return visible_patient(session, principal, patient.id)
    return patient.id == principal.patient_id


def visible_patient(session: Session, principal: Principal, patient_id: int) -> bool:
    """A citizen sees themself; staff see their office's listed patients and anyone with a time there."""
    if not principal.is_staff:
        return patient_id == principal.patient_id
    patient = session.get(schema.Patient, patient_id)
    if patient is None:
        return False
    if patient.gp_organization_id == principal.organization_id:
        return True
    return session.scalar(
        select(schema.Appointment.id).where(
            schema.Appointment.patient_id == patient_id, schema.Appointment.organization_id == principal.organization_id
        ).limit(1)
    ) is not None


def visible_appointment(session: Session, principal: Principal, appointment_id: int) -> schema.Appointment | None:
    appointment = session.get(schema.Appointment, appointment_id)
    if appointment is None:
        return None
    if principal.is_staff:
        return appointment if appointment.organization_id == principal.organization_id else None
    return appointment if appointment.patient_id == principal.patient_id else None


def respond(session: Session, principal: Principal, body: Any, *, identifier: str | None = None) -> tuple[schema.AppointmentResponse, schema.Appointment]:
    """POST AppointmentResponse: the office confirms or declines a pending request."""
    if not principal.is_staff:
        raise forbidden("Only the GP office can answer a booking request")
    if not isinstance(body, dict) or body.get("resourceType") != "AppointmentResponse":
        raise invalid("The body must be an AppointmentResponse resource")
    appointment_id = _reference_id(body.get("appointment"), "Appointment", "appointment")
    answer = body.get("participantStatus")
    if answer not in ("accepted", "declined"):
        raise invalid("participantStatus must be 'accepted' or 'declined'")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise invalid("comment must be a string")
    comment = (comment or "").strip() or None
    if answer == "declined" and not comment:
        raise invalid("A declined request needs a short reason in comment, for the patient")
    if comment and len(comment) > MAX_REASON:
        raise FhirError(400, "too-long", f"comment is {len(comment)} characters; at most {MAX_REASON} are allowed")
    appointment = visible_appointment(session, principal, appointment_id)
    if appointment is None:
        raise _unprocessable("not-found", f"Appointment/{appointment_id} was not found")

    new_status = "booked" if answer == "accepted" else "cancelled"
    values: dict[str, Any] = {"status": new_status, "version": schema.Appointment.version + 1, "last_updated": to_storage(now())}
    if answer == "declined":
        values |= {"cancelation_code": "prov", "cancelation_text": comment}
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
        .values(status="busy" if answer == "accepted" else "free", version=schema.Slot.version + 1)
    )
    session.refresh(appointment)
    slot = session.get(schema.Slot, appointment.slot_id)
    office, service, place = _context(session, slot)
    start = _aware(appointment.start)
    if answer == "accepted":
        _tell_patient(session, appointment, "confirmed", messages.confirmed(office.name, service.type_code, start, place.name))
    else:
        _tell_patient(session, appointment, "rejected", messages.rejected(office.name, service.type_code, start, comment))
    response = schema.AppointmentResponse(
        appointment_id=appointment.id,
        organization_id=office.id,
        status=answer,
        comment=comment,
        created=to_storage(now()),
        identifier=identifier,
    )
    session.add(response)
    session.flush()
    audit.record(session, principal, [appointment.patient_id], "update", f"Appointment/{appointment.id} {answer}")
    return response, appointment


def cancel(session: Session, principal: Principal, appointment_id: int, expected_version: int | None, reason: str | None) -> schema.Appointment:
    """Cancel a pending or booked appointment and free its slot; a stale version changes nothing."""
    appointment = visible_appointment(session, principal, appointment_id)
    if appointment is None:
        raise FhirError(404, "not-found", f"Appointment/{appointment_id} was not found")
    if expected_version is not None and expected_version != appointment.version:
        raise FhirError(412, "conflict", f"Appointment/{appointment_id} has changed (version {appointment.version}, you sent {expected_version}); read it again")
    if appointment.status not in ("pending", "booked"):
        raise conflict(f"Appointment/{appointment_id} is {appointment.status} and cannot be cancelled")
    if _aware(appointment.start) <= now():
        raise _unprocessable("business-rule", "An appointment that has started cannot be cancelled")
    if reason and len(reason) > MAX_REASON:
        raise FhirError(400, "too-long", f"cancelationReason is {len(reason)} characters; at most {MAX_REASON} are allowed")
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
        session, appointment, "cancelled",
        messages.cancelled(office.name, service.type_code, _aware(appointment.start), by_office=principal.is_staff),
    )
    audit.record(session, principal, [appointment.patient_id], "update", f"Appointment/{appointment.id} cancelled")
    return appointment
