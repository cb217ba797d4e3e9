"""The appointment's life after the booking: holds ending, changes replacing a time, the deadline, attendance, and
requests closed unanswered. Each move is one conditional write, so racers on any instance leave one outcome.

Lock order, the same in every transaction so PostgreSQL never deadlocks them: the replaced (old) Appointment first,
then the patient, then the Slot, then the Appointment holding or requesting that slot."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, Result, and_, or_, select, true, update
from sqlalchemy.orm import Session

from timebok.backend import audit, freed, messages, notices, overlap, representation, schema, versions
from timebok.backend.auth import Principal
from timebok.backend.db import Database
from timebok.backend.fhir import Life, instant, to_storage
from timebok.backend.outcome import FhirError, conflict, forbidden, precondition_failed, unprocessable
from timebok.domain import appointment_life as rules
from timebok.domain.clock import now

DEADLINE_RULE = "change-deadline"
ILLEGAL = "illegal-transition"
HELD_RULE = "slot-held"


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def role(principal: Principal) -> str:
    return rules.STAFF if principal.is_staff else rules.CITIZEN


class Context(NamedTuple):
    """What a message about an appointment names, and its timebook's rules."""

    office: str
    type_code: str
    place: str
    schedule_id: int
    life: Life


def context(session: Session, slot_id: int) -> Context:
    office, type_code, place, book = session.execute(
        select(schema.Organization.name, schema.HealthcareService.type_code, schema.Location.name, schema.Schedule)
        .select_from(schema.Slot)
        .join(schema.Schedule, schema.Slot.schedule_id == schema.Schedule.id)
        .join(schema.HealthcareService, schema.Schedule.healthcare_service_id == schema.HealthcareService.id)
        .join(schema.Organization, schema.HealthcareService.organization_id == schema.Organization.id)
        .join(schema.Location, schema.Schedule.location_id == schema.Location.id)
        .where(schema.Slot.id == slot_id)
    ).one()
    return Context(office, type_code, place, book.id, Life(book.deadline_hours, book.monday_by_friday, book.answer_days))


def tell(session: Session, appointment: schema.Appointment, kind: str, topic_and_text: tuple[str, str]) -> None:
    """The inbox message, and with it the e-mail and SMS (backend/notices.py), in the transaction of the change."""
    notices.for_inbox(session, appointment.id, kind, cancel_code=appointment.cancelation_code)
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


# -- the deadline ----------------------------------------------------------------------------------------------


def check_deadline(session: Session, principal: Principal, appointment: schema.Appointment, override: str | None) -> None:
    """A booked time past its timebook's deadline: a citizen is refused (422 `change-deadline`, naming the deadline);
    staff need an override reason code, which is audited. A pending request is never held to it."""
    if appointment.status != "booked":
        return
    found = context(session, appointment.slot_id).life
    deadline = rules.change_deadline(_aware(appointment.start), found.deadline_hours, found.monday_by_friday)
    if deadline is None or now() <= deadline:
        return
    if principal.is_staff and override is not None:
        audit.record(
            session, principal, [appointment.patient_id], "override", f"Appointment/{appointment.id} {DEADLINE_RULE} {override}"
        )
        return
    said = f"The deadline to cancel or change Appointment/{appointment.id} was {deadline.isoformat(timespec='minutes')}"
    if principal.is_staff:
        said += f"; staff may override it with a reason code of {rules.OVERRIDE_SYSTEM} ({', '.join(rules.OVERRIDE_REASONS)})"
    else:
        said += "; call the GP office"
    raise FhirError(
        422,
        "business-rule",
        said,
        rule=DEADLINE_RULE,
        extension=[{"url": rules.DEADLINE_URL, "valueDateTime": deadline.isoformat(timespec="seconds")}],
    )


# -- changes ---------------------------------------------------------------------------------------------------


