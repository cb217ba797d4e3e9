"""Writes the audit trail of staff and support reads and changes of patient data (Normen)."""

from __future__ import annotations

from collections.abc import Iterable

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
    for patient_id in sorted(set(patient_ids)):
        session.add(
            schema.AuditEvent(
                at=at,
                actor=principal.actor[:200],  # the column's length, which PostgreSQL enforces
                organization_id=principal.organization_id,
                patient_id=patient_id,
                action=action,
                detail=detail,
            )
        )
