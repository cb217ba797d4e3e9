"""The appointment's whole life over the wire: holds, changes, the deadline, unanswered requests and attendance."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import FJORD_STAFF, KARI, OLA, bearer
from tests.fhir_validate import CANCEL, answer, booking_request, fhir_json, free_slots, matches, outcome, snapshot, timebook
from tests.test_api_booking import inbox, slot_status, text
from timebok.backend import schema
from timebok.domain import appointment_life as life
from timebok.domain.clock import OSLO, set_now

KARI_H, OLA_H, STAFF_H = bearer(KARI), bearer(OLA), bearer(FJORD_STAFF)


def ext(resource: dict, url: str) -> dict | None:
    return next((e for e in resource.get("extension", []) if e["url"] == url), None)


def rule(response) -> str:
    return response.json()["issue"][0]["details"]["coding"][0]["code"]


def hold_body(slot_id: str, patient: int = 1, replaces: str | None = None) -> dict:
    body = booking_request(slot_id, patient) | {"status": "proposed"}
    if replaces:
        body["extension"] = [{"url": life.REPLACES_URL, "valueReference": {"reference": f"Appointment/{replaces}"}}]
    return body


def change_body(slot_id: str, old_id: str, patient: int = 1, status: str = "pending", override: str | None = None) -> dict:
    body = booking_request(slot_id, patient) | {"status": status}
    body["extension"] = [{"url": life.REPLACES_URL, "valueReference": {"reference": f"Appointment/{old_id}"}}]
    if override:
        body["extension"].append({"url": life.OVERRIDE_URL, "valueCoding": {"system": life.OVERRIDE_SYSTEM, "code": override}})
    return body


async def lab(api) -> str:
    return await timebook(api, KARI, 1, "Lab")


async def slot_on(api, day: str, index: int = 0) -> dict:
    return (await free_slots(api, KARI, await lab(api), day, count=index + 1))[index]


async def post(api, body: dict, headers: dict, status: int = 201) -> dict:
    return fhir_json(await api.post("/Appointment", json=body, headers=headers), status)


async def read(api, appointment_id: str, headers: dict = KARI_H) -> dict:
    return fhir_json(await api.get(f"/Appointment/{appointment_id}", headers=headers))


async def booked(api, day: str, patient: int = 1, headers: dict = KARI_H, index: int = 0) -> dict:
    """A confirmed time: the citizen's request, accepted by the office."""
    slot = await slot_on(api, day, index)
    request = await post(api, booking_request(slot["id"], patient), headers)
    fhir_json(await api.post("/AppointmentResponse", json=answer(request["id"], "accepted"), headers=STAFF_H), 201)
    return await read(api, request["id"], headers)


async def free_ids(api, day: str) -> set[str]:
    return {s["id"] for s in await free_slots(api, KARI, await lab(api), day, count=200)}


def set_schedule(database, **values) -> None:
    with database.writing() as session:
        session.execute(update(schema.Schedule).values(**values))


# -- holds ---------------------------------------------------------------------------------------------------------


async def test_a_hold_keeps_the_time_from_others_until_it_becomes_the_request(api, database):
    slot = await slot_on(api, "2026-12-03")
    hold = await post(api, hold_body(slot["id"]), KARI_H)
    assert hold["status"] == "proposed"
    assert ext(hold, life.HOLD_URL)["valueInstant"] == "2026-11-25T09:05:00+01:00"  # the setup's 5 minutes
    assert await slot_status(api, slot["id"]) == "busy-tentative"
    assert slot["id"] not in await free_ids(api, "2026-12-03")
    # Another desk sees it held (not requested) and until when, in the slot itself and in a search.
    read_slot = fhir_json(await api.get(f"/Slot/{slot['id']}", headers=STAFF_H))
    assert ext(read_slot, life.HOLD_URL)["valueInstant"] == "2026-11-25T09:05:00+01:00"
    params = {"schedule": f"Schedule/{await lab(api)}", "status": "busy-tentative", "start": "ge2026-12-03"}
    held = [s for s in matches(fhir_json(await api.get("/Slot", params=params, headers=STAFF_H))) if ext(s, life.HOLD_URL)]
    assert [s["id"] for s in held] == [slot["id"]]

    before = snapshot(database)
    refused = await api.post("/Appointment", json=booking_request(slot["id"], 2), headers=OLA_H)
    assert "held for someone else until 2026-11-25T09:05:00+01:00" in outcome(refused, 409, "conflict")
    assert rule(refused) == "slot-held"
    assert snapshot(database) == before
    assert [m["topic"]["text"] for m in await inbox(api)][:1] != ["Timeforespørselen er sendt"]  # a hold tells nobody

    sent = fhir_json(
        await api.put(
            f"/Appointment/{hold['id']}",
            json=hold | {"status": "pending", "description": "influensavaksine"},
            headers=KARI_H | {"If-Match": 'W/"1"'},
        )
    )
    assert (sent["id"], sent["status"], sent["description"]) == (hold["id"], "pending", "influensavaksine")
    assert ext(sent, life.HOLD_URL) is None
    assert await slot_status(api, slot["id"]) == "busy-tentative"
    assert (await inbox(api))[0]["topic"]["text"] == "Timeforespørselen er sendt"


