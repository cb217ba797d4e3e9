"""Short-notice offers racing over real HTTP (issue 25): a citizen accepting an offer while the desk deletes the hold,
or while the wish is withdrawn, ends one way only: the time is theirs and nobody else is offered it, or the accept is
refused and the time goes to the next in line. Never a taken time that is also offered on. Both databases."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import FJORD_STAFF, KARI, OLA, bearer
from tests.fhir_validate import CANCEL, answer, booking_request, fhir_json, free_slots, timebook
from tests.test_api_race import _race
from tests.test_api_short_notice import AISHA, wish
from timebok.backend import schema, short_notice

ROUNDS = 3
ACCEPT = [{"op": "replace", "path": "/status", "value": "pending"}]
WITHDRAW = [{"op": "replace", "path": "/status", "value": "cancelled"}]


@pytest.fixture
async def live(live_server):
    async with httpx.AsyncClient(base_url=f"{live_server.url}", timeout=30) as client:
        yield client


async def _offered_to_kari(live, database, day: str) -> tuple[dict, dict, str]:
    """Aisha's booked Lab time on `day`, wished for by Kari then Ola, cancelled: held for Kari. (slot, wish, hold id)"""
    book = await timebook(live, AISHA, 1, "Lab")
    (slot,) = await free_slots(live, AISHA, book, day, count=1)
    made = fhir_json(await live.post("/Appointment", json=booking_request(slot["id"], 3), headers=bearer(AISHA)), 201)
    fhir_json(await live.post("/AppointmentResponse", json=answer(made["id"], "accepted"), headers=bearer(FJORD_STAFF)), 201)
    kari = await wish(live, KARI, 1, slot["start"], slot["end"])
    await wish(live, OLA, 2, slot["start"], slot["end"])
    assert (await live.patch(f"/Appointment/{made['id']}", json=CANCEL, headers=bearer(AISHA))).status_code == 200
    short_notice.run(database)
    with database.reading() as session:
        hold = session.scalar(
            select(schema.Appointment.id).where(
                schema.Appointment.slot_id == int(slot["id"]),
                schema.Appointment.status == "proposed",
                schema.Appointment.patient_id == 1,
            )
        )
    assert hold is not None
    return slot, kari, str(hold)


def _on_slot(database, slot_id: str) -> tuple[str, Counter[tuple[int, str]]]:
    """The slot's status, and who has which active appointment on it (patient, status)."""
    with database.reading() as session:
        status = session.scalar(select(schema.Slot.status).where(schema.Slot.id == int(slot_id)))
        rows = session.execute(
            select(schema.Appointment.patient_id, schema.Appointment.status).where(
                schema.Appointment.slot_id == int(slot_id),
                schema.Appointment.status.in_(("proposed", "pending", "booked")),
            )
        ).all()
    return status or "", Counter((patient, state) for patient, state in rows)


async def _race_accept(live_server, live, database, cancel: tuple[str, str, str, object | None]) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        slot, kari_wish, hold = await _offered_to_kari(live, database, f"2026-12-0{round_ + 7}")
        method, path, token, body = cancel
        path = path.format(hold=hold, wish=kari_wish["id"])
        accept, cancelled = await _race(
            live_server.url, [("PATCH", f"/Appointment/{hold}", KARI, ACCEPT), (method, path, token, body)]
        )
        short_notice.run(database)  # the sender loop's turn: settle the offer, offer a free time to the next
        status, active = _on_slot(database, slot["id"])
        if accept.status_code == 200:  # the accept came first: Kari's request holds the time, Ola is offered nothing
            assert cancelled.status_code in (200, 409), cancelled.text
            assert (status, active) == ("busy-tentative", Counter({(1, "pending"): 1})), active
            outcomes["accepted"] += 1
        else:  # the hold was let go first: the accept is refused and the time is Ola's offer
            assert accept.status_code == 409, accept.text
            assert cancelled.status_code in (200, 204), cancelled.text
            assert (status, active) == ("busy-tentative", Counter({(2, "proposed"): 1})), active
            outcomes["let go"] += 1
        assert fhir_json(await live.get(f"/Appointment/{kari_wish['id']}", headers=bearer(KARI)))["status"] == "cancelled"
    return outcomes


async def test_an_accept_racing_the_desk_deleting_the_hold_ends_one_way(live_server, live, database):
    outcomes = await _race_accept(live_server, live, database, ("DELETE", "/Appointment/{hold}", FJORD_STAFF, None))
    assert sum(outcomes.values()) == ROUNDS


async def test_an_accept_racing_the_wish_withdrawn_ends_one_way(live_server, live, database):
    outcomes = await _race_accept(live_server, live, database, ("PATCH", "/Appointment/{wish}", KARI, WITHDRAW))
    assert sum(outcomes.values()) == ROUNDS
