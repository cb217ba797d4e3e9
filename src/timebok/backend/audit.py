"""Writes the audit trail of staff and support reads and changes of patient data (Normen)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from timebok.backend import schema
from timebok.backend.auth import Principal
from timebok.backend.fhir import to_storage
from timebok.domain.clock import now


def record(session: Session, principal: Principal, patient_ids: Iterable[int], action: str, detail: str) -> None:
    """Log one event per patient touched; citizens reading their own data are not audited."""
    if not principal.audited:
        return
    at = to_storage(now())
    rows = [
        {
            "at": at,
            "actor": principal.actor[:200],  # the column's length, which PostgreSQL enforces
            "organization_id": principal.organization_id,
            "patient_id": patient_id,
            "action": action,
            "detail": detail,
        }
        for patient_id in sorted(set(patient_ids))
    ]
    if rows:
        # One bulk INSERT, not an object per row: the desk's day of 400 patients is one read, and its 400 events were
        # most of the time to answer it. The session flushes what was added before first, so the order is kept.
        session.execute(insert(schema.AuditEvent), rows)


def record_representation(session: Session, principal: Principal, patient_id: int, action: str, detail: str) -> None:
    """A citizen acting for someone else (a parent, a fullmakt): one event under the person acted for and one under
    the representative, so each finds it in their own trail; a support agent behind them is named in both."""
    assert principal.patient_id is not None  # only a citizen acts for someone else
    at = to_storage(now())
    actor = f"{principal.actor} representing Patient/{patient_id}"[:200]
    for subject, what in ((patient_id, detail), (principal.patient_id, f"{detail} for Patient/{patient_id}")):
        session.add(
            schema.AuditEvent(at=at, actor=actor, organization_id=None, patient_id=subject, action=action, detail=what[:200])
        )


def record_one(session: Session, principal: Principal, patient_id: int, action: str, detail: str) -> None:
    """One patient touched: under both identities when a citizen acts for someone else, else as `record` does."""
    if not principal.is_staff and principal.patient_id is not None and patient_id != principal.patient_id:
        record_representation(session, principal, patient_id, action, detail)
    else:
        record(session, principal, [patient_id], action, detail)
