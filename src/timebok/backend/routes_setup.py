"""The office's timebook setup (outside FHIR): read it, preview a change, change it; free times follow at once.

Why not plain FHIR writes: R4 has availableTime/notAvailable on HealthcareService and planningHorizon on
Schedule, but no place for a campaign, a part-day closure of one timebook, or an answer that lists the
appointments a change hits. So the setup is one JSON document per office under /setup, and the FHIR
resources (HealthcareService, Schedule) show the result in R4 terms (README: «Timebook setup»)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from timebok.backend import audit, bodies, fhir, ids, schema, setup_plan
from timebok.backend.auth import SUPPORT, Principal
from timebok.backend.db import Database
from timebok.backend.deps import CurrentPrincipal, DatabaseDep
from timebok.backend.generation import Change, generate, outside_setup
from timebok.backend.http import FhirResponse, body_doc, json_body
from timebok.backend.outcome import FhirError, at_fault, forbidden, not_found
from timebok.backend.setup_body import CampaignBody, ClosureBody, SetupBody, TimebookBody, check
from timebok.domain.clock import OSLO, now
from timebok.domain.timetypes import TIMETYPES

router = APIRouter(prefix="/setup")
Row = TypeVar("Row", schema.Schedule, schema.Campaign, schema.ClosureDay)
Setup = dict[str, Any]  # the setup document as the API shows it (JSON)


class SetupResponse(FhirResponse):
    media_type = "application/json"  # not a FHIR resource; errors are still OperationOutcomes


def _office(session: Session, id_: str, *, lock: bool = False) -> schema.Organization:
    office_id = ids.row_id(id_, "Organization.id")
    # A change locks the office's row (PostgreSQL; SQLite has one writer anyway), so two desks saving at once
    # are taken in turn and the second is checked against what the first wrote.
    office = session.get(schema.Organization, office_id, with_for_update=lock)
    if office is None:
        raise not_found(f"Organization/{id_}")
    return office


def _may_read(who: Principal, office_id: int) -> None:
    if who.role == SUPPORT or who.agent is not None:
        return  # NHN kundesenter reads any office's setup (audited), also while acting as a citizen
    if who.is_staff and who.organization_id == office_id:
        return
    raise forbidden("Only the office's staff and support agents may read its timebook setup")


def _may_change(who: Principal, office_id: int) -> None:
    if not (who.is_staff and who.organization_id == office_id):
        raise forbidden("Only the office's own staff may change its timebook setup")


def _event(session: Session, who: Principal, office_id: int, action: str, detail: str) -> None:
    session.add(
        schema.SetupEvent(
            at=fhir.to_storage(now()), actor=who.actor[:200], organization_id=office_id, action=action, detail=detail
        )
    )


def _ahead(session: Session, book: schema.Schedule) -> dict[str, int]:
    """Read-only: the times a citizen could book now (after the lead time), free and in all, for support's «why not»."""
    earliest = fhir.to_storage(now() + timedelta(minutes=book.lead_minutes))
    counts = dict(
        session.execute(
            select(schema.Slot.status, func.count())
            .where(schema.Slot.schedule_id == book.id, schema.Slot.start >= earliest)
            .group_by(schema.Slot.status)
        ).all()
    )
    return {"free": counts.get("free", 0), "total": sum(counts.values())}