async def test_a_hold_ends_by_itself_and_a_read_after_it_sees_the_time_free(api, database):
    slot = await slot_on(api, "2026-12-03")
    hold = await post(api, hold_body(slot["id"]), KARI_H)
    month = {"schedule": f"Schedule/{await lab(api)}", "status": "free", "start": ["ge2026-12-01", "lt2027-01-01"]}
    held = await api.get("/Slot", params=month, headers=OLA_H)
    assert slot["id"] not in {s["id"] for s in matches(fhir_json(held))}

    set_now(datetime(2026, 11, 25, 9, 5, 1, tzinfo=OSLO))  # no job runs: only the clock moved
    again = await api.get("/Slot", params=month, headers=OLA_H | {"If-None-Match": held.headers["etag"]})
    assert again.status_code == 200 and again.headers["etag"] != held.headers["etag"]
    assert slot["id"] in {s["id"] for s in matches(fhir_json(again))}
    assert await slot_status(api, slot["id"]) == "free"

    taken = await post(api, booking_request(slot["id"], 2), OLA_H)  # Ola takes the time the hold left
    assert taken["status"] == "pending"
    ended = await read(api, hold["id"])
    assert ended["status"] == "cancelled"
    assert ended["cancelationReason"]["coding"][0] == {"system": life.CANCEL_SYSTEM, "code": "hold-ended"}
    late = await api.put(f"/Appointment/{hold['id']}", json=hold | {"status": "pending"}, headers=KARI_H)
    assert "cannot move from cancelled to pending" in outcome(late, 409, "conflict")
    assert rule(late) == "illegal-transition"


async def test_an_expired_hold_nobody_took_still_becomes_the_request(api):
    slot = await slot_on(api, "2026-12-03")
    hold = await post(api, hold_body(slot["id"]), KARI_H)
    set_now(datetime(2026, 11, 25, 9, 7, tzinfo=OSLO))
    sent = fhir_json(await api.put(f"/Appointment/{hold['id']}", json=hold | {"status": "pending"}, headers=KARI_H))
    assert sent["status"] == "pending"
    assert await slot_status(api, slot["id"]) == "busy-tentative"


@pytest.mark.parametrize("how", ["delete", "cancel"])
async def test_going_back_releases_the_hold(api, how):
    slot = await slot_on(api, "2026-12-03")
    hold = await post(api, hold_body(slot["id"]), KARI_H)
    if how == "delete":
        response = await api.delete(f"/Appointment/{hold['id']}", headers=KARI_H | {"If-Match": 'W/"1"'})
        assert response.status_code == 204
    else:
        fhir_json(await api.patch(f"/Appointment/{hold['id']}", json=CANCEL, headers=KARI_H))
    assert await slot_status(api, slot["id"]) == "free"
    assert (await read(api, hold["id"]))["status"] == "cancelled"
    await post(api, booking_request(slot["id"], 2), OLA_H)


