"""One patient never holds two active times that overlap, in any timebook of any office: the race-safe check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from timebok.backend import schema
from timebok.backend.auth import Principal
from timebok.backend.fhir import instant
from timebok.backend.outcome import conflict
from timebok.domain.timetypes import TIMETYPE_SYSTEM

ACTIVE = ("pending", "booked")  # the statuses the booking rules write for a time still held (cancel frees exactly these)
RULE = "patient-overlap"
EXTENSION_URL = "https://timebok.example/fhir/StructureDefinition/overlapping-appointment"

# The patient's row is the lock: on PostgreSQL two bookings for one patient queue here, and the second reads the
# first once it is committed (READ COMMITTED reads anew per statement). SQLite renders no FOR UPDATE: its single
# writer (BEGIN IMMEDIATE, writers.WriterQueue) already runs them one after the other.
# FOR NO KEY UPDATE (PostgreSQL): bookings of one patient still queue on it, but a row that merely refers to the
# patient (an audit event, an inbox message) is not blocked by it. With FOR UPDATE the desk letting a hold go (slot
# locked, then its audit row) and the patient sending that hold (patient locked, then the slot) deadlocked.
_LOCK_PATIENT = select(schema.Patient.id).where(schema.Patient.id == bindparam("patient_id")).with_for_update(key_share=True)
_OVERLAPPING = (
    select(
        schema.Appointment.id,
        schema.Appointment.start,
        schema.Appointment.organization_id,
        schema.Location.name,
        schema.HealthcareService.type_code,
    )
    .join(schema.Slot, schema.Appointment.slot_id == schema.Slot.id)
    .join(schema.Schedule, schema.Slot.schedule_id == schema.Schedule.id)
    .join(schema.Location, schema.Schedule.location_id == schema.Location.id)
    .join(schema.HealthcareService, schema.Schedule.healthcare_service_id == schema.HealthcareService.id)
    .where(
        schema.Appointment.patient_id == bindparam("patient_id"),
        schema.Appointment.status.in_(ACTIVE),
        schema.Appointment.start < bindparam("end"),
        schema.Appointment.end > bindparam("start"),
    )
    .order_by(schema.Appointment.start, schema.Appointment.id)
    .limit(1)
)


def refuse_overlap(
    connection: Connection, principal: Principal, patient_id: int, start: datetime, end: datetime, *, ignore: int | None = None
) -> None:
    """Lock the patient until the transaction ends, then refuse (409 `patient-overlap`) a time that overlaps one they hold.

    `start` and `end` are stored (naive UTC) times. The refusal names the other time's start; its type, place
    and Appointment only to a caller who may see it (the patient themself, or staff of that office)."""
    connection.execute(_LOCK_PATIENT, {"patient_id": patient_id})
    query = _OVERLAPPING if ignore is None else _OVERLAPPING.where(schema.Appointment.id != ignore)  # a change's old time
    found = connection.execute(query, {"patient_id": patient_id, "start": start, "end": end}).first()
    if found is None:
        return
    other_id, other_start, office_id, place, type_code = found
    visible = not principal.is_staff or office_id == principal.organization_id
    parts: list[dict[str, Any]] = [{"url": "start", "valueInstant": instant(other_start)}]
    where = ""
    if visible:
        parts += [
            {"url": "type", "valueCoding": {"system": TIMETYPE_SYSTEM, "code": type_code}},
            {"url": "place", "valueString": place},
            {"url": "appointment", "valueReference": {"reference": f"Appointment/{other_id}"}},
        ]
        where = f" ({type_code} at {place}, Appointment/{other_id})"
    raise conflict(
        f"Patient/{patient_id} already has a time at {instant(other_start)}{where} that overlaps this one; "
        f"a patient holds one time at once",
        rule=RULE,
        extension=[{"url": EXTENSION_URL, "extension": parts}],
    )
