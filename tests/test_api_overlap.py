"""One patient never holds two active times that overlap, in any timebook of any office: 409 `patient-overlap`."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import BAKKE_STAFF, FJORD_STAFF, KARI, OLA, PER, bearer
from tests.fhir_validate import CANCEL, answer, booking_request, fhir_json, free_slots, outcome, snapshot, timebook
from tests.test_api_race import _race
from timebok.backend import schema
from timebok.backend.outcome import RULE_SYSTEM
from timebok.backend.overlap import EXTENSION_URL

DAY = "2026-12-03"  # the seed's Fjordsiden Lab has 10-minute times from 08:00, Vaksine 15-minute ones from 08:30


async def _slot(api, office: int, type_code: str, start: str, token: str = KARI) -> dict:
    """The free slot of an office's timebook that starts at `start` (Oslo wall-clock time on DAY, "08:40")."""
    book = await timebook(api, token, office, type_code)
    found = [s for s in await free_slots(api, token, book, DAY, count=40) if s["start"] == f"{DAY}T{start}:00+01:00"]
    assert found, f"no free {type_code} time at {start}"
    return found[0]


def _twin(database, slot: dict) -> dict:
    """A second free slot at the very same time in the same timebook, as «Samtidige timer» 2 makes."""
    with database.writing() as session:
        first = session.get(schema.Slot, int(slot["id"]))
        # The timebook's setup says so too, or regenerating it would take the second seat away again.
        session.get(schema.Schedule, first.schedule_id).parallel = 2
        twin = schema.Slot(schedule_id=first.schedule_id, start=first.start, end=first.end, status="free", version=1, seq=1)
        session.add(twin)
        session.flush()
        return slot | {"id": str(twin.id)}


async def _book(api, slot: dict, patient: int, token: str, key: str | None = None) -> httpx.Response:
    body = booking_request(slot["id"], patient)
    headers = bearer(token)
    if key is not None:
        body["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": key}]
        headers |= {"If-None-Exist": f"identifier=urn:ietf:rfc:3986|{key}"}
    return await api.post("/Appointment", json=body, headers=headers)


def _overlap(response: httpx.Response) -> dict[str, object]:
    """The refusal's rule and what it says about the time already held (start, type, place, Appointment)."""
    said = outcome(response, 409, "conflict")
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"] == [{"system": RULE_SYSTEM, "code": "patient-overlap"}]
    (found,) = [e for e in issue["extension"] if e["url"] == EXTENSION_URL]
    parts = {part["url"]: next(v for k, v in part.items() if k.startswith("value")) for part in found["extension"]}
    return parts | {"diagnostics": said}


async def test_the_same_time_twice_with_parallel_slots_is_refused_naming_the_time(api, database):
    slot = await _slot(api, 1, "Lab", "08:00")
    twin = _twin(database, slot)
    first = fhir_json(await _book(api, slot, 1, FJORD_STAFF), 201)  # the desk books Kari
    before = snapshot(database)
    for token in (KARI, FJORD_STAFF):  # then Kari herself, or the desk again: neither makes a second
        said = _overlap(await _book(api, twin, 1, token))
        assert said["start"] == f"{DAY}T08:00:00+01:00"
        assert said["type"]["code"] == "Lab" and said["place"] == "Fjordsiden legekontor"
        assert said["appointment"] == {"reference": f"Appointment/{first['id']}"}
        assert "2026-12-03T08:00:00+01:00" in said["diagnostics"]
        assert snapshot(database) == before  # nothing written: no appointment, no slot claimed, no message
    # The twin is still free for someone else.
    fhir_json(await _book(api, twin, 2, OLA), 201)


async def test_an_overlapping_time_in_another_timebook_is_refused(api, database):
    fhir_json(await _book(api, await _slot(api, 1, "Vaksine", "08:45"), 1, KARI), 201)  # 08:45–09:00
    before = snapshot(database)
    said = _overlap(await _book(api, await _slot(api, 1, "Lab", "08:50"), 1, FJORD_STAFF))  # 08:50–09:00
    assert said["start"] == f"{DAY}T08:45:00+01:00" and said["type"]["code"] == "Vaksine"
    assert snapshot(database) == before