async def test_the_desk_books_its_hold_and_a_citizen_may_not_book_directly(api, database):
    slot, other = (await free_slots(api, KARI, await lab(api), "2026-12-03", count=2))[:2]
    hold = await post(api, hold_body(slot["id"]), STAFF_H)
    second_desk = bearer("race-second-helsesekretaer")
    with database.writing() as session:  # another desk of the same office, with a token of its own
        session.add(schema.AccessToken(token="race-second-helsesekretaer", role="staff", name="Desk 2", organization_id=1))
    refused = await api.post("/Appointment", json=booking_request(slot["id"], 2), headers=second_desk)
    assert rule(refused) == "slot-held"
    done = fhir_json(await api.put(f"/Appointment/{hold['id']}", json=hold | {"status": "booked"}, headers=STAFF_H))
    assert done["status"] == "booked" and await slot_status(api, slot["id"]) == "busy"
    assert (await inbox(api))[0]["topic"]["text"] == "Timen er bekreftet"

    mine = await post(api, hold_body(other["id"]), KARI_H)
    before = snapshot(database)
    outcome(await api.put(f"/Appointment/{mine['id']}", json=mine | {"status": "booked"}, headers=KARI_H), 403, "forbidden")
    outcome(await api.post("/Appointment", json=booking_request(other["id"], 1) | {"status": "booked"}, headers=KARI_H), 403)
    assert snapshot(database) == before


async def test_the_hold_minutes_come_from_the_setup(api, database):
    set_schedule(database, hold_minutes=10)
    hold = await post(api, hold_body((await slot_on(api, "2026-12-03"))["id"]), KARI_H)
    assert ext(hold, life.HOLD_URL)["valueInstant"] == "2026-11-25T09:10:00+01:00"


# -- changes -------------------------------------------------------------------------------------------------------


async def test_a_citizen_keeps_the_old_time_until_the_change_is_confirmed(api):
    old = await booked(api, "2026-12-03")
    new_slot = await slot_on(api, "2026-12-04")
    change = await post(api, change_body(new_slot["id"], old["id"]), KARI_H)
    assert change["status"] == "pending"
    assert ext(change, life.REPLACES_URL)["valueReference"] == {"reference": f"Appointment/{old['id']}"}
    assert (await read(api, old["id"]))["status"] == "booked"
    said = await inbox(api)
    assert said[0]["topic"]["text"] == "Endringen er sendt" and "Du beholder timen" in text(said[0])

    fhir_json(await api.post("/AppointmentResponse", json=answer(change["id"], "accepted"), headers=STAFF_H), 201)
    assert (await read(api, change["id"]))["status"] == "booked"
    moved = await read(api, old["id"])
    assert moved["status"] == "cancelled"
    assert moved["cancelationReason"]["coding"][0] == {"system": life.CANCEL_SYSTEM, "code": "moved"}
    assert await slot_status(api, old["slot"][0]["reference"].split("/")[1]) == "free"
    assert (await inbox(api))[0]["topic"]["text"] == "Timen er flyttet"


async def test_a_rejected_change_leaves_the_old_time_as_it_was(api):
    old = await booked(api, "2026-12-03")
    change = await post(api, change_body((await slot_on(api, "2026-12-04"))["id"], old["id"]), KARI_H)
    fhir_json(await api.post("/AppointmentResponse", json=answer(change["id"], "declined", "Fullt"), headers=STAFF_H), 201)
    assert (await read(api, old["id"])) == old
    said = (await inbox(api))[0]
    assert said["topic"]["text"] == "Endringen er avvist" and "Du beholder" in text(said) and "Fullt" in text(said)


async def test_the_desk_moves_a_time_at_once(api):
    old = await booked(api, "2026-12-03")
    new_slot = await slot_on(api, "2026-12-04")
    new = await post(api, change_body(new_slot["id"], old["id"], status="booked"), STAFF_H)
    assert new["status"] == "booked" and await slot_status(api, new_slot["id"]) == "busy"
    assert (await read(api, old["id"]))["status"] == "cancelled"
    assert (await inbox(api))[0]["topic"]["text"] == "Timen er flyttet"


