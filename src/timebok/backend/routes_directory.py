"""The public directory: capability statement, offices, time types, timebooks, places and free slots."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from timebok.backend import conditional, fhir, month, schema, versions
from timebok.backend.capability import capability_statement
from timebok.backend.db import Database
from timebok.backend.deps import CurrentPrincipal, DatabaseDep
from timebok.backend.http import FhirResponse, fhir_base, page_links, query_doc, search_params
from timebok.backend.outcome import FHIR_JSON, invalid, not_found
from timebok.backend.search import SearchParams
from timebok.domain.clock import OSLO, now
from timebok.domain.identity import HERID_SYSTEM, ORGNR_SYSTEM

router = APIRouter(prefix="/fhir")

_Row = TypeVar("_Row", bound=schema.Base)


@router.get("/metadata")
async def metadata(request: Request) -> FhirResponse:
    # Async and without the database: it answers on the event loop while every worker thread waits for a hanging one.
    return FhirResponse(capability_statement(fhir_base(request), now()))


def _read(table: type[_Row], to_fhir: Callable[[_Row], fhir.Resource], id_: str, db: Database) -> FhirResponse:
    resource_type = table.__name__  # the mapped classes bear their FHIR names
    row_id = fhir.parse_id(id_)
    if row_id is None:
        raise not_found(f"{resource_type}/{id_}")
    with db.reading() as session:
        row = session.get(table, row_id)
        if row is None:
            raise not_found(f"{resource_type}/{id_}")
        return FhirResponse(to_fhir(row))


@router.get("/Organization/{id_}")
def read_organization(id_: str, _: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    return _read(schema.Organization, fhir.organization, id_, db)


@router.get("/Location/{id_}")
def read_location(id_: str, _: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    return _read(schema.Location, fhir.location, id_, db)


@router.get("/HealthcareService/{id_}")
def read_healthcare_service(id_: str, _: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    row_id = fhir.parse_id(id_)
    with db.reading() as session:
        row = session.get(schema.HealthcareService, row_id) if row_id is not None else None
        if row is None:
            raise not_found(f"HealthcareService/{id_}")
        return FhirResponse(_services(session, [row])[0])


def _services(session: Session, rows: Sequence[schema.HealthcareService]) -> list[fhir.Resource]:
    """Time types as a read shows them, with the setup in R4 terms: their open timebooks' weekly ranges
    (availableTime) and their office's closures ahead (notAvailable). A search and an _include answer the
    same, so a client that only searches sees the opening hours too."""
    ids = [row.id for row in rows]
    books = session.scalars(
        select(schema.Schedule)
        .where(schema.Schedule.healthcare_service_id.in_(ids), schema.Schedule.active.is_(True))
        .order_by(schema.Schedule.id)
    ).all()
    available: dict[int, list[dict[str, Any]]] = {}
    for book in books:
        available.setdefault(book.healthcare_service_id, []).extend(json.loads(book.weekly or "[]"))
    today = now().astimezone(OSLO).date()
    closures = session.scalars(
        select(schema.ClosureDay)
        .where(
            schema.ClosureDay.organization_id.in_({row.organization_id for row in rows}),
            schema.ClosureDay.schedule_id.is_(None),
            schema.ClosureDay.day >= today,
        )
        .order_by(schema.ClosureDay.day, schema.ClosureDay.id)
    ).all()
    closed: dict[int, list[schema.ClosureDay]] = {}
    for closure in closures:
        closed.setdefault(closure.organization_id, []).append(closure)
    return [fhir.healthcare_service(row, available.get(row.id, []), closed.get(row.organization_id, [])) for row in rows]


@router.get("/Slot/{id_}")
def read_slot(id_: str, _: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    return _read(schema.Slot, fhir.slot, id_, db)


@router.get("/Schedule/{id_}")
def read_schedule(id_: str, _: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    row_id = fhir.parse_id(id_)
    if row_id is None:
        raise not_found(f"Schedule/{id_}")
    with db.reading() as session:
        row = session.get(schema.Schedule, row_id)
        if row is None:
            raise not_found(f"Schedule/{id_}")
        return FhirResponse(fhir.schedule(row, session.get_one(schema.HealthcareService, row.healthcare_service_id)))


def _each(to_fhir: Callable[[_Row], fhir.Resource]) -> Callable[[Session, Sequence[_Row]], list[fhir.Resource]]:
    return lambda _, rows: [to_fhir(row) for row in rows]


def _paged(
    request: Request,
    session: Session,
    query: Select[_Row],
    total_query: Select[int],
    render: Callable[[Session, Sequence[_Row]], list[fhir.Resource]],
    params: SearchParams,
    default: int,
    maximum: int,
    includes: Callable[[Session, Sequence[_Row]], list[fhir.Resource]] | None = None,
) -> FhirResponse:
    count = params.count(default, maximum)
    offset = params.offset()
    total = session.scalar(total_query) or 0
    rows = session.scalars(query.offset(offset).limit(count)).all()
    self_url, next_url = page_links(request, offset, count, total)
    matches = render(session, rows)
    extra = includes(session, rows) if includes else []
    return FhirResponse(
        fhir.bundle(fhir_base(request), matches, total=total, includes=extra, next_url=next_url, self_url=self_url)
    )


@router.get("/Organization", openapi_extra=query_doc("identifier", "name", "_id"))
def search_organizations(request: Request, _: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    params = search_params(request, {"identifier", "name", "_id"})
    query = select(schema.Organization)
    identifier = params.one("identifier")
    if identifier is not None:
        system, bar, value = identifier.rpartition("|")
        column = (
            {
                HERID_SYSTEM: schema.Organization.her_id,
                ORGNR_SYSTEM: schema.Organization.orgnr,
            }.get(system)
            if bar and system
            else None
        )
        if bar and system and column is None:
            raise invalid(f"Unknown identifier system {system!r}; use the HER-id or organisasjonsnummer system")
        query = (
            query.where(column == value)
            if column is not None
            else query.where((schema.Organization.her_id == value) | (schema.Organization.orgnr == value))
        )
    if (name := params.one("name")) is not None:
        query = query.where(func.lower(schema.Organization.name).contains(name.lower(), autoescape=True))  # "%" is no wildcard
    if (id_ := params.one("_id")) is not None:
        query = query.where(schema.Organization.id == (fhir.parse_id(id_) or -1))
    with db.reading() as session:
        return _paged(
            request,
            session,
            query.order_by(schema.Organization.id),
            select(func.count()).select_from(query.subquery()),
            _each(fhir.organization),
            params,
            50,
            200,
        )


@router.get("/Location", openapi_extra=query_doc("organization", "name", "address-city", "_id"))
def search_locations(request: Request, _: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    # The places a finder shows (and SMART's Location files list): by office, name, city or id.
    params = search_params(request, {"organization", "name", "address-city", "_id"})
    query = select(schema.Location)
    if (org := params.reference("organization", "Organization")) is not None:
        query = query.where(schema.Location.organization_id == org)
    if (name := params.one("name")) is not None:
        query = query.where(
            func.lower(schema.Location.name).startswith(name.lower(), autoescape=True)
        )  # FHIR string: starts with
    if (city := params.one("address-city")) is not None:
        query = query.where(func.lower(schema.Location.city).startswith(city.lower(), autoescape=True))
    if (id_ := params.one("_id")) is not None:
        query = query.where(schema.Location.id == (fhir.parse_id(id_) or -1))
    with db.reading() as session:
        return _paged(
            request,
            session,
            query.order_by(schema.Location.id),
            select(func.count()).select_from(query.subquery()),
            _each(fhir.location),
            params,
            50,
            200,
        )


@router.get("/HealthcareService", openapi_extra=query_doc("organization", "active", "service-type"))
def search_healthcare_services(request: Request, _: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    params = search_params(request, {"organization", "active", "service-type"})
    query = select(schema.HealthcareService)
    if (org := params.reference("organization", "Organization")) is not None:
        query = query.where(schema.HealthcareService.organization_id == org)
    if (active := params.boolean("active")) is not None:
        query = query.where(schema.HealthcareService.active == active)
    if (code := params.one("service-type")) is not None:
        query = query.where(schema.HealthcareService.type_code == code.rpartition("|")[2])
    with db.reading() as session:
        return _paged(
            request,
            session,
            query.order_by(schema.HealthcareService.id),
            select(func.count()).select_from(query.subquery()),
            _services,
            params,
            50,
            200,
        )


@router.get("/Schedule", openapi_extra=query_doc("actor", "active", "_include"))
def search_schedules(request: Request, _: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    params = search_params(request, {"actor", "active", "_include"})
    include = params.all("_include")
    if any(value != "Schedule:actor" for value in include):
        raise invalid("Only _include=Schedule:actor is supported")
    query = select(schema.Schedule)
    actor = params.one("actor")
    if actor is not None:
        kind = actor.split("/")[0]
        if kind == "Location":
            query = query.where(schema.Schedule.location_id == params.reference("actor", "Location"))
        else:
            query = query.where(schema.Schedule.healthcare_service_id == params.reference("actor", "HealthcareService"))
    if (active := params.boolean("active")) is not None:
        query = query.where(schema.Schedule.active == active)

    def to_fhir(row: schema.Schedule) -> fhir.Resource:
        return fhir.schedule(row, services[row.healthcare_service_id])

    def includes(session: Session, rows: Sequence[schema.Schedule]) -> list[fhir.Resource]:
        if not include:
            return []
        location_ids = sorted({row.location_id for row in rows})
        places = session.scalars(select(schema.Location).where(schema.Location.id.in_(location_ids))).all()
        service_ids = sorted({row.healthcare_service_id for row in rows})
        return _services(session, [services[i] for i in service_ids]) + [fhir.location(p) for p in places]

    with db.reading() as session:
        services = {s.id: s for s in session.scalars(select(schema.HealthcareService)).all()}
        return _paged(
            request,
            session,
            query.order_by(schema.Schedule.id),
            select(func.count()).select_from(query.subquery()),
            _each(to_fhir),
            params,
            50,
            200,
            includes,
        )


@router.get("/Slot")
def search_slots(request: Request, _: CurrentPrincipal, db: DatabaseDep) -> Response:
    # The calendar's month query, the hottest read. The timebook month's version first, then (only when
    # it moved since the answer was kept) the slots; a client holding the current ETag hears 304. Each
    # statement is its own transaction: no BEGIN/COMMIT round trips, and the order of the two reads is
    # what keeps the answer from being older than its tag (see versions.current).
    params = search_params(request, {"schedule", "status", "start"})
    schedule_id = params.reference("schedule", "Schedule")
    if schedule_id is None:
        raise invalid("Slot search needs schedule=Schedule/<id>")
    if (status := params.one("status")) is not None:
        if status not in ("free", "busy", "busy-tentative", "busy-unavailable", "entered-in-error"):
            raise invalid(f"status must be a Slot status such as free, got {status!r}")
    lower, upper = params.date_bounds("start")
    count, offset = params.count(100, 1000), params.offset()
    with db.single_reads() as connection:
        at = fhir.to_storage(now())
        # Before the rows (see versions.current); a hold that ended changes the answer with no write: its end is part
        # of the tag (see month.tag_state).
        version, ended = month.tag_state(connection, versions.slot_search(schedule_id, lower, upper), schedule_id, at)
        tag = conditional.tag(version) if ended is None else f'W/"{version}.{int(ended.replace(tzinfo=UTC).timestamp())}"'
        if (unchanged := conditional.not_modified(request, tag)) is not None:
            return unchanged
        base = fhir_base(request)
        cache: month.AnswerCache = request.app.state.slot_answers
        key = (base, request.scope["query_string"])  # the raw bytes: request.url would parse the whole URL again
        body = cache.get(key, tag)
        if body is None:
            kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("_offset", "_count")]
            body = month.render(
                connection,
                cache,
                base=base,
                self_base=f"{base}/Slot",
                kept=kept,
                schedule_id=schedule_id,
                status=status,
                lower=lower,
                upper=upper,
                count=count,
                offset=offset,
                at=at,
                holds_ended=ended is not None,
            )
            cache.put(key, tag, body)
    return Response(body, media_type=FHIR_JSON, headers={"ETag": tag})
