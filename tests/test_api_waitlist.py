"""Reading and withdrawing short-notice wishes (issue 25): `GET Appointment?status=waitlist` for the citizen and the
desk, first in line first; `GET Appointment/waitlist-N`; status cancelled takes a wish off the list and lets a time
held for it go to the next in line. Both databases."""

from __future__ import annotations

import pytest

from tests.conftest import BAKKE_STAFF, FJORD_STAFF, KARI, OLA, PER, bearer
from tests.fhir_validate import CANCEL, fhir_json
from tests.test_api_short_notice import AISHA, deliver, holds, lab, sender, smtp, taken_by_aisha, wish

__all__ = ["sender", "smtp"]  # fixtures, used by name

WITHDRAW = [{"op": "replace", "path": "/status", "value": "cancelled"}]


async def listed(api, token: str, **params: str) -> list[dict]:
    bundle = fhir_json(await api.get("/Appointment", params={"status": "waitlist", **params}, headers=bearer(token)))
    return [e["resource"] for e in bundle.get("entry", [])]


def patients(wishes: list[dict]) -> list[str]:
    return [w["participant"][0]["actor"]["reference"] for w in wishes]


async def test_the_citizen_sees_their_own_wishes_and_the_desk_its_office_first_in_line_first(api, database):
    slot, _ = await taken_by_aisha(api)
    _, service, place = await lab(api)
    ola = await wish(api, OLA, 2, slot["start"], slot["end"])
    kari = await wish(api, KARI, 1, slot["start"], slot["end"])
    assert await listed(api, KARI) == [kari]
    assert await listed(api, KARI, patient="Patient/1") == [kari]
    assert await listed(api, OLA) == [ola]
    # The desk: the whole list of the type, in the order offers go.
    for query in ({}, {"service-type": "Lab"}, {"service-type": "urn:oid:2.16.578.1.12.4.1.1.7617|Lab"}):
        assert patients(await listed(api, FJORD_STAFF, **query)) == ["Patient/2", "Patient/1"]
    assert patients(await listed(api, FJORD_STAFF, actor=service)) == ["Patient/2", "Patient/1"]
    assert patients(await listed(api, FJORD_STAFF, location=place)) == ["Patient/2", "Patient/1"]
    assert patients(await listed(api, FJORD_STAFF, actor=place, patient="Patient/1")) == ["Patient/1"]
    assert await listed(api, FJORD_STAFF, **{"service-type": "Vaksine"}) == []
    assert await listed(api, BAKKE_STAFF) == []  # another office's list
    read = fhir_json(await api.get(f"/Appointment/{kari['id']}", headers=bearer(KARI)))
    assert read == kari
    assert (await api.get(f"/Appointment/{kari['id']}", headers=bearer(OLA))).status_code == 404
    assert (await api.get(f"/Appointment/{kari['id']}", headers=bearer(BAKKE_STAFF))).status_code == 404


async def test_an_unchanged_list_answers_304_and_a_new_wish_changes_it(api, database):
    slot, _ = await taken_by_aisha(api)
    first = await api.get("/Appointment", params={"status": "waitlist"}, headers=bearer(FJORD_STAFF))
    tag = first.headers["ETag"]
    again = await api.get("/Appointment", params={"status": "waitlist"}, headers=bearer(FJORD_STAFF) | {"If-None-Match": tag})
    assert again.status_code == 304
    await wish(api, KARI, 1, slot["start"], slot["end"])
    changed = await api.get("/Appointment", params={"status": "waitlist"}, headers=bearer(FJORD_STAFF) | {"If-None-Match": tag})
    assert changed.status_code == 200 and len(changed.json()["entry"]) == 1