async def test_the_desk_moves_a_time_onto_the_time_it_holds_with_no_moment_between_for_another(api, database):
    """The desk held the new time while choosing; the change books that very time, the hold ending in the same
    transaction (before, the desk gave the hold back first: one round trip in which another desk could take it)."""
    old = await booked(api, "2026-12-03")
    new_slot = await slot_on(api, "2026-12-04")
    hold = await post(api, hold_body(new_slot["id"]), STAFF_H)
    # The same desk's hold is for this patient only: booking the time for someone else is still refused.
    outcome(await api.post("/Appointment", json=booking_request(new_slot["id"], 2) | {"status": "booked"}, headers=STAFF_H), 409)
    new = await post(api, change_body(new_slot["id"], old["id"], status="booked"), STAFF_H)
    assert new["status"] == "booked" and await slot_status(api, new_slot["id"]) == "busy"
    assert (await read(api, hold["id"]))["status"] == "cancelled"
    assert (await read(api, old["id"]))["status"] == "cancelled"
    assert (await inbox(api))[0]["topic"]["text"] == "Timen er flyttet"


async def test_one_change_at_a_time_and_a_cancel_withdraws_the_waiting_change(api, database):
    old = await booked(api, "2026-12-03")
    first, second = (await free_slots(api, KARI, await lab(api), "2026-12-04", count=2))[:2]
    change = await post(api, change_body(first["id"], old["id"]), KARI_H)
    before = snapshot(database)
    again = await api.post("/Appointment", json=change_body(second["id"], old["id"]), headers=KARI_H)
    assert rule(again) == "change-pending" and f"Appointment/{change['id']}" in outcome(again, 409)
    assert snapshot(database) == before

    fhir_json(await api.patch(f"/Appointment/{old['id']}", json=CANCEL, headers=KARI_H))
    withdrawn = await read(api, change["id"])
    assert withdrawn["status"] == "cancelled" and withdrawn["cancelationReason"]["coding"][0]["code"] == "change-withdrawn"
    assert await slot_status(api, first["id"]) == "free"


async def test_a_change_of_someone_elses_or_a_cancelled_time_is_refused(api, database):
    old = await booked(api, "2026-12-03")
    slot = await slot_on(api, "2026-12-04")
    before = snapshot(database)
    outcome(await api.post("/Appointment", json=change_body(slot["id"], old["id"], patient=2), headers=OLA_H), 422)
    fhir_json(await api.patch(f"/Appointment/{old['id']}", json=CANCEL, headers=KARI_H))
    gone = await api.post("/Appointment", json=change_body(slot["id"], old["id"]), headers=KARI_H)
    assert "cancelled and cannot be changed" in outcome(gone, 409)
    assert snapshot(database)["slots"] != before["slots"]  # only the cancel freed a slot; the changes wrote nothing
    assert await slot_status(api, slot["id"]) == "free"


# -- the deadline --------------------------------------------------------------------------------------------------


async def test_past_the_deadline_a_citizen_is_refused_and_the_desk_overrides_with_a_reason(api, database):
    soon = await booked(api, "2026-11-26")  # tomorrow morning: inside the demo's 24 hours
    deadline = ext(soon, life.DEADLINE_URL)["valueDateTime"]
    assert datetime.fromisoformat(deadline) == datetime.fromisoformat(soon["start"]) - timedelta(hours=24)
    before = snapshot(database)
    refused = await api.patch(f"/Appointment/{soon['id']}", json=CANCEL, headers=KARI_H)
    assert deadline[:16] in outcome(refused, 422, "business-rule") and rule(refused) == "change-deadline"
    change = await api.post(
        "/Appointment", json=change_body((await slot_on(api, "2026-12-04"))["id"], soon["id"]), headers=KARI_H
    )
    assert rule(change) == "change-deadline"
    staff_plain = await api.patch(f"/Appointment/{soon['id']}", json=CANCEL, headers=STAFF_H)
    assert rule(staff_plain) == "change-deadline" and "override" in outcome(staff_plain, 422)
    assert snapshot(database) == before

    reason = {"coding": [{"system": life.OVERRIDE_SYSTEM, "code": "sykdom"}], "text": "Pasienten ringte, syk"}
    body = CANCEL + [{"op": "add", "path": "/cancelationReason", "value": reason}]
    done = fhir_json(await api.patch(f"/Appointment/{soon['id']}", json=body, headers=STAFF_H))
    assert done["status"] == "cancelled"
    with database.reading() as session:
        trail = session.scalars(select(schema.AuditEvent.detail).where(schema.AuditEvent.action == "override")).all()
    assert trail == [f"Appointment/{soon['id']} change-deadline sykdom"]