def lock_for_change(
    session: Session, principal: Principal, old_id: int, patient_id: int, override: str | None
) -> schema.Appointment:
    """The Appointment a change replaces, locked until the transaction ends (two changes of one time, or a change
    and a cancel, take turns here); refused unless it is the patient's own active time with no other change open."""
    old = session.scalars(
        select(schema.Appointment)
        .where(schema.Appointment.id == old_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    # A citizen changes their own times and those of whom they may book for (`patient_id` passed
    # representation.acting_for in request_booking); a time they may only see is named apart (403 read-only).
    visible = old is not None and (
        old.organization_id == principal.organization_id
        if principal.is_staff
        else old.patient_id in (principal.patient_id, patient_id) or old.patient_id in representation.reach(session, principal)
    )
    if old is None or not visible:
        raise unprocessable("not-found", f"Appointment/{old_id} (the time to change) was not found")
    if old.patient_id != patient_id:
        raise unprocessable("business-rule", f"A change keeps the patient: Appointment/{old_id} is another patient's")
    if old.status not in ("pending", "booked"):
        raise conflict(f"Appointment/{old_id} is {old.status} and cannot be changed", rule=ILLEGAL)
    stamp = to_storage(now())
    open_change = session.scalar(
        select(schema.Appointment.id)
        .where(
            schema.Appointment.replaces_id == old_id,
            or_(
                schema.Appointment.status == "pending",
                and_(schema.Appointment.status == "proposed", schema.Appointment.held_until > stamp),
            ),
        )
        .limit(1)
    )
    if open_change is not None:
        raise conflict(
            f"Appointment/{old_id} already has a change waiting (Appointment/{open_change}); withdraw it first",
            rule="change-pending",
        )
    check_deadline(session, principal, old, override)
    return old


def end_as(
    session: Session,
    appointment_id: int,
    states: tuple[str, ...],
    code: str,
    *,
    text: str | None = None,
    expected: int | None = None,
    stamp: datetime | None = None,
) -> bool:
    """Cancel the appointment with `code` if it is still in one of `states` (and at `expected`'s version): one
    conditional write, so of two racers only one ends it. True when this call did."""
    where = [schema.Appointment.id == appointment_id, schema.Appointment.status.in_(states)]
    if expected is not None:
        where.append(schema.Appointment.version == expected)
    values: dict[str, Any] = {
        "status": "cancelled",
        "version": schema.Appointment.version + 1,
        "last_updated": stamp if stamp is not None else to_storage(now()),
        "held_until": None,
        "cancelation_code": code,
    }
    if text is not None:
        values["cancelation_text"] = text
    return _rowcount(session.execute(update(schema.Appointment).where(*where).values(**values))) == 1


def free_slot(session: Session, slot_id: int, *held: Any) -> int:
    """Free the slot, if it still matches `held` (conditions on Slot; none: whatever it is); the rows changed. A
    slot freed here is queued for the short-notice list in the same transaction (backend/freed.py)."""
    changed = _rowcount(
        session.execute(
            update(schema.Slot)
            .where(schema.Slot.id == slot_id, *held)
            .values(status="free", held_until=None, version=schema.Slot.version + 1)
        )
    )
    if changed:
        freed.note(session, [slot_id])
    return changed


def still_held(*until: Any) -> tuple[Any, ...]:
    """The conditions for a slot still kept by a hold (busy-tentative with an end), and any more on its end."""
    return (schema.Slot.status == "busy-tentative", schema.Slot.held_until.is_not(None), *until)


def cancel_replaced(session: Session, old: schema.Appointment) -> None:
    """The new time is booked: the old one is cancelled (moved) and its slot freed, in the same transaction."""
    if not end_as(session, old.id, ("pending", "booked"), rules.MOVED, text="Flyttet til ny time"):
        raise conflict(f"Appointment/{old.id} is no longer active, so it cannot be replaced", rule=ILLEGAL)
    free_slot(session, old.slot_id)
    session.refresh(old)
    # The old time's reminder would remind of a time they no longer have: the new one's comes with «changed».
    notices.drop_reminders(session, old.id, "cancelled")
    versions.bump_for_appointment(session, old)


def withdraw_changes(session: Session, old: schema.Appointment) -> None:
    """`old` was cancelled: a change waiting to replace it has nothing left to replace, so it is withdrawn."""
    waiting = session.scalars(
        select(schema.Appointment).where(
            schema.Appointment.replaces_id == old.id, schema.Appointment.status.in_(("proposed", "pending"))
        )
    ).all()
    for change in waiting:
        if end_as(session, change.id, ("proposed", "pending"), rules.CHANGE_WITHDRAWN):
            free_slot(session, change.slot_id, schema.Slot.status == "busy-tentative")
            session.refresh(change)
            versions.bump_for_appointment(session, change)


# -- holds -----------------------------------------------------------------------------------------------------


def refuse_held(session: Session, slot_id: int) -> None:
    """After a failed claim: 409 `slot-held` (with when the hold ends) when another user holds the time."""
    found = session.execute(select(schema.Slot.status, schema.Slot.held_until).where(schema.Slot.id == slot_id)).first()
    if found is None:
        return
    status, until = found
    if status == "busy-tentative" and until is not None and _aware(until) > now():
        raise conflict(
            f"Slot/{slot_id} is held for someone else until {instant(until)}",
            rule=HELD_RULE,
            extension=[{"url": rules.HOLD_URL, "valueInstant": instant(until)}],
        )


def take_own_hold(session: Session, principal: Principal, slot_id: int, patient_id: int, new_status: str, new_until: Any) -> bool:
    """After a failed claim: a time this user holds for this same patient is theirs to book (the desk's change books
    the time it held while choosing). The slot moves from the hold to the booking in this transaction, so no other
    desk can take it between the two, and the hold ends. False when the slot is not held so."""
    hold = session.scalars(
        select(schema.Appointment).where(
            schema.Appointment.slot_id == slot_id,
            schema.Appointment.status == "proposed",
            schema.Appointment.patient_id == patient_id,
            schema.Appointment.held_by == principal.actor[:200],
            schema.Appointment.held_until > to_storage(now()),
        )
    ).first()
    if hold is None:
        return False
    # The slot first (the lock order), still kept by a hold; then the hold ends.
    taken = _rowcount(
        session.execute(
            update(schema.Slot)
            .where(schema.Slot.id == slot_id, *still_held())
            .values(status=new_status, held_until=new_until, version=schema.Slot.version + 1)
        )
    )
    if taken != 1 or not end_as(session, hold.id, ("proposed",), rules.HOLD_ENDED):
        return False
    versions.bump(session, [versions.organization(hold.organization_id), versions.patient(hold.patient_id)])
    return True


def end_stale_holds(session: Session, slot_id: int) -> None:
    """A claim took a slot whose hold had expired: that hold's Appointment ends (cancelled) in the same transaction."""
    stale = session.scalars(
        select(schema.Appointment).where(schema.Appointment.slot_id == slot_id, schema.Appointment.status == "proposed")
    ).all()
    for hold in stale:
        end_as(session, hold.id, ("proposed",), rules.HOLD_ENDED)
        versions.bump(session, [versions.organization(hold.organization_id), versions.patient(hold.patient_id)])


def release(session: Session, principal: Principal, appointment: schema.Appointment, expected: int | None) -> None:
    """DELETE, or status cancelled, of a hold: the slot first (the lock order), then the hold itself."""
    _may_touch_hold(principal, appointment)
    free_slot(session, appointment.slot_id, *still_held())
    if not end_as(session, appointment.id, ("proposed",), rules.HOLD_ENDED, expected=expected):
        raise _lost(appointment, expected, "released")
    session.refresh(appointment)
    audit.record_one(session, principal, appointment.patient_id, "update", f"Appointment/{appointment.id} hold released")
    versions.bump_for_appointment(session, appointment)


def _may_touch_hold(principal: Principal, appointment: schema.Appointment) -> None:
    if appointment.held_by is not None and appointment.held_by != principal.actor[:200]:
        raise conflict(f"Appointment/{appointment.id} is a hold of another user", rule=HELD_RULE)


def _lost(appointment: schema.Appointment, expected: int | None, doing: str) -> FhirError:
    if expected is not None:
        return precondition_failed(f"Appointment/{appointment.id} changed while it was {doing}; read it again")
    return conflict(f"Appointment/{appointment.id} was changed by someone else while it was {doing}; read it again")


def convert_hold(
    session: Session,
    principal: Principal,
    appointment: schema.Appointment,
    expected: int | None,
    wanted: str,
    reason: str | None,
) -> schema.Appointment:
    """PUT status pending (a citizen's request) or booked (staff) of a hold: the same Appointment, its slot kept."""
    _may_touch_hold(principal, appointment)
    start = _aware(appointment.start)
    if start <= now():
        raise unprocessable("business-rule", f"Appointment/{appointment.id} starts in the past", rule="slot-past")
    old = None
    if appointment.replaces_id is not None:
        old = lock_for_change_of(session, principal, appointment)
    # The patient holds one time at once: a time booked meanwhile that overlaps this hold wins over it.
    overlap.refuse_overlap(
        session.connection(),
        principal,
        appointment.patient_id,
        appointment.start,
        appointment.end,
        ignore=appointment.replaces_id,
    )
    # The slot first: a claim after the hold expired takes it (and ends this hold) or finds it kept here.
    kept = _rowcount(
        session.execute(
            update(schema.Slot)
            .where(schema.Slot.id == appointment.slot_id, *still_held())
            .values(status="busy" if wanted == "booked" else "busy-tentative", held_until=None, version=schema.Slot.version + 1)
        )
    )
    if kept != 1:
        raise conflict(f"The hold of Appointment/{appointment.id} expired and the time was taken", rule="slot-taken")
    where = [schema.Appointment.id == appointment.id, schema.Appointment.status == "proposed"]
    if expected is not None:
        where.append(schema.Appointment.version == expected)
    values: dict[str, Any] = {
        "status": wanted,
        "version": schema.Appointment.version + 1,
        "last_updated": to_storage(now()),
        "held_until": None,
        "booked_by": principal.role,
    }
    if reason is not None:
        values["description"] = reason
    if _rowcount(session.execute(update(schema.Appointment).where(*where).values(**values))) != 1:
        raise _lost(appointment, expected, "sent")
    session.refresh(appointment)
    found = context(session, appointment.slot_id)
    if old is not None and wanted == "booked":
        cancel_replaced(session, old)
        tell(session, appointment, "moved", messages.moved(found.office, found.type_code, _aware(old.start), start, found.place))
    elif old is not None:
        tell(
            session,
            appointment,
            "change-sent",
            messages.change_requested(found.office, found.type_code, _aware(old.start), start),
        )
    elif wanted == "booked":
        tell(session, appointment, "confirmed", messages.confirmed(found.office, found.type_code, start, found.place))
    else:
        tell(session, appointment, "request-sent", messages.request_sent(found.office, found.type_code, start, found.place))
    audit.record_one(session, principal, appointment.patient_id, "update", f"Appointment/{appointment.id} {wanted}")
    versions.bump_for_appointment(session, appointment)
    return appointment


def lock_for_change_of(session: Session, principal: Principal, change: schema.Appointment) -> schema.Appointment:
    """The old time of a change being sent or answered, locked; it must still be active (a cancel withdraws its changes)."""
    assert change.replaces_id is not None
    old = session.scalars(
        select(schema.Appointment)
        .where(schema.Appointment.id == change.replaces_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if old.status not in ("pending", "booked"):
        raise conflict(f"Appointment/{old.id}, which this change replaces, is {old.status}", rule=ILLEGAL)
    if not principal.is_staff:
        check_deadline(session, principal, old, None)
    return old


# -- attendance ------------------------------------------------------------------------------------------------


def attend(
    session: Session, principal: Principal, appointment: schema.Appointment, expected: int | None, wanted: str
) -> schema.Appointment:
    """The desk marks arrived, fulfilled or no-show, or undoes a mark (back to booked, or done back to arrived)."""
    if not principal.is_staff:
        raise forbidden("Only the GP office marks attendance")
    if expected is None:
        raise FhirError(428, "required", 'Marking attendance needs If-Match: W/"<versionId>" of the Appointment as read')
    if expected != appointment.version:
        raise precondition_failed(
            f"Appointment/{appointment.id} has changed (version {appointment.version}, you sent {expected}); read it again"
        )
    refuse_illegal(appointment, wanted, principal)
    if wanted == "noshow" and now() < _aware(appointment.start):
        raise unprocessable(
            "business-rule",
            f"Appointment/{appointment.id} has not begun yet: no-show only after its start",
            rule="noshow-too-early",
        )
    changed = _rowcount(
        session.execute(
            update(schema.Appointment)
            .where(schema.Appointment.id == appointment.id, schema.Appointment.version == expected)
            .values(status=wanted, version=schema.Appointment.version + 1, last_updated=to_storage(now()))
        )
    )
    if changed != 1:
        raise precondition_failed(f"Appointment/{appointment.id} changed while you marked it; read it again")
    session.refresh(appointment)
    audit.record(session, principal, [appointment.patient_id], "update", f"Appointment/{appointment.id} {wanted}")
    versions.bump(session, [versions.organization(appointment.organization_id), versions.patient(appointment.patient_id)])
    return appointment


def refuse_illegal(appointment: schema.Appointment, wanted: str, principal: Principal) -> None:
    """409 `illegal-transition` naming from → to for a move nobody may make; 403 for one only the office may."""
    current = appointment.status
    if rules.may_move(current, wanted, role(principal)):
        return
    if rules.is_transition(current, wanted):
        raise forbidden(f"Only the GP office may move Appointment/{appointment.id} from {current} to {wanted}")
    raise conflict(
        f"Appointment/{appointment.id} cannot move from {current} to {wanted}",
        rule=ILLEGAL,
        extension=[
            {
                "url": "https://timebok.example/fhir/StructureDefinition/illegal-transition",
                "extension": [{"url": "from", "valueCode": current}, {"url": "to", "valueCode": wanted}],
            }
        ],
    )


def noshows(session: Session, patient_ids: list[int], organization_id: int) -> dict[int, int]:
    """Each patient's no-shows at one office."""
    from sqlalchemy import func

    rows = session.execute(
        select(schema.Appointment.patient_id, func.count())
        .where(
            schema.Appointment.patient_id.in_(set(patient_ids)),
            schema.Appointment.organization_id == organization_id,
            schema.Appointment.status == "noshow",
        )
        .group_by(schema.Appointment.patient_id)
    ).all()
    found = {patient_id: count for patient_id, count in rows}
    return {patient_id: found.get(patient_id, 0) for patient_id in patient_ids}


# -- unanswered requests and ended holds, closed on read -------------------------------------------------------


def _due(scope: Any) -> Any:
    stamp = to_storage(now())
    return select(schema.Appointment.id).where(
        scope,
        or_(
            and_(schema.Appointment.status == "pending", schema.Appointment.start <= stamp),
            and_(schema.Appointment.status == "proposed", schema.Appointment.held_until <= stamp),
        ),
    )


def sweep(db: Database, principal: Principal, appointment_id: int | None = None, reach: list[int] | None = None) -> None:
    """Before a read of appointments: close the caller's requests still pending when their time began («Ikke besvart»:
    slot freed, patient told) and end their expired holds. Each close is a conditional update, so several instances
    sweeping at once close each one once; a read with nothing due costs one indexed query."""
    if principal.patient_id is None and not principal.is_staff:
        return
    with db.reading() as session:
        if principal.is_staff:
            scope = schema.Appointment.organization_id == principal.organization_id
        else:
            # A parent's or a fullmakt holder's read closes the times of those they may see as well as their own.
            patients = reach if reach is not None else representation.readable_ids(session, principal)
            scope = schema.Appointment.patient_id.in_(patients or [principal.patient_id])
        if appointment_id is not None:
            scope = and_(scope, schema.Appointment.id == appointment_id)
        due = session.scalars(_due(scope).limit(200)).all()
    if not due:
        return
    with db.writing() as session:
        for found in due:
            close(session, found)


def sweep_everywhere(db: Database, limit: int = 2000) -> int:
    """The hourly run's sweep of every office (backend/generation.Generator): requests nobody read since their time
    began, and holds that ended with nobody taking their time (so a month's read needs no hold check). Safe on
    several instances (each close is conditional); short transactions of 50. How many it looked at."""
    with db.reading() as session:
        due = session.scalars(_due(true()).limit(limit)).all()
    for start in range(0, len(due), 50):
        with db.writing() as session:
            for found in due[start : start + 50]:
                close(session, found)
    return len(due)


def close(session: Session, appointment_id: int) -> None:
    row = session.get_one(schema.Appointment, appointment_id)
    stamp = to_storage(now())
    if row.status == "pending" and row.start <= stamp:
        if not end_as(session, row.id, ("pending",), rules.UNANSWERED, text="Ikke besvart", stamp=stamp):
            return
        free_slot(session, row.slot_id, schema.Slot.status == "busy-tentative")
        session.refresh(row)
        found = context(session, row.slot_id)
        tell(session, row, "unanswered", messages.unanswered(found.office, found.type_code, _aware(row.start)))
        withdraw_changes(session, row)
        versions.bump_for_appointment(session, row)
    elif row.status == "proposed" and row.held_until is not None and row.held_until <= stamp:
        # The slot first (the lock order); a claim that took it after the expiry has ended this hold already.
        free_slot(session, row.slot_id, *still_held(schema.Slot.held_until <= stamp))
        if end_as(session, row.id, ("proposed",), rules.HOLD_ENDED, stamp=stamp):
            session.refresh(row)
            versions.bump_for_appointment(session, row)
