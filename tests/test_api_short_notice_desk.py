"""The desk's side of «Kan komme på kort varsel» (issue 25): each timebook's offer window in the setup, and the desk
offering a freed time by hand to a wish it chooses (`$offer`): the same hold and e-mail as the automatic offer, safe
to repeat, 409 when the time is not free. Both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from tests.conftest import FJORD_STAFF, KARI, OLA, bearer
from tests.fhir_validate import CANCEL, fhir_json, free_slots, timebook
from tests.test_api_short_notice import AISHA, deliver, holds, lab, sender, smtp, taken_by_aisha, wish
from timebok.domain import appointment_life as life
from timebok.domain import clock
from timebok.domain.short_notice import OFFERED_TIME_URL

STAFF = bearer(FJORD_STAFF)
__all__ = ["sender", "smtp"]  # fixtures, used by name


@pytest.fixture
async def root(api):
    """The same app outside /fhir, for the setup document."""
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver") as client:
        yield client


def offer_body(slot_id: str | int) -> dict:
    return {"resourceType": "Parameters", "parameter": [{"name": "slot", "valueReference": {"reference": f"Slot/{slot_id}"}}]}


async def offer(api, wish_id: str, slot_id: str | int, token: str = FJORD_STAFF) -> httpx.Response:
    return await api.post(f"/Appointment/{wish_id}/$offer", json=offer_body(slot_id), headers=bearer(token))


def held_until(hold: dict) -> datetime:
    return datetime.fromisoformat(next(e["valueInstant"] for e in hold["extension"] if e["url"] == life.HOLD_URL))


def rule_of(response: httpx.Response) -> str:
    return response.json()["issue"][0]["details"]["coding"][0]["code"]


async def test_each_timebook_has_an_offer_window_from_10_to_240_minutes_and_offers_are_held_that_long(
    api, root, database, sender, smtp
):
    setup = (await root.get("/setup/Organization/1", headers=STAFF)).json()
    book_id, _, _ = await lab(api)
    index = next(i for i, b in enumerate(setup["timebooks"]) if b["id"] == book_id)
    assert setup["timebooks"][index]["offerMinutes"] == 30
    for wrong in (9, 241, "tretti"):
        setup["timebooks"][index]["offerMinutes"] = wrong
        refused = await root.put("/setup/Organization/1", json=setup, headers=STAFF)
        assert refused.status_code == 400, refused.text
        assert refused.json()["issue"][0]["expression"] == [f"Setup.timebooks[{index}].offerMinutes"]
        assert rule_of(refused) == "setup"
    assert (await root.get("/setup/Organization/1", headers=STAFF)).json()["timebooks"][index]["offerMinutes"] == 30
    setup["timebooks"][index]["offerMinutes"] = 90
    saved = await root.put("/setup/Organization/1", json=setup, headers=STAFF)
    assert saved.status_code == 200, saved.text
    assert (await root.get("/setup/Organization/1", headers=STAFF)).json()["timebooks"][index]["offerMinutes"] == 90

    slot, aisha = await taken_by_aisha(api)
    await wish(api, KARI, 1, slot["start"], slot["end"])
    await api.patch(f"/Appointment/{aisha['id']}", json=CANCEL, headers=bearer(AISHA))
    deliver(sender)
    (kari,) = await holds(api, KARI)
    assert held_until(kari) == clock.now() + timedelta(minutes=90)  # the timebook's window, not the default 30


async def test_the_desk_offers_a_freed_time_to_the_wish_it_chooses_once_however_often_it_is_sent(api, database, sender, smtp):
    slot, aisha = await taken_by_aisha(api)
    await wish(api, KARI, 1, slot["start"], slot["end"])  # first in line
    ola = await wish(api, OLA, 2, slot["start"], slot["end"])
    await api.patch(f"/Appointment/{aisha['id']}", json=CANCEL, headers=bearer(FJORD_STAFF))
    made = await offer(api, ola["id"], slot["id"])  # before the sender loop sees the freed time
    assert made.status_code == 201, made.text
    hold = made.json()
    assert hold["status"] == "proposed" and hold["slot"] == [{"reference": f"Slot/{slot['id']}"}]
    assert "Patient/2" in [p["actor"].get("reference") for p in hold["participant"]]
    assert held_until(hold) == clock.now() + timedelta(minutes=30)
    again = await offer(api, ola["id"], slot["id"])
    assert again.status_code == 200 and again.json()["id"] == hold["id"]  # the same offer, not a second
    # The desk's list: first in line first, each patient named, the offered one with its time and until when.
    bundle = fhir_json(
        await api.get(
            "/Appointment", params={"status": "waitlist", "service-type": "Lab", "_include": "Appointment:actor"}, headers=STAFF
        )
    )
    listed = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    included = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in bundle["entry"]}
    assert [w["participant"][0]["actor"]["reference"] for w in listed] == ["Patient/1", "Patient/2"]
    assert [included[f"Patient/{n}"]["name"][0]["text"] for n in (1, 2)] == ["Kari Nordmann", "Ola Nordmann"]
    assert "Location/1" in included
    assert "extension" not in listed[0]  # Kari's still waits
    offered = {e["url"]: e for e in listed[1]["extension"]}
    assert offered[OFFERED_TIME_URL]["valueInstant"] == hold["start"]
    assert offered[life.HOLD_URL]["valueInstant"] == held_until(hold).isoformat()
    deliver(sender)
    assert [h["id"] for h in await holds(api, OLA)] == [hold["id"]]
    assert await holds(api, KARI) == []  # the loop did not offer the held time to the first in line as well
    assert [m["Subject"] for m in smtp.to("ola.nordmann@innbygger.example")] == ["Ledig time til deg"]  # one e-mail
    assert smtp.to("kari.nordmann@innbygger.example") == []
    accepted = await api.patch(
        f"/Appointment/{hold['id']}", json=[{"op": "replace", "path": "/status", "value": "pending"}], headers=bearer(OLA)
    )
    assert accepted.status_code == 200, accepted.text
    assert (await offer(api, ola["id"], slot["id"])).json()["id"] == hold["id"]  # a late repeat still finds it


async def test_an_offer_of_a_time_that_is_not_free_is_409_and_changes_nothing(api, database, sender, smtp):
    slot, aisha = await taken_by_aisha(api)
    kari = await wish(api, KARI, 1, slot["start"], slot["end"])
    ola = await wish(api, OLA, 2, slot["start"], slot["end"])
    booked = await offer(api, kari["id"], slot["id"])  # Aisha's booked time
    assert booked.status_code == 409 and rule_of(booked) == "slot-taken", booked.text
    await api.patch(f"/Appointment/{aisha['id']}", json=CANCEL, headers=bearer(FJORD_STAFF))
    assert (await offer(api, ola["id"], slot["id"])).status_code == 201
    held = await offer(api, kari["id"], slot["id"])  # now held for Ola
    assert held.status_code == 409 and rule_of(held) == "slot-held", held.text
    assert await holds(api, KARI) == []
    book_id, _, _ = await lab(api)
    later = (await free_slots(api, KARI, book_id, "2026-12-03", count=1))[0]
    waiting_no_more = await offer(api, ola["id"], later["id"])  # Ola's wish has its offer
    assert waiting_no_more.status_code == 409 and rule_of(waiting_no_more) == "not-waiting"


async def test_an_offer_is_refused_for_another_timebook_a_bad_body_or_a_citizen(api, database):
    slot, _ = await taken_by_aisha(api)
    kari = await wish(api, KARI, 1, slot["start"], slot["end"])
    vaccine = (await free_slots(api, KARI, await timebook(api, KARI, 1, "Vaksine"), "2026-12-03", count=1))[0]
    other = await offer(api, kari["id"], vaccine["id"])
    assert other.status_code == 422 and rule_of(other) == "wrong-slot"
    for body in ({"resourceType": "Patient"}, {"resourceType": "Parameters", "parameter": [{"name": "slot"}]}, []):
        bad = await api.post(f"/Appointment/{kari['id']}/$offer", json=body, headers=STAFF)
        assert bad.status_code == 400 and rule_of(bad) == "invalid-parameters", bad.text
    assert (await offer(api, kari["id"], slot["id"], token=KARI)).status_code == 404  # a citizen offers nothing
    assert (await offer(api, "waitlist-999", slot["id"])).status_code == 404
    assert (await offer(api, "12", slot["id"])).status_code == 404  # an appointment is no wish
    assert await holds(api, KARI) == []
    operations = next(r for r in fhir_json(await api.get("/metadata"))["rest"][0]["resource"] if r["type"] == "Appointment")
    assert "offer" in [o["name"] for o in operations["operation"]]


async def test_a_time_offered_by_hand_that_begins_within_the_window_is_held_only_until_it_begins(api, database, sender, smtp):
    """The desk may offer a time starting sooner than the window (it can phone the patient), but the hold never runs
    past the time's own start: after that it would keep a time nobody can come to."""
    slot, aisha = await taken_by_aisha(api)
    ola = await wish(api, OLA, 2, slot["start"], slot["end"])
    await api.patch(f"/Appointment/{aisha['id']}", json=CANCEL, headers=bearer(FJORD_STAFF))
    start = datetime.fromisoformat(slot["start"])
    clock.set_now(start - timedelta(minutes=20))  # the window is 30 minutes
    made = await offer(api, ola["id"], slot["id"])
    assert made.status_code == 201, made.text
    assert held_until(made.json()) == start