async def test_the_desk_moves_a_time_past_the_deadline_with_a_reason(api):
    soon = await booked(api, "2026-11-26")
    slot = await slot_on(api, "2026-12-04")
    refused = await api.post("/Appointment", json=change_body(slot["id"], soon["id"], status="booked"), headers=STAFF_H)
    assert rule(refused) == "change-deadline"
    moved = await post(api, change_body(slot["id"], soon["id"], status="booked", override="kontoret"), STAFF_H)
    assert moved["status"] == "booked" and (await read(api, soon["id"]))["status"] == "cancelled"


async def test_a_pending_request_can_always_be_withdrawn(api):
    slot = await slot_on(api, "2026-11-26")
    request = await post(api, booking_request(slot["id"], 1), KARI_H)
    assert ext(request, life.DEADLINE_URL) is None
    assert fhir_json(await api.patch(f"/Appointment/{request['id']}", json=CANCEL, headers=KARI_H))["status"] == "cancelled"


async def test_mondays_times_are_due_by_friday_noon(api, database):
    set_schedule(database, monday_by_friday=True)
    monday = await booked(api, "2026-11-30")
    assert ext(monday, life.DEADLINE_URL)["valueDateTime"] == "2026-11-27T12:00:00+01:00"
    set_now(datetime(2026, 11, 27, 12, 1, tzinfo=OSLO))  # Friday after noon: 24 hours alone would still allow it
    refused = await api.patch(f"/Appointment/{monday['id']}", json=CANCEL, headers=KARI_H)
    assert rule(refused) == "change-deadline" and "2026-11-27T12:00" in outcome(refused, 422)


# -- unanswered requests -------------------------------------------------------------------------------------------


async def test_a_request_still_pending_when_its_time_begins_is_closed_unanswered(api, database):
    slot = await slot_on(api, "2026-12-03")
    request = await post(api, booking_request(slot["id"], 1), KARI_H)
    set_now(datetime.fromisoformat(slot["start"]) + timedelta(seconds=1))
    refused = await api.post("/AppointmentResponse", json=answer(request["id"], "accepted"), headers=STAFF_H)
    assert rule(refused) == "unanswered"
    listed = matches(fhir_json(await api.get("/Appointment", headers=KARI_H)))
    closed = next(a for a in listed if a["id"] == request["id"])
    assert closed["status"] == "cancelled"
    assert closed["cancelationReason"] == {
        "coding": [{"system": life.CANCEL_SYSTEM, "code": "unanswered"}],
        "text": "Ikke besvart",
    }
    assert await slot_status(api, slot["id"]) == "free"
    await read(api, request["id"])  # read again, on any instance: closed once, told once
    told = [m for m in await inbox(api) if m["topic"]["text"] == "Timeforespørselen ble ikke besvart"]
    assert len(told) == 1 and "før timen begynte" in text(told[0])
    queue = matches(fhir_json(await api.get("/Appointment", params={"status": "pending"}, headers=STAFF_H)))
    assert request["id"] not in [a["id"] for a in queue]


async def test_the_inbox_alone_closes_an_unanswered_request_and_tells_the_patient(api):
    slot = await slot_on(api, "2026-12-03")
    await post(api, booking_request(slot["id"], 1), KARI_H)
    set_now(datetime.fromisoformat(slot["start"]) + timedelta(seconds=1))
    assert (await inbox(api))[0]["topic"]["text"] == "Timeforespørselen ble ikke besvart"


