"""Read-only support sessions: an agent acting as a citizen writes nothing until they choose «Skriv som» with a reason.

The agent's token (scope nhn:timebok/support, or a demo support token) makes the session read-only; the server
refuses every write in it with 403 `read-only` before the route reads its body. «Skriv som» records its own audit
event (`support-write`, with the reason), and that event is the grant: for WRITE_MINUTES the same agent, as the same
citizen, may write. The trail and the permission cannot disagree, and every instance on one database sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebok.backend import schema
from timebok.backend.auth import Principal
from timebok.backend.fhir import to_storage
from timebok.backend.outcome import forbidden, unprocessable
from timebok.domain.clock import now

READ_ONLY = "read-only"
ACTION = "support-write"
WRITE_MINUTES = 30
REASON_MIN, REASON_MAX = 5, 200  # the audit row's detail column holds 200
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# POSTs that only read: a search with its parameters in a form body (so no identity number is in a URL), and the
# «Skriv som» request itself, which is how a read-only session asks to write.
READS_BY_POST = frozenset({"/fhir/Patient/_search", "/auth/support-write"})


def is_write(method: str, path: str) -> bool:
    return method.upper() in WRITES and path.rstrip("/") not in READS_BY_POST


def writing_until(session: Session, who: Principal) -> datetime | None:
    """Until when this agent may write as this citizen (the last «Skriv som» + WRITE_MINUTES), or None: read-only."""
    if who.agent is None or who.patient_id is None:
        return None
    since = to_storage(now() - timedelta(minutes=WRITE_MINUTES))
    last = session.scalar(
        select(schema.AuditEvent.at)
        .where(
            schema.AuditEvent.patient_id == who.patient_id,
            schema.AuditEvent.action == ACTION,
            schema.AuditEvent.actor == who.actor[:200],
            schema.AuditEvent.at >= since,
        )
        .order_by(schema.AuditEvent.at.desc())
        .limit(1)
    )
    return last.replace(tzinfo=UTC) + timedelta(minutes=WRITE_MINUTES) if last is not None else None


def refuse_unless_writing(session: Session, who: Principal) -> None:
    """403 `read-only` for a support agent acting as a citizen who has not chosen «Skriv som» (or whose grant ran out)."""
    if who.agent is not None and writing_until(session, who) is None:
        raise forbidden(
            f"A support agent acting as a citizen is read-only: ask to write first (POST /auth/support-write with a "
            f"reason), which is audited; it lasts {WRITE_MINUTES} minutes",
            rule=READ_ONLY,
        )


def elevate(session: Session, who: Principal, reason: object) -> datetime:
    """Record «Skriv som <citizen>» with its reason as its own audit event; writing is allowed until the returned time."""
    if who.agent is None or who.patient_id is None:
        raise forbidden("Only a support agent acting as a citizen asks to write as them", rule=READ_ONLY)
    text = " ".join(str(reason).split()) if isinstance(reason, str) else ""
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise unprocessable(
            "business-rule", f"Say why you write as the citizen: a reason of {REASON_MIN}-{REASON_MAX} characters", rule=ACTION
        )
    session.add(
        schema.AuditEvent(
            at=to_storage(now()),
            actor=who.actor[:200],
            organization_id=None,
            patient_id=who.patient_id,
            action=ACTION,
            detail=text,
        )
    )
    return now() + timedelta(minutes=WRITE_MINUTES)
