"""Patient data: booking requests, the office's answers, cancelling, the inbox and patient search."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, SQLColumnExpression, bindparam, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from timebok.backend import (
    audit,
    bodies,
    booking,
    booking_body,
    conditional,
    fhir,
    life,
    metrics,
    representation,
    schema,
    versions,
    waitlist,
)
from timebok.backend.auth import Principal
from timebok.backend.db import Database
from timebok.backend.deps import CurrentPrincipal, DatabaseDep, patient_read
from timebok.backend.http import (
    FhirResponse,
    etag,
    fhir_base,
    json_body,
    page_links,
    parse_if_match,
    query_doc,
    raw_body,
    search_params,
    typed_body,
)
from timebok.backend.outcome import FhirError, conflict, forbidden, invalid, not_found, precondition_failed, unprocessable
from timebok.backend.search import SearchParams, between
from timebok.domain.identity import FNR_SYSTEM, InvalidIdentityNumber, parse_identity_number
from timebok.domain.privacy import scrub

router = APIRouter(prefix="/fhir")


def _appointment_response(appointment: schema.Appointment, session: Session) -> FhirResponse:
    return FhirResponse(appointment_resource(session, appointment), headers=etag(appointment.version))


def appointment_resource(session: Session, appointment: schema.Appointment) -> fhir.Resource:
    """An Appointment as a read answers it (also inside the IHE operations' Bundles)."""
    place, type_code, rules = _where_and_what(session, [appointment.slot_id])[appointment.slot_id]
    patient = _patient_identifiers(session, [appointment.patient_id]).get(appointment.patient_id)
    acting = session.get(schema.Patient, appointment.representative_id) if appointment.representative_id else None
    return fhir.appointment(appointment, place, type_code, rules, patient, acting)


def _representatives(session: Session, rows: Sequence[schema.Appointment]) -> dict[int, schema.Patient]:
    """Patient id → the representative, for a page of appointments (one query, none when nobody booked for another)."""
    ids = {row.representative_id for row in rows if row.representative_id is not None}
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(schema.Patient).where(schema.Patient.id.in_(ids))).all()}


