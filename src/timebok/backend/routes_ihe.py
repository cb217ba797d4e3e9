"""IHE ITI Scheduling's operations on the booking rules: $find (ITI-115), $hold (ITI-116) and $book (ITI-117).

A proposal from $find is not stored: its id names the slot (and the patient), `s812-p1`, so $hold and $book can
claim exactly that time later, and a time nobody chose leaves nothing behind."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from fastapi import APIRouter, Request
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from timebok.backend import bodies, booking, booking_body, fhir, life, representation, schema
from timebok.backend.auth import Principal
from timebok.backend.db import Database
from timebok.backend.deps import CurrentPrincipal, DatabaseDep
from timebok.backend.http import FhirResponse, fhir_base, json_body
from timebok.backend.outcome import FhirError, conflict, invalid, not_found, unprocessable
from timebok.backend.routes_booking import appointment_resource
from timebok.backend.search import SearchParams
from timebok.domain.clock import now, parse_instant
from timebok.domain.timetypes import TIMETYPE_SYSTEM

router = APIRouter(prefix="/fhir")

IHE = "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/"
FIND, HOLD, BOOK = IHE + "appointment-find", IHE + "appointment-hold", IHE + "appointment-book"

_Query = Select[schema.Slot, schema.Schedule, schema.HealthcareService]
_Status = Literal["proposed", "pending", "booked"]
_PROPOSAL = re.compile(r"^s([0-9]{1,18})(?:-p([0-9]{1,18}))?$")
# In the OperationDefinition but nothing here can answer them: refused by name rather than silently ignored.
_UNSUPPORTED = {"specialty", "practitioner", "patient-resource", "reason", "referral-identifier", "timing", "insurance-reference"}
_FIND = {"start", "end", "visit-type", "organization", "location-reference", "location-string", "patient-reference", "_count"}


def _parameters(items: list[tuple[str, Any]], allowed: set[str], operation: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for name, value in items:
        if name in _UNSUPPORTED and operation == "$find":
            raise FhirError(
                400, "not-supported", f"$find parameter {name} is not supported here (no such data in a ressurstimebok)"
            )
        if name not in allowed | {"_format"}:
            raise invalid(f"Unknown {operation} parameter {name!r}; supported: {', '.join(sorted(allowed))}")
        found.setdefault(name, []).append(value)
    return found


async def _items(request: Request) -> list[tuple[str, Any]]:
    """The operation's inputs: a Parameters body (POST), else the query (GET, for simple types)."""
    if request.method == "GET":
        SearchParams(list(request.query_params.multi_items()), set(request.query_params))  # NUL checks
        return list(request.query_params.multi_items())
    body = await json_body(request)
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise invalid("The body must be a Parameters resource")
    items: list[tuple[str, Any]] = []
    for index, parameter in enumerate(body.get("parameter") or []):
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise invalid(f"Parameters.parameter[{index}] must have a name", expression=[f"Parameters.parameter[{index}]"])
        values = [(k, v) for k, v in parameter.items() if k.startswith("value") or k == "resource"]
        if len(values) != 1:
            raise invalid(f"Parameters.parameter[{index}] must carry one value", expression=[f"Parameters.parameter[{index}]"])
        items.append((parameter["name"], values[0][1]))
    return items


def _reference(value: Any, kind: str, name: str) -> int:
    text = value.get("reference") if isinstance(value, dict) else value
    if not isinstance(text, str):
        raise invalid(f"{name} must be a reference like {kind}/1 (an identifier alone is not resolved here)")
    type_, slash, id_ = text.rstrip("/").rpartition("/")
    row_id = fhir.parse_id(id_)
    if row_id is None or type_.rpartition("/")[2] != kind:
        raise invalid(f"{name} must be a reference like {kind}/1, got {text[:80]!r}")
    return row_id


def _instant(values: list[Any] | None, name: str) -> datetime | None:
    if not values:
        return None
    if len(values) > 1 or not isinstance(values[0], str):
        raise invalid(f"{name} must be given once, as a dateTime")
    try:
        at = parse_instant(values[0])
        at.astimezone(UTC)  # the tables keep UTC, which the edges of year 1 and year 9999 overflow
        return at
    except (ValueError, OverflowError):
        raise invalid(f"{name} must be a dateTime like 2026-12-01T08:00:00+01:00, got {values[0][:40]!r}") from None