async def test_a_request_past_the_answer_time_is_marked_overdue(api, database):
    request = await post(api, booking_request((await slot_on(api, "2026-12-10"))["id"], 1), KARI_H)
    assert ext(request, life.ANSWER_DUE_URL)["valueDateTime"] == "2026-11-27T09:00:00+01:00"  # Wed + 2 working days
    assert ext(request, life.OVERDUE_URL)["valueBoolean"] is False
    set_now(datetime(2026, 11, 27, 9, 1, tzinfo=OSLO))
    queue = matches(fhir_json(await api.get("/Appointment", params={"status": "pending"}, headers=STAFF_H)))
    mine = next(a for a in queue if a["id"] == request["id"])
    assert ext(mine, life.OVERDUE_URL)["valueBoolean"] is True
    set_schedule(database, answer_days=5)
    assert ext(await read(api, request["id"]), life.OVERDUE_URL)["valueBoolean"] is False


# -- attendance ----------------------------------------------------------------------------------------------------


async def test_the_desk_marks_arrived_done_and_no_show_and_undoes_each(api, database):
    slot = await slot_on(api, "2026-11-25T10:00")
    today = await post(api, booking_request(slot["id"], 1) | {"status": "booked"}, STAFF_H)  # the desk books at once
    path = f"/Appointment/{today['id']}"

    async def mark(status: str, version: int, headers: dict = STAFF_H):
        return await api.patch(
            path, json=[{"op": "replace", "path": "/status", "value": status}], headers=headers | {"If-Match": f'W/"{version}"'}
        )

    assert fhir_json(await mark("arrived", 1))["status"] == "arrived"
    assert fhir_json(await mark("booked", 2))["status"] == "booked"  # undo
    assert fhir_json(await mark("fulfilled", 3))["status"] == "fulfilled"
    assert fhir_json(await mark("booked", 4))["status"] == "booked"  # undo

    before = snapshot(database)
    early = await mark("noshow", 5)
    assert rule(early) == "noshow-too-early"
    outcome(await mark("arrived", 5, KARI_H), 403, "forbidden")
    outcome(await mark("arrived", 4), 412)
    no_match = await api.patch(path, json=[{"op": "replace", "path": "/status", "value": "arrived"}], headers=STAFF_H)
    outcome(no_match, 428, "required")
    assert snapshot(database) == before

    set_now(datetime.fromisoformat(slot["start"]) + timedelta(minutes=10))
    late = await read(api, today["id"], STAFF_H)
    assert ext(late, life.LATE_URL) == {"url": life.LATE_URL, "valueBoolean": True}
    assert fhir_json(await mark("noshow", 5))["status"] == "noshow"
    patient = fhir_json(await api.get("/Patient/1", headers=STAFF_H))
    assert ext(patient, life.NOSHOW_COUNT_URL)["valueUnsignedInt"] == 1
    assert ext(fhir_json(await api.get("/Patient/1", headers=KARI_H)), life.NOSHOW_COUNT_URL) is None  # staff only
    illegal = await mark("fulfilled", 6)
    assert rule(illegal) == "illegal-transition" and "from noshow to fulfilled" in outcome(illegal, 409)
    assert fhir_json(await mark("booked", 6))["status"] == "booked"  # undo
    patient = fhir_json(await api.get("/Patient/1", headers=STAFF_H))
    assert ext(patient, life.NOSHOW_COUNT_URL)["valueUnsignedInt"] == 0


async def test_a_cancelled_time_cannot_be_marked(api):
    old = await booked(api, "2026-12-03")
    gone = fhir_json(await api.patch(f"/Appointment/{old['id']}", json=CANCEL, headers=KARI_H))
    refused = await api.patch(
        f"/Appointment/{old['id']}",
        json=[{"op": "replace", "path": "/status", "value": "arrived"}],
        headers=STAFF_H | {"If-Match": f'W/"{gone["meta"]["versionId"]}"'},
    )
    assert rule(refused) == "illegal-transition" and "from cancelled to arrived" in outcome(refused, 409)