def _patient_identifiers(session: Session, patient_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Patient id → its identifier (system and number), for the logical reference beside each Patient reference."""
    rows = session.execute(_IDENTIFIERS, {"ids": sorted(set(patient_ids))}).all()
    return {id_: {"system": system or FNR_SYSTEM, "value": value} for id_, system, value in rows}


# Built once: every booking's answer asks it, and a statement built per call is hashed anew for SQLAlchemy's cache.
_IDENTIFIERS = select(schema.Patient.id, schema.Patient.identifier_system, schema.Patient.identifier).where(
    schema.Patient.id.in_(bindparam("ids", expanding=True))
)


def _where_and_what(session: Session, slot_ids: list[int]) -> dict[int, tuple[int, str, fhir.Life]]:
    """Slot id → (Location id, time type code, the timebook's rules), in one query for a whole page of appointments."""
    rows = session.execute(
        select(
            schema.Slot.id,
            schema.Schedule.location_id,
            schema.HealthcareService.type_code,
            schema.Schedule.deadline_hours,
            schema.Schedule.monday_by_friday,
            schema.Schedule.answer_days,
        )
        .join(schema.Schedule, schema.Slot.schedule_id == schema.Schedule.id)
        .join(schema.HealthcareService, schema.Schedule.healthcare_service_id == schema.HealthcareService.id)
        .where(schema.Slot.id.in_(set(slot_ids)))
    ).all()
    return {
        slot_id: (location_id, code, fhir.Life(hours, monday, days)) for slot_id, location_id, code, hours, monday, days in rows
    }


# In each route `who` comes before `body`: FastAPI resolves them in order, so a caller without a
# valid token hears 401 before the body is read or judged.
AppointmentIn = Annotated[bodies.AppointmentBody, Depends(typed_body(bodies.AppointmentBody, "Appointment"))]
AppointmentResponseIn = Annotated[
    bodies.AppointmentResponseBody, Depends(typed_body(bodies.AppointmentResponseBody, "AppointmentResponse"))
]


async def _patch_body(request: Request) -> list[bodies.PatchOperation]:
    body = await json_body(request)
    if not isinstance(body, list) or not body:
        raise invalid('PATCH needs a JSON Patch array, e.g. [{"op": "replace", "path": "/status", "value": "cancelled"}]')
    if len(body) > 20:
        raise invalid("A PATCH may hold at most 20 operations")
    return [bodies.parse(bodies.PatchOperation, f"PATCH[{i}]", op) for i, op in enumerate(body)]


_IF_NONE_EXIST = {
    "name": "If-None-Exist",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "identifier=<system>|<value>: a repeat returns the first (200) instead of creating again",
}


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    # The body is parsed by hand (FHIR media types, our own errors), so OpenAPI is told its schema here.
    return {
        "requestBody": {
            "required": True,
            "content": {"application/fhir+json": {"schema": model.model_json_schema(by_alias=True)}},
        }
    }


def _request_identifier(request: Request, body: Any, root: str) -> str | None:
    """The "system|value" this create is known by: from `If-None-Exist: identifier=system|value` (FHIR's conditional
    create), else from the body's first identifier. A repeat with the same identifier finds the first, not a second."""
    header = request.headers.get("if-none-exist")
    if header is not None:
        name, _, value = header.strip().partition("=")
        value = unquote(value)
        if name != "identifier" or "|" not in value or not value.rpartition("|")[2] or len(value) > 401 or "\0" in value:
            raise invalid("If-None-Exist must be identifier=<system>|<value>", expression=[f"{root}.identifier"])
        if body.identifier and all(f"{i.system or ''}|{i.value}" != value for i in body.identifier):
            raise invalid("If-None-Exist names an identifier the body does not carry", expression=[f"{root}.identifier"])
        return value
    if body.identifier:
        return f"{body.identifier[0].system or ''}|{body.identifier[0].value}"
    return None


@router.post("/Appointment", openapi_extra=_schema(bodies.AppointmentBody) | {"parameters": [_IF_NONE_EXIST]})
def create_appointment(request: Request, who: CurrentPrincipal, db: DatabaseDep, body: AppointmentIn) -> FhirResponse:
    if body.status == "waitlist":
        return _wish(who, db, body)
    key = _request_identifier(request, body, "Appointment")
    with db.writing() as session:
        if key is not None and (earlier := booking.earlier_request(session, who, key)) is not None:
            return _repeated_request(session, who, earlier)  # FHIR: a conditional create that matches one answers 200
        try:
            # Read after the repeat is found: a repeat is answered with the first booking whatever it now says.
            wanted = booking_body.booking_request(body)
            new = booking.request_booking(session, who, wanted, identifier=key)
        except FhirError as error:
            # A repeat that raced its own first send (still running when this one came) waited for it and lost the
            # slot to it: that is the same booking, not "slot taken". READ COMMITTED lets this read see it now.
            if error.status == 409 and key is not None and (earlier := booking.earlier_request(session, who, key)) is not None:
                return _repeated_request(session, who, earlier)
            raise
        # The new booking brings its place and type along: the database is not asked again.
        appointment = new.appointment
        location = f"{fhir_base(request)}/Appointment/{appointment.id}/_history/{appointment.version}"
        acting = session.get(schema.Patient, appointment.representative_id) if appointment.representative_id else None
        # What the POST made: a hold (proposed), a change of a time (it replaces one), or a booking request.
        if appointment.status == "proposed":
            metrics.held()
        elif appointment.replaces_id is not None:
            metrics.changed()
        else:
            metrics.booked()
        return FhirResponse(
            fhir.appointment(
                appointment,
                new.location_id,
                new.type_code,
                new.life,
                _patient_identifiers(session, [appointment.patient_id]).get(appointment.patient_id),
                acting,
            ),
            status_code=201,
            headers=etag(appointment.version) | {"Location": location},
        )


def _wish(who: Principal, db: Database, body: bodies.AppointmentBody) -> FhirResponse:
    """«Kan komme på kort varsel» (backend/short_notice.py): 201 with the wish, or 200 with the same one sent before."""
    from timebok.backend import short_notice

    with db.writing() as session:
        before = session.scalar(select(func.count()).select_from(schema.ShortNotice))
        wish = short_notice.create(session, who, body)
        audit.record(session, who, [wish.patient_id], "create", f"Appointment/{short_notice.ID_PREFIX}{wish.id}")
        made = session.scalar(select(func.count()).select_from(schema.ShortNotice)) != before
        if made:  # the short-notice list (a search by the patient or the office) changed
            versions.bump(session, [versions.organization(wish.organization_id), versions.patient(wish.patient_id)])
        return FhirResponse(short_notice.resource(session, wish), status_code=201 if made else 200)


def _repeated_request(session: Session, who: Principal, earlier: schema.Appointment) -> FhirResponse:
    """The first booking, answering its repeat: staff and support reading it back leave a trail, as any read does."""
    audit.record(session, who, [earlier.patient_id], "read", f"Appointment/{earlier.id} (repeated create)")
    return _appointment_response(earlier, session)


@router.get("/Appointment/{id_}")
def read_appointment(id_: str, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    if waitlist.is_wish_id(id_):
        return _read_wish(id_, who, db)
    row_id = fhir.parse_id(id_)
    if row_id is not None:
        life.sweep(db, who, row_id)  # a request whose time began is closed unanswered, an ended hold ends, before it is read
    with patient_read(db, who) as session:
        appointment = booking.visible_appointment(session, who, row_id) if row_id is not None else None
        if appointment is None:
            raise not_found(f"Appointment/{id_}")
        audit.record(session, who, [appointment.patient_id], "read", f"Appointment/{appointment.id}")
        answer = _appointment_response(appointment, session)
    if not who.audited and appointment.patient_id != who.patient_id:
        # A parent's or a fullmakt holder's read of another's time is audited under both identities, as searches are.
        with db.writing() as session:
            audit.record_representation(session, who, appointment.patient_id, "read", f"Appointment/{appointment.id}")
    return answer


def _read_wish(id_: str, who: Principal, db: Database) -> FhirResponse:
    """One short-notice wish (`Appointment/waitlist-N`), whether still on the list or ended."""
    number = waitlist.wish_id(id_)
    if number is None:
        raise not_found(f"Appointment/{id_}")
    reach = _reach(db, who)
    with db.writing() if len(reach) > 1 else patient_read(db, who) as session:
        wish = waitlist.visible(session, who, number, reach)
        audit.record(session, who, [wish.patient_id], "read", f"Appointment/{id_}")
        if not who.audited and wish.patient_id != who.patient_id:
            audit.record_representation(session, who, wish.patient_id, "read", f"Appointment/{id_}")
        return FhirResponse(waitlist.resource(session, wish))


def _withdraw_wish(db: Database, id_: str, who: Principal, wanted: str) -> FhirResponse:
    """Status cancelled of a wish takes it off the list (safe to repeat); no other status is set on one."""
    number = waitlist.wish_id(id_)
    if number is None:
        raise not_found(f"Appointment/{id_}")
    if wanted != "cancelled":
        raise conflict(f"A short-notice wish is only withdrawn (status cancelled), not set to {wanted}", rule=life.ILLEGAL)
    reach = _reach(db, who)
    with db.writing() as session:
        wish = waitlist.withdraw(session, who, number, reach)
        return FhirResponse(waitlist.resource(session, wish))


def _change_status(
    request: Request,
    db: Database,
    id_: str,
    who: Principal,
    wanted: str,
    *,
    reason: str | None = None,
    override: str | None = None,
    description: str | None = None,
) -> FhirResponse:
    """One status move of the table in domain/appointment_life.py: cancel (or release a hold), a hold becoming the
    request or booking, or the desk's attendance marks and their undo; anything else is refused naming from → to."""
    if waitlist.is_wish_id(id_):
        return _withdraw_wish(db, id_, who, wanted)
    row_id = fhir.parse_id(id_)
    if row_id is None:
        raise not_found(f"Appointment/{id_}")
    expected = parse_if_match(request.headers.get("if-match"))
    with db.writing() as session:
        appointment = booking.visible_appointment(session, who, row_id)
        if appointment is None:
            booking.refuse_former_representative(session, who, row_id)
            raise not_found(f"Appointment/{id_}")
        if wanted != "cancelled":  # booking.cancel asks this itself
            # A citizen moves only their own times and those of whom they may book for; a time they may only see
            # (a child of 12–16) is refused `read-only`, a fullmakt withdrawn meanwhile `not-representative`.
            representation.acting_for(session, who, appointment.patient_id, write=True)
        if wanted == "cancelled":
            appointment = booking.cancel(session, who, row_id, expected, reason, override)
            metrics.cancelled(by_office=who.is_staff)
        elif appointment.status == "proposed" and wanted in ("pending", "booked"):
            if expected is not None and expected != appointment.version:
                raise precondition_failed(f"Appointment/{id_} has changed (version {appointment.version}); read it again")
            life.refuse_illegal(appointment, wanted, who)
            booking_body.check_reason(description, "description")
            appointment = life.convert_hold(session, who, appointment, expected, wanted, description)
            metrics.booked()  # the held time, now requested (or booked by the desk)
        elif wanted in ATTENDANCE or (wanted == "booked" and appointment.status in ATTENDANCE):
            appointment = life.attend(session, who, appointment, expected, wanted)
        else:
            life.refuse_illegal(appointment, wanted, who)
            # Allowed, but not here: the office answers a request with an AppointmentResponse.
            raise unprocessable("business-rule", f"Answer a request with POST AppointmentResponse, not by setting {wanted}")
        return _appointment_response(appointment, session)


@router.patch(
    "/Appointment/{id_}",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json-patch+json": {
                    "schema": {"type": "array", "items": bodies.PatchOperation.model_json_schema(by_alias=True)}
                }
            },
        }
    },
)
def patch_appointment(
    id_: str,
    request: Request,
    who: CurrentPrincipal,
    db: DatabaseDep,
    body: Annotated[list[bodies.PatchOperation], Depends(_patch_body)],
) -> FhirResponse:
    # JSON Patch of the status (the table in domain/appointment_life.py), a cancel's reason, a hold's description;
    # or, alone, the notice opt-outs (/extension: issue 25).
    status, reason, override, description = None, None, None, None
    opt_outs: tuple[bool, bool] | None = None
    for op in body:
        if op.op not in ("replace", "add"):
            raise invalid("Only 'replace' and 'add' operations are supported")
        if op.path == "/extension":
            if not isinstance(op.value, list):
                raise invalid("Appointment.extension must be a list", expression=["Appointment.extension"])
            extensions = [bodies.parse(bodies.Extension, f"Appointment.extension[{i}]", v) for i, v in enumerate(op.value)]
            opt_outs = booking_body.opt_outs(extensions)
        elif op.path == "/status":
            if not isinstance(op.value, str):
                raise invalid("Appointment.status must be a string", expression=["Appointment.status"])
            status = op.value
        elif op.path == "/cancelationReason":
            given = bodies.parse(bodies.CancelReason, "Appointment.cancelationReason", op.value)
            reason = given.text
            override = booking_body.cancel_override(
                bodies.CodeableConcept(coding=given.coding, text=given.text), "Appointment.cancelationReason"
            )
        elif op.path == "/cancelationReason/text":
            if not isinstance(op.value, str):
                raise invalid(
                    "Appointment.cancelationReason.text must be a string", expression=["Appointment.cancelationReason.text"]
                )
            reason = op.value
        elif op.path == "/description":
            if not isinstance(op.value, str):
                raise invalid("Appointment.description must be a string", expression=["Appointment.description"])
            description = op.value.strip() or None
        else:
            # The path is the caller's text and may hold an identity number.
            raise unprocessable("business-rule", f"Changing {scrub(repr(op.path))} is not allowed; only the status is")
    if opt_outs is not None and status is None:
        return _opt_out(request, db, id_, who, opt_outs)
    if status is None:
        raise invalid("The PATCH must set /status (or /extension, the notice opt-outs)", expression=["Appointment.status"])
    if status not in _STATUSES:
        raise invalid(f"Appointment.status must be one of {sorted(_STATUSES)}", expression=["Appointment.status"])
    return _change_status(request, db, id_, who, status, reason=reason, override=override, description=description)


