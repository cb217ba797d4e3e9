"""SMART Scheduling Links: the public NDJSON files (Locations, Schedules, Slots) a slot finder polls, and their manifest."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebok.backend import fhir, schema
from timebok.domain.clock import now
from timebok.domain.timetypes import TIMETYPE_SYSTEM, TIMETYPES

SMART = "http://fhir-registry.smarthealthit.org"
DEEP_LINK_URL = f"{SMART}/StructureDefinition/booking-deep-link"
BOOKING_PHONE_URL = f"{SMART}/StructureDefinition/booking-phone"
CAPACITY_URL = f"{SMART}/StructureDefinition/slot-capacity"
NDJSON = "application/fhir+ndjson"

# What a finder that knows only HL7's or SMART's codes can match on, besides the Volven 7617 code.
_IMMUNIZATION = {"system": "http://terminology.hl7.org/CodeSystem/service-type", "code": "57", "display": "Immunization"}
_EXTRA_CODINGS: dict[str, list[dict[str, str]]] = {
    "Vaksine": [_IMMUNIZATION],
    "Koronavaksine": [
        _IMMUNIZATION,
        {
            "system": f"{SMART}/CodeSystem/service-type",
            "code": "covid19-immunization",
            "display": "COVID-19 Immunization Appointment",
        },
    ],
}


@dataclass(frozen=True)
class Published:
    """One published data set: file name → NDJSON bytes, and the strong tag of the whole set."""

    files: dict[str, bytes]
    tag: str
    at: datetime


def fingerprint(session: Session) -> tuple[int, int, int]:
    """What the files depend on besides the clock: every timebook's change counter (bumped by each booking,
    answer, cancel and slot generation) and the setup changes (places, timebooks, opening hours)."""
    slots = session.scalar(
        select(func.coalesce(func.sum(schema.ChangeVersion.version), 0)).where(schema.ChangeVersion.scope.like("timebook:%"))
    )
    setup = session.scalar(select(func.coalesce(func.max(schema.SetupEvent.id), 0)))
    places = session.scalar(select(func.count()).select_from(schema.Location))
    return int(slots or 0), int(setup or 0), int(places or 0)


def render(session: Session, base: str, booking_link: str | None) -> Published:
    """The three kinds of file, from the database as it is now. Only what anyone may see: places, timebooks and
    whether a time is free. No appointment, patient or message is read."""
    at = now()
    offices = {o.id: o for o in session.scalars(select(schema.Organization)).all()}
    services = {s.id: s for s in session.scalars(select(schema.HealthcareService)).all()}
    books = [
        b
        for b in session.scalars(select(schema.Schedule).where(schema.Schedule.active.is_(True)).order_by(schema.Schedule.id))
        if services[b.healthcare_service_id].active
    ]
    place_ids = {b.location_id for b in books}
    places = session.scalars(select(schema.Location).where(schema.Location.id.in_(place_ids)).order_by(schema.Location.id)).all()
    locations = [_location(p, offices[p.organization_id], base) for p in places]
    schedules = [_schedule(b, services[b.healthcare_service_id]) for b in books]
    slots: list[fhir.Resource] = []
    for book in books:
        # A citizen cannot book inside the timebook's lead time, so a finder is not told such a time is free.
        opens = fhir.to_storage(at + timedelta(minutes=book.lead_minutes))
        rows = session.execute(
            select(schema.Slot.start, schema.Slot.end, schema.Slot.status, func.min(schema.Slot.id), func.count())
            .where(
                schema.Slot.schedule_id == book.id,
                schema.Slot.start >= opens,
                schema.Slot.status.in_(("free", "busy", "busy-tentative")),
            )
            .group_by(schema.Slot.start, schema.Slot.end, schema.Slot.status)
            .order_by(schema.Slot.start, schema.Slot.status)
        ).all()
        phone = offices[services[book.healthcare_service_id].organization_id].phone
        slots += [_slot(book.id, *row, base=base, booking_link=booking_link, phone=phone) for row in rows]
    files = {
        "locations.ndjson": _ndjson(locations),
        "schedules.ndjson": _ndjson(schedules),
        "slots.ndjson": _ndjson(slots),
    }
    digest = hashlib.sha256(b"\0".join(name.encode() + b"\0" + body for name, body in sorted(files.items()))).hexdigest()
    return Published(files, f'"{digest[:32]}"', at)


def file_tag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def _ndjson(resources: list[fhir.Resource]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in resources)


def _location(row: schema.Location, office: schema.Organization, base: str) -> fhir.Resource:
    resource = fhir.location(row)
    # SMART asks for an identifier and at least one contact point; the place's own id under this server, and the office's phone.
    resource["identifier"] = [{"system": f"{base}/Location", "value": str(row.id)}]
    if office.phone:
        resource["telecom"] = [{"system": "phone", "value": office.phone}]
    return resource


def _schedule(row: schema.Schedule, service: schema.HealthcareService) -> fhir.Resource:
    coding = [
        {"system": TIMETYPE_SYSTEM, "code": service.type_code, "display": TIMETYPES.get(service.type_code, service.type_code)}
    ]
    return {
        "resourceType": "Schedule",
        "id": str(row.id),
        "active": True,
        # SMART: one actor, the place (the read also names the HealthcareService, which a finder does not fetch).
        "actor": [fhir.ref("Location", row.location_id)],
        "serviceType": [{"coding": coding + _EXTRA_CODINGS.get(service.type_code, [])}],
        "comment": row.name,
    }


def _slot(
    schedule_id: int,
    start: datetime,
    end: datetime,
    status: str,
    first_id: int,
    count: int,
    *,
    base: str,
    booking_link: str | None,
    phone: str | None,
) -> fhir.Resource:
    # Parallel slots at the same time are one published slot with their number as its capacity (SMART's "MAY
    # aggregate otherwise identical slots"); a time held for a request is busy to a finder.
    free = status == "free"
    extension: list[dict[str, Any]] = [{"url": CAPACITY_URL, "valueInteger": count}]
    if free:
        link = (booking_link or "{base}/Slot/{slot}").format(base=base, slot=first_id)
        extension.insert(0, {"url": DEEP_LINK_URL, "valueUrl": link})
        if phone:
            extension.insert(1, {"url": BOOKING_PHONE_URL, "valueString": phone})
    return {
        "resourceType": "Slot",
        "id": str(first_id),
        "schedule": fhir.ref("Schedule", schedule_id),
        "status": "free" if free else "busy",
        "start": fhir.instant(start),
        "end": fhir.instant(end),
        "extension": extension,
    }


def manifest(published: Published, base: str) -> dict[str, Any]:
    kinds = {"locations.ndjson": "Location", "schedules.ndjson": "Schedule", "slots.ndjson": "Slot"}
    return {
        "transactionTime": published.at.isoformat(timespec="milliseconds"),
        "request": f"{base}/$bulk-publish",
        "output": [{"type": kinds[name], "url": f"{base}/$bulk-publish/{name}"} for name in published.files],
        "error": [],
    }
