"""A setup body's timebooks as generation sees them, before anything is stored: the size caps, the preview, «changes»."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebok.backend import ids, schema
from timebok.backend.generation import BookSetup, CampaignSetup, Change, Closure, ranges, setup_of, survey
from timebok.backend.outcome import FhirError, at_fault
from timebok.backend.setup_body import SetupBody
from timebok.domain.setup_limits import PER_OFFICE, PER_TIMEBOOK

DAYS_LISTED = 31  # «changes»: the dates listed per timebook; the rest are counted in "moreDays"


@dataclass(frozen=True)
class Planned:
    """One timebook the setup would have: from the body (`index`), or stored and left out of it (switched off)."""

    index: int | None
    setup: BookSetup


def _problem(path: str, text: str) -> FhirError:
    return at_fault(path, text, rule="setup")


def _reference(text: str | None, kind: str, path: str) -> int:
    if not text or not text.startswith(f"{kind}/"):
        raise _problem(path, f"must be a reference like {kind}/1")
    return ids.row_id(text[len(kind) + 1 :], path)


def _closures(body: SetupBody, known: set[int]) -> list[tuple[int | None, Closure]]:
    """The body's closures, each with the timebook it closes (None: the whole office)."""
    closures: list[tuple[int | None, Closure]] = []
    for index, closure in enumerate(body.closures):
        here = f"Setup.closures[{index}]"
        if closure.id is not None:
            ids.row_id(closure.id, f"{here}.id")
        book_id = _reference(closure.timebook, "Schedule", f"{here}.timebook") if closure.timebook else None
        if book_id is not None and book_id not in known:
            raise _problem(f"{here}.timebook", "not one of this office's timebooks")
        closures.append(
            (
                book_id,
                Closure(
                    date.fromisoformat(closure.day),
                    time.fromisoformat(closure.start) if closure.start else None,
                    time.fromisoformat(closure.end) if closure.end else None,
                ),
            )
        )
    return closures


def plan(session: Session, office_id: int, body: SetupBody, known: set[int]) -> list[Planned]:
    """The body's timebooks as setups, without storing anything; refuses (400) a reference that is not this office's,
    as storing it would. `known`: the ids of the office's stored timebooks."""
    services = {
        s.type_code: s
        for s in session.scalars(
            select(schema.HealthcareService)
            .where(schema.HealthcareService.organization_id == office_id)
            .order_by(schema.HealthcareService.id.desc())
        )
    }
    service_open = {code: bool(s.active) for code, s in services.items()}
    service_open |= {item.type: item.active for item in body.services}
    closures = _closures(body, known)
    result: list[Planned] = []
    kept: set[int] = set()
    for index, item in enumerate(body.timebooks):
        here = f"Setup.timebooks[{index}]"
        place_id = _reference(item.location, "Location", f"{here}.location")
        place = session.get(schema.Location, place_id)
        if place is None or place.organization_id != office_id:
            raise _problem(f"{here}.location", "not one of this office's places")
        book_id: int | None = None
        if item.id is not None:
            book_id = ids.row_id(item.id, f"{here}.id")
            if book_id not in known:
                raise _problem(f"{here}.id", "not one of this office's timebooks")
        elif item.type in services:  # a repeat of the same new timebook finds the first one, as storing it does
            book_id = session.scalars(
                select(schema.Schedule.id).where(
                    schema.Schedule.healthcare_service_id == services[item.type].id,
                    schema.Schedule.location_id == place_id,
                    schema.Schedule.name == item.name,
                )
            ).first()
        for number, campaign in enumerate(item.campaigns):
            if campaign.id is not None:
                ids.row_id(campaign.id, f"{here}.campaigns[{number}].id")
        if book_id is not None:
            kept.add(book_id)
        result.append(
            Planned(
                index,
                BookSetup(
                    id=book_id,
                    name=item.name,
                    open=item.active and service_open.get(item.type, True),
                    managed=True,
                    slot_minutes=item.slotMinutes,
                    parallel=item.parallel,
                    horizon_days=item.horizonDays,
                    weekly=tuple(ranges([r.model_dump() for r in item.weekly])),
                    campaigns=tuple(
                        CampaignSetup(
                            date.fromisoformat(c.first),
                            date.fromisoformat(c.last),
                            tuple(ranges([r.model_dump() for r in c.weekly])),
                            c.slotMinutes or item.slotMinutes,
                        )
                        for c in item.campaigns
                    ),
                    closures=tuple(
                        sorted(
                            (c for owner, c in closures if owner is None or owner == book_id),
                            key=lambda c: (c.day, c.opens or time(0)),
                        )
                    ),
                ),
            )
        )
    for left_out in sorted(known - kept):  # left out: switched off, so it publishes nothing more
        book = session.get_one(schema.Schedule, left_out)  # `known` holds the office's stored timebooks
        result.append(Planned(None, replace(setup_of(book, [], []), open=False, managed=True)))
    return result