_STATUSES = {
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
}
ATTENDANCE = {"arrived", "fulfilled", "noshow"}


def _opt_out(request: Request, db: Database, id_: str, who: Principal, wanted: tuple[bool, bool]) -> FhirResponse:
    row_id = fhir.parse_id(id_)
    if row_id is None:
        raise not_found(f"Appointment/{id_}")
    expected = parse_if_match(request.headers.get("if-match"))
    with db.writing() as session:
        appointment = booking.set_opt_outs(session, who, row_id, expected, wanted)
        return _appointment_response(appointment, session)


@router.put("/Appointment/{id_}", openapi_extra=_schema(bodies.AppointmentBody))
def put_appointment(id_: str, request: Request, who: CurrentPrincipal, db: DatabaseDep, body: AppointmentIn) -> FhirResponse:
    if body.id != id_:
        raise invalid(f"The body's id {scrub(repr(body.id))} does not match the URL's {scrub(repr(id_))}")
    reason = body.cancelationReason.text if body.cancelationReason else None
    override = booking_body.cancel_override(body.cancelationReason, "Appointment.cancelationReason")
    _, extension_override = booking_body.extensions(body)
    description = (body.description or "").strip() or None
    return _change_status(
        request, db, id_, who, body.status, reason=reason, override=override or extension_override, description=description
    )


