"""What timebok emits against Helsenorge's profiles (hn-basis-appointment, -schedule, -slot), with the rules read
from their StructureDefinitions (tests/data/helsenorge/). Every rule not listed in DIFFERS is met by every resource
checked; each one listed is broken for the reason the README's conformance table gives."""

from __future__ import annotations

from typing import Any

from tests import helsenorge
from tests.conftest import FJORD_STAFF, KARI, bearer
from tests.fhir_validate import booking_request, fhir_json, free_slots, matches, timebook
from timebok.domain.identity import DNR_SYSTEM, FNR_SYSTEM

STAFF_H = bearer(FJORD_STAFF)

# Element id → what we break (README «Helsenorge's profiles»). A rule that starts to be met, or a new rule broken,
# fails the test: the table must then be updated.
DIFFERS: dict[str, set[str]] = {
    "hn-basis-appointment": {
        "Appointment.identifier",  # only the client's own key, when it sent one
        "Appointment.serviceCategory",  # the profile's categories are hospital, specialist and community care
        "Appointment.appointmentType",
        "Appointment.serviceType",  # ..0 there; the Volven 7617 time type is what a ressurstimebok books
        "Appointment.slot",  # ..0 there; a ressurstimebok books a Slot
        "Appointment.supportingInformation",  # the kommunikasjonspart Organization (and the Flags)
        "Appointment.supportingInformation:kommunikasjonspart",
        "Appointment.participant.actor",  # the office is a participant (Organization)
        "Appointment.status",  # a request is pending, which the profile's status value set lacks
    },
    "hn-basis-schedule": {"Schedule.actor"},  # the attendance place is the second actor (Location)
    "hn-basis-slot": {"Slot.identifier", "Slot.serviceCategory"},  # the month query's lean Slot
}


async def _appointments(api) -> list[dict[str, Any]]:
    """One of each status a ressurstimebok appointment has: a request, a booking, a cancelled one, a hold."""
    book = await timebook(api, KARI, 1, "Lab")
    first, second, third = await free_slots(api, KARI, book, "2026-12-03", count=3)
    kari = bearer(KARI)
    request = fhir_json(
        await api.post("/Appointment", json=booking_request(first["id"], 1, "influensavaksine"), headers=kari), 201
    )
    booked = fhir_json(
        await api.post("/Appointment", json=booking_request(second["id"], 2) | {"status": "booked"}, headers=STAFF_H), 201
    )
    held = fhir_json(
        await api.post("/Appointment", json=booking_request(third["id"], 1) | {"status": "proposed"}, headers=kari), 201
    )
    cancel = [{"op": "replace", "path": "/status", "value": "cancelled"}]
    cancelled = fhir_json(await api.patch(f"/Appointment/{booked['id']}", json=cancel, headers=STAFF_H))
    found = matches(fhir_json(await api.get("/Appointment", params={"_count": 200}, headers=STAFF_H)))
    assert {"pending", "booked", "cancelled", "proposed"} <= {a["status"] for a in found}
    return [request, held, cancelled, *found]


async def _schedules(api) -> list[dict[str, Any]]:
    return matches(fhir_json(await api.get("/Schedule", params={"active": "true"}, headers=STAFF_H)))


async def _slots(api) -> list[dict[str, Any]]:
    return matches(fhir_json(await api.get("/Slot", params={"schedule": "Schedule/1", "_count": 100}, headers=STAFF_H)))


async def test_appointments_meet_every_rule_of_hn_basis_appointment_but_the_listed(api):
    found = await _appointments(api)
    broken = helsenorge.differing(found, helsenorge.profile("hn-basis-appointment"))
    assert set(broken) == DIFFERS["hn-basis-appointment"], broken
    # Only the request breaks the status binding: the other statuses are the profile's.
    assert (
        helsenorge.differing([a for a in found if a["status"] != "pending"], helsenorge.profile("hn-basis-appointment")).get(
            "Appointment.status"
        )
        is None
    )