def check_size(planned: list[Planned], today: date) -> None:
    """422 when a timebook, or the office in all, would publish more free times ahead than the caps allow; counted
    by arithmetic before any time is made, so a setup of millions is refused in milliseconds and writes nothing."""
    total = 0
    for item in planned:
        if item.index is None:
            continue
        setup = item.setup
        count = setup.count(today, setup.horizon()[2])
        total += count
        if count > PER_TIMEBOOK:
            path = f"Setup.timebooks[{item.index}]"
            raise at_fault(
                path,
                f"«{setup.name}» would make {count} free times in its "
                f"{setup.horizon_days} days ahead; a timebook may have at most {PER_TIMEBOOK} (shorten «Åpen fram», "
                "lengthen the times or open fewer at once)",
                rule="setup-too-large",
                status=422,
                code="business-rule",
            )
    if total > PER_OFFICE:
        raise at_fault(
            "Setup.timebooks",
            f"the office's timebooks would make {total} free times ahead in all; an office may have at most {PER_OFFICE}",
            rule="setup-too-large",
            status=422,
            code="business-rule",
        )


def preview(session: Session, planned: list[Planned]) -> Change:
    """What storing the setup would do to the free times, by reads only: nothing is written, nothing rolled back."""
    change = Change()
    for item in planned:
        change.add(survey(session, item.setup))
    return change


def changes(change: Change) -> list[dict[str, Any]]:
    """The answer's «changes»: per timebook whose free times change, how many and on which local dates."""
    result: list[dict[str, Any]] = []
    for entry in sorted(change.books.values(), key=lambda e: (e.schedule_id is None, e.schedule_id or 0, e.name)):
        if not (entry.created or entry.removed):
            continue
        days = sorted(entry.days)
        item: dict[str, Any] = {
            "timebook": f"Schedule/{entry.schedule_id}" if entry.schedule_id is not None else None,
            "name": entry.name,
            "created": entry.created,
            "removed": entry.removed,
            "days": [d.isoformat() for d in days[:DAYS_LISTED]],
        }
        if len(days) > DAYS_LISTED:
            item["moreDays"] = len(days) - DAYS_LISTED
        result.append(item)
    return result


def would_be(stored: dict[str, Any], body: SetupBody, planned: list[Planned]) -> dict[str, Any]:
    """The setup document as storing the body would make it (a preview's answer), built without storing it."""
    ahead = {book["id"]: book["ahead"] for book in stored["timebooks"]}
    by_index = {item.index: item.setup for item in planned if item.index is not None}
    services = {s["type"]: s["active"] for s in stored["services"]} | {s.type: s.active for s in body.services}
    timebooks = []
    for index, item in enumerate(body.timebooks):
        book_id = by_index[index].id
        timebooks.append(
            {
                "id": str(book_id) if book_id is not None else None,
                "type": item.type,
                "location": item.location,
                "name": item.name,
                "active": item.active,
                "slotMinutes": item.slotMinutes,
                "parallel": item.parallel,
                "horizonDays": item.horizonDays,
                "leadMinutes": item.leadMinutes,
                "weekly": [r.model_dump() for r in item.weekly],
                "ahead": ahead.get(str(book_id), {"free": 0, "total": 0}),
                "campaigns": [
                    {
                        "id": c.id,
                        "name": c.name,
                        "first": c.first,
                        "last": c.last,
                        **({"slotMinutes": c.slotMinutes} if c.slotMinutes else {}),
                        "weekly": [r.model_dump() for r in c.weekly],
                    }
                    for c in item.campaigns
                ],
            }
        )
        if item.type not in services:
            services[item.type] = True
    listed = {book["id"] for book in timebooks}
    timebooks += [book | {"active": False} for book in stored["timebooks"] if book["id"] not in listed]
    return stored | {
        "services": [{"type": s["type"], "active": services.get(s["type"], False)} for s in stored["services"]],
        "timebooks": timebooks,
        "closures": [
            {"id": c.id, "day": c.day, "start": c.start, "end": c.end, "reason": c.reason, "timebook": c.timebook}
            for c in body.closures
        ],
    }
