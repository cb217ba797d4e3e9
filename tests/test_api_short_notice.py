"""«Kan komme på kort varsel» (issue 25): a freed time is held for the first in line and offered by inbox and e-mail;
no one else can take it meanwhile; letting it go or letting it expire offers it to the next; two freed times go to
the first two. Both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import FJORD_STAFF, KARI, OLA, bearer
from tests.fhir_validate import CANCEL, answer, booking_request, fhir_json, free_slots, timebook
from tests.notice_sinks import SmtpSink
from timebok.backend import short_notice
from timebok.backend.channels import SmtpChannel
from timebok.backend.sender import Sender
from timebok.domain import clock

AISHA = "demo-citizen-aisha"


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def sender(database, smtp):
    made = Sender(database, {"email": SmtpChannel(smtp.url)})
    yield made
    made.stop()


def deliver(sender: Sender) -> None:
    while sender.run_once():
        pass


async def lab(api) -> tuple[str, str, str]:
    """The Lab timebook's id, HealthcareService and Location."""
    book = await timebook(api, KARI, 1, "Lab")
    schedule = fhir_json(await api.get(f"/Schedule/{book}", headers=bearer(KARI)))
    actors = [a["reference"] for a in schedule["actor"]]
    service = next(a for a in actors if a.startswith("HealthcareService/"))
    place = next(a for a in actors if a.startswith("Location/"))
    return book, service, place


async def taken_by_aisha(api, index: int = 0) -> tuple[dict, dict]:
    book, _, _ = await lab(api)
    slot = (await free_slots(api, AISHA, book, "2026-12-03", count=index + 1))[index]
    made = fhir_json(await api.post("/Appointment", json=booking_request(slot["id"], 3), headers=bearer(AISHA)), 201)
    fhir_json(await api.post("/AppointmentResponse", json=answer(made["id"], "accepted"), headers=bearer(FJORD_STAFF)), 201)
    return slot, made


async def wish(api, token: str, patient: int, start: str, end: str) -> dict:
    _, service, place = await lab(api)
    body = {
        "resourceType": "Appointment",
        "status": "waitlist",
        "serviceType": [{"coding": [{"code": "Lab"}]}],
        "requestedPeriod": [{"start": start, "end": end}],
        "participant": [
            {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
            {"actor": {"reference": service}, "status": "needs-action"},
            {"actor": {"reference": place}, "status": "needs-action"},
        ],
    }
    response = await api.post("/Appointment", json=body, headers=bearer(token))
    assert response.status_code in (200, 201), response.text
    return response.json()


async def holds(api, token: str) -> list[dict]:
    bundle = fhir_json(await api.get("/Appointment", params={"status": "proposed"}, headers=bearer(token)))
    return [e["resource"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode", "match") == "match"]


async def test_a_freed_time_is_held_for_the_first_in_line_and_no_one_else_can_take_it(api, database, sender, smtp):
    slot, aisha = await taken_by_aisha(api)
    first = await wish(api, KARI, 1, slot["start"], slot["end"])
    assert first["status"] == "waitlist" and first["id"].startswith("waitlist-")
    assert await wish(api, KARI, 1, slot["start"], slot["end"]) == first  # sent again: the same wish
    await wish(api, OLA, 2, slot["start"], slot["end"])
    deliver(sender)
    assert await holds(api, KARI) == [] and smtp.to("kari.nordmann@innbygger.example") == []  # nothing free yet
    assert (await api.patch(f"/Appointment/{aisha['id']}", json=CANCEL, headers=bearer(AISHA))).status_code == 200
    deliver(sender)
    (offer,) = await holds(api, KARI)
    assert offer["slot"] == [{"reference": f"Slot/{slot['id']}"}]
    assert await holds(api, OLA) == []
    assert [m["Subject"] for m in smtp.to("kari.nordmann@innbygger.example")] == ["Ledig time til deg"]
    taken = await api.post("/Appointment", json=booking_request(slot["id"], 2), headers=bearer(OLA))
    assert taken.status_code == 409  # held for Kari
    accept = [{"op": "replace", "path": "/status", "value": "pending"}]
    accepted = await api.patch(f"/Appointment/{offer['id']}", json=accept, headers=bearer(KARI))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "pending"
    deliver(sender)
    assert await holds(api, OLA) == []  # taken: not offered on


async def test_letting_it_go_or_letting_it_expire_offers_it_to_the_next_in_line(api, database, sender, smtp):
    slot, aisha = await taken_by_aisha(api)
    await wish(api, KARI, 1, slot["start"], slot["end"])
    await wish(api, OLA, 2, slot["start"], slot["end"])
    await wish(api, AISHA, 3, slot["start"], slot["end"])
    await api.patch(f"/Appointment/{aisha['id']}", json=CANCEL, headers=bearer(FJORD_STAFF))
    deliver(sender)
    (kari,) = await holds(api, KARI)
    assert (await api.delete(f"/Appointment/{kari['id']}", headers=bearer(KARI))).status_code in (200, 204)
    deliver(sender)
    (ola,) = await holds(api, OLA)
    clock.set_now(clock.now() + timedelta(minutes=short_notice.OFFER_MINUTES + 1))
    deliver(sender)
    assert await holds(api, OLA) == []
    (third,) = await holds(api, AISHA)
    assert third["slot"] == ola["slot"] == kari["slot"]


async def test_two_freed_times_go_to_the_first_two_in_line(api, database, sender, smtp):
    one, first = await taken_by_aisha(api, 0)
    two, second = await taken_by_aisha(api, 0)  # the next free time, right after the first
    await wish(api, KARI, 1, one["start"], two["end"])
    await wish(api, OLA, 2, one["start"], two["end"])
    for made in (first, second):
        await api.patch(f"/Appointment/{made['id']}", json=CANCEL, headers=bearer(FJORD_STAFF))
    deliver(sender)
    (kari,) = await holds(api, KARI)
    (ola,) = await holds(api, OLA)
    assert kari["slot"] == [{"reference": f"Slot/{one['id']}"}] and ola["slot"] == [{"reference": f"Slot/{two['id']}"}]
    assert datetime.fromisoformat(kari["start"]) < datetime.fromisoformat(ola["start"])


async def test_two_instances_offering_at_once_make_each_offer_once(api, database):
    import threading

    one, first = await taken_by_aisha(api, 0)
    two, second = await taken_by_aisha(api, 0)
    await wish(api, KARI, 1, one["start"], two["end"])
    await wish(api, OLA, 2, one["start"], two["end"])
    for made in (first, second):
        await api.patch(f"/Appointment/{made['id']}", json=CANCEL, headers=bearer(FJORD_STAFF))
    start = threading.Barrier(3)
    made_offers: list[int] = []

    def instance() -> None:
        start.wait()
        made_offers.append(short_notice.run(database))

    threads = [threading.Thread(target=instance) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(made_offers) == 2
    kari, ola = await holds(api, KARI), await holds(api, OLA)
    assert len(kari) == len(ola) == 1 and kari[0]["slot"] != ola[0]["slot"]