@router.delete("/Appointment/{id_}")
def delete_appointment(id_: str, request: Request, who: CurrentPrincipal, db: DatabaseDep) -> Response:
    """Release a hold (the user went back); only a hold is deleted, anything else is cancelled with a status."""
    if waitlist.wish_id(id_) is not None:
        raise conflict(f"Appointment/{id_} is a short-notice wish: withdraw it with status cancelled", rule=life.ILLEGAL)
    row_id = fhir.parse_id(id_)
    if row_id is None:
        raise not_found(f"Appointment/{id_}")
    expected = parse_if_match(request.headers.get("if-match"))
    with db.writing() as session:
        appointment = booking.visible_appointment(session, who, row_id)
        if appointment is None:
            raise not_found(f"Appointment/{id_}")
        representation.acting_for(session, who, appointment.patient_id, write=True)
        if appointment.status != "proposed":
            raise conflict(
                f"Appointment/{id_} is {appointment.status}: only a hold is deleted; cancel it with status cancelled",
                rule=life.ILLEGAL,
            )
        life.release(session, who, appointment, expected)
    return Response(status_code=204)


@router.get(
    "/Appointment", openapi_extra=query_doc("patient", "status", "date", "_sort", "_include", "service-type", "actor", "location")
)
def search_appointments(request: Request, who: CurrentPrincipal, db: DatabaseDep) -> Response:
    if request.query_params.get("status") == "waitlist":
        return _search_wishes(request, who, db)
    params = search_params(request, {"patient", "status", "date", "_sort", "_include"} | waitlist.PARAMS)
    include = params.all("_include")
    if any(value != "Appointment:actor" for value in include):
        raise invalid("Only _include=Appointment:actor is supported")
    reach = _reach(db, who)
    # Requests whose time began are closed unanswered, ended holds end, before the list is read (those of the people
    # a citizen acts for too: their list shows them).
    life.sweep(db, who, reach=reach or None)
    query = select(schema.Appointment).where(_within_reach(schema.Appointment, who, reach))
    if (patient_id := params.reference("patient", "Patient")) is not None:
        _refuse_outside(who, reach, patient_id)
        query = query.where(schema.Appointment.patient_id == patient_id)
    if (status := params.one("status")) is not None:
        statuses = status.split(",")
        if not set(statuses) <= {"pending", "booked", "cancelled", "proposed", "arrived", "fulfilled", "noshow"}:
            raise invalid(f"status must be Appointment statuses such as pending or booked, got {status!r}")
        query = query.where(schema.Appointment.status.in_(statuses))
    query = query.where(*between(schema.Appointment.start, *params.date_bounds("date")))
    query = _at_timebook(query, waitlist.where(params))
    sort = params.one("_sort")
    if sort not in _APPOINTMENT_ORDER:
        raise invalid("_sort must be one of date, -date, _lastUpdated, -_lastUpdated")

    def render(session: Session, rows: Sequence[schema.Appointment]) -> tuple[list[fhir.Resource], list[fhir.Resource]]:
        context = _where_and_what(session, [row.slot_id for row in rows])
        acting = _representatives(session, rows)
        numbers = _patient_identifiers(session, [row.patient_id for row in rows])
        matches = [
            fhir.appointment(row, *context[row.slot_id], numbers.get(row.patient_id), acting.get(row.representative_id or 0))
            for row in rows
        ]
        if not include:
            return matches, []
        places = session.scalars(
            select(schema.Location).where(schema.Location.id.in_({place for place, _, _ in context.values()}))
        ).all()
        offices = session.scalars(
            select(schema.Organization).where(schema.Organization.id.in_({r.organization_id for r in rows}))
        ).all()
        patients = session.scalars(select(schema.Patient).where(schema.Patient.id.in_({r.patient_id for r in rows}))).all()
        includes = [fhir.location(p) for p in places] + [fhir.organization(o) for o in offices]
        counts = (
            life.noshows(session, [p.id for p in patients], who.organization_id) if who.is_staff and who.organization_id else {}
        )
        return matches, includes + [fhir.patient(p, counts.get(p.id)) for p in patients]

    return _patient_search(request, db, who, reach, params, query, _APPOINTMENT_ORDER[sort], render, "Appointment search")


