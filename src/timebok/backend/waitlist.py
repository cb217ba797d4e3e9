"""Reading and withdrawing short-notice wishes (`Appointment/waitlist-N`): the search, the read and the cancel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, select, update
from sqlalchemy.orm import Session

from timebok.backend import audit, life, representation, schema, short_notice, versions
from timebok.backend.auth import Principal
from timebok.backend.fhir import Resource
from timebok.backend.outcome import invalid, not_found
from timebok.backend.search import SearchParams
from timebok.domain import appointment_life as rules
from timebok.domain.timetypes import TIMETYPE_SYSTEM

WITHDRAWN = "withdrawn"
ACTIVE = (short_notice.WAITING, short_notice.OFFERED)
# What a wish that ended says on the wire: cancelled, with why (taken, let go or expired, withdrawn).
_ENDED = {short_notice.DONE: "met", short_notice.DECLINED: "declined", WITHDRAWN: "withdrawn"}
REASON_SYSTEM = "https://timebok.example/fhir/CodeSystem/short-notice-end"
# The parameters a wish search takes: IHE/FHIR Appointment search's own names.
PARAMS = {"status", "patient", "service-type", "actor", "location"}


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


def wish_id(id_: str) -> int | None:
    """The number in `waitlist-N`, None for any other id."""
    prefix, _, number = id_.partition(short_notice.ID_PREFIX)
    if prefix or not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    return int(number)


def is_wish_id(id_: str) -> bool:
    return id_.startswith(short_notice.ID_PREFIX)


def resource(session: Session, wish: schema.ShortNotice) -> Resource:
    """The wish as short_notice.resource makes it, with its end when it ended (status cancelled, and why)."""
    found = short_notice.resource(session, wish)
    if wish.status not in ACTIVE:
        found["status"] = "cancelled"
        found["cancelationReason"] = {"coding": [{"system": REASON_SYSTEM, "code": _ENDED.get(wish.status, WITHDRAWN)}]}
    return found


def scope(who: Principal, reach: list[int]) -> ColumnElement[bool]:
    """Staff see their office's wishes, a citizen their own and those of whom they may act for."""
    wish = schema.ShortNotice
    if who.is_staff:
        return wish.organization_id == who.organization_id
    return wish.patient_id.in_(reach or [who.patient_id or 0])


@dataclass(frozen=True)
class Where:
    """The timebook a search names: its time type (service-type), HealthcareService or Location (actor, location)."""

    type_code: str | None = None
    service_id: int | None = None
    location_id: int | None = None
    patient_id: int | None = None  # actor=Patient/N


def where(params: SearchParams) -> Where:
    """service-type (a 7617 code, with or without its system), actor and location, read strictly."""
    type_code = None
    if (code := params.one("service-type")) is not None:
        system, bar, value = code.rpartition("|")
        if not value or (bar and system not in ("", TIMETYPE_SYSTEM)):
            raise invalid(f"service-type must be a time type code such as Lab, or {TIMETYPE_SYSTEM}|Lab, got {code!r}")
        type_code = value
    found: dict[str, int | None] = {}
    if (actor := params.one("actor")) is not None:
        kind, _, _ = actor.rpartition("/")
        if kind not in ("HealthcareService", "Location", "Patient"):
            raise invalid(f"actor must be a reference like HealthcareService/1, Location/1 or Patient/1, got {actor!r}")
        found[kind] = params.reference("actor", kind)
    location_id = params.reference("location", "Location")
    if location_id is not None and found.get("Location", location_id) != location_id:
        return Where(location_id=0)  # two different places: nothing is at both
    return Where(type_code, found.get("HealthcareService"), location_id or found.get("Location"), found.get("Patient"))


