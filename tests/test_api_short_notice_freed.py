"""Only a time that frees goes to the short-notice list (issue 25): a time free all along is not held for anyone;
a time cancelled, withdrawn, rejected or moved away from after the wish is held for the first in line; a time
starting sooner than the offer window stays on the calendar; a closure lifted offers its times. Both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import FJORD_STAFF, KARI, OLA, bearer
from tests.fhir_validate import CANCEL, answer, booking_request, fhir_json, free_slots
from tests.test_api_short_notice import AISHA, deliver, holds, lab, sender, smtp, wish
from timebok.backend import schema, short_notice
from timebok.domain import appointment_life as rules
from timebok.domain import clock

__all__ = ["sender", "smtp"]  # fixtures, used by name

FJORD_H = bearer(FJORD_STAFF)


def queued(database) -> int:
    with database.reading() as session:
        return session.scalar(select(func.count()).select_from(schema.FreedSlot)) or 0


async def day_of_lab(api, day: str = "2026-12-03", count: int = 4) -> list[dict]:
    book, _, _ = await lab(api)
    found = await free_slots(api, AISHA, book, day, count=count)
    assert all(s["start"].startswith(day) for s in found)
    return found


async def requested(api, slot: dict) -> dict:
    return fhir_json(await api.post("/Appointment", json=booking_request(slot["id"], 3), headers=bearer(AISHA)), 201)


async def confirmed(api, slot: dict) -> dict:
    made = await requested(api, slot)
    fhir_json(await api.post("/AppointmentResponse", json=answer(made["id"], "accepted"), headers=FJORD_H), 201)
    return made


async def test_a_time_free_all_along_is_not_offered_but_the_same_day_s_cancelled_time_is(api, database, sender, smtp):
    early, _, _, late = await day_of_lab(api)
    aisha = await confirmed(api, late)
    deliver(sender)  # her booking freed nothing
    # Kari's wish covers the whole day: its earlier times were free before she asked, and stay free for anyone.
    await wish(api, KARI, 1, early["start"], "2026-12-03T23:00:00+01:00")
    deliver(sender)
    assert await holds(api, KARI) == []
    slot = fhir_json(await api.get(f"/Slot/{early['id']}", headers=bearer(OLA)))
    assert slot["status"] == "free"
    # Aisha's time frees after the wish: that one is held for Kari, not the earlier free one.
    assert (await api.patch(f"/Appointment/{aisha['id']}", json=CANCEL, headers=bearer(AISHA))).status_code == 200
    deliver(sender)
    (offer,) = await holds(api, KARI)
    assert offer["slot"] == [{"reference": f"Slot/{late['id']}"}]
    assert queued(database) == 0  # handled: the queue is empty again


@pytest.mark.parametrize("how", ["cancelled", "withdrawn", "rejected", "moved"])
async def test_a_time_that_frees_after_the_wish_is_held_for_the_first_in_line(api, database, sender, smtp, how):
    slot, elsewhere = (await day_of_lab(api, count=2))[0], (await day_of_lab(api, "2026-12-10", count=1))[0]
    made = await (requested if how in ("withdrawn", "rejected") else confirmed)(api, slot)
    await wish(api, KARI, 1, slot["start"], slot["end"])
    await wish(api, OLA, 2, slot["start"], slot["end"])
    deliver(sender)
    assert await holds(api, KARI) == []  # not free yet
    if how in ("cancelled", "withdrawn"):  # the patient cancels her time, or withdraws her request
        assert (await api.patch(f"/Appointment/{made['id']}", json=CANCEL, headers=bearer(AISHA))).status_code == 200
    elif how == "rejected":
        no = answer(made["id"], "declined", "Legen er syk")
        fhir_json(await api.post("/AppointmentResponse", json=no, headers=FJORD_H), 201)
    else:  # the desk moves her to another day: her old time frees
        body = booking_request(elsewhere["id"], 3) | {"status": "booked"}
        body["extension"] = [{"url": rules.REPLACES_URL, "valueReference": {"reference": f"Appointment/{made['id']}"}}]
        fhir_json(await api.post("/Appointment", json=body, headers=FJORD_H), 201)
    deliver(sender)
    (offer,) = await holds(api, KARI)
    assert offer["slot"] == [{"reference": f"Slot/{slot['id']}"}]
    assert await holds(api, OLA) == []
    assert [m["Subject"] for m in smtp.to("kari.nordmann@innbygger.example")] == ["Ledig time til deg"]
    taken = await api.post("/Appointment", json=booking_request(slot["id"], 2), headers=bearer(OLA))
    assert taken.status_code == 409  # held for Kari


async def test_a_time_starting_sooner_than_the_offer_window_stays_on_the_calendar(api, database, sender, smtp):
    slot = (await day_of_lab(api, count=1))[0]
    made = await requested(api, slot)
    await wish(api, KARI, 1, slot["start"], slot["end"])
    # 20 minutes before the time: a 30-minute hold would end after it began, so nobody is offered it.
    clock.set_now(datetime.fromisoformat(slot["start"]) - timedelta(minutes=short_notice.OFFER_MINUTES - 10))
    no = answer(made["id"], "declined", "Legen er syk")
    fhir_json(await api.post("/AppointmentResponse", json=no, headers=FJORD_H), 201)
    deliver(sender)
    assert await holds(api, KARI) == []
    assert smtp.to("kari.nordmann@innbygger.example") == []
    assert fhir_json(await api.get(f"/Slot/{slot['id']}", headers=bearer(OLA)))["status"] == "free"  # for anyone
    assert queued(database) == 0


async def _setup(api) -> dict:
    response = await api.get("http://testserver/setup/Organization/1", headers=FJORD_H)
    assert response.status_code == 200, response.text
    return response.json()


async def _save(api, body: dict) -> None:
    response = await api.put("http://testserver/setup/Organization/1", json=body, headers=FJORD_H)
    assert response.status_code == 200, response.text


async def test_a_closure_lifted_offers_its_times_and_costs_nothing_when_nobody_waits(api, database, sender, smtp):
    first, second = (await day_of_lab(api, count=2))[:2]
    # A time booked and cancelled before anyone waits: the closure keeps that slot (a cancelled request names it).
    made = await confirmed(api, first)
    assert (await api.patch(f"/Appointment/{made['id']}", json=CANCEL, headers=bearer(AISHA))).status_code == 200
    deliver(sender)
    setup = await _setup(api)
    closed = setup | {"closures": [*setup["closures"], {"day": "2026-12-03", "reason": "Kurs"}]}
    await _save(api, closed)
    book, _, _ = await lab(api)
    assert not any(s["start"].startswith("2026-12-03") for s in await free_slots(api, OLA, book, "2026-12-03", count=3))
    await _save(api, await _setup(api) | {"closures": setup["closures"]})
    assert queued(database) == 0  # times restored with nobody waiting: nothing queued
    await _save(api, closed)  # closed again; now Kari waits for that day
    await wish(api, KARI, 1, first["start"], "2026-12-03T23:00:00+01:00")
    await wish(api, OLA, 2, first["start"], "2026-12-03T23:00:00+01:00")
    deliver(sender)
    assert await holds(api, KARI) == []
    await _save(api, await _setup(api) | {"closures": setup["closures"]})  # the closure lifted
    deliver(sender)
    (kari,) = await holds(api, KARI)
    (ola,) = await holds(api, OLA)
    # First in line gets the earliest: the restored slot itself (same id), the next the time after it.
    assert kari["slot"] == [{"reference": f"Slot/{first['id']}"}]
    assert kari["start"] == first["start"] and ola["start"] == second["start"]
    assert queued(database) == 0  # the day's other freed times: nobody else waits, so they are not kept


async def test_a_time_freed_at_night_is_held_from_eight_when_its_sms_can_go(api, database, sender, smtp):
    """«Counted from when the notice can go»: freed at 23:00, the SMS waits for 08:00, and so does the offer's window;
    a time that begins before that window has run stays on the calendar."""
    times = await day_of_lab(api, count=20)
    early = times[0]
    later = next(s for s in times if datetime.fromisoformat(s["start"]).hour >= 10)
    assert datetime.fromisoformat(early["start"]).time() < datetime(2026, 1, 1, 8, 30).time()
    made_early, made_later = await requested(api, early), await requested(api, later)
    await wish(api, KARI, 1, early["start"], later["end"])
    clock.set_now(datetime(2026, 12, 2, 23, 0, tzinfo=clock.OSLO))
    for made in (made_early, made_later):
        fhir_json(
            await api.post("/AppointmentResponse", json=answer(made["id"], "declined", "Legen er syk"), headers=FJORD_H), 201
        )
    deliver(sender)
    (hold,) = await holds(api, KARI)
    assert hold["slot"] == [{"reference": f"Slot/{later['id']}"}]
    until = next(e for e in hold["extension"] if e["url"] == rules.HOLD_URL)["valueInstant"]
    assert datetime.fromisoformat(until) == datetime(2026, 12, 3, 8, 30, tzinfo=clock.OSLO)
    assert fhir_json(await api.get(f"/Slot/{early['id']}", headers=bearer(OLA)))["status"] == "free"
