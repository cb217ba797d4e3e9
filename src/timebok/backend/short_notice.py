"""«Kan komme på kort varsel»: a patient's wish for a time of a type at a place within a period (an Appointment in
`waitlist` on the wire). When a matching time is free, the server holds it (issue 24's hold: a `proposed`
Appointment keeping its Slot busy-tentative) for the first in line for the offer window, and tells them by inbox,
e-mail and SMS. Accepting is sending the hold (status pending, or booked by the desk) — a change when the wish
replaces a later time; letting it go (DELETE) or letting it expire offers the time to the next in line.

Only a time that frees is offered, not one free all along: every write that frees a slot (a cancel, a rejection,
a change, a request closed unanswered, a closure lifted, a setup adding times while someone waits, an ended hold)
queues it in its own transaction (backend/freed.py), and the sender loop (backend/sender.py) offers the queue on any
instance; the slot's and the wish's conditional updates make each offer once, however many instances run. A time
starting sooner than the timebook's offer window is left on the calendar for anyone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from timebok.backend import audit, booking, booking_body, fhir, life, messages, schema, versions
from timebok.backend.auth import Principal
from timebok.backend.bodies import AppointmentBody, Reference
from timebok.backend.db import Database
from timebok.backend.fhir import instant, ref, to_storage
from timebok.backend.outcome import conflict, forbidden, invalid, not_found, unprocessable
from timebok.domain import appointment_life as rules
from timebok.domain import notice_rules
from timebok.domain import short_notice as wire
from timebok.domain.clock import now

OFFER_MINUTES = notice_rules.OFFER_MINUTES  # the default; each timebook sets its own (Schedule.offer_minutes)
WAITING, OFFERED, DONE, DECLINED = "waiting", "offered", "done", "declined"
ID_PREFIX, OFFER_URL, OFFERED_TIME_URL = wire.ID_PREFIX, wire.OFFER_URL, wire.OFFERED_TIME_URL
NOT_WAITING, WRONG_SLOT = "not-waiting", "wrong-slot"  # the desk's offer by hand refused (OperationOutcome rule codes)


class _Lost(Exception):
    """Another instance offered this wish first: the slot claimed for it goes back (the transaction rolls back)."""


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


def _one(references: list[Reference], kind: str) -> int:
    found = [r for r in references if r.reference.startswith(f"{kind}/")]
    if len(found) != 1:
        raise invalid(f"participant must name exactly one {kind}", expression=["Appointment.participant"])
    number = fhir.parse_id(found[0].reference.split("/", 1)[1])
    if number is None:
        raise invalid(f"participant's {kind} must be a reference like {kind}/1", expression=["Appointment.participant"])
    return number


def _period(body: AppointmentBody) -> tuple[datetime, datetime]:
    periods = body.requestedPeriod or []
    if len(periods) != 1 or not periods[0].start or not periods[0].end:
        raise invalid("requestedPeriod must be one period with a start and an end", expression=["Appointment.requestedPeriod"])
    try:
        start, end = datetime.fromisoformat(periods[0].start), datetime.fromisoformat(periods[0].end)
    except ValueError:
        raise invalid(
            "requestedPeriod's start and end must be dates with times", expression=["Appointment.requestedPeriod"]
        ) from None
    if start.tzinfo is None or end.tzinfo is None or end <= start or end <= now():
        raise invalid(
            "requestedPeriod must end after it starts, in the future, with a time zone",
            expression=["Appointment.requestedPeriod"],
        )
    return start, end


def create(session: Session, principal: Principal, body: AppointmentBody) -> schema.ShortNotice:
    """POST Appointment with status waitlist; the same wish sent again finds the first (safe to repeat)."""
    actors = [p.actor for p in body.participant or [] if p.actor is not None]
    patient_id = _one(actors, "Patient")
    service_id, location_id = _one(actors, "HealthcareService"), _one(actors, "Location")
    start, end = _period(body)
    if not booking.visible_patient(session, principal, patient_id):
        raise unprocessable("not-found", f"Patient/{patient_id} was not found")
    book = session.execute(
        select(schema.Schedule.id, schema.HealthcareService.organization_id)
        .join(schema.HealthcareService, schema.Schedule.healthcare_service_id == schema.HealthcareService.id)
        .where(
            schema.Schedule.healthcare_service_id == service_id,
            schema.Schedule.location_id == location_id,
            schema.Schedule.active.is_(True),
        )
        .limit(1)
    ).first()
    if book is None:
        raise unprocessable("not-found", "No open timebook has this HealthcareService and Location")
    office_id = book[1]
    if principal.is_staff and principal.organization_id != office_id:
        raise forbidden("Staff put patients on their own office's short-notice list only")
    replaces_id, _ = booking_body.extensions(body)
    if replaces_id is not None:
        replaced = booking.visible_appointment(session, principal, replaces_id)
        if replaced is None or replaced.patient_id != patient_id or replaced.status not in ("pending", "booked"):
            raise unprocessable("not-found", f"Appointment/{replaces_id} is not an active time of this patient")
    values = {
        "patient_id": patient_id,
        "healthcare_service_id": service_id,
        "location_id": location_id,
        "period_start": to_storage(start),
        "period_end": to_storage(end),
        "replaces_id": replaces_id,
    }
    earlier = session.scalar(
        select(schema.ShortNotice).filter_by(**values).where(schema.ShortNotice.status.in_((WAITING, OFFERED)))
    )
    if earlier is not None:
        return earlier
    wish = schema.ShortNotice(organization_id=office_id, created=to_storage(now()), status=WAITING, **values)
    session.add(wish)
    session.flush()
    return wish


def resource(session: Session, wish: schema.ShortNotice) -> fhir.Resource:
    """The wish as FHIR: an Appointment in waitlist with the patient and the timebook's actors as participants."""
    code = session.scalar(
        select(schema.HealthcareService.type_code).where(schema.HealthcareService.id == wish.healthcare_service_id)
    )
    found: fhir.Resource = {
        "resourceType": "Appointment",
        "id": f"{ID_PREFIX}{wish.id}",
        "status": "waitlist",
        "serviceType": [fhir._timetype(code or "")],
        "created": instant(wish.created),
        "requestedPeriod": [{"start": instant(wish.period_start), "end": instant(wish.period_end)}],
        "participant": [
            {"actor": ref("Patient", wish.patient_id), "status": "accepted", "required": "required"},
            {"actor": ref("HealthcareService", wish.healthcare_service_id), "status": "needs-action", "required": "required"},
            {"actor": ref("Location", wish.location_id), "status": "needs-action", "required": "information-only"},
        ],
    }
    extensions = []
    if wish.replaces_id is not None:
        extensions.append({"url": rules.REPLACES_URL, "valueReference": ref("Appointment", wish.replaces_id)})
    if wish.offer_id is not None:
        extensions.append({"url": OFFER_URL, "valueReference": ref("Appointment", wish.offer_id)})
        # While it is offered: the time offered and until when it is held, for the desk's list («tilbudt til kl. …»).
        offered = session.execute(
            select(schema.Appointment.start, schema.Appointment.held_until).where(
                schema.Appointment.id == wish.offer_id, schema.Appointment.status == "proposed"
            )
        ).first()
        if wish.status == OFFERED and offered is not None and offered[1] is not None:
            extensions.append({"url": OFFERED_TIME_URL, "valueInstant": instant(offered[0])})
            extensions.append({"url": rules.HOLD_URL, "valueInstant": instant(offered[1])})
    if extensions:
        found["extension"] = extensions
    return found