async def test_the_description_limit_is_the_profiles(api):
    # must-be-max-1000-chars, read from the definition: the server refuses a longer reason and emits none.
    (rule,) = [
        c
        for e in helsenorge.profile("hn-basis-appointment")["differential"]["element"]
        if e["id"] == "Appointment.description"
        for c in e.get("constraint", [])
    ]
    limit = int(rule["expression"].rsplit(" ", 1)[1])
    book = await timebook(api, KARI, 1, "Lab")
    slot = (await free_slots(api, KARI, book, "2026-12-03", count=1))[0]
    refused = await api.post("/Appointment", json=booking_request(slot["id"], 1, "x" * (limit + 1)), headers=bearer(KARI))
    assert refused.status_code == 400
    made = fhir_json(await api.post("/Appointment", json=booking_request(slot["id"], 1, "x" * limit), headers=bearer(KARI)), 201)
    assert (
        helsenorge.check(made, helsenorge.profile("hn-basis-appointment"))["Appointment.description#must-be-max-1000-chars"]
        == "meets"
    )


async def test_the_patient_is_named_by_identifier_beside_the_reference(api):
    # appointment-participant-actor-patient-reference-identifier: the patient by identifier (a logical reference).
    rules = {
        c["key"]: c["expression"]
        for e in helsenorge.profile("hn-basis-appointment")["differential"]["element"]
        for c in e.get("constraint", [])
    }
    assert rules["appointment-participant-actor-patient-reference-identifier"] == (
        "actor.type = 'Patient' implies actor.identifier.exists()"
    )
    kari = fhir_json(await api.get("/Patient/1", headers=bearer(KARI)))
    for appointment in await _appointments(api):
        (actor,) = [p["actor"] for p in appointment["participant"] if p["actor"]["reference"].startswith("Patient/")]
        assert actor["identifier"]["system"] in (FNR_SYSTEM, DNR_SYSTEM) and len(actor["identifier"]["value"]) == 11
        if actor["reference"] == "Patient/1":
            assert actor["identifier"] == kari["identifier"][0]


async def test_schedules_meet_every_rule_of_hn_basis_schedule_but_the_listed(api):
    books = await _schedules(api)
    assert set(helsenorge.differing(books, helsenorge.profile("hn-basis-schedule"))) == DIFFERS["hn-basis-schedule"]
    # What makes the rest meet: a UUID identifier, Helsenorge's schedule type beside Volven 7617, typed actors.
    for book in books:
        assert book["identifier"][0]["value"].startswith("urn:uuid:")
        systems = {c["system"] for c in book["serviceType"][0]["coding"]}
        assert systems == {"urn:oid:2.16.578.1.12.4.1.1.7617", "http://helsenorge.no/fhir/CodeSystem/hn-schedule-type-cs"}
    again = await _schedules(api)
    assert [b["identifier"] for b in again] == [b["identifier"] for b in books]  # the same UUID on every read


async def test_slots_meet_every_rule_of_hn_basis_slot_but_the_listed(api):
    slots = await _slots(api)
    assert slots and set(helsenorge.differing(slots, helsenorge.profile("hn-basis-slot"))) == DIFFERS["hn-basis-slot"]


async def test_the_checker_notices_a_broken_rule(api):
    # The checker itself can fail: a Schedule without serviceType, and one with an unknown type code.
    (book, *_) = await _schedules(api)
    definition = helsenorge.profile("hn-basis-schedule")
    assert "Schedule.serviceType" in helsenorge.differing([{k: v for k, v in book.items() if k != "serviceType"}], definition)
    odd = book | {"serviceType": [{"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7617", "code": "Tannlege"}]}]}
    assert "required binding" in helsenorge.differing([odd], definition)["Schedule.serviceType"]
    assert "patternBoolean" in helsenorge.differing([book | {"active": False}], definition)["Schedule.active"]
