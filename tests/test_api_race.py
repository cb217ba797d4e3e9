"""Races over real HTTP against uvicorn: one slot, many clients; two staff, one request; cancel against confirm."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import FJORD_STAFF, KARI, bearer
from tests.fhir_validate import CANCEL, answer, booking_request, fhir_json, free_slots, matches, outcome, timebook
from tests.test_api_booking import participant
from timebok.backend import schema

CITIZENS = {f"demo-citizen-{name}": patient for patient, name in enumerate(("kari", "ola", "aisha", "per", "ingrid"), 1)}
SECOND_STAFF = "race-second-helsesekretaer"


async def _race(url: str, requests: list[tuple[str, str, str, dict]]) -> list[httpx.Response]:
    """Send every request at once, each from its own client over its own connection."""
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for _ in requests]
    try:
        # Connect first, so the requests themselves leave together rather than in connect order.
        await asyncio.gather(*(c.get("/metadata") for c in clients))
        return await asyncio.gather(
            *(
                c.request(method, path, headers=bearer(token), json=body)
                for c, (method, path, token, body) in zip(clients, requests)
            )
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


@pytest.fixture
async def live(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        yield client


async def _lab_slots(live, count: int, day: str = "2026-12-07") -> list[dict]:
    return await free_slots(live, KARI, await timebook(live, KARI, 1, "Lab"), day, count=count)


def _count(database, table, *where) -> int:
    with database.reading() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where))


def _slot_status(database, slot_id: str) -> str:
    with database.reading() as session:
        return session.get(schema.Slot, int(slot_id)).status


async def test_fifty_clients_racing_for_one_slot_get_one_booking(live_server, live, database):
    (slot,) = await _lab_slots(live, 1)
    messages_before = _count(database, schema.Communication)
    tokens = list(CITIZENS) * 10
    responses = await _race(
        live_server.url,
        [("POST", "/Appointment", token, booking_request(slot["id"], CITIZENS[token], "kappløp")) for token in tokens],
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 49}, statuses
    (winner,) = [fhir_json(r, 201) for r in responses if r.status_code == 201]
    for token, response in zip(tokens, responses):
        if response.status_code == 409:
            said = outcome(response, 409, "conflict")
            # The winner's own later tries hear that they hold this time already; everyone else that it is taken.
            mine = f"Patient/{CITIZENS[token]}" == participant(winner, "Patient")["actor"]["reference"]
            assert ("already has a time" if mine and "no longer free" not in said else "no longer free") in said

    assert _count(database, schema.Appointment, schema.Appointment.slot_id == int(slot["id"])) == 1
    assert _slot_status(database, slot["id"]) == "busy-tentative"
    assert fhir_json(await live.get(f"/Slot/{slot['id']}", headers=bearer(KARI)))["status"] == "busy-tentative"
    about = _count(
        database,
        schema.Communication,
        schema.Communication.appointment_id == int(winner["id"]),
        schema.Communication.kind == "request-sent",
    )
    assert about == 1 and _count(database, schema.Communication) == messages_before + 1
    queue = matches(fhir_json(await live.get("/Appointment", params={"status": "pending"}, headers=bearer(FJORD_STAFF))))
    assert [a["id"] for a in queue if a["slot"][0]["reference"] == f"Slot/{slot['id']}"] == [winner["id"]]


async def test_many_clients_booking_different_slots_all_succeed(live_server, live, database):
    # Contention must never turn into a false "taken" or a "database is locked" error.
    slots = await _lab_slots(live, 30)
    tokens = list(CITIZENS) * 6
    responses = await _race(
        live_server.url,
        [("POST", "/Appointment", token, booking_request(slot["id"], CITIZENS[token])) for token, slot in zip(tokens, slots)],
    )
    assert [r.status_code for r in responses] == [201] * 30, [r.text for r in responses if r.status_code != 201]
    assert {fhir_json(r, 201)["slot"][0]["reference"] for r in responses} == {f"Slot/{s['id']}" for s in slots}
    assert all(_slot_status(database, s["id"]) == "busy-tentative" for s in slots)


@pytest.fixture
def second_staff(database) -> str:
    """A second helsesekretær at Fjordsiden, so two people can answer the same request."""
    with database.writing() as session:
        session.add(schema.AccessToken(token=SECOND_STAFF, role="staff", name="Helsesekretær 2, Fjordsiden", organization_id=1))
    return SECOND_STAFF


@pytest.mark.parametrize("round_", range(3))
async def test_two_staff_answering_one_request_at_once_one_wins(live_server, live, database, second_staff, round_):
    slot = (await _lab_slots(live, round_ + 1, "2026-12-08"))[round_]
    appointment = fhir_json(await live.post("/Appointment", json=booking_request(slot["id"], 1), headers=bearer(KARI)), 201)
    responses = await _race(
        live_server.url,
        [
            ("POST", "/AppointmentResponse", FJORD_STAFF, answer(appointment["id"], "accepted")),
            ("POST", "/AppointmentResponse", second_staff, answer(appointment["id"], "declined", "Legen er borte")),
        ],
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "already been answered" in outcome(loser, 409, "conflict")
    won = fhir_json(next(r for r in responses if r.status_code == 201), 201)["participantStatus"]

    assert _count(database, schema.AppointmentResponse, schema.AppointmentResponse.appointment_id == int(appointment["id"])) == 1
    final = fhir_json(await live.get(f"/Appointment/{appointment['id']}", headers=bearer(KARI)))
    kinds = [
        m["category"][0]["coding"][0]["code"]
        for m in matches(fhir_json(await live.get("/Communication", headers=bearer(KARI))))
        if m["about"] == [{"reference": f"Appointment/{appointment['id']}"}]
    ]
    if won == "accepted":
        assert final["status"] == "booked" and _slot_status(database, slot["id"]) == "busy"
        assert kinds == ["confirmed", "request-sent"]
    else:
        assert final["status"] == "cancelled" and final["cancelationReason"]["coding"][0]["code"] == "prov"
        assert _slot_status(database, slot["id"]) == "free"
        assert kinds == ["rejected", "request-sent"]


@pytest.mark.parametrize("round_", range(3))
async def test_cancel_and_confirm_at_once_end_in_one_consistent_state(live_server, live, database, round_):
    slot = (await _lab_slots(live, round_ + 1, "2026-12-09"))[round_]
    appointment = fhir_json(await live.post("/Appointment", json=booking_request(slot["id"], 1), headers=bearer(KARI)), 201)
    path = f"/Appointment/{appointment['id']}"
    clients = [httpx.AsyncClient(base_url=live_server.url, timeout=30) for _ in range(2)]
    try:
        cancel, confirm = await asyncio.gather(
            clients[0].patch(path, json=CANCEL, headers=bearer(KARI) | {"If-Match": 'W/"1"'}),
            clients[1].post("/AppointmentResponse", json=answer(appointment["id"], "accepted"), headers=bearer(FJORD_STAFF)),
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    final = fhir_json(await live.get(path, headers=bearer(KARI)))
    responses = _count(database, schema.AppointmentResponse, schema.AppointmentResponse.appointment_id == int(appointment["id"]))
    if confirm.status_code == 201:
        outcome(cancel, 412)  # the confirmation made the citizen's copy stale
        assert final["status"] == "booked" and _slot_status(database, slot["id"]) == "busy" and responses == 1
    else:
        assert cancel.status_code == 200 and fhir_json(cancel)["status"] == "cancelled"
        outcome(confirm, 409, "conflict")
        assert final["status"] == "cancelled" and _slot_status(database, slot["id"]) == "free" and responses == 0


async def test_the_embedded_server_answers_without_a_nagle_delay(live):
    # The app talks to the embedded backend many times per screen; 40 ms each would be felt.
    await live.get("/metadata")
    timings = []
    for _ in range(15):
        started = time.perf_counter()
        fhir_json(await live.get("/Organization/1", headers=bearer(KARI)))
        timings.append(time.perf_counter() - started)
    # The quickest, not the median: Nagle's ~40 ms is in every exchange, while other work on the machine delays only some.
    assert min(timings) < 0.03, timings


@pytest.mark.parametrize("round_", range(5))
async def test_ten_cancels_without_if_match_one_wins_and_the_rest_hear_409_not_412(live_server, live, database, round_):
    slot = (await _lab_slots(live, 1, "2026-12-10"))[0]
    appointment = fhir_json(await live.post("/Appointment", json=booking_request(slot["id"], 1), headers=bearer(KARI)), 201)
    responses = await _race(live_server.url, [("PATCH", f"/Appointment/{appointment['id']}", KARI, CANCEL)] * 10)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: 9}, statuses
    assert all(outcome(r, 409, "conflict") for r in responses if r.status_code == 409)