# -- offering freed times (the sender loop) ---------------------------------------------------------------------


def _first_in_line(slot: Any, passed: set[int]) -> Select[int]:
    """The first waiting wish (first in, first out; ties by id) this time suits: its type and place, in its
    period, earlier than the time it would replace; `passed` are wishes offered another time this round."""
    wish = schema.ShortNotice
    replaced = aliased(schema.Appointment)
    found = (
        select(wish.id)
        .outerjoin(replaced, replaced.id == wish.replaces_id)
        .where(
            wish.status == WAITING,
            wish.healthcare_service_id == slot.healthcare_service_id,
            wish.location_id == slot.location_id,
            wish.period_start <= slot.start,
            wish.period_end > slot.start,
            or_(wish.replaces_id.is_(None), slot.start < replaced.start),
        )
        .order_by(wish.created, wish.id)
        .limit(1)
    )
    return found.where(wish.id.not_in(passed)) if passed else found


def _offerable(session: Session, slot_ids: list[int]) -> list[Any]:
    """Of these freed times, those still free in an open timebook that start at least its offer window after the
    notice can go (now, or 08:00 after the SMS's quiet night), so the hold ends before the time begins; a sooner one
    stays on the calendar for anyone. Earliest first."""
    moment = now()
    book, slot = schema.Schedule, schema.Slot
    rows = session.execute(
        select(slot.id, slot.start, book.offer_minutes, book.healthcare_service_id, book.location_id)
        .join(book, slot.schedule_id == book.id)
        .where(slot.id.in_(slot_ids), slot.status == "free", book.active.is_(True), slot.start > to_storage(moment))
        .order_by(slot.start, slot.id)
    ).all()
    return [
        row
        for row in rows
        if _aware(row.start) >= notice_rules.after_quiet_hours(moment) + timedelta(minutes=row.offer_minutes or OFFER_MINUTES)
    ]