@pytest.mark.parametrize(
    ("params", "rule"),
    [
        ({"status": "waitlist", "service-type": "a|Lab"}, "invalid"),
        ({"status": "waitlist", "actor": "Practitioner/1"}, "invalid"),
        ({"status": "waitlist", "actor": "Location/x"}, "invalid"),
        ({"status": "waitlist", "location": "HealthcareService/1"}, "invalid"),
        ({"status": "waitlist", "patient": "1/2/3"}, "invalid"),
        ({"status": "waitlist", "date": "ge2026-12-01"}, "invalid"),
        ({"status": "waitlist", "_count": "-1"}, "invalid"),
    ],
)
async def test_a_malformed_search_is_400_with_an_outcome(api, params, rule):
    response = await api.get("/Appointment", params=params, headers=bearer(FJORD_STAFF))
    assert response.status_code == 400, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == rule


async def test_a_citizen_naming_someone_else_hears_403(api, database):
    response = await api.get("/Appointment", params={"status": "waitlist", "patient": "Patient/2"}, headers=bearer(KARI))
    assert response.status_code == 403 and response.json()["resourceType"] == "OperationOutcome"
    assert await listed(api, PER) == []


async def test_withdrawing_takes_the_wish_off_the_list_and_repeating_it_changes_nothing(api, database):
    slot, _ = await taken_by_aisha(api)
    kari = await wish(api, KARI, 1, slot["start"], slot["end"])
    gone = await api.patch(f"/Appointment/{kari['id']}", json=WITHDRAW, headers=bearer(KARI))
    assert gone.status_code == 200, gone.text
    assert gone.json()["status"] == "cancelled"
    assert gone.json()["cancelationReason"]["coding"][0]["code"] == "withdrawn"
    again = await api.patch(f"/Appointment/{kari['id']}", json=WITHDRAW, headers=bearer(KARI))
    assert again.status_code == 200 and again.json() == gone.json()
    assert await listed(api, KARI) == [] and await listed(api, FJORD_STAFF) == []
    assert fhir_json(await api.get(f"/Appointment/{kari['id']}", headers=bearer(KARI)))["status"] == "cancelled"
    # Another status, a DELETE, or someone else's hand: refused, the wish as it was.
    booked = [{"op": "replace", "path": "/status", "value": "booked"}]
    refused = await api.patch(f"/Appointment/{kari['id']}", json=booked, headers=bearer(KARI))
    assert refused.status_code == 409 and refused.json()["issue"][0]["details"]["coding"][0]["code"] == "illegal-transition"
    assert (await api.delete(f"/Appointment/{kari['id']}", headers=bearer(KARI))).status_code == 409
    assert (await api.patch(f"/Appointment/{kari['id']}", json=WITHDRAW, headers=bearer(OLA))).status_code == 404
    assert (await api.patch("/Appointment/waitlist-x", json=WITHDRAW, headers=bearer(KARI))).status_code == 404


async def test_withdrawing_a_wish_with_an_offer_lets_the_time_go_to_the_next_in_line(api, database, sender, smtp):
    slot, aisha = await taken_by_aisha(api)
    kari = await wish(api, KARI, 1, slot["start"], slot["end"])
    await wish(api, OLA, 2, slot["start"], slot["end"])
    await api.patch(f"/Appointment/{aisha['id']}", json=CANCEL, headers=bearer(AISHA))
    deliver(sender)
    (offer,) = await holds(api, KARI)
    offered = fhir_json(await api.get(f"/Appointment/{kari['id']}", headers=bearer(KARI)))
    assert {
        "url": "https://timebok.example/fhir/StructureDefinition/short-notice-offer",
        "valueReference": {"reference": f"Appointment/{offer['id']}"},
    } in offered["extension"]
    # The desk withdraws it for her (she phoned).
    assert (await api.patch(f"/Appointment/{kari['id']}", json=WITHDRAW, headers=bearer(FJORD_STAFF))).status_code == 200
    assert await holds(api, KARI) == []
    deliver(sender)
    (ola,) = await holds(api, OLA)
    assert ola["slot"] == offer["slot"]
    assert patients(await listed(api, FJORD_STAFF)) == ["Patient/2"]