async def test_touching_times_are_allowed(api):
    fhir_json(await _book(api, await _slot(api, 1, "Vaksine", "08:30"), 1, KARI), 201)  # 08:30–08:45
    fhir_json(await _book(api, await _slot(api, 1, "Lab", "08:20"), 1, KARI), 201)  # 08:20–08:30, just before
    fhir_json(await _book(api, await _slot(api, 1, "Vaksine", "08:45"), 1, KARI), 201)  # just after


async def test_another_office_counts_too_but_its_place_is_not_told_to_this_offices_staff(api, database):
    # Per (listed at Bakkebyen) asks Fjordsiden's lab for 08:00 himself.
    fhir_json(await _book(api, await _slot(api, 1, "Lab", "08:00", PER), 4, PER), 201)
    before = snapshot(database)
    said = _overlap(await _book(api, await _slot(api, 2, "Lab", "08:00", PER), 4, BAKKE_STAFF))
    assert said["start"] == f"{DAY}T08:00:00+01:00"
    assert "place" not in said and "appointment" not in said and "type" not in said
    assert "Fjordsiden" not in str(said["diagnostics"])
    # Per himself hears where.
    assert _overlap(await _book(api, await _slot(api, 2, "Lab", "08:00", PER), 4, PER))["place"] == "Fjordsiden legekontor"
    assert snapshot(database) == before


@pytest.mark.parametrize("how", ["cancelled", "declined"])
async def test_a_cancelled_or_declined_time_does_not_block(api, database, how):
    slot = await _slot(api, 1, "Lab", "08:00")
    twin = _twin(database, slot)
    first = fhir_json(await _book(api, slot, 1, KARI), 201)
    if how == "cancelled":
        fhir_json(await api.patch(f"/Appointment/{first['id']}", json=CANCEL, headers=bearer(KARI)))
    else:
        fhir_json(
            await api.post(
                "/AppointmentResponse", json=answer(first["id"], "declined", "Legen er syk"), headers=bearer(FJORD_STAFF)
            ),
            201,
        )
    assert fhir_json(await _book(api, twin, 1, KARI), 201)["status"] == "pending"


async def test_a_booked_time_blocks_as_a_pending_one_does(api, database):
    slot = await _slot(api, 1, "Lab", "08:00")
    twin = _twin(database, slot)
    first = fhir_json(await _book(api, slot, 1, KARI), 201)
    fhir_json(await api.post("/AppointmentResponse", json=answer(first["id"], "accepted"), headers=bearer(FJORD_STAFF)), 201)
    assert _overlap(await _book(api, twin, 1, FJORD_STAFF))["start"] == f"{DAY}T08:00:00+01:00"


async def test_the_same_booking_sent_again_returns_the_first_not_409(api, database):
    slot = await _slot(api, 1, "Lab", "08:00")
    key = f"urn:uuid:{uuid.uuid4()}"
    first = fhir_json(await _book(api, slot, 1, FJORD_STAFF, key), 201)
    for token in (FJORD_STAFF, FJORD_STAFF):
        again = fhir_json(await _book(api, slot, 1, token, key), 200)
        assert again["id"] == first["id"]


@pytest.mark.parametrize(("lab", "vaccine"), [("09:20", "09:15"), ("10:20", "10:15"), ("11:00", "11:00")])
async def test_two_bookings_for_one_patient_at_once_one_wins(live_server, database, lab, vaccine):
    # Two different slots, so nothing but the patient's own lock stands between them (no twin slot either: the
    # backend's regeneration of the timebooks, which may run meanwhile, would take a seat outside the setup away).
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as live:
        slot = await _slot(live, 1, "Lab", lab)
        other = await _slot(live, 1, "Vaksine", vaccine)
    responses = await _race(
        live_server.url,
        [
            ("POST", "/Appointment", KARI, booking_request(slot["id"], 1)),
            ("POST", "/Appointment", FJORD_STAFF, booking_request(other["id"], 1)),
        ],
    )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text[:300] for r in responses]
    (winner,) = [fhir_json(r, 201) for r in responses if r.status_code == 201]
    (loser,) = [r for r in responses if r.status_code == 409]
    assert _overlap(loser)["start"] == winner["start"]
    with database.reading() as session:
        held = session.scalar(
            select(func.count())
            .select_from(schema.Appointment)
            .where(schema.Appointment.patient_id == 1, schema.Appointment.slot_id.in_([int(s["id"]) for s in (slot, other)]))
        )
    assert held == 1
