"""Read-only support sessions: an agent acting as a citizen writes nothing until «Skriv som» with a reason (audited)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.conftest import KARI, OLA, SUPPORT, bearer
from tests.fhir_validate import CANCEL, booking_request, fhir_json, free_slots, matches, outcome, snapshot, timebook
from timebok.backend import schema
from timebok.domain import clock

AS_KARI = {**bearer(KARI), "X-Support-Agent": SUPPORT}
AS_OLA = {**bearer(OLA), "X-Support-Agent": SUPPORT}
USERINFO = "http://testserver/auth/userinfo"
ELEVATE = "http://testserver/auth/support-write"


def _rule(response: httpx.Response) -> str:
    return response.json()["issue"][0]["details"]["coding"][0]["code"]


async def _slot(api) -> str:
    return (await free_slots(api, KARI, await timebook(api, KARI, 1, "Lab"), "2026-11-26"))[0]["id"]


def _elevations(database) -> list[tuple[str, int, str]]:
    with database.reading() as session:
        rows = session.execute(
            select(schema.AuditEvent.actor, schema.AuditEvent.patient_id, schema.AuditEvent.detail).where(
                schema.AuditEvent.action == "support-write"
            )
        )
        return [tuple(r) for r in rows]


async def test_an_agent_acting_as_a_citizen_cannot_book_or_cancel_and_nothing_changes(api, database):
    slot = await _slot(api)
    mine = matches(fhir_json(await api.get("/Appointment", headers=bearer(KARI))))
    before = snapshot(database)
    refused = await api.post("/Appointment", json=booking_request(slot, 1), headers=AS_KARI)
    outcome(refused, 403, "forbidden")
    assert _rule(refused) == "read-only"
    cancel = await api.patch(
        f"/Appointment/{mine[0]['id']}",
        json=CANCEL,
        headers={**AS_KARI, "If-Match": 'W/"1"', "Content-Type": "application/json-patch+json"},
    )
    assert cancel.status_code == 403 and _rule(cancel) == "read-only"
    assert snapshot(database) == before
    info = (await api.get(USERINFO, headers=AS_KARI)).json()
    assert info["read_only"] is True and info["writing_until"] is None
    # The citizen herself is not read-only.
    assert (await api.post("/Appointment", json=booking_request(slot, 1), headers=bearer(KARI))).status_code == 201


async def test_skriv_som_needs_a_reason(api, database):
    for body in ({}, {"reason": "  "}, {"reason": "ok"}, {"reason": 42}, {"reason": "x" * 201}):
        response = await api.post(ELEVATE, json=body, headers=AS_KARI)
        assert response.status_code == 422, body
        assert _rule(response) == "support-write"
    assert _elevations(database) == []
    # Only an agent acting as a citizen asks: the citizen herself, or the agent alone, is refused.
    assert (await api.post(ELEVATE, json={"reason": "Sak 123"}, headers=bearer(KARI))).status_code == 403
    assert (await api.post(ELEVATE, json={"reason": "Sak 123"}, headers=bearer(SUPPORT))).status_code == 403
    assert _elevations(database) == []


async def test_skriv_som_with_a_reason_is_audited_and_then_the_agent_books_as_the_citizen(api, database):
    response = await api.post(ELEVATE, json={"reason": "Sak 4711: Kari ber oss  bestille"}, headers=AS_KARI)
    assert response.status_code == 201
    assert response.json()["read_only"] is False
    assert _elevations(database) == [("support:Kundesenter, NHN as citizen:Kari Nordmann", 1, "Sak 4711: Kari ber oss bestille")]
    info = (await api.get(USERINFO, headers=AS_KARI)).json()
    assert info["read_only"] is False and info["writing_until"].startswith("2026-11-25T08:30")
    booked = await api.post("/Appointment", json=booking_request(await _slot(api), 1), headers=AS_KARI)
    assert booked.status_code == 201, booked.text
    # The grant is for this citizen only: as Ola the same agent is still read-only.
    assert (await api.get(USERINFO, headers=AS_OLA)).json()["read_only"] is True
    ola_slot = (await free_slots(api, OLA, await timebook(api, OLA, 1, "Lab"), "2026-11-27"))[0]["id"]
    refused = await api.post("/Appointment", json=booking_request(ola_slot, 2), headers=AS_OLA)
    assert refused.status_code == 403 and _rule(refused) == "read-only"


async def test_writing_ends_after_thirty_minutes(api, database):
    assert (await api.post(ELEVATE, json={"reason": "Sak 4711"}, headers=AS_KARI)).status_code == 201
    clock.set_now("2026-11-25T09:29:00+01:00")
    assert (await api.get(USERINFO, headers=AS_KARI)).json()["read_only"] is False
    clock.set_now("2026-11-25T09:31:00+01:00")
    assert (await api.get(USERINFO, headers=AS_KARI)).json()["read_only"] is True
    refused = await api.post("/Appointment", json=booking_request(await _slot(api), 1), headers=AS_KARI)
    assert refused.status_code == 403 and _rule(refused) == "read-only"


async def test_a_patient_search_by_post_is_still_a_read(api):
    # POST /Patient/_search reads: the agent hears the citizen's own answer (a search is for staff), not `read-only`.
    as_agent = await api.post("/Patient/_search", data={"name": "Kari"}, headers=AS_KARI)
    as_citizen = await api.post("/Patient/_search", data={"name": "Kari"}, headers=bearer(KARI))
    assert as_agent.status_code == as_citizen.status_code == 403
    assert as_agent.json()["issue"] == as_citizen.json()["issue"]
