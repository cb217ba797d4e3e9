"""A patient's e-mails and SMS as the outbox holds them (outside FHIR, like /setup): what went, what waits, what was
skipped and why, each try. Support acting as the citizen reads it (audited), the citizen their own, staff their
office's messages to a patient they may see."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from timebok.backend import audit, booking, fhir, ids, schema
from timebok.backend.deps import CurrentPrincipal, DatabaseDep, patient_read
from timebok.backend.http import FhirResponse
from timebok.backend.outcome import not_found

router = APIRouter(prefix="/notices")
LIMIT = 200  # the newest; support looks at the last weeks, not years


class NoticesResponse(FhirResponse):
    media_type = "application/json"  # not a FHIR resource; errors are still OperationOutcomes


def _stamp(value: Any) -> str | None:
    return fhir.instant(value) if value is not None else None


def notices_of(session: Session, patient_id: int, organization_id: int | None = None) -> list[dict[str, Any]]:
    query = select(schema.OutboxMessage).where(schema.OutboxMessage.patient_id == patient_id)
    if organization_id is not None:
        query = query.where(schema.OutboxMessage.organization_id == organization_id)
    rows = session.scalars(query.order_by(schema.OutboxMessage.created.desc(), schema.OutboxMessage.id.desc()).limit(LIMIT)).all()
    tries: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rows:
        for attempt in session.scalars(
            select(schema.OutboxAttempt)
            .where(schema.OutboxAttempt.message_id.in_([row.id for row in rows]))
            .order_by(schema.OutboxAttempt.at, schema.OutboxAttempt.id)
        ):
            tries[attempt.message_id].append({"at": _stamp(attempt.at), "ok": attempt.ok, "detail": attempt.detail})
    return [
        {
            "id": str(row.id),
            "event": row.event,
            "channel": row.channel,
            "recipient": row.recipient,
            "subject": row.subject,
            "text": row.body,
            "appointment": f"Appointment/{row.appointment_id}" if row.appointment_id else None,
            "state": row.state,
            "reason": row.reason,
            "created": _stamp(row.created),
            "due": _stamp(row.due),
            "sent": _stamp(row.sent),
            "attempts": tries[row.id],
        }
        for row in rows
    ]


@router.get("/Patient/{id_}", response_class=NoticesResponse)
def read_notices(id_: str, who: CurrentPrincipal, db: DatabaseDep) -> NoticesResponse:
    """`{"notices": [...]}`, newest first (at most 200)."""
    patient_id = ids.row_id(id_, "Patient.id")
    with patient_read(db, who) as session:
        if not booking.visible_patient(session, who, patient_id):
            raise not_found(f"Patient/{id_}")
        notices = notices_of(session, patient_id, who.organization_id if who.is_staff else None)
        audit.record(session, who, [patient_id], "read", "notices")
        return NoticesResponse({"notices": notices})