def query(params: SearchParams, who: Principal, reach: list[int]) -> Select[schema.ShortNotice]:
    """`GET Appointment?status=waitlist` with patient, service-type, actor (HealthcareService, Location or Patient)
    and location: the active wishes, first in line first (the order offers go in)."""
    if params.one("status") != "waitlist":
        raise invalid("A search of the short-notice list is status=waitlist alone")
    wish = schema.ShortNotice
    found = select(wish).where(scope(who, reach), wish.status.in_(ACTIVE))
    if (patient_id := params.reference("patient", "Patient")) is not None:
        if not who.is_staff and patient_id not in (reach or [who.patient_id or 0]):
            raise representation.refused()  # the same whether that patient exists or not
        found = found.where(wish.patient_id == patient_id)
    named = where(params)
    if named.type_code is not None:
        found = found.where(
            wish.healthcare_service_id.in_(
                select(schema.HealthcareService.id).where(schema.HealthcareService.type_code == named.type_code)
            )
        )
    if named.service_id is not None:
        found = found.where(wish.healthcare_service_id == named.service_id)
    if named.location_id is not None:
        found = found.where(wish.location_id == named.location_id)
    if named.patient_id is not None:
        found = found.where(wish.patient_id == named.patient_id)
    return found


ORDER = (schema.ShortNotice.created, schema.ShortNotice.id)


def visible(session: Session, who: Principal, number: int, reach: list[int]) -> schema.ShortNotice:
    wish = session.scalar(select(schema.ShortNotice).where(schema.ShortNotice.id == number, scope(who, reach)))
    if wish is None:
        raise not_found(f"Appointment/{short_notice.ID_PREFIX}{number}")
    return wish


def withdraw(session: Session, who: Principal, number: int, reach: list[int]) -> schema.ShortNotice:
    """Status cancelled of a wish: it leaves the list, and a time held for it goes to the next in line. Safe to
    repeat (a wish that ended answers as it is). An offer already sent (accepted) stays: that time is theirs."""
    wish = visible(session, who, number, reach)
    representation.acting_for(session, who, wish.patient_id, write=True)
    released: set[int] = set()
    while wish.status in ACTIVE:
        ended = WITHDRAWN
        if wish.offer_id is not None:
            if wish.offer_id not in released:
                _release(session, who, wish.offer_id)  # the slot first, as every change of a hold takes it
                released.add(wish.offer_id)
            if session.scalar(select(schema.Appointment.status).where(schema.Appointment.id == wish.offer_id)) != "cancelled":
                ended = short_notice.DONE  # they took the offer before withdrawing: the wish was met
        same_offer = (
            schema.ShortNotice.offer_id.is_(None) if wish.offer_id is None else schema.ShortNotice.offer_id == wish.offer_id
        )
        changed = _rowcount(
            session.execute(
                update(schema.ShortNotice)
                .where(schema.ShortNotice.id == wish.id, schema.ShortNotice.status.in_(ACTIVE), same_offer)
                .values(status=ended)
            )
        )
        session.refresh(wish)
        if changed == 1:
            audit.record(session, who, [wish.patient_id], "update", f"Appointment/{short_notice.ID_PREFIX}{wish.id} withdrawn")
            versions.bump(session, [versions.organization(wish.organization_id), versions.patient(wish.patient_id)])
        # Else an offer was made to it meanwhile (another instance): that hold is let go too, then it is withdrawn.
    return wish


def _release(session: Session, who: Principal, hold_id: int) -> None:
    """End the offered hold if it is still a hold: its slot freed first, then the hold cancelled."""
    hold = session.get_one(schema.Appointment, hold_id)
    if hold.status != "proposed":
        return  # sent (the offer was taken) or ended already
    # The offered time goes to the next in line: life.free_slot queues it for the short-notice list.
    emptied = life.free_slot(session, hold.slot_id, *life.still_held())
    ended = life.end_as(session, hold.id, ("proposed",), rules.HOLD_ENDED)
    if emptied or ended:
        session.refresh(hold)
        audit.record(session, who, [hold.patient_id], "update", f"Appointment/{hold.id} hold released (wish withdrawn)")
        versions.bump_for_appointment(session, hold)