def _at_timebook(query: Select[schema.Appointment], named: waitlist.Where) -> Select[schema.Appointment]:
    """Appointments of one time type, HealthcareService or Location (through their slot's timebook), or one Patient."""
    if named.patient_id is not None:
        query = query.where(schema.Appointment.patient_id == named.patient_id)
    if named.type_code is None and named.service_id is None and named.location_id is None:
        return query
    book = schema.Schedule
    query = query.join(schema.Slot, schema.Slot.id == schema.Appointment.slot_id).join(book, book.id == schema.Slot.schedule_id)
    if named.type_code is not None:
        services = select(schema.HealthcareService.id).where(schema.HealthcareService.type_code == named.type_code)
        query = query.where(book.healthcare_service_id.in_(services))
    if named.service_id is not None:
        query = query.where(book.healthcare_service_id == named.service_id)
    if named.location_id is not None:
        query = query.where(book.location_id == named.location_id)
    return query


def _search_wishes(request: Request, who: Principal, db: Database) -> Response:
    """The short-notice list (status=waitlist): a citizen's own wishes and those of whom they act for, or the
    office's, by time type, timebook actor or place; first in line first, as offers go."""
    params = search_params(request, waitlist.PARAMS | {"_include"})
    include = params.all("_include")
    if any(value not in ("Appointment:actor", "Appointment:patient") for value in include):
        raise invalid("Only _include=Appointment:actor (or Appointment:patient) is supported")
    reach = _reach(db, who)
    query = waitlist.query(params, who, reach)

    def render(session: Session, rows: Sequence[schema.ShortNotice]) -> tuple[list[fhir.Resource], list[fhir.Resource]]:
        matches = [waitlist.resource(session, row) for row in rows]
        if not include:
            return matches, []
        # The desk's list names each patient (and, with actor, the place): one query each, not one per wish.
        patients = session.scalars(select(schema.Patient).where(schema.Patient.id.in_({r.patient_id for r in rows}))).all()
        found = [fhir.patient(p) for p in patients]
        if "Appointment:actor" in include:
            places = session.scalars(select(schema.Location).where(schema.Location.id.in_({r.location_id for r in rows}))).all()
            found += [fhir.location(p) for p in places]
        return matches, found

    return _patient_search(request, db, who, reach, params, query, waitlist.ORDER, render, "Appointment search (waitlist)")