# -- malformed bodies ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extension", "element"),
    [
        ({"url": life.REPLACES_URL}, "Appointment.extension[0].valueReference"),
        ({"url": life.REPLACES_URL, "valueReference": {"reference": "Patient/1"}}, "Appointment.extension[0].valueReference"),
        ({"url": "https://example.org/unknown", "valueBoolean": True}, "Appointment.extension[0].url"),
        (
            {"url": life.OVERRIDE_URL, "valueCoding": {"system": life.OVERRIDE_SYSTEM, "code": "lei"}},
            "Appointment.extension[0].valueCoding.code",
        ),
        ({"url": life.REPLACES_URL, "valueReference": "Appointment/1"}, "Appointment.extension[0].valueReference"),
    ],
)
async def test_a_malformed_change_is_400_naming_the_element_and_writes_nothing(api, database, extension, element):
    slot = await slot_on(api, "2026-12-03")
    before = snapshot(database)
    response = await api.post("/Appointment", json=booking_request(slot["id"], 1) | {"extension": [extension]}, headers=KARI_H)
    outcome(response, 400, "invalid")
    assert element in response.json()["issue"][0].get("expression", []) or element in response.json()["issue"][0]["diagnostics"]
    assert snapshot(database) == before


async def test_the_setup_carries_the_life_settings_with_defaults_and_ranges(api, database):
    import httpx

    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver") as root:
        setup = (await root.get("/setup/Organization/1", headers=STAFF_H)).json()
        book = setup["timebooks"][0]
        assert (book["holdMinutes"], book["deadlineHours"], book["mondayByFriday"], book["answerDays"]) == (5, 24, False, 2)
        book["holdMinutes"] = 0
        response = await root.put("/setup/Organization/1", json=setup, headers=STAFF_H)
        assert response.status_code == 400 and response.json()["issue"][0]["expression"] == ["Setup.timebooks[0].holdMinutes"]
        book["holdMinutes"], book["mondayByFriday"], book["deadlineHours"] = 7, True, 48
        assert (await root.put("/setup/Organization/1", json=setup, headers=STAFF_H)).status_code == 200
        saved = (await root.get("/setup/Organization/1", headers=STAFF_H)).json()["timebooks"][0]
        assert (saved["holdMinutes"], saved["mondayByFriday"], saved["deadlineHours"]) == (7, True, 48)


async def test_a_hold_overlapping_a_time_booked_meanwhile_is_not_sent(api, database):
    labs = await free_slots(api, KARI, await lab(api), "2026-12-03", count=40)
    vaccines = await free_slots(api, KARI, await timebook(api, KARI, 1, "Vaksine"), "2026-12-03", count=40)
    held, other = next((a, b) for a in labs for b in vaccines if a["start"] < b["end"] and b["start"] < a["end"])
    hold = await post(api, hold_body(held["id"]), KARI_H)
    await post(api, booking_request(other["id"], 1), KARI_H)  # another tab of the same citizen books an overlapping time
    before = snapshot(database)
    refused = await api.put(f"/Appointment/{hold['id']}", json=hold | {"status": "pending"}, headers=KARI_H)
    assert rule(refused) == "patient-overlap"
    assert snapshot(database) == before


async def test_the_hourly_sweep_closes_what_nobody_read_once_on_any_number_of_instances(api, database):
    from timebok.backend.life import sweep_everywhere

    held_slot, asked_slot = (await free_slots(api, KARI, await lab(api), "2026-12-03", count=2))[:2]
    hold = await post(api, hold_body(held_slot["id"]), KARI_H)
    request = await post(api, booking_request(asked_slot["id"], 2), OLA_H)
    set_now(datetime.fromisoformat(asked_slot["start"]) + timedelta(seconds=1))
    assert sweep_everywhere(database) == 2 + 3  # and the seed's three requests, whose times have passed too
    assert sweep_everywhere(database) == 0  # a second instance's run finds nothing left
    with database.reading() as session:
        rows = {a.id: (a.status, a.cancelation_code) for a in session.scalars(select(schema.Appointment))}
        slots = {
            s.id: (s.status, s.held_until)
            for s in session.scalars(select(schema.Slot).where(schema.Slot.id.in_([int(held_slot["id"]), int(asked_slot["id"])])))
        }
        told = session.scalars(select(schema.Communication).where(schema.Communication.kind == "unanswered")).all()
    assert rows[int(hold["id"])] == ("cancelled", "hold-ended") and rows[int(request["id"])] == ("cancelled", "unanswered")
    assert set(slots.values()) == {("free", None)}
    assert sorted(m.patient_id for m in told) == [2, 2, 3, 4]  # Ola twice (the seed's and this one), Aisha, Per