def document(session: Session, office: schema.Organization, *, ahead: bool = True) -> Setup:
    """The office's setup as the API shows it: every time type (on, off or never set up), timebooks, closures.
    `ahead=False` leaves out the counts of free times (not part of the version, and the slowest part to read)."""
    services = session.scalars(
        select(schema.HealthcareService)
        .where(schema.HealthcareService.organization_id == office.id)
        .order_by(schema.HealthcareService.id)
    ).all()
    by_type = {s.type_code: s for s in services}
    locations = session.scalars(
        select(schema.Location).where(schema.Location.organization_id == office.id).order_by(schema.Location.id)
    ).all()
    books = (
        session.scalars(
            select(schema.Schedule)
            .where(schema.Schedule.healthcare_service_id.in_([s.id for s in services]))
            .order_by(schema.Schedule.id)
        ).all()
        if services
        else []
    )
    type_of = {s.id: s.type_code for s in services}
    closures = session.scalars(
        select(schema.ClosureDay)
        .where(schema.ClosureDay.organization_id == office.id)
        .order_by(schema.ClosureDay.day, schema.ClosureDay.id)
    ).all()
    timebooks = []
    for book in books:
        campaigns = session.scalars(
            select(schema.Campaign)
            .where(schema.Campaign.schedule_id == book.id)
            .order_by(schema.Campaign.first, schema.Campaign.id)
        ).all()
        timebooks.append(
            {
                "id": str(book.id),
                "type": type_of[book.healthcare_service_id],
                "location": f"Location/{book.location_id}",
                "name": book.name,
                "active": book.active,
                "slotMinutes": book.slot_minutes,
                "parallel": book.parallel,
                "horizonDays": book.horizon_days,
                "leadMinutes": book.lead_minutes,
                "reminderHours": book.reminder_hours,
                "offerMinutes": book.offer_minutes,
                "holdMinutes": book.hold_minutes,
                "deadlineHours": book.deadline_hours,
                "mondayByFriday": book.monday_by_friday,
                "answerDays": book.answer_days,
                "weekly": json.loads(book.weekly) if book.weekly else [],
                **({"ahead": _ahead(session, book)} if ahead else {}),
                "campaigns": [
                    {
                        "id": str(c.id),
                        "name": c.name,
                        "first": c.first.isoformat(),
                        "last": c.last.isoformat(),
                        **({"slotMinutes": c.slot_minutes} if c.slot_minutes else {}),
                        "weekly": json.loads(c.weekly),
                    }
                    for c in campaigns
                ],
            }
        )
    return {
        "resourceType": "TimebookSetup",
        "organization": f"Organization/{office.id}",
        "name": office.name,
        "services": [{"type": code, "active": bool(by_type[code].active) if code in by_type else False} for code in TIMETYPES],
        "timebooks": timebooks,
        "closures": [
            {
                "id": str(c.id),
                "day": c.day.isoformat(),
                "start": c.start_time,
                "end": c.end_time,
                "reason": c.reason,
                "timebook": f"Schedule/{c.schedule_id}" if c.schedule_id else None,
            }
            for c in closures
        ],
        "locations": [{"id": f"Location/{p.id}", "name": p.name} for p in locations],
    }


