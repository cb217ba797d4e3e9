"""Racing changes over real HTTP: whatever the order, one time stays active (or the old one), never none and never two."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from sqlalchemy import or_, select

from tests.conftest import FJORD_STAFF, KARI, bearer
from tests.fhir_validate import CANCEL, answer, booking_request, fhir_json, free_slots, timebook
from tests.test_api_life import change_body
from tests.test_api_race import _race
from timebok.backend import schema

STAFF_H = bearer(FJORD_STAFF)
ROUNDS = 4


@pytest.fixture
async def live(live_server):
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        yield client


async def _slots(live, count: int, day: str) -> list[dict]:
    return await free_slots(live, KARI, await timebook(live, KARI, 1, "Lab"), day, count=count)


async def _booked(live, slot: dict) -> dict:
    request = fhir_json(await live.post("/Appointment", json=booking_request(slot["id"], 1), headers=bearer(KARI)), 201)
    fhir_json(await live.post("/AppointmentResponse", json=answer(request["id"], "accepted"), headers=STAFF_H), 201)
    return request


def _family(database, old_id: str) -> dict[int, str]:
    """The old time and every change of it: id → status, as stored."""
    with database.reading() as session:
        rows = session.execute(
            select(schema.Appointment.id, schema.Appointment.status).where(
                or_(schema.Appointment.id == int(old_id), schema.Appointment.replaces_id == int(old_id))
            )
        ).all()
    return {id_: status for id_, status in rows}


def _slot_statuses(database, slot_ids: list[str]) -> dict[int, str]:
    with database.reading() as session:
        rows = session.execute(select(schema.Slot.id, schema.Slot.status).where(schema.Slot.id.in_([int(s) for s in slot_ids])))
        return {id_: status for id_, status in rows}


async def test_two_desks_moving_one_time_at_once_leave_exactly_one(live_server, live, database):
    for round_ in range(ROUNDS):
        old_slot, *targets = await _slots(live, 4, f"2026-12-0{round_ + 2}")
        old = await _booked(live, old_slot)
        responses = await _race(
            live_server.url,
            [("POST", "/Appointment", FJORD_STAFF, change_body(t["id"], old["id"], status="booked")) for t in targets],
        )
        assert sorted(r.status_code for r in responses) == [201, 409, 409], [r.text for r in responses]
        family = _family(database, old["id"])
        assert Counter(family.values()) == {"booked": 1, "cancelled": 1}, family
        assert family[int(old["id"])] == "cancelled"
        winner = next(t for t, r in zip(targets, responses) if r.status_code == 201)
        slots = _slot_statuses(database, [old_slot["id"]] + [t["id"] for t in targets])
        assert slots == {int(s["id"]): ("busy" if s is winner else "free") for s in [old_slot] + targets}


async def test_two_changes_by_the_citizen_at_once_leave_the_old_time_and_one_request(live_server, live, database):
    for round_ in range(ROUNDS):
        old_slot, *targets = await _slots(live, 4, f"2026-12-0{round_ + 2}")
        old = await _booked(live, old_slot)
        responses = await _race(
            live_server.url, [("POST", "/Appointment", KARI, change_body(t["id"], old["id"])) for t in targets]
        )
        assert sorted(r.status_code for r in responses) == [201, 409, 409], [r.text for r in responses]
        family = _family(database, old["id"])
        assert family[int(old["id"])] == "booked" and Counter(family.values()) == {"booked": 1, "pending": 1}


async def test_a_change_against_a_cancel_never_leaves_two_times(live_server, live, database):
    outcomes = Counter()
    for round_ in range(ROUNDS):
        old_slot, target = await _slots(live, 2, f"2026-12-0{round_ + 2}")
        old = await _booked(live, old_slot)
        responses = await _race(
            live_server.url,
            [
                ("POST", "/Appointment", FJORD_STAFF, change_body(target["id"], old["id"], status="booked")),
                ("PATCH", f"/Appointment/{old['id']}", FJORD_STAFF, CANCEL),
            ],
        )
        change, cancel = responses
        family = _family(database, old["id"])
        if change.status_code == 201:  # the move came first: the cancel found the old time gone
            assert cancel.status_code == 409, cancel.text
            assert Counter(family.values()) == {"booked": 1, "cancelled": 1}
            outcomes["moved"] += 1
        else:  # the cancel came first: nothing to move
            assert (change.status_code, cancel.status_code) == (409, 200), (change.text, cancel.text)
            assert family == {int(old["id"]): "cancelled"}
            assert _slot_statuses(database, [target["id"]]) == {int(target["id"]): "free"}
            outcomes["cancelled"] += 1
    assert sum(outcomes.values()) == ROUNDS


async def test_a_change_against_the_offices_answer_to_the_old_request(live_server, live, database):
    for round_ in range(ROUNDS):
        old_slot, target = await _slots(live, 2, f"2026-12-0{round_ + 2}")
        old = fhir_json(await live.post("/Appointment", json=booking_request(old_slot["id"], 1), headers=bearer(KARI)), 201)
        verdict = "accepted" if round_ % 2 == 0 else "declined"
        responses = await _race(
            live_server.url,
            [
                ("POST", "/Appointment", KARI, change_body(target["id"], old["id"])),
                (
                    "POST",
                    "/AppointmentResponse",
                    FJORD_STAFF,
                    answer(old["id"], verdict, "Nei" if verdict == "declined" else None),
                ),
            ],
        )
        change, response = responses
        assert response.status_code == 201, response.text
        family = _family(database, old["id"])
        old_status = family.pop(int(old["id"]))
        assert old_status == ("booked" if verdict == "accepted" else "cancelled")
        if verdict == "accepted":  # the old time stands, with the change waiting on it or refused
            assert change.status_code in (201, 409) and list(family.values()) in ([], ["pending"])
        else:  # rejected: a change made first is withdrawn with it, one made after is refused
            assert list(family.values()) in ([], ["cancelled"])
        active = [s for s in [old_status, *family.values()] if s in ("booked", "pending")]
        assert len([s for s in active if s == "booked"]) <= 1