def run(db: Database, limit: int = 200) -> int:
    """Settle the offers that ended, then offer each freed time (backend/freed.py) to the first in line it suits.
    Only a time that frees is offered, never one that was free all along; a freed time nobody waits for now is not
    offered later. Safe on several instances: the slot's and the wish's conditional updates make each offer once,
    and a run deletes by id only the queue rows it read (and handled)."""
    settle(db)
    with db.reading() as session:
        queued = session.execute(
            select(schema.FreedSlot.id, schema.FreedSlot.slot_id).order_by(schema.FreedSlot.id).limit(limit)
        ).all()
        if not queued:
            return 0
        offers: list[tuple[int, int]] = []
        passed: set[int] = set()
        for slot in _offerable(session, list({slot_id for _, slot_id in queued})):  # earliest time first
            wish_id = session.scalar(_first_in_line(slot, passed))
            if wish_id is not None:
                passed.add(wish_id)
                offers.append((wish_id, slot.id))
    made = 0
    retry: set[int] = set()
    for wish_id, slot_id in offers:
        try:
            with db.writing() as session:
                made += _offer(session, wish_id, slot_id)
        except _Lost:
            retry.add(slot_id)  # that wish was offered another time meanwhile: the next run offers this one on
    handled = [row_id for row_id, slot_id in queued if slot_id not in retry]
    with db.writing() as session:
        for index in range(0, len(handled), 500):
            session.execute(delete(schema.FreedSlot).where(schema.FreedSlot.id.in_(handled[index : index + 500])))
    return made


def _offer(session: Session, wish_id: int, slot_id: int) -> int:
    moment = now()
    timing = session.execute(
        select(schema.Schedule.offer_minutes, schema.Slot.start)
        .join(schema.Slot, schema.Slot.schedule_id == schema.Schedule.id)
        .where(schema.Slot.id == slot_id)
    ).first()
    window, start = timing if timing is not None else (None, None)
    # Held for the window from when the notice can go, never past the time's own start (the desk may offer by hand a
    # time that begins sooner).
    minutes = window or OFFER_MINUTES
    ends = (
        notice_rules.offer_held_until(moment, minutes, _aware(start))
        if start is not None
        else moment + timedelta(minutes=minutes)
    )
    until = to_storage(ends)
    # The slot first (issue 24's lock order): of instances offering at once, one claims it.
    claimed = _rowcount(
        session.execute(
            update(schema.Slot)
            .where(schema.Slot.id == slot_id, schema.Slot.status == "free")
            .values(status="busy-tentative", held_until=until, version=schema.Slot.version + 1)
        )
    )
    if claimed != 1:
        return 0
    if (
        _rowcount(
            session.execute(
                update(schema.ShortNotice)
                .where(schema.ShortNotice.id == wish_id, schema.ShortNotice.status == WAITING)
                .values(status=OFFERED)
            )
        )
        != 1
    ):
        raise _Lost
    wish = session.get_one(schema.ShortNotice, wish_id)
    slot = session.get_one(schema.Slot, slot_id)
    stamp = to_storage(moment)
    inserted = (
        session.connection()
        .execute(
            insert(schema.Appointment).values(
                version=1,
                status="proposed",
                slot_id=slot.id,
                patient_id=wish.patient_id,
                organization_id=wish.organization_id,
                start=slot.start,
                end=slot.end,
                created=stamp,
                last_updated=stamp,
                booked_by="short-notice",
                replaces_id=wish.replaces_id,
                held_until=until,
                held_by=None,  # the patient's, or the desk's for them: either may send it
            )
        )
        .inserted_primary_key
    )
    assert inserted is not None
    hold = session.get_one(schema.Appointment, inserted[0])
    wish.offer_id = hold.id
    found = life.context(session, slot.id)
    life.tell(
        session, hold, "offer", messages.offer(found.office, found.type_code, _aware(slot.start), found.place, _aware(until))
    )
    versions.bump_for_appointment(session, hold)
    return 1


