"""Booking over the wire: request, confirm, decline, cancel, stale versions, and the inbox message of each step."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import FJORD_STAFF, KARI, OLA, bearer
from tests.fhir_validate import (
    CANCEL,
    answer,
    booking_request,
    fhir_json,
    free_slots,
    included,
    matches,
    outcome,
    snapshot,
    timebook,
)
from timebok.backend.messages import when

KARI_H, STAFF_H = bearer(KARI), bearer(FJORD_STAFF)


async def lab_slot(api, day: str = "2026-12-03", index: int = 0) -> dict:
    book = await timebook(api, KARI, 1, "Lab")
    return (await free_slots(api, KARI, book, day, count=index + 1))[index]


async def book(api, slot: dict, token: str = KARI, patient: int = 1, description: str | None = None) -> dict:
    response = await api.post("/Appointment", json=booking_request(slot["id"], patient, description), headers=bearer(token))
    return fhir_json(response, 201)


async def inbox(api, token: str = KARI, patient: int = 1) -> list[dict]:
    return matches(fhir_json(await api.get("/Communication", params={"recipient": f"Patient/{patient}"}, headers=bearer(token))))


async def slot_status(api, slot_id: str) -> str:
    return fhir_json(await api.get(f"/Slot/{slot_id}", headers=KARI_H))["status"]


def participant(appointment: dict, kind: str) -> dict:
    return next(p for p in appointment["participant"] if p["actor"]["reference"].startswith(f"{kind}/"))


def text(message: dict) -> str:
    return message["payload"][0]["contentString"]


async def test_a_citizen_books_a_free_time_as_a_pending_request(api):
    slot = await lab_slot(api)
    response = await api.post("/Appointment", json=booking_request(slot["id"], 1, "influensavaksine"), headers=KARI_H)
    appointment = fhir_json(response, 201)
    assert response.headers["etag"] == 'W/"1"' == f'W/"{appointment["meta"]["versionId"]}"'
    assert response.headers["location"] == f"http://testserver/fhir/Appointment/{appointment['id']}/_history/1"
    assert appointment["status"] == "pending"
    assert appointment["slot"] == [{"reference": f"Slot/{slot['id']}"}]
    assert (appointment["start"], appointment["end"]) == (slot["start"], slot["end"])
    assert appointment["description"] == "influensavaksine"
    assert appointment["serviceType"][0]["coding"][0]["code"] == "Lab"
    kari = fhir_json(await api.get("/Patient/1", headers=KARI_H))
    assert participant(appointment, "Patient") == {
        "actor": {"reference": "Patient/1", "identifier": kari["identifier"][0]},  # Helsenorge's patient by identifier
        "status": "accepted",
        "required": "required",
    }
    assert participant(appointment, "Organization")["actor"] == {"reference": "Organization/1"}
    assert participant(appointment, "Organization")["status"] == "needs-action"
    assert participant(appointment, "Location")["required"] == "information-only"
    assert await slot_status(api, slot["id"]) == "busy-tentative"

    message = (await inbox(api))[0]
    assert message["topic"]["text"] == "Timeforespørselen er sendt"
    assert message["about"] == [{"reference": f"Appointment/{appointment['id']}"}]
    assert message["sender"] == {"reference": "Organization/1"} and message["recipient"] == [{"reference": "Patient/1"}]
    body = text(message)
    assert "sendt til Fjordsiden legekontor" in body and "bekrefte eller avvise" in body
    assert "time til laboratoriet" in body and when(datetime.fromisoformat(slot["start"])) in body
    assert "torsdag 3. desember 2026 kl. " in body


async def test_the_request_is_in_the_offices_queue_and_readable_with_its_version(api):
    appointment = await book(api, await lab_slot(api))
    queue = fhir_json(await api.get("/Appointment", params={"status": "pending", "date": "ge2026-11-25"}, headers=STAFF_H))
    pending = matches(queue)
    assert appointment["id"] in [a["id"] for a in pending] and queue["total"] == len(pending)
    assert all(a["status"] == "pending" and a["start"] >= "2026-11-25" for a in pending)
    assert [a["start"] for a in pending] == sorted(a["start"] for a in pending)
    assert {participant(a, "Organization")["actor"]["reference"] for a in pending} == {"Organization/1"}
    read = await api.get(f"/Appointment/{appointment['id']}", headers=STAFF_H)
    assert fhir_json(read) == appointment and read.headers["etag"] == 'W/"1"'


async def test_the_office_confirms_and_the_time_is_booked(api):
    slot = await lab_slot(api)
    appointment = await book(api, slot)
    response = await api.post("/AppointmentResponse", json=answer(appointment["id"], "accepted"), headers=STAFF_H)
    reply = fhir_json(response, 201)
    assert reply["participantStatus"] == "accepted" and reply["actor"] == {"reference": "Organization/1"}
    assert reply["appointment"] == {"reference": f"Appointment/{appointment['id']}"}
    assert response.headers["location"].endswith(f"/AppointmentResponse/{reply['id']}")

    read = await api.get(f"/Appointment/{appointment['id']}", headers=KARI_H)
    booked = fhir_json(read)
    assert booked["status"] == "booked" and read.headers["etag"] == 'W/"2"' and booked["meta"]["versionId"] == "2"
    assert participant(booked, "Organization")["status"] == "accepted"
    assert await slot_status(api, slot["id"]) == "busy"
    newest, previous = (await inbox(api))[:2]  # newest first
    assert newest["topic"]["text"] == "Timen er bekreftet" and previous["topic"]["text"] == "Timeforespørselen er sendt"
    assert "Fjordsiden legekontor har bekreftet timen din" in text(newest) and "Fjordsiden legekontor" in text(newest)
    assert newest["about"] == [{"reference": f"Appointment/{appointment['id']}"}]


async def test_the_office_declines_with_a_reason_and_the_time_is_free_again(api):
    slot = await lab_slot(api)
    appointment = await book(api, slot)
    reason = "Legen er på kurs denne dagen, velg en annen time"
    reply = fhir_json(
        await api.post("/AppointmentResponse", json=answer(appointment["id"], "declined", reason), headers=STAFF_H), 201
    )
    assert reply["participantStatus"] == "declined" and reply["comment"] == reason
    cancelled = fhir_json(await api.get(f"/Appointment/{appointment['id']}", headers=KARI_H))
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelationReason"]["coding"][0]["code"] == "prov"
    assert cancelled["cancelationReason"]["text"] == reason
    assert await slot_status(api, slot["id"]) == "free"
    message = (await inbox(api))[0]
    assert message["topic"]["text"] == "Timeforespørselen er avvist"
    assert "har avvist timeforespørselen din" in text(message) and f"Begrunnelse: {reason}" in text(message)
    # Free means bookable: another patient gets the time at once.
    assert (await book(api, slot, OLA, 2))["status"] == "pending"


async def test_declining_without_a_reason_is_refused_and_changes_nothing(api, database):
    appointment = await book(api, await lab_slot(api))
    before = snapshot(database)
    for comment in (None, "   "):
        diagnostics = outcome(
            await api.post("/AppointmentResponse", json=answer(appointment["id"], "declined", comment), headers=STAFF_H),
            400,
            "invalid",
        )
        assert "reason" in diagnostics
    assert snapshot(database) == before


async def test_the_citizen_cancels_with_if_match_and_the_time_is_free(api):
    slot = await lab_slot(api)
    appointment = await book(api, slot)
    response = await api.patch(f"/Appointment/{appointment['id']}", json=CANCEL, headers=KARI_H | {"If-Match": 'W/"1"'})
    cancelled = fhir_json(response)
    assert cancelled["status"] == "cancelled" and response.headers["etag"] == 'W/"2"'
    assert cancelled["cancelationReason"]["coding"][0]["code"] == "pat-cpp"
    assert participant(cancelled, "Patient")["status"] == "declined"
    assert await slot_status(api, slot["id"]) == "free"
    message = (await inbox(api))[0]
    assert message["topic"]["text"] == "Timen er avbestilt" and text(message).startswith("Du har avbestilt timen")
    assert when(datetime.fromisoformat(slot["start"])) in text(message)


async def test_a_booked_time_can_be_cancelled_by_put_with_a_reason(api):
    slot = await lab_slot(api)
    appointment = await book(api, slot)
    fhir_json(await api.post("/AppointmentResponse", json=answer(appointment["id"], "accepted"), headers=STAFF_H), 201)
    current = fhir_json(await api.get(f"/Appointment/{appointment['id']}", headers=KARI_H))
    change = current | {"status": "cancelled", "cancelationReason": {"text": "Frisk igjen"}}
    cancelled = fhir_json(await api.put(f"/Appointment/{appointment['id']}", json=change, headers=KARI_H | {"If-Match": 'W/"2"'}))
    assert cancelled["status"] == "cancelled" and cancelled["meta"]["versionId"] == "3"
    assert cancelled["cancelationReason"] == {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason", "code": "pat-cpp"}],
        "text": "Frisk igjen",
    }
    assert await slot_status(api, slot["id"]) == "free"


async def test_the_office_cancelling_tells_the_patient_it_was_the_office(api):
    appointment = await book(api, await lab_slot(api))
    cancelled = fhir_json(
        await api.patch(f"/Appointment/{appointment['id']}", json=CANCEL, headers=STAFF_H | {"If-Match": 'W/"1"'})
    )
    assert cancelled["cancelationReason"]["coding"][0]["code"] == "pat"
    assert text((await inbox(api))[0]).startswith("Fjordsiden legekontor har avbestilt timen")


async def test_a_stale_if_match_is_412_and_changes_nothing(api, database):
    slot = await lab_slot(api)
    appointment = await book(api, slot)
    fhir_json(await api.post("/AppointmentResponse", json=answer(appointment["id"], "accepted"), headers=STAFF_H), 201)
    before = snapshot(database)
    for method, body in ((api.patch, CANCEL), (api.put, appointment | {"status": "cancelled"})):
        diagnostics = outcome(
            await method(f"/Appointment/{appointment['id']}", json=body, headers=KARI_H | {"If-Match": 'W/"1"'}), 412
        )
        assert "read it again" in diagnostics
    assert snapshot(database) == before
    read = await api.get(f"/Appointment/{appointment['id']}", headers=KARI_H)
    assert fhir_json(read)["status"] == "booked" and read.headers["etag"] == 'W/"2"'
    assert await slot_status(api, slot["id"]) == "busy"
    assert (await inbox(api))[0]["topic"]["text"] == "Timen er bekreftet"


async def test_cancelling_twice_is_a_conflict(api):
    appointment = await book(api, await lab_slot(api))
    path = f"/Appointment/{appointment['id']}"
    fhir_json(await api.patch(path, json=CANCEL, headers=KARI_H | {"If-Match": 'W/"1"'}))
    assert "cancelled" in outcome(await api.patch(path, json=CANCEL, headers=KARI_H | {"If-Match": 'W/"2"'}), 409, "conflict")


@pytest.mark.parametrize("status", ["accepted", "declined"])
async def test_a_request_the_patient_cancelled_can_no_longer_be_answered(api, database, status):
    slot = await lab_slot(api)
    appointment = await book(api, slot)
    fhir_json(await api.patch(f"/Appointment/{appointment['id']}", json=CANCEL, headers=KARI_H))
    before = snapshot(database)
    response = await api.post("/AppointmentResponse", json=answer(appointment["id"], status, "Beklager"), headers=STAFF_H)
    assert "already been answered or cancelled" in outcome(response, 409, "conflict")
    assert snapshot(database) == before


async def test_a_started_appointment_cannot_be_cancelled(api, database):
    past = [a for a in matches(fhir_json(await api.get("/Appointment", headers=KARI_H))) if a["start"] < "2026-11-25"]
    assert past, "the demo gives Kari a past appointment"
    before = snapshot(database)
    response = await api.patch(f"/Appointment/{past[0]['id']}", json=CANCEL, headers=KARI_H)
    assert "started" in outcome(response, 422, "business-rule")
    assert snapshot(database) == before


async def test_staff_book_on_behalf_of_a_patient_who_gets_the_message(api):
    slot = await lab_slot(api)
    appointment = await book(api, slot, FJORD_STAFF, 2, "Ringte inn, vondt i halsen")
    assert participant(appointment, "Patient")["actor"]["reference"] == "Patient/2"
    message = (await inbox(api, OLA, 2))[0]
    assert message["topic"]["text"] == "Timeforespørselen er sendt" and "time til laboratoriet" in text(message)
    about = {"reference": f"Appointment/{appointment['id']}"}
    assert all(about not in m.get("about", []) for m in await inbox(api))  # Kari's inbox is not Ola's


async def test_a_citizens_appointment_search_lists_their_own_in_start_order(api):
    mine = await book(api, await lab_slot(api))
    bundle = fhir_json(await api.get("/Appointment", params={"patient": "Patient/1"}, headers=KARI_H))
    found = matches(bundle)
    assert mine["id"] in [a["id"] for a in found] and bundle["total"] == len(found) >= 2
    assert {participant(a, "Patient")["actor"]["reference"] for a in found} == {"Patient/1"}
    assert [a["start"] for a in found] == sorted(a["start"] for a in found)
    upcoming = matches(fhir_json(await api.get("/Appointment", params={"date": "ge2026-11-25"}, headers=KARI_H)))
    assert [a["id"] for a in upcoming] == [a["id"] for a in found if a["start"] >= "2026-11-25"]


async def test_appointment_search_includes_place_office_and_patient(api):
    bundle = fhir_json(
        await api.get("/Appointment", params={"status": "booked", "_include": "Appointment:actor"}, headers=STAFF_H)
    )
    kinds = {r["resourceType"] for r in included(bundle)}
    assert kinds == {"Location", "Organization", "Patient"}
    assert all(a["status"] == "booked" for a in matches(bundle))


async def test_the_inbox_is_newest_first(api):
    appointment = await book(api, await lab_slot(api))
    fhir_json(await api.post("/AppointmentResponse", json=answer(appointment["id"], "accepted"), headers=STAFF_H), 201)
    messages = await inbox(api)
    assert [m["sent"] for m in messages] == sorted((m["sent"] for m in messages), reverse=True)
    assert [m["category"][0]["coding"][0]["code"] for m in messages[:2]] == ["confirmed", "request-sent"]


async def test_a_citizen_reads_their_own_patient_record(api):
    me = fhir_json(await api.get("/Patient/1", headers=KARI_H))
    assert me["name"][0]["text"] == "Kari Nordmann" and me["generalPractitioner"] == [{"reference": "Organization/1"}]
    assert len(me["identifier"][0]["value"]) == 11


async def test_a_citizen_cannot_book_inside_the_timebooks_lead_time_but_the_front_desk_can(api):
    # Now is 09:00; the Lab timebook's lead time is 2 hours (the default), so 10:00 today is too soon.
    soon = [
        s
        for s in await free_slots(api, KARI, await timebook(api, KARI, 1, "Lab"), "2026-11-25", count=50)
        if "T09:" in s["start"] or "T10:" in s["start"]
    ]
    assert len(soon) >= 2, "the seed has free Lab times within two hours of now"
    response = await api.post("/Appointment", json=booking_request(soon[0]["id"], 1, None), headers=bearer(KARI))
    outcome = fhir_json(response, 422)
    issue = outcome["issue"][0]
    assert issue["code"] == "business-rule" and issue["details"]["coding"][0]["code"] == "too-soon"
    assert await slot_status(api, soon[0]["id"]) == "free"  # nothing was written
    staff = await api.post("/Appointment", json=booking_request(soon[1]["id"], 1, None), headers=bearer(FJORD_STAFF))
    assert fhir_json(staff, 201)["status"] == "pending"


async def test_booking_a_time_that_is_not_in_any_timebook_names_the_rule_and_writes_nothing(api):
    """A removed time (or a stale link) is refused with its own rule, so a client can send the user back to pick
    anew; an unknown patient stays plain «not found»."""
    response = await api.post("/Appointment", json=booking_request("999999", 1, None), headers=bearer(KARI))
    issue = fhir_json(response, 422)["issue"][0]
    assert issue["code"] == "not-found" and issue["details"]["coding"][0]["code"] == "slot-gone"
    mine = fhir_json(await api.get("/Appointment", headers=KARI_H))
    assert all(e["resource"]["slot"][0]["reference"] != "Slot/999999" for e in mine.get("entry", []))


async def test_a_timebook_tells_its_lead_time(api):
    book = fhir_json(await api.get(f"/Schedule/{await timebook(api, KARI, 1, 'Lab')}", headers=KARI_H))
    (lead,) = [e for e in book["extension"] if e["url"].endswith("booking-lead-time")]
    assert lead["valueDuration"]["value"] == 120 and lead["valueDuration"]["code"] == "min"


async def test_the_request_message_names_the_office_once_and_the_type_as_the_app_does(api):
    slot = await lab_slot(api)
    await book(api, slot)
    body = text((await inbox(api))[0])
    assert body.count("Fjordsiden legekontor") == 1, body
    assert "om time til laboratoriet" in body