_APPOINTMENT_ORDER = {
    None: (schema.Appointment.start, schema.Appointment.id),
    "date": (schema.Appointment.start, schema.Appointment.id),
    "-date": (schema.Appointment.start.desc(), schema.Appointment.id.desc()),
    "_lastUpdated": (schema.Appointment.created, schema.Appointment.id),
    "-_lastUpdated": (schema.Appointment.created.desc(), schema.Appointment.id.desc()),
}

# The rows of a patient-data search: each has a patient (for the audit trail) and an office.
_Row = TypeVar("_Row", schema.Appointment, schema.Communication, schema.ShortNotice)


def _within_reach(model: type[_Row], who: Principal, reach: list[int]) -> ColumnElement[bool]:
    """Staff see their office's rows, a citizen their own and those of the people they may act for (`reach`)."""
    if who.is_staff:
        return model.organization_id == who.organization_id
    if len(reach) > 1:
        return model.patient_id.in_(reach)
    return model.patient_id == who.patient_id


def _reach(db: Database, who: Principal) -> list[int]:
    """The patients a citizen's searches cover: themself, then those the register lets them act for (asked anew on
    every search, so a fullmakt withdrawn stops showing the person's times at once)."""
    if who.is_staff or who.patient_id is None:
        return []
    with db.reading() as session:
        return representation.readable_ids(session, who)


def _refuse_outside(who: Principal, reach: list[int], patient_id: int) -> None:
    """A citizen naming a patient outside their reach hears 403, the same whether that patient exists or not."""
    if not who.is_staff and who.patient_id is not None and patient_id not in reach:
        raise representation.refused()


def _patient_search(
    request: Request,
    db: Database,
    who: Principal,
    reach: list[int],
    params: SearchParams,
    query: Select[_Row],
    order: Sequence[SQLColumnExpression[Any]],
    render: Callable[[Session, Sequence[_Row]], tuple[list[fhir.Resource], list[fhir.Resource]]],
    trail: str,
) -> Response:
    """The skeleton of the Appointment and Communication searches: a page of `query`, 304 while the caller's
    scope is unchanged, the rows audited as read and answered as a Bundle of what `render` makes of them."""
    count = params.count(100, 1000)
    offset = params.offset()
    if (unchanged := _not_modified(request, db, who, reach)) is not None:
        return unchanged
    # A representative's reads of another's rows are audited (a write), as staff's are.
    with db.writing() if len(reach) > 1 else patient_read(db, who) as session:
        tag = _search_tag(session, who, reach)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(*order).offset(offset).limit(count)).all()
        matches, includes = render(session, rows)
        audit.record(session, who, [row.patient_id for row in rows], "read", trail)
        if not who.audited:  # staff and support are audited above, for every patient on the page
            for other in sorted({row.patient_id for row in rows} - {who.patient_id}):
                audit.record_representation(session, who, other, "read", trail)
        self_url, next_url = page_links(request, offset, count, total)
        return FhirResponse(
            fhir.bundle(fhir_base(request), matches, total=total, includes=includes, next_url=next_url, self_url=self_url),
            headers={"ETag": tag},
        )


# A support agent's own token names no patient: a scope no change ever bumps, as its searches find nothing.
_NOBODY = "patient:none"


def _search_scope(who: Principal) -> str:
    # Staff see their office's appointments and messages, a citizen their own: each list changes exactly
    # when that counter is bumped (every booking, answer and cancel bumps both).
    if who.is_staff and who.organization_id is not None:
        return versions.organization(who.organization_id)
    return versions.patient(who.patient_id) if who.patient_id is not None else _NOBODY


def _search_tag(session: Session, who: Principal, reach: list[int]) -> str:
    """The ETag of an Appointment or Communication search; read before its rows (see versions.current)."""
    if who.is_staff or len(reach) <= 1:
        return conditional.tag(versions.current(session, _search_scope(who)))
    # A representative's list changes with any of the people in it, and with who is in it.
    return 'W/"' + ".".join(f"{p}-{versions.current(session, versions.patient(p))}" for p in reach) + '"'