def offer_by_hand(session: Session, principal: Principal, wish_id: int, slot_id: int) -> tuple[schema.Appointment, bool]:
    """The desk offers a freed time to a wish it chose (not the first in line, or a time the loop has not matched):
    the very hold and notices of the automatic offer (`_offer`). The hold, and whether this call made it: the same
    offer sent again answers the hold it made (safe to repeat). 409 when the time is not free or the wish no longer
    waits; 422 for a time of another type or place, or one not earlier than the time the wish would replace."""
    wish = session.get(schema.ShortNotice, wish_id)
    if wish is None or not principal.is_staff or principal.organization_id != wish.organization_id:
        raise not_found(f"Appointment/{ID_PREFIX}{wish_id}")  # another office's list, or a citizen: as if not there
    if wish.offer_id is not None:
        made = session.get_one(schema.Appointment, wish.offer_id)
        if made.slot_id == slot_id:
            return made, False  # a repeat of the offer already made, whatever became of it since
    if wish.status != WAITING:
        raise conflict(f"Appointment/{ID_PREFIX}{wish_id} no longer waits (it is {wish.status})", rule=NOT_WAITING)
    slot = session.get(schema.Slot, slot_id)
    book = session.get(schema.Schedule, slot.schedule_id) if slot is not None else None
    wanted = (wish.healthcare_service_id, wish.location_id)
    if slot is None or book is None or (book.healthcare_service_id, book.location_id) != wanted:
        raise unprocessable("business-rule", f"Slot/{slot_id} is not a time of this wish's type at its place", rule=WRONG_SLOT)
    if _aware(slot.start) <= now():
        raise unprocessable("business-rule", f"Slot/{slot_id} has begun", rule="slot-past")
    if wish.replaces_id is not None:
        replaced = session.get(schema.Appointment, wish.replaces_id)
        if replaced is not None and replaced.start <= slot.start:
            raise unprocessable(
                "business-rule", f"Slot/{slot_id} is not earlier than the time the wish would replace", rule=WRONG_SLOT
            )
    try:
        made_now = _offer(session, wish_id, slot_id)
    except _Lost:
        raise conflict(f"Appointment/{ID_PREFIX}{wish_id} was offered another time meanwhile", rule=NOT_WAITING) from None
    if made_now != 1:
        life.refuse_held(session, slot_id)  # held by someone choosing it: 409 slot-held, saying until when
        raise conflict(f"Slot/{slot_id} is no longer free", rule="slot-taken")
    session.flush()
    assert wish.offer_id is not None  # _offer set it (on this very object: the session's one row of the wish)
    audit.record(session, principal, [wish.patient_id], "update", f"Appointment/{ID_PREFIX}{wish.id} offered Slot/{slot_id}")
    return session.get_one(schema.Appointment, wish.offer_id), True


def settle(db: Database) -> None:
    """Offers whose hold was sent are done; those let go or expired are declined (the time goes to the next)."""
    with db.reading() as session:
        rows = session.execute(
            select(schema.ShortNotice.id, schema.Appointment.id, schema.Appointment.status, schema.Appointment.held_until)
            .join(schema.Appointment, schema.Appointment.id == schema.ShortNotice.offer_id)
            .where(schema.ShortNotice.status == OFFERED)
        ).all()
    stamp = to_storage(now())
    for wish_id, hold_id, status, held_until in rows:
        if status == "proposed" and (held_until is None or held_until > stamp):
            continue  # still theirs
        with db.writing() as session:
            if status == "proposed":
                life.close(session, hold_id)  # expired: the hold ends and its slot is free for the next in line
            outcome = DONE if status in ("pending", "booked") else DECLINED
            session.execute(
                update(schema.ShortNotice)
                .where(schema.ShortNotice.id == wish_id, schema.ShortNotice.status == OFFERED)
                .values(status=outcome)
            )
