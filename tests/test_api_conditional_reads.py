"""Conditional reads: the month, the office's queue and the inbox answer 304 while unchanged, and change on every write."""

from __future__ import annotations

import httpx

from tests.conftest import FJORD_STAFF, KARI, OLA, bearer
from tests.fhir_validate import CANCEL, answer, booking_request, fhir_json, free_slots, matches, timebook
from timebok.backend.app import create_app
from timebok.backend.server import open_database

KARI_H, STAFF_H = bearer(KARI), bearer(FJORD_STAFF)
DECEMBER = [("status", "free"), ("start", "ge2026-12-01"), ("start", "lt2027-01-01"), ("_count", "1000")]


async def lab(api) -> str:
    return await timebook(api, KARI, 1, "Lab")


async def month(api, book: str, etag: str | None = None, free_only: bool = True, token: str = KARI) -> httpx.Response:
    params = [("schedule", f"Schedule/{book}")] + [p for p in DECEMBER if free_only or p[0] != "status"]
    headers = bearer(token) | ({"If-None-Match": etag} if etag else {})
    return await api.get("/Slot", params=params, headers=headers)


def slot_ids(response: httpx.Response) -> list[str]:
    return [s["id"] for s in matches(fhir_json(response))]


def status_of(response: httpx.Response, slot_id: str) -> str:
    return next(s["status"] for s in matches(fhir_json(response)) if s["id"] == slot_id)


async def book(api, slot_id: str, token: str = KARI, patient: int = 1) -> dict:
    return fhir_json(await api.post("/Appointment", json=booking_request(slot_id, patient), headers=bearer(token)), 201)


async def test_an_unchanged_month_is_304_with_no_body(api):
    book_id = await lab(api)
    first = await month(api, book_id)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('W/"') and len(slot_ids(first)) > 500
    again = await month(api, book_id, etag)
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    # The same answer without If-None-Match is the same bytes (served from the cache).
    assert (await month(api, book_id)).content == first.content
    # A tag the server never gave (or an old one) gets the whole month.
    assert (await month(api, book_id, 'W/"999999"')).status_code == 200


async def test_the_month_changes_when_a_time_in_it_is_booked(api):
    book_id = await lab(api)
    before = await month(api, book_id)
    slot = slot_ids(before)[3]
    await book(api, slot)
    after = await month(api, book_id, before.headers["etag"])
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert slot in slot_ids(before) and slot not in slot_ids(after)


async def test_the_month_changes_when_the_office_confirms(api):
    book_id = await lab(api)
    slot = (await free_slots(api, KARI, book_id, "2026-12-03"))[0]["id"]
    appointment = await book(api, slot)
    before = await month(api, book_id, free_only=False)
    assert status_of(before, slot) == "busy-tentative"
    fhir_json(await api.post("/AppointmentResponse", json=answer(appointment["id"], "accepted"), headers=STAFF_H), 201)
    after = await month(api, book_id, before.headers["etag"], free_only=False)
    assert after.status_code == 200 and status_of(after, slot) == "busy"


async def test_the_month_changes_when_the_office_rejects(api):
    book_id = await lab(api)
    slot = (await free_slots(api, KARI, book_id, "2026-12-03"))[0]["id"]
    appointment = await book(api, slot)
    before = await month(api, book_id)
    assert slot not in slot_ids(before)
    fhir_json(
        await api.post("/AppointmentResponse", json=answer(appointment["id"], "declined", "Legen er syk"), headers=STAFF_H), 201
    )
    after = await month(api, book_id, before.headers["etag"])
    assert after.status_code == 200 and slot in slot_ids(after)


async def test_the_month_changes_when_the_citizen_cancels(api):
    book_id = await lab(api)
    slot = (await free_slots(api, KARI, book_id, "2026-12-03"))[0]["id"]
    appointment = await book(api, slot)
    before = await month(api, book_id)
    response = await api.patch(
        f"/Appointment/{appointment['id']}", json=CANCEL, headers=KARI_H | {"Content-Type": "application/json-patch+json"}
    )
    fhir_json(response)
    after = await month(api, book_id, before.headers["etag"])
    assert after.status_code == 200 and slot in slot_ids(after)


async def test_a_booking_in_another_timebook_leaves_this_month_unchanged(api):
    book_id = await lab(api)
    other = await timebook(api, KARI, 1, "Vaksine")
    before = await month(api, book_id)
    await book(api, (await free_slots(api, KARI, other, "2026-12-03"))[0]["id"])
    assert (await month(api, book_id, before.headers["etag"])).status_code == 304