def _not_modified(request: Request, db: Database, who: Principal, reach: list[int]) -> Response | None:
    """304 for a client that already holds the current answer. Not audited: it tells nothing new about any
    patient (the 200 that delivered the data was audited), and a polling front desk stays off the write lock."""
    if not request.headers.get("if-none-match"):
        return None
    with db.reading() as session:
        return conditional.not_modified(request, _search_tag(session, who, reach))


@router.post("/AppointmentResponse", openapi_extra=_schema(bodies.AppointmentResponseBody) | {"parameters": [_IF_NONE_EXIST]})
def create_appointment_response(
    request: Request, who: CurrentPrincipal, db: DatabaseDep, body: AppointmentResponseIn
) -> FhirResponse:
    key = _request_identifier(request, body, "AppointmentResponse")
    # Before the answer is read: whatever a citizen sent, they hear that only the office answers.
    booking.may_answer(who)
    with db.writing() as session:
        if key is not None and (earlier := booking.earlier_answer(session, who, key)) is not None:
            # The same desk's answer sent again (its first reply was lost): the answer it gave, not "already answered".
            return _repeated_answer(session, who, earlier)
        try:
            response, appointment = booking.respond(session, who, booking_body.answer(body), identifier=key)
        except FhirError as error:
            if error.status == 409 and key is not None and (earlier := booking.earlier_answer(session, who, key)) is not None:
                return _repeated_answer(session, who, earlier)
            raise
        metrics.answered(accepted=response.status == "accepted")
        return FhirResponse(
            fhir.appointment_response(response),
            status_code=201,
            headers={
                "Location": f"{fhir_base(request)}/AppointmentResponse/{response.id}",
            },
        )


def _repeated_answer(session: Session, who: Principal, earlier: schema.AppointmentResponse) -> FhirResponse:
    """The answer already given, to its repeat; it tells about a patient's appointment, so the read is audited."""
    appointment = session.get_one(schema.Appointment, earlier.appointment_id)
    audit.record(session, who, [appointment.patient_id], "read", f"AppointmentResponse/{earlier.id} (repeated create)")
    return FhirResponse(fhir.appointment_response(earlier), status_code=200)


@router.get("/Communication", openapi_extra=query_doc("recipient", "subject"))
def search_communications(request: Request, who: CurrentPrincipal, db: DatabaseDep) -> Response:
    params = search_params(request, {"recipient", "subject"})
    life.sweep(db, who)  # a request closed unanswered tells the patient: the inbox shows it without a visit elsewhere
    patient_id = params.reference("recipient", "Patient")
    if patient_id is None:  # not `or`: Patient/0 is a search that matches nothing, not no filter
        patient_id = params.reference("subject", "Patient")
    reach = _reach(db, who)
    query = select(schema.Communication).where(_within_reach(schema.Communication, who, reach))
    if patient_id is not None:
        _refuse_outside(who, reach, patient_id)
        query = query.where(schema.Communication.patient_id == patient_id)

    def render(_: Session, rows: Sequence[schema.Communication]) -> tuple[list[fhir.Resource], list[fhir.Resource]]:
        return [fhir.communication(r) for r in rows], []

    order = (schema.Communication.sent.desc(), schema.Communication.id.desc())
    return _patient_search(request, db, who, reach, params, query, order, render, "Communication search")


