"""SMART Scheduling Links: the public $bulk-publish manifest and its Location, Schedule and Slot files, checked against
the rules of the specification (smart-on-fhir/smart-scheduling-links, specification.md) as a slot finder reads them."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from tests.conftest import KARI, bearer
from tests.fhir_validate import booking_request, fhir_json, free_slots, timebook, validate
from timebok.backend import schema

SMART = "http://fhir-registry.smarthealthit.org/StructureDefinition/"
# specification.md, "Timestamps": at least to the second, with a zone offset (FHIR's instant).
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # "up to 64 alphanumeric characters and may include - and ."


async def manifest(api, headers: dict[str, str] | None = None) -> tuple[dict[str, Any], str]:
    response = await api.get("/$bulk-publish", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    return response.json(), response.headers["etag"]


async def files(api) -> dict[str, list[dict[str, Any]]]:
    """Every published resource by type, read as a finder does: follow the manifest's urls, one JSON object a line."""
    found: dict[str, list[dict[str, Any]]] = {"Location": [], "Schedule": [], "Slot": []}
    body, _ = await manifest(api)
    for item in body["output"]:
        response = await api.get(item["url"], headers={"Accept": "application/fhir+ndjson"})
        assert response.status_code == 200 and response.headers["content-type"].split(";")[0] == "application/fhir+ndjson"
        for number, line in enumerate(response.text.splitlines()):
            resource = json.loads(line)
            assert line == json.dumps(resource, separators=(",", ":"), ensure_ascii=False), "each line is minified JSON"
            assert resource["resourceType"] == item["type"]
            # R4 validation of thousands of slots takes seconds; the first hundred of a file are made by the same code.
            found[item["type"]].append(validate(resource) if number < 100 else resource)
    return found


async def test_the_manifest_is_public_and_lists_a_file_of_each_kind(api):
    # No token: SMART publishers SHOULD host $bulk-publish at open endpoints, and a finder has no account here.
    plain, _ = await manifest(api)
    as_json, _ = await manifest(api, {"Accept": "application/json"})
    assert plain == as_json  # "returning the same FHIR JSON payload in all cases"
    assert TIMESTAMP.match(plain["transactionTime"])
    assert plain["request"] == "http://testserver/fhir/$bulk-publish" and plain["error"] == []
    assert {item["type"] for item in plain["output"]} == {"Location", "Schedule", "Slot"}
    assert all(item["url"].startswith("http://testserver/fhir/$bulk-publish/") for item in plain["output"])


async def test_the_files_hold_what_a_finder_needs_and_hang_together(api):
    published = await files(api)
    places = {p["id"]: p for p in published["Location"]}
    books = {s["id"]: s for s in published["Schedule"]}
    assert places and books and published["Slot"]
    for place in places.values():  # specification.md, "Location File": the required fields
        assert ID.match(place["id"]) and place["name"]
        assert place["telecom"] and all(t["system"] in ("phone", "url") and t["value"] for t in place["telecom"])
        assert place["address"]["line"] and place["address"]["city"] and place["address"]["postalCode"]
        assert place["identifier"] and all(i["system"] and i["value"] for i in place["identifier"])
    for book in books.values():  # "Schedule File": one actor, a Location in the Location file
        assert ID.match(book["id"]) and len(book["actor"]) == 1
        assert book["actor"][0]["reference"].removeprefix("Location/") in places
        assert book["serviceType"][0]["coding"]
    for slot in published["Slot"]:  # "Slot File"
        assert ID.match(slot["id"]) and slot["schedule"]["reference"].removeprefix("Schedule/") in books
        assert slot["status"] in ("free", "busy")
        assert TIMESTAMP.match(slot["start"]) and TIMESTAMP.match(slot["end"]) and slot["start"] < slot["end"]
        extensions = {e["url"]: e for e in slot["extension"]}
        assert extensions[SMART + "slot-capacity"]["valueInteger"] >= 1
        if slot["status"] == "free":
            assert extensions[SMART + "booking-deep-link"]["valueUrl"].startswith("http")


async def test_a_vaccine_timebook_is_findable_by_the_codes_finders_know(api):
    books = (await files(api))["Schedule"]
    corona = [b for b in books if any(c["code"] == "Koronavaksine" for c in b["serviceType"][0]["coding"])]
    assert corona
    codes = {(c["system"], c["code"]) for c in corona[0]["serviceType"][0]["coding"]}
    assert ("http://terminology.hl7.org/CodeSystem/service-type", "57") in codes
    assert ("http://fhir-registry.smarthealthit.org/CodeSystem/service-type", "covid19-immunization") in codes


async def test_no_patient_data_is_published(api, database):
    with database.reading() as session:
        numbers = session.scalars(select(schema.Patient.identifier)).all()
        names = session.scalars(select(schema.Patient.family)).all()
        descriptions = [d for d in session.scalars(select(schema.Appointment.description)).all() if d]
    text = json.dumps(await files(api), ensure_ascii=False)
    words = ["Patient/", "Appointment/", *numbers, *names, *descriptions]
    leaked = [word for word in words if re.search(rf"\b{re.escape(word)}\b", text)]
    assert leaked == []


async def test_a_time_inside_the_lead_time_is_not_published_as_free(api):
    # A finder must not send a citizen to a time they cannot book (specification.md: "in fact available").
    slots = (await files(api))["Slot"]
    assert min(s["start"] for s in slots if s["status"] == "free") >= "2026-11-25T11:00:00+01:00"  # now + 2 h lead time


async def test_parallel_times_are_one_slot_with_their_capacity(api, database):
    with database.writing() as session:
        first = session.scalars(
            select(schema.Slot).where(schema.Slot.status == "free").order_by(schema.Slot.start.desc())
        ).first()
        assert first is not None
        session.add(
            schema.Slot(schedule_id=first.schedule_id, start=first.start, end=first.end, status="free", seq=first.seq + 1)
        )
    slots = (await files(api))["Slot"]
    (same,) = [s for s in slots if s["id"] == str(first.id)]
    assert {e["url"]: e for e in same["extension"]}[SMART + "slot-capacity"]["valueInteger"] == 2


async def test_booking_a_time_regenerates_the_files_and_the_etag_says_so(api):
    _, before = await manifest(api)
    assert (await api.get("/$bulk-publish", headers={"If-None-Match": before})).status_code == 304
    book = await timebook(api, KARI, 1, "Lab")
    slot = (await free_slots(api, KARI, book, "2026-12-03", count=1))[0]
    assert _published_status(await files(api), slot["id"]) == "free"
    fhir_json(await api.post("/Appointment", json=booking_request(slot["id"], 1), headers=bearer(KARI)), 201)
    again = await api.get("/$bulk-publish", headers={"If-None-Match": before})
    assert again.status_code == 200 and again.headers["etag"] != before
    assert _published_status(await files(api), slot["id"]) == "busy"  # a request holds it: busy to a finder
    assert (await api.get("/$bulk-publish", headers={"If-None-Match": again.headers["etag"]})).status_code == 304


async def test_each_file_answers_304_while_it_is_unchanged(api):
    body, _ = await manifest(api)
    for item in body["output"]:
        first = await api.get(item["url"])
        assert (await api.get(item["url"], headers={"If-None-Match": first.headers["etag"]})).status_code == 304
    assert (await api.get("/$bulk-publish/other.ndjson")).status_code == 404


def _published_status(published: dict[str, list[dict[str, Any]]], slot_id: str) -> str | None:
    return next((s["status"] for s in published["Slot"] if s["id"] == slot_id), None)