async def test_a_booking_in_another_month_leaves_this_month_unchanged_but_not_a_longer_range(api):
    book_id = await lab(api)
    december = await month(api, book_id)
    longer = [("schedule", f"Schedule/{book_id}"), ("status", "free"), ("start", "ge2026-12-01"), ("start", "lt2027-02-01")]
    both = await api.get("/Slot", params=longer, headers=KARI_H)
    await book(api, (await free_slots(api, KARI, book_id, "2027-01-05"))[0]["id"])
    assert (await month(api, book_id, december.headers["etag"])).status_code == 304
    again = await api.get("/Slot", params=longer, headers=KARI_H | {"If-None-Match": both.headers["etag"]})
    assert again.status_code == 200 and fhir_json(again)["total"] == fhir_json(both)["total"] - 1


async def test_the_offices_queue_is_304_until_a_request_arrives(api):
    params = {"status": "pending", "_sort": "_lastUpdated", "_include": "Appointment:actor"}
    first = await api.get("/Appointment", params=params, headers=STAFF_H)
    etag = first.headers["etag"]
    queue = matches(fhir_json(first))
    again = await api.get("/Appointment", params=params, headers=STAFF_H | {"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    appointment = await book(api, (await free_slots(api, OLA, await lab(api), "2026-12-03"))[0]["id"], OLA, 2)
    changed = await api.get("/Appointment", params=params, headers=STAFF_H | {"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert [a["id"] for a in matches(fhir_json(changed))] == [a["id"] for a in queue] + [appointment["id"]]


async def test_the_citizens_appointments_and_inbox_are_304_until_something_happens_to_them(api):
    appointments = await api.get("/Appointment", headers=KARI_H)
    inbox = await api.get("/Communication", params={"recipient": "Patient/1"}, headers=KARI_H)
    for path, first, params in (("/Appointment", appointments, {}), ("/Communication", inbox, {"recipient": "Patient/1"})):
        again = await api.get(path, params=params, headers=KARI_H | {"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, path
    # Someone else's booking does not touch Kari's lists.
    await book(api, (await free_slots(api, OLA, await lab(api), "2026-12-03"))[0]["id"], OLA, 2)
    again = await api.get(
        "/Communication", params={"recipient": "Patient/1"}, headers=KARI_H | {"If-None-Match": inbox.headers["etag"]}
    )
    assert again.status_code == 304
    # Her own does: a new appointment and a new message.
    appointment = await book(api, (await free_slots(api, KARI, await lab(api), "2026-12-04"))[0]["id"])
    changed = await api.get(
        "/Communication", params={"recipient": "Patient/1"}, headers=KARI_H | {"If-None-Match": inbox.headers["etag"]}
    )
    assert changed.status_code == 200
    assert matches(fhir_json(changed))[0]["about"] == [{"reference": f"Appointment/{appointment['id']}"}]
    changed = await api.get("/Appointment", headers=KARI_H | {"If-None-Match": appointments.headers["etag"]})
    assert changed.status_code == 200 and appointment["id"] in [a["id"] for a in matches(fhir_json(changed))]


async def test_a_304_still_needs_a_valid_token(api):
    book_id = await lab(api)
    etag = (await month(api, book_id)).headers["etag"]
    response = await api.get(
        "/Slot",
        params=[("schedule", f"Schedule/{book_id}")] + DECEMBER,
        headers={"Authorization": "Bearer nope", "If-None-Match": etag},
    )
    assert response.status_code == 401


async def test_two_instances_on_one_database_never_serve_a_stale_month(db_url):
    # Two app instances, each with its own process-local answer cache, on one database.
    first_db, second_db = open_database(db_url, demo=True), open_database(db_url, demo=True)
    try:
        first = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(first_db, demo=True)), base_url="http://testserver/fhir"
        )
        second = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(second_db, demo=True)), base_url="http://testserver/fhir"
        )
        async with first, second:
            book_id = await lab(first)
            cached = await month(first, book_id)
            assert (await month(first, book_id)).content == cached.content  # now in the first instance's cache
            slot = slot_ids(cached)[0]
            await book(second, slot)
            seen = await month(first, book_id)
            assert slot not in slot_ids(seen)
            conditional = await month(first, book_id, cached.headers["etag"])
            assert conditional.status_code == 200 and slot not in slot_ids(conditional)
    finally:
        first_db.dispose()
        second_db.dispose()


async def test_sqlite_and_postgresql_answer_the_month_with_the_same_bytes(db_path, pg_database):
    dbs = [open_database(db_path, demo=True), open_database(pg_database, demo=True)]
    try:
        apis = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(db, demo=True)), base_url="http://testserver/fhir")
            for db in dbs
        ]
        async with apis[0], apis[1]:
            book_id = await lab(apis[0])
            for free_only in (True, False):
                sqlite_answer, pg_answer = [await month(api, book_id, free_only=free_only) for api in apis]
                assert sqlite_answer.status_code == pg_answer.status_code == 200
                assert sqlite_answer.content == pg_answer.content and len(sqlite_answer.content) > 100_000
    finally:
        for db in dbs:
            db.dispose()