@router.get("/Communication/{id_}")
def read_communication(id_: str, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    # One inbox message, as the inbox search shows it; someone else's answers as if it did not exist.
    row_id = fhir.parse_id(id_)
    reach = _reach(db, who)  # a parent reads the child's messages, as the inbox search shows them
    with patient_read(db, who) as session:
        row = session.scalar(
            select(schema.Communication).where(schema.Communication.id == row_id, _within_reach(schema.Communication, who, reach))
        )
        if row is None:
            raise not_found(f"Communication/{id_}")
        if not who.is_staff and who.patient_id is not None and row.patient_id != who.patient_id:
            audit.record_representation(session, who, row.patient_id, "read", f"Communication/{row.id}")
        else:
            audit.record(session, who, [row.patient_id], "read", f"Communication/{row.id}")
        return FhirResponse(fhir.communication(row))


@router.get("/AppointmentResponse/{id_}")
def read_appointment_response(id_: str, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    row_id = fhir.parse_id(id_)
    with patient_read(db, who) as session:
        row = session.get(schema.AppointmentResponse, row_id) if row_id is not None else None
        appointment = booking.visible_appointment(session, who, row.appointment_id) if row is not None else None
        if row is None or appointment is None:
            raise not_found(f"AppointmentResponse/{id_}")
        audit.record(session, who, [appointment.patient_id], "read", f"AppointmentResponse/{row.id}")
        return FhirResponse(fhir.appointment_response(row))


@router.get("/AppointmentResponse", openapi_extra=query_doc("appointment"))
def search_appointment_responses(request: Request, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    # The office's answers to the appointments the caller may see (a citizen: their own; staff: their office's).
    params = search_params(request, {"appointment"})
    query = (
        select(schema.AppointmentResponse)
        .join(schema.Appointment, schema.AppointmentResponse.appointment_id == schema.Appointment.id)
        .where(_within_reach(schema.Appointment, who, _reach(db, who)))
    )
    if (appointment_id := params.reference("appointment", "Appointment")) is not None:
        query = query.where(schema.AppointmentResponse.appointment_id == appointment_id)
    count, offset = params.count(100, 1000), params.offset()
    with patient_read(db, who) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(schema.AppointmentResponse.id).offset(offset).limit(count)).all()
        patients = session.scalars(
            select(schema.Appointment.patient_id).where(schema.Appointment.id.in_({r.appointment_id for r in rows}))
        ).all()
        audit.record(session, who, list(patients), "read", "AppointmentResponse search")
        self_url, next_url = page_links(request, offset, count, total)
        return FhirResponse(
            fhir.bundle(
                fhir_base(request),
                [fhir.appointment_response(r) for r in rows],
                total=total,
                next_url=next_url,
                self_url=self_url,
            )
        )


@router.get("/Patient/{id_}")
def read_patient(id_: str, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    with patient_read(db, who) as session:
        row_id = fhir.parse_id(id_)
        if row_id is None or not booking.visible_patient(session, who, row_id):
            if not who.is_staff and who.patient_id is not None:
                raise representation.refused()  # the same whether the person exists or not
            raise not_found(f"Patient/{id_}")
        patient = session.get_one(schema.Patient, row_id)  # visible_patient found it
        audit.record(session, who, [patient.id], "read", f"Patient/{patient.id}")
        count = (
            life.noshows(session, [patient.id], who.organization_id)[patient.id] if who.is_staff and who.organization_id else None
        )
        return FhirResponse(fhir.patient(patient, count))


@router.post(
    "/Patient/_search",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": bodies.PatientSearchForm.model_json_schema(by_alias=True)}
            },
        }
    },
)
async def search_patients(request: Request, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    # Async so the form body can be read here; the database work goes to a thread below.
    if not who.is_staff:
        raise forbidden("Only staff can search for patients")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise FhirError(415, "not-supported", "Send the search as application/x-www-form-urlencoded")
    data = await raw_body(request)
    try:
        items = parse_qsl(data.decode(), keep_blank_values=True, strict_parsing=bool(data))
    except (UnicodeDecodeError, ValueError):
        raise invalid("The form body could not be read") from None
    return await run_in_threadpool(_search_patients, request, db, who, items)


def _search_patients(request: Request, db: Database, who: Principal, items: list[tuple[str, str]]) -> FhirResponse:
    params = SearchParams(items, {"identifier", "name"})
    form = bodies.parse(bodies.PatientSearchForm, "Patient._search", {key: params.one(key) for key in {key for key, _ in items}})
    identifier = (form.identifier or "").strip()
    name = (form.name or "").strip()
    if not identifier and not name:
        # A blank name would match every patient of the office: a list nobody asked for.
        raise invalid("Search by identifier (fødselsnummer or D-nummer) or by name")
    words = schema.fold(name).split()
    if len(words) > bodies.MAX_NAME_WORDS:
        # Each word is one more LIKE over the office's patients; a real name has a few.
        raise invalid(f"Search by at most {bodies.MAX_NAME_WORDS} words of a name, not {len(words)}")
    visible = or_(
        schema.Patient.gp_organization_id == who.organization_id,
        schema.Patient.id.in_(
            select(schema.Appointment.patient_id).where(schema.Appointment.organization_id == who.organization_id)
        ),
    )
    query = select(schema.Patient).where(visible)
    if identifier:
        value = identifier.rpartition("|")[2]
        try:
            number = parse_identity_number(value, allow_synthetic=request.app.state.demo)
        except InvalidIdentityNumber as error:
            raise invalid(f"identifier: {error}") from None
        query = query.where(schema.Patient.identifier == number.value)
    if name:
        for word in words:
            # autoescape: a typed "%" or "_" is a character to find, not a LIKE wildcard matching everyone.
            query = query.where(schema.Patient.name_key.contains(word, autoescape=True))
    with db.writing() as session:
        rows = session.scalars(query.order_by(schema.Patient.family, schema.Patient.given).limit(50)).all()
        audit.record(session, who, [row.id for row in rows], "search", "Patient search")
        # As a read by staff shows them: each patient's no-shows at this office.
        noshows = life.noshows(session, [row.id for row in rows], who.organization_id) if who.organization_id else {}
        return FhirResponse(
            fhir.bundle(
                fhir_base(request),
                [fhir.patient(r, noshows.get(r.id)) for r in rows],
                total=len(rows),
                self_url=f"{fhir_base(request)}/Patient/_search",
            )
        )
