"""Who a token belongs to (/auth/userinfo), a support agent's «Skriv som», and on a demo backend the people one may sign in as."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from timebok.backend import support_write
from timebok.backend.auth import Principal
from timebok.backend.db import Database
from timebok.backend.deps import CurrentPrincipal, DatabaseDep
from timebok.backend.http import FhirResponse, json_body

router = APIRouter(prefix="/auth")
# Only a demo backend lists its tokens (create_app includes this router then): the app's start screen offers
# them as people to be.
demo_router = APIRouter(prefix="/auth")


@router.get("/userinfo")
def userinfo(who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    # Like OpenID Connect's userinfo: tells a client whose token it holds (SMART launch context). A support agent
    # acting as a citizen also hears whether they may write (`read_only`) and until when (`writing_until`).
    until = None
    if who.agent is not None:
        with db.reading() as session:
            until = support_write.writing_until(session, who)
    return FhirResponse(
        {
            "role": who.role,
            "name": who.name,
            "patient": f"Patient/{who.patient_id}" if who.patient_id else None,
            "organization": f"Organization/{who.organization_id}" if who.organization_id else None,
            "agent": who.agent,
            "read_only": who.agent is not None and until is None,
            "writing_until": until.isoformat() if until is not None else None,
        }
    )


@router.post("/support-write")
async def support_write_as_citizen(request: Request, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    """«Skriv som <citizen>»: a support agent acting as a citizen may write for a while; audited with the reason."""
    data = await json_body(request)
    reason = data.get("reason") if isinstance(data, dict) else None
    until = await run_in_threadpool(_elevate, db, who, reason)
    return FhirResponse({"read_only": False, "writing_until": until.isoformat()}, status_code=201)


def _elevate(db: Database, who: Principal, reason: object) -> datetime:
    with db.writing() as session:
        return support_write.elevate(session, who, reason)


@demo_router.get("/demo-users")
def demo_users(db: DatabaseDep) -> FhirResponse:
    from timebok.backend.seed import demo_tokens

    return FhirResponse(
        [{"role": t.role, "name": t.name, "reference": t.reference, "token": t.token} for t in demo_tokens(db, demo_only=True)]
    )
