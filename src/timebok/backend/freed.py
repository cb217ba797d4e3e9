"""Freed times for the short-notice list: each write that makes a slot free notes it here in its own transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from timebok.backend import schema

# short_notice.WAITING, spelled here: short_notice imports life, which notes freed times through this module.
_WAITING = "waiting"


def note(session: Session, slot_ids: Iterable[int]) -> None:
    """Queue these slots, just made free in this transaction, for short_notice.run to offer (or drop)."""
    rows = [{"slot_id": slot_id} for slot_id in slot_ids]
    if rows:
        session.execute(insert(schema.FreedSlot), rows)


def awaited(session: Session, schedule_id: int) -> bool:
    """Whether a waiting wish names this timebook's HealthcareService and Location (one EXISTS): times a setup adds
    are queued only then, so a plain setup or horizon run writes nothing more."""
    book, wish = schema.Schedule, schema.ShortNotice
    return bool(
        session.scalar(
            select(
                exists().where(
                    book.id == schedule_id,
                    wish.status == _WAITING,
                    wish.healthcare_service_id == book.healthcare_service_id,
                    wish.location_id == book.location_id,
                )
            )
        )
    )
