"""Change counters kept in the database, so every instance agrees when a search's answer is unchanged."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection, TextClause, bindparam, select, text
from sqlalchemy.orm import Session

from timebok.backend import schema
from timebok.backend.search import Bound
from timebok.domain.clock import OSLO


def timebook(schedule_id: int) -> str:
    return f"timebook:{schedule_id}"


def timebook_month(schedule_id: int, start: datetime) -> str:
    """The slots of one timebook starting in one Oslo month (`start` is a stored, naive UTC time)."""
    return f"timebook:{schedule_id}:{start.replace(tzinfo=UTC).astimezone(OSLO):%Y-%m}"


def slot_search(schedule_id: int, lower: Bound | None, upper: Bound | None) -> str:
    """The scope a Slot search's answer depends on: its month when the range lies within one Oslo month
    (the calendar's query, so a booking in another month leaves this one a 304), else the whole timebook."""
    if lower is not None and upper is not None:
        first = lower.at.astimezone(OSLO)
        last = (upper.at if upper.inclusive else upper.at - _TICK).astimezone(OSLO)
        if (first.year, first.month) == (last.year, last.month):
            return f"timebook:{schedule_id}:{first:%Y-%m}"
    return timebook(schedule_id)


_TICK = timedelta(microseconds=1)


def organization(organization_id: int) -> str:
    return f"organization:{organization_id}"


def patient(patient_id: int) -> str:
    return f"patient:{patient_id}"


@lru_cache(maxsize=8)
def _bump(count: int) -> TextClause:
    # Same statement on SQLite (≥ 3.24) and PostgreSQL: a scope's first change creates its row. One
    # statement for all scopes; PostgreSQL takes the rows' locks in the order of VALUES.
    rows = ", ".join(f"(:scope{i}, 1)" for i in range(count))
    return text(
        f"INSERT INTO change_version (scope, version) VALUES {rows} "
        "ON CONFLICT (scope) DO UPDATE SET version = change_version.version + 1"
    )


def bump(session: Session, scopes: Iterable[str]) -> None:
    """Count one change of each scope, in the writing transaction that makes the change.

    Call it last, just before the commit: on PostgreSQL the counter row stays locked until then, so
    writers of one timebook queue only for the commit itself. Scopes are bumped in sorted order, so two
    transactions never wait for each other's counters in opposite order (no deadlock).
    """
    ordered = sorted(set(scopes))
    if ordered:  # plain Core: the ORM adds nothing to a counter
        session.connection().execute(_bump(len(ordered)), {f"scope{i}": scope for i, scope in enumerate(ordered)})


def bump_for_appointment(session: Session, appointment: schema.Appointment) -> None:
    """Everything an appointment's change shows in: its timebook's free slots, the office's lists, the patient's."""
    # One row: an appointment's slot is a foreign key, so it exists.
    schedule_id = session.execute(select(schema.Slot.schedule_id).where(schema.Slot.id == appointment.slot_id)).scalar_one()
    bump(
        session,
        slot_change(schedule_id, appointment.start)
        + [organization(appointment.organization_id), patient(appointment.patient_id)],
    )


def slot_change(schedule_id: int, start: datetime) -> list[str]:
    """The scopes a change of one slot's status shows in."""
    return [timebook(schedule_id), timebook_month(schedule_id, start)]


_READ = select(schema.ChangeVersion.version).where(schema.ChangeVersion.scope == bindparam("scope"))


def current(session_or_connection: Session | Connection, scope: str) -> int:
    """The scope's version (0 before its first change).

    Read it BEFORE the rows it stands for: under READ COMMITTED a later statement may see a newer commit,
    which makes the answer newer than its tag (harmless: the next request refreshes), never older.
    """
    return session_or_connection.execute(_READ, {"scope": scope}).scalar() or 0
