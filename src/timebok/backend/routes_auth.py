"""Who a token belongs to (/auth/userinfo), and on a demo backend the people one may sign in as."""

from __future__ import annotations

from fastapi import APIRouter

from timebok.backend.deps import CurrentPrincipal, DatabaseDep
from timebok.backend.http import FhirResponse

router = APIRouter(prefix="/auth")
# Only a demo backend lists its tokens (create_app includes this router then): the app's start screen offers
# them as people to be.
demo_router = APIRouter(prefix="/auth")


@router.get("/userinfo")
def userinfo(who: CurrentPrincipal) -> FhirResponse:
    # Like OpenID Connect's userinfo: tells a client whose token it holds (SMART launch context).
    return FhirResponse(
        {
            "role": who.role,
            "name": who.name,
            "patient": f"Patient/{who.patient_id}" if who.patient_id else None,
            "organization": f"Organization/{who.organization_id}" if who.organization_id else None,
            "agent": who.agent,
        }
    )


@demo_router.get("/demo-users")
def demo_users(db: DatabaseDep) -> FhirResponse:
    from timebok.backend.seed import demo_tokens

    return FhirResponse(
        [{"role": t.role, "name": t.name, "reference": t.reference, "token": t.token} for t in demo_tokens(db, demo_only=True)]
    )