def version(document: Setup) -> str:
    """The setup's version: a digest of what a desk edits (not the counts of free times, which move as citizens
    book), so a save based on an older read is told apart from one based on the latest (ETag / If-Match)."""
    edited = {k: v for k, v in document.items() if k != "version"}
    edited["timebooks"] = [{k: v for k, v in book.items() if k != "ahead"} for book in document["timebooks"]]
    digest = hashlib.sha256(json.dumps(edited, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return digest[:16]


def _versioned(document: Setup, tag: str | None = None) -> Setup:
    document["version"] = tag or version(document)
    return document


def _etag(tag: str) -> dict[str, str]:
    return {"ETag": f'W/"{tag}"'}


def _check_if_match(value: str | None, current: str) -> None:
    """A stale If-Match (another desk saved since this one read) is refused before anything is written."""
    if value is None:
        return  # no claim about the version: the change applies to whatever is stored (older clients, scripts)
    tags = [part.strip().removeprefix("W/").strip('"') for part in value.split(",")]
    if "*" in tags or current in tags:
        return
    raise FhirError(
        412,
        "conflict",
        f"The timebook setup has changed since it was read (now version {current}, "
        f"you sent {value.strip()[:60]}); read it again and redo the change",
        rule="setup-changed",
    )


@router.get("/Organization/{id_}")
def read_setup(id_: str, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    with db.reading() as session:
        office = _office(session, id_)
        _may_read(who, office.id)
        answer = _versioned(document(session, office))
    if who.role == SUPPORT or who.agent is not None:
        with db.writing() as session:
            _event(session, who, office.id, "read", "setup")
    return SetupResponse(answer, headers=_etag(answer["version"]))


def _ref_id(text: str | None, kind: str, path: str) -> int:
    prefix = f"{kind}/"
    if not text or not text.startswith(prefix):
        raise at_fault(path, f"must be a reference like {kind}/1", rule="setup")
    return ids.row_id(text[len(prefix) :], path)


def _service(session: Session, office_id: int, code: str, active: bool | None = None) -> schema.HealthcareService:
    row = session.scalars(
        select(schema.HealthcareService)
        .where(schema.HealthcareService.organization_id == office_id, schema.HealthcareService.type_code == code)
        .order_by(schema.HealthcareService.id)
    ).first()
    if row is None:
        row = schema.HealthcareService(organization_id=office_id, type_code=code, active=True if active is None else active)
        session.add(row)
        session.flush()
    elif active is not None:
        row.active = active
    return row


def _upsert(session: Session, by_id: Row | None, by_key: Row | None, new: Callable[[], Row]) -> Row:
    """The row a setup item names: by its id, else by its natural key (so a repeated save finds what the first one
    made: every write is safe to repeat), else a new one added to the session."""
    row = by_id if by_id is not None else by_key
    if row is None:
        row = new()
        session.add(row)
    return row


def _store(session: Session, office: schema.Organization, body: SetupBody) -> None:
    """Store the setup (its few rows; the free times follow in chunks afterwards: generation.generate)."""
    for service in body.services:
        _service(session, office.id, service.type, service.active)
    known = {int(b["id"]) for b in document(session, office)["timebooks"]}
    kept = {_store_timebook(session, office, index, book, known) for index, book in enumerate(body.timebooks)}
    for book_id in sorted(known - kept):  # left out: switched off, never deleted (its appointments stay)
        left_out = session.get_one(schema.Schedule, book_id)  # `known` holds the office's stored timebooks
        left_out.active = False
        if left_out.weekly is None:
            left_out.weekly = "[]"
    _store_closures(session, office, body.closures, known | kept)
    session.flush()


def _store_timebook(session: Session, office: schema.Organization, index: int, item: TimebookBody, known: set[int]) -> int:
    """Store one timebook of the body with its campaigns; its id."""
    here = f"Setup.timebooks[{index}]"
    location_id = _ref_id(item.location, "Location", f"{here}.location")
    place = session.get(schema.Location, location_id)
    if place is None or place.organization_id != office.id:
        raise at_fault(f"{here}.location", "not one of this office's places", rule="setup")
    service = _service(session, office.id, item.type)
    by_id = None
    if item.id is not None:
        book_id = ids.row_id(item.id, f"{here}.id")
        if book_id not in known:
            raise at_fault(f"{here}.id", "not one of this office's timebooks", rule="setup")
        by_id = session.get(schema.Schedule, book_id)
    book = _upsert(
        session,
        by_id,
        None
        if item.id is not None
        else session.scalars(
            select(schema.Schedule).where(
                schema.Schedule.healthcare_service_id == service.id,
                schema.Schedule.location_id == location_id,
                schema.Schedule.name == item.name,
            )
        ).first(),
        lambda: schema.Schedule(healthcare_service_id=service.id, location_id=location_id, name=item.name),
    )
    book.healthcare_service_id, book.location_id, book.name, book.active = service.id, location_id, item.name, item.active
    book.slot_minutes, book.parallel, book.lead_minutes = item.slotMinutes, item.parallel, item.leadMinutes
    book.horizon_days, book.reminder_hours, book.offer_minutes = item.horizonDays, item.reminderHours, item.offerMinutes
    book.hold_minutes, book.deadline_hours = item.holdMinutes, item.deadlineHours
    book.monday_by_friday, book.answer_days = item.mondayByFriday, item.answerDays
    book.weekly = json.dumps([r.model_dump() for r in item.weekly])
    session.flush()
    _store_campaigns(session, book.id, item.campaigns)
    return book.id


def _store_campaigns(session: Session, book_id: int, campaigns: list[CampaignBody]) -> None:
    old = {c.id: c for c in session.scalars(select(schema.Campaign).where(schema.Campaign.schedule_id == book_id))}
    wanted_ids = set()
    for campaign in campaigns:
        row = _upsert(
            session,
            old.get(int(campaign.id)) if campaign.id and ids.is_id(campaign.id) else None,
            next(
                (
                    c
                    for c in old.values()
                    if c.name == campaign.name and c.first.isoformat() == campaign.first and c.last.isoformat() == campaign.last
                ),
                None,
            ),
            lambda: schema.Campaign(schedule_id=book_id),
        )
        row.name, row.first, row.last = campaign.name, date.fromisoformat(campaign.first), date.fromisoformat(campaign.last)
        row.slot_minutes = campaign.slotMinutes
        row.weekly = json.dumps([r.model_dump() for r in campaign.weekly])
        session.flush()
        wanted_ids.add(row.id)
    for row_id, row in old.items():
        if row_id not in wanted_ids:
            session.delete(row)


def _store_closures(session: Session, office: schema.Organization, closures: list[ClosureBody], timebooks: set[int]) -> None:
    """Store the body's closures (`timebooks`: the office's, stored and kept) and delete the ones it leaves out."""
    old = {c.id: c for c in session.scalars(select(schema.ClosureDay).where(schema.ClosureDay.organization_id == office.id))}
    kept = set()
    for index, item in enumerate(closures):
        schedule_id = _ref_id(item.timebook, "Schedule", f"Setup.closures[{index}].timebook") if item.timebook else None
        if schedule_id is not None and schedule_id not in timebooks:
            raise at_fault(f"Setup.closures[{index}].timebook", "not one of this office's timebooks", rule="setup")
        day = date.fromisoformat(item.day)
        row = _upsert(
            session,
            old.get(int(item.id)) if item.id and ids.is_id(item.id) else None,
            next(
                (
                    c
                    for c in old.values()
                    if c.day == day and c.start_time == item.start and c.end_time == item.end and c.schedule_id == schedule_id
                ),
                None,
            ),
            lambda: schema.ClosureDay(organization_id=office.id),
        )
        row.day, row.start_time, row.end_time, row.reason, row.schedule_id = day, item.start, item.end, item.reason, schedule_id
        session.flush()
        kept.add(row.id)
    for row_id, row in old.items():
        if row_id not in kept:
            session.delete(row)


def _office_timebooks(session: Session, office_id: int) -> list[schema.Schedule]:
    services = [
        s.id
        for s in session.scalars(select(schema.HealthcareService).where(schema.HealthcareService.organization_id == office_id))
    ]
    return list(
        session.scalars(
            select(schema.Schedule).where(schema.Schedule.healthcare_service_id.in_(services)).order_by(schema.Schedule.id)
        ).all()
    )


def _affected(session: Session, change: Change) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for appointment in sorted(change.affected, key=lambda a: (a.start, a.id)):
        # Foreign keys all: each row exists.
        patient = session.get_one(schema.Patient, appointment.patient_id)
        slot = session.get_one(schema.Slot, appointment.slot_id)
        book = session.get_one(schema.Schedule, slot.schedule_id)
        result.append(
            {
                "appointment": f"Appointment/{appointment.id}",
                "status": appointment.status,
                "start": fhir.instant(appointment.start),
                "end": fhir.instant(appointment.end),
                "timebook": f"Schedule/{slot.schedule_id}",
                "timebookName": book.name,
                "patient": f"Patient/{patient.id}",
                "patientName": f"{patient.given} {patient.family}",
            }
        )
    return result


@router.put("/Organization/{id_}", openapi_extra=body_doc(SetupBody))
async def change_setup(id_: str, request: Request, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    data = await json_body(request)
    # The ranges are declared on the body's fields (and shown in OpenAPI); a value out of range is a setup rule.
    body = bodies.parse(SetupBody, "Setup", data, rule="setup")
    preview = request.query_params.get("preview", "false").lower() in ("true", "1", "yes")
    change = _preview if preview else _save
    return await run_in_threadpool(change, db, who, id_, body, request.headers.get("if-match"))


def _checked(
    session: Session,
    who: Principal,
    id_: str,
    body: SetupBody,
    if_match: str | None,
    *,
    lock: bool,
) -> tuple[schema.Organization, Setup, list[setup_plan.Planned], set[int]]:
    """The office, its stored document, the body's timebooks as setups, and the bookings already outside the stored
    setup; raises before anything is written when the body may not be stored (who, version, rules, references, size)."""
    office = _office(session, id_, lock=lock)
    _may_change(who, office.id)
    stored = document(session, office)
    _check_if_match(if_match, version(stored))
    known_closures = {
        c.id for c in session.scalars(select(schema.ClosureDay).where(schema.ClosureDay.organization_id == office.id))
    }
    today = now().astimezone(OSLO).date()
    check(body, today, known_closures)
    planned = setup_plan.plan(session, office.id, body, {int(b["id"]) for b in stored["timebooks"]})
    setup_plan.check_size(planned, today)
    # Bookings an earlier change already left outside the setup (a closed day, say) are not this change's to report.
    already_outside = set().union(*(outside_setup(session, book) for book in _office_timebooks(session, office.id)))
    return office, stored, planned, already_outside


def _answer(session: Session, change: Change, setup: Setup, preview: bool) -> dict[str, Any]:
    return {
        "setup": setup,
        "preview": preview,
        "created": change.created,
        "removed": change.removed,
        "affected": _affected(session, change),
        "changes": setup_plan.changes(change),
    }


def _preview(db: Database, who: Principal, id_: str, body: SetupBody, if_match: str | None) -> FhirResponse:
    """What the change would do, by reads only: the setup is not stored and no free time is written or rolled back."""
    with db.reading() as session:
        office, stored, planned, already_outside = _checked(session, who, id_, body, if_match, lock=False)
        change = setup_plan.preview(session, planned)
        change.affected = [a for a in change.affected if a.slot_id not in already_outside]
        # A preview's document is what would be stored, but it is still based on the stored version.
        answer = _answer(session, change, _versioned(setup_plan.would_be(stored, body, planned), version(stored)), True)
    with db.writing() as session:  # the preview changed nothing, but who looked at which patients is kept
        audit.record(
            session, who, [a.patient_id for a in change.affected], "read", "Timebook setup preview: affected appointments"
        )
        _event(session, who, office.id, "preview", json.dumps({"created": change.created, "removed": change.removed}))
    return SetupResponse(answer, headers=_etag(answer["setup"]["version"]))


def _save(db: Database, who: Principal, id_: str, body: SetupBody, if_match: str | None) -> FhirResponse:
    """Store the setup in one short transaction, then bring the free times in line in chunks (generation.generate),
    so a big change never holds the write lock for long and bookings at every office go on meanwhile."""
    with db.reading() as session:  # the checks read much: done before the write lock, then confirmed under it
        _, stored, _, already_outside = _checked(session, who, id_, body, if_match, lock=False)
    with db.writing() as session:
        office = _office(session, id_, lock=True)
        if version(document(session, office, ahead=False)) != version(stored):  # another desk saved in between
            office, _, _, already_outside = _checked(session, who, id_, body, if_match, lock=True)
        _store(session, office, body)
        books = [book.id for book in _office_timebooks(session, office.id)]
        event = schema.SetupEvent(
            at=fhir.to_storage(now()),
            actor=who.actor[:200],
            organization_id=office.id,
            action="update",
            detail=json.dumps({"setup": body.model_dump(exclude_none=True)}, ensure_ascii=False),
        )
        session.add(event)
        session.flush()
        office_id, event_id = office.id, event.id
    change = Change()
    for book_id in books:
        change.add(generate(db, book_id))
    change.affected = [a for a in change.affected if a.slot_id not in already_outside]
    with db.reading() as session:
        answer = _answer(session, change, _versioned(document(session, session.get_one(schema.Organization, office_id))), False)
    with db.writing() as session:
        audit.record(session, who, [a.patient_id for a in change.affected], "read", "Timebook setup: affected appointments")
        event = session.get_one(schema.SetupEvent, event_id)  # written above, never deleted
        event.detail = json.dumps(
            {"created": change.created, "removed": change.removed, "affected": len(change.affected), **json.loads(event.detail)},
            ensure_ascii=False,
        )
    return SetupResponse(answer, headers=_etag(answer["setup"]["version"]))
