"""The desk's offer by hand: `POST /fhir/Appointment/waitlist-N/$offer` with a Parameters body naming the Slot
(`slot`, a valueReference): the wish's patient gets the same hold and notices as the automatic offer makes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from timebok.backend import fhir, short_notice
from timebok.backend.auth import Principal
from timebok.backend.db import Database
from timebok.backend.deps import CurrentPrincipal, DatabaseDep
from timebok.backend.http import FhirResponse, etag, json_body
from timebok.backend.outcome import FhirError, not_found
from timebok.backend.routes_booking import appointment_resource

router = APIRouter(prefix="/fhir")
_PARAMETERS = "Parameters.parameter"


def _slot(body: Any) -> int:
    """The one `slot` parameter's Slot id; anything else is 400 `invalid` naming the element."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise FhirError(400, "invalid", "The body must be a Parameters resource", rule="invalid-parameters")
    parameters = body.get("parameter")
    if not isinstance(parameters, list) or len(parameters) != 1 or not isinstance(parameters[0], dict):
        raise FhirError(400, "invalid", "$offer takes one parameter, slot", expression=[_PARAMETERS], rule="invalid-parameters")
    given = parameters[0]
    reference = given.get("valueReference")
    text = reference.get("reference") if isinstance(reference, dict) else None
    kind, _, number = text.partition("/") if isinstance(text, str) else ("", "", "")
    row_id = fhir.parse_id(number) if kind == "Slot" else None
    if given.get("name") != "slot" or row_id is None:
        raise FhirError(
            400,
            "invalid",
            "$offer's parameter is slot, a valueReference like Slot/12",
            expression=[f"{_PARAMETERS}[0]"],
            rule="invalid-parameters",
        )
    return row_id


@router.post("/Appointment/{id_}/$offer")
async def offer(id_: str, request: Request, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    """201 with the hold (a proposed Appointment) made for the wish's patient; 200 with the same hold when this offer
    was made before; 409 when the time is not free (`slot-taken`, `slot-held`) or the wish no longer waits."""
    number = id_.removeprefix(short_notice.ID_PREFIX)
    wish_id = fhir.parse_id(number) if id_.startswith(short_notice.ID_PREFIX) else None
    if wish_id is None:
        raise not_found(f"Appointment/{id_}")
    slot_id = _slot(await json_body(request))
    return await run_in_threadpool(_offer, who, db, wish_id, slot_id)


def _offer(who: Principal, db: Database, wish_id: int, slot_id: int) -> FhirResponse:
    if not who.is_staff:
        raise not_found(f"Appointment/{short_notice.ID_PREFIX}{wish_id}")
    with db.writing() as session:
        hold, made = short_notice.offer_by_hand(session, who, wish_id, slot_id)
        return FhirResponse(appointment_resource(session, hold), status_code=201 if made else 200, headers=etag(hold.version))
