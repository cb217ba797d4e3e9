"""The desk's day on the wire (issue 26): a cancel by the office carries its reason to the patient; the day's search."""

from __future__ import annotations

from tests.conftest import FJORD_STAFF, KARI, bearer
from tests.fhir_validate import CANCEL, answer, booking_request, fhir_json, free_slots, matches, timebook

STAFF_H, KARI_H = bearer(FJORD_STAFF), bearer(KARI)


async def _booked_lab_time(api, description: str | None = None) -> dict:
    book = await timebook(api, KARI, 1, "Lab")
    slot = (await free_slots(api, KARI, book, "2026-12-03", count=1))[0]
    made = fhir_json(await api.post("/Appointment", json=booking_request(slot["id"], 1, description), headers=KARI_H), 201)
    fhir_json(await api.post("/AppointmentResponse", json=answer(made["id"], "accepted"), headers=STAFF_H), 201)
    return fhir_json(await api.get(f"/Appointment/{made['id']}", headers=STAFF_H))


async def _newest_message(api) -> str:
    messages = matches(fhir_json(await api.get("/Communication", params={"recipient": "Patient/1"}, headers=KARI_H)))
    return messages[0]["payload"][0]["contentString"]


async def test_the_desks_reason_for_cancelling_reaches_the_patient(api):
    booked = await _booked_lab_time(api)
    patch = [*CANCEL, {"op": "add", "path": "/cancelationReason", "value": {"text": "Legen er syk denne dagen"}}]
    headers = {**STAFF_H, "If-Match": f'W/"{booked["meta"]["versionId"]}"', "Content-Type": "application/json-patch+json"}
    cancelled = fhir_json(await api.patch(f"/Appointment/{booked['id']}", json=patch, headers=headers))
    assert cancelled["status"] == "cancelled" and cancelled["cancelationReason"]["text"] == "Legen er syk denne dagen"
    text = await _newest_message(api)
    assert "Fjordsiden legekontor har avbestilt" in text and "Begrunnelse: Legen er syk denne dagen" in text


async def test_a_patients_own_reason_is_not_written_back_to_them(api):
    booked = await _booked_lab_time(api)
    patch = [*CANCEL, {"op": "add", "path": "/cancelationReason", "value": {"text": "Jeg er bortreist"}}]
    headers = {**KARI_H, "If-Match": f'W/"{booked["meta"]["versionId"]}"', "Content-Type": "application/json-patch+json"}
    fhir_json(await api.patch(f"/Appointment/{booked['id']}", json=patch, headers=headers))
    text = await _newest_message(api)
    assert text.startswith("Du har avbestilt") and "Begrunnelse" not in text


async def test_the_day_list_search_takes_every_state_of_the_day(api):
    booked = await _booked_lab_time(api, "blodprøve")
    params = [
        ("status", "pending,booked,arrived,fulfilled,noshow"),
        ("date", "ge2026-12-03"),
        ("date", "lt2026-12-04"),
        ("_include", "Appointment:actor"),
    ]
    found = matches(fhir_json(await api.get("/Appointment", params=params, headers=STAFF_H)))
    assert booked["id"] in {a["id"] for a in found}
    assert all(a["start"].startswith("2026-12-03") for a in found)