def _one_patient(values: list[Any] | None, who: Principal) -> int | None:
    if not values:
        return who.patient_id if not who.is_staff else None
    if len(values) > 1:
        raise FhirError(400, "not-supported", "Group appointments (several patient-reference) are not supported")
    return _reference(values[0], "Patient", "patient-reference")


@router.api_route("/Appointment/$find", methods=["GET", "POST"])
async def find(request: Request, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    """ITI-115: potential appointments (status proposed) on free times, for a window, time types and places."""
    # Async so a Parameters body can be read; the database work runs in a thread, as a sync route's would.
    given = _parameters(await _items(request), _FIND, "$find")
    return await run_in_threadpool(_find, request, who, db, given)


def _find(request: Request, who: Principal, db: Database, given: dict[str, list[Any]]) -> FhirResponse:
    start, end = _instant(given.get("start"), "start"), _instant(given.get("end"), "end")
    lower = start or now()
    if end is not None and end <= lower:
        raise invalid("end must be after start")
    count = SearchParams([("_count", str(v)) for v in given.get("_count", [])], set()).count(20, 200)
    patient_id = _one_patient(given.get("patient-reference"), who)
    query = (
        select(schema.Slot, schema.Schedule, schema.HealthcareService)
        .join(schema.Schedule, schema.Slot.schedule_id == schema.Schedule.id)
        .join(schema.HealthcareService, schema.Schedule.healthcare_service_id == schema.HealthcareService.id)
        .join(schema.Location, schema.Schedule.location_id == schema.Location.id)
        .where(
            schema.Slot.status == "free",  # a held time (busy-tentative) is never proposed, as ITI-115 requires
            schema.Slot.start >= fhir.to_storage(max(lower, now())),
            schema.Schedule.active.is_(True),
            schema.HealthcareService.active.is_(True),
        )
    )
    if end is not None:
        query = query.where(schema.Slot.start < fhir.to_storage(end))
    if who.is_staff:
        query = query.where(schema.HealthcareService.organization_id == who.organization_id)
    query = _narrowed(query, given)
    with db.reading() as session:
        if patient_id is not None and not who.is_staff:
            # A citizen finds times for themself or for whom they may act (issue 27), else 403 not-representative as
            # every other route answers; whether they may book is $hold's and $book's to say (read-only).
            representation.acting_for(session, who, patient_id, write=False)
        elif patient_id is not None and not booking.visible_patient(session, who, patient_id):
            raise unprocessable("not-found", f"Patient/{patient_id} was not found")
        rows = session.execute(query.order_by(schema.Slot.start, schema.Slot.id)).all()
        if not who.is_staff:  # a citizen is never offered a time inside the timebook's lead time
            rows = [r for r in rows if r[0].start.replace(tzinfo=UTC) >= now() + timedelta(minutes=r[1].lead_minutes)]
        base = fhir_base(request)
        proposals = [_proposal(slot, book, service, patient_id, start, end) for slot, book, service in rows[:count]]
    bundle = fhir.bundle(base, proposals, total=len(rows), self_url=f"{base}/Appointment/$find")
    return FhirResponse(bundle)


def _narrowed(query: _Query, given: dict[str, list[Any]]) -> _Query:
    # Each kind of participant is an AND; several of one kind are an OR (the OperationDefinition's comment).
    codes = []
    for value in given.get("visit-type", []):
        system, bar, code = str(value).rpartition("|")
        if not bar or not system:
            raise invalid(f"visit-type must be system|code (e.g. {TIMETYPE_SYSTEM}|Lab), got {str(value)[:60]!r}")
        if system == TIMETYPE_SYSTEM:
            codes.append(code)
        else:
            codes.append("\0unknown")  # a code system this server does not use matches nothing
    if given.get("visit-type"):
        query = query.where(schema.HealthcareService.type_code.in_(codes))
    if offices := [_reference(v, "Organization", "organization") for v in given.get("organization", [])]:
        query = query.where(schema.HealthcareService.organization_id.in_(offices))
    if places := [_reference(v, "Location", "location-reference") for v in given.get("location-reference", [])]:
        query = query.where(schema.Schedule.location_id.in_(places))
    if texts := [str(v).strip().lower() for v in given.get("location-string", [])]:
        query = query.where(
            or_(
                *[
                    or_(
                        func.lower(schema.Location.city).startswith(t, autoescape=True),
                        func.lower(schema.Location.postal_code).startswith(t, autoescape=True),
                        func.lower(schema.Location.address_line).startswith(t, autoescape=True),
                    )
                    for t in texts
                ]
            )
        )
    return query


def _proposal(
    slot: schema.Slot,
    book: schema.Schedule,
    service: schema.HealthcareService,
    patient_id: int | None,
    start: datetime | None,
    end: datetime | None,
) -> fhir.Resource:
    participants: list[dict[str, Any]] = []
    if patient_id is not None:
        participants.append({"actor": fhir.ref("Patient", patient_id), "required": "required", "status": "needs-action"})
    participants += [
        {"actor": fhir.ref("Organization", service.organization_id), "required": "required", "status": "needs-action"},
        {"actor": fhir.ref("Location", book.location_id), "required": "information-only", "status": "accepted"},
    ]
    resource: fhir.Resource = {
        "resourceType": "Appointment",
        "id": f"s{slot.id}" + (f"-p{patient_id}" if patient_id is not None else ""),
        "status": "proposed",
        "serviceType": [fhir.timetype(service.type_code)],
        "start": fhir.instant(slot.start),
        "end": fhir.instant(slot.end),
        "slot": [fhir.ref("Slot", slot.id)],
        "participant": participants,
    }
    if start is not None or end is not None:
        resource["requestedPeriod"] = [{k: v.isoformat() for k, v in (("start", start), ("end", end)) if v is not None}]
    return resource


def _target(value: Any) -> tuple[str, int, int | None]:
    """An appointment-reference: ("proposal", slot, patient) for one from $find, ("stored", id, None) for a hold or booking."""
    text = value.get("reference") if isinstance(value, dict) else value
    if not isinstance(text, str):
        raise invalid("appointment-reference must be a reference like Appointment/s812-p1 (from $find) or Appointment/6")
    type_, _, id_ = text.rstrip("/").rpartition("/")
    if type_.rpartition("/")[2] == "Appointment":
        if (found := _PROPOSAL.match(id_)) is not None:
            return "proposal", int(found[1]), int(found[2]) if found[2] else None
        if (row_id := fhir.parse_id(id_)) is not None:
            return "stored", row_id, None
    raise invalid(f"appointment-reference must name an Appointment, got {text[:80]!r}")


def _answer(session: Session, appointment: schema.Appointment, base: str) -> FhirResponse:
    # ITI-116/117: a searchset Bundle holding the one Appointment.
    resource = appointment_resource(session, appointment)
    return FhirResponse(fhir.bundle(base, [resource], total=1, self_url=f"{base}/Appointment/{appointment.id}"))


def _stored(session: Session, who: Principal, row_id: int) -> schema.Appointment:
    appointment = booking.visible_appointment(session, who, row_id)
    if appointment is None:
        booking.refuse_former_representative(session, who, row_id)
        raise not_found(f"Appointment/{row_id}")
    return appointment


def _claim(
    session: Session,
    who: Principal,
    slot_id: int,
    patient_id: int | None,
    status: str,
    comment: str | None,
    replaces: int | None = None,
) -> schema.Appointment:
    patient = patient_id if patient_id is not None else who.patient_id
    if patient is None:
        raise unprocessable("required", "Name the patient: ask $find with patient-reference, and use the proposal it answers")
    wanted = booking_body.BookingRequest(
        slot_id=slot_id, patient_id=patient, reason=comment, status=cast(_Status, status), replaces_id=replaces
    )
    return booking.request_booking(session, who, wanted).appointment


def _comment(given: dict[str, list[Any]]) -> str | None:
    values = given.get("comment") or []
    if len(values) > 1 or (values and not isinstance(values[0], str)):
        raise invalid("comment must be given once, as a string")
    text = values[0].strip() if values else ""
    booking_body.check_reason(text or None, "comment")
    return text or None


@router.post("/Appointment/$hold")
async def hold(request: Request, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    """ITI-116: hold a proposal from $find; issue 24's hold (status proposed, the Slot busy-tentative for minutes)."""
    given = _parameters(await _items(request), {"appointment-reference"}, "$hold")
    if len(given.get("appointment-reference", [])) != 1:
        raise invalid("$hold needs one appointment-reference (a proposal from $find)")
    kind, slot_id, patient_id = _target(given["appointment-reference"][0])
    if kind != "proposal":
        raise invalid("$hold takes a proposal from $find (Appointment/s812-p1), not a stored Appointment")
    return await run_in_threadpool(_hold, fhir_base(request), who, db, slot_id, patient_id)


def _hold(base: str, who: Principal, db: Database, slot_id: int, patient_id: int | None) -> FhirResponse:
    with db.writing() as session:
        return _answer(session, _claim(session, who, slot_id, patient_id, "proposed", None), base)


@router.post("/Appointment/$book")
async def book(request: Request, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    """ITI-117: book a proposal or a hold, modify (move) or cancel a time. A citizen's booking is a request the
    office confirms (status pending), the front desk's is booked at once."""
    given = _parameters(
        await _items(request), {"appointment-reference", "appointment-resource", "patient-resource", "comment"}, "$book"
    )
    if given.get("patient-resource"):
        raise FhirError(400, "not-supported", "patient-resource is not used: name the patient in $find (patient-reference)")
    return await run_in_threadpool(_book, fhir_base(request), who, db, given)


def _book(base: str, who: Principal, db: Database, given: dict[str, list[Any]]) -> FhirResponse:
    references, resources = given.get("appointment-reference", []), given.get("appointment-resource", [])
    if len(references) + len(resources) != 1:
        raise invalid("$book needs exactly one appointment-reference or appointment-resource")
    comment = _comment(given)
    booked = "booked" if who.is_staff else "pending"
    with db.writing() as session:
        if references:
            kind, number, patient_id = _target(references[0])
            if kind == "proposal":
                return _answer(session, _claim(session, who, number, patient_id, booked, comment), base)
            held = _stored(session, who, number)
            if held.status != "proposed":
                raise conflict(f"Appointment/{number} is {held.status}, not a hold", rule=life.ILLEGAL)
            life.refuse_illegal(held, booked, who)
            # The hold's person, as POST and PATCH decide it: a fullmakt withdrawn since the hold is 403 now.
            representation.acting_for(session, who, held.patient_id, write=True)
            return _answer(session, life.convert_hold(session, who, held, None, booked, comment), base)
        resource = resources[0]
        if isinstance(resource, dict):  # a proposal from $find sent back whole: its requested window is no input here
            resource = {k: v for k, v in resource.items() if k != "requestedPeriod"}
        body = bodies.parse(bodies.AppointmentBody, "Appointment", resource)
        if body.status == "pending" and body.id is None:  # a new booking, as POST Appointment
            wanted = booking_body.booking_request(body)
            status = booked if wanted.status == "pending" else wanted.status
            return _answer(
                session, _claim(session, who, wanted.slot_id, wanted.patient_id, status, comment or wanted.reason), base
            )
        row_id = fhir.parse_id(body.id or "")
        if row_id is None:
            raise invalid("To modify or cancel, the appointment-resource must carry the id of a stored Appointment")
        current = _stored(session, who, row_id)
        if body.status == "cancelled":
            reason = comment or (body.cancelationReason.text if body.cancelationReason else None)
            override = booking_body.cancel_override(body.cancelationReason, "Appointment.cancelationReason")
            return _answer(session, booking.cancel(session, who, row_id, None, reason, override), base)
        if body.status == "booked":
            # A move: R4 has no in-place change of time here; issue 24's change is a new Appointment replacing this one.
            if body.slot is None or len(body.slot) != 1:
                raise invalid("A modification names the new time in slot (one Slot)")
            slot_id = booking_body.slot_reference(body.slot[0])
            if slot_id == current.slot_id:
                raise unprocessable("business-rule", "Only the time can be modified; send the new slot")
            new = _claim(session, who, slot_id, current.patient_id, booked, comment, replaces=current.id)
            return _answer(session, new, base)
        raise invalid("appointment-resource status must be pending (new), booked (modify) or cancelled (cancel)")
