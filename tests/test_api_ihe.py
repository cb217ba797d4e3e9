"""IHE ITI Scheduling from a plain HTTP client: $find (ITI-115), $hold (ITI-116), $book (ITI-117) and the Find
Existing Appointments search (ITI-118), shaped like the profile's examples (IHE/ITI.Scheduling, input/pagecontent)."""

from __future__ import annotations

from typing import Any

from tests.conftest import FJORD_STAFF, KARI, OLA, bearer
from tests.fhir_validate import fhir_json, matches, outcome, timebook
from timebok.domain.timetypes import TIMETYPE_SYSTEM

KARI_H, STAFF_H = bearer(KARI), bearer(FJORD_STAFF)
IHE = "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/"


def parameters(*items: tuple[str, str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": n, kind: v} for n, kind, v in items]}


def find_body(place: str | None = None, patient: int | None = None, count: int | None = None) -> dict[str, Any]:
    # ITI-115's example request (start, end, then who), with a ressurstimebok time type for the visit type.
    items: list[tuple[str, str, Any]] = [
        ("start", "valueDateTime", "2026-12-03T00:00:00+01:00"),
        ("end", "valueDateTime", "2026-12-05T00:00:00+01:00"),
        ("visit-type", "valueString", f"{TIMETYPE_SYSTEM}|Lab"),
    ]
    if place is not None:
        items.append(("location-reference", "valueReference", {"reference": place}))
    if patient is not None:
        items.append(("patient-reference", "valueReference", {"reference": f"Patient/{patient}"}))
    if count is not None:
        items.append(("_count", "valueInteger", count))
    return parameters(*items)


async def find(api, headers=KARI_H, **kwargs) -> dict[str, Any]:
    return fhir_json(await api.post("/Appointment/$find", json=find_body(**kwargs), headers=headers))


def reference(name: str, target: str) -> dict[str, Any]:
    return parameters((name, "valueReference", {"reference": target}))


def only_appointment(bundle: dict[str, Any]) -> dict[str, Any]:
    # ITI-116/117: "SHALL return a single Appointment resource within the bundle".
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    (appointment,) = matches(bundle)
    return appointment


async def lab_place(api) -> str:
    book = fhir_json(await api.get(f"/Schedule/{await timebook(api, KARI, 1, 'Lab')}", headers=KARI_H))
    return book["actor"][1]["reference"]


async def test_find_answers_proposed_appointments_in_the_window_of_the_type_at_the_place(api):
    place = await lab_place(api)
    bundle = await find(api, place=place, count=5)
    proposals = matches(bundle)
    assert bundle["type"] == "searchset" and bundle["total"] > 5 == len(proposals)  # _count honoured, total counts all
    for proposal in proposals:
        assert proposal["status"] == "proposed"
        assert proposal["serviceType"][0]["coding"][0] == {"system": TIMETYPE_SYSTEM, "code": "Lab", "display": "Lab"}
        assert "2026-12-03" <= proposal["start"][:10] <= "2026-12-04"
        assert proposal["requestedPeriod"] == [{"start": "2026-12-03T00:00:00+01:00", "end": "2026-12-05T00:00:00+01:00"}]
        actors = {p["actor"]["reference"] for p in proposal["participant"]}
        assert {"Patient/1", "Organization/1", place} <= actors  # the citizen's own patient, the office, the place
        assert proposal["slot"][0]["reference"].startswith("Slot/")
    assert [p["start"] for p in proposals] == sorted(p["start"] for p in proposals)


async def test_find_by_get_answers_the_same_as_by_post(api):
    query = {"start": "2026-12-03T00:00:00+01:00", "end": "2026-12-05T00:00:00+01:00"}
    query |= {"visit-type": f"{TIMETYPE_SYSTEM}|Lab", "_count": "3"}
    by_get = fhir_json(await api.get("/Appointment/$find", params=query, headers=KARI_H))
    by_post = await find(api, count=3)
    assert matches(by_get) == matches(by_post) and by_get["total"] == by_post["total"]


async def test_find_refuses_what_a_ressurstimebok_cannot_answer_by_name(api):
    # ITI-115's own example asks for a practitioner; a ressurstimebok books times of a type, not people.
    body = find_body()
    body["parameter"].append({"name": "practitioner", "valueReference": {"display": "Dr. Pro Vider"}})
    assert "practitioner" in outcome(await api.post("/Appointment/$find", json=body, headers=KARI_H), 400, "not-supported")
    unknown = parameters(("colour", "valueString", "blue"))
    assert "colour" in outcome(await api.post("/Appointment/$find", json=unknown, headers=KARI_H), 400)


async def test_hold_keeps_the_time_from_find_and_from_others(api):
    first = matches(await find(api, count=1))[0]
    held = only_appointment(
        fhir_json(
            await api.post(
                "/Appointment/$hold", json=reference("appointment-reference", f"Appointment/{first['id']}"), headers=KARI_H
            )
        )
    )
    assert held["status"] == "proposed" and held["slot"] == first["slot"] and held["id"].isdigit()
    slot = fhir_json(await api.get(f"/{first['slot'][0]['reference']}", headers=KARI_H))
    assert slot["status"] == "busy-tentative"
    # "The Scheduling Server SHALL NOT include any held appointments" in a later $find.
    assert first["slot"] not in [p["slot"] for p in matches(await find(api, count=50))]
    ola = reference("appointment-reference", f"Appointment/{first['id'].split('-')[0]}-p2")
    refused = await api.post("/Appointment/$hold", json=ola, headers=bearer(OLA))
    assert refused.status_code == 409


async def test_a_citizen_books_a_held_time_as_a_request_the_office_confirms(api):
    first = matches(await find(api, count=1))[0]
    held = only_appointment(
        fhir_json(
            await api.post(
                "/Appointment/$hold", json=reference("appointment-reference", f"Appointment/{first['id']}"), headers=KARI_H
            )
        )
    )
    body = reference("appointment-reference", f"Appointment/{held['id']}")
    body["parameter"].append({"name": "comment", "valueString": "influensavaksine"})
    sent = only_appointment(fhir_json(await api.post("/Appointment/$book", json=body, headers=KARI_H)))
    assert sent["id"] == held["id"] and sent["status"] == "pending" and sent["description"] == "influensavaksine"


async def test_the_desk_books_a_proposal_at_once(api):
    first = matches(await find(api, headers=STAFF_H, patient=1, count=1))[0]
    assert first["id"].endswith("-p1")
    done = only_appointment(
        fhir_json(
            await api.post(
                "/Appointment/$book", json=reference("appointment-reference", f"Appointment/{first['id']}"), headers=STAFF_H
            )
        )
    )
    assert done["status"] == "booked" and done["slot"] == first["slot"]
    assert fhir_json(await api.get(f"/{first['slot'][0]['reference']}", headers=KARI_H))["status"] == "busy"


async def test_book_without_a_patient_says_how_to_name_one(api):
    first = matches(await find(api, headers=STAFF_H, count=1))[0]
    refused = await api.post(
        "/Appointment/$book", json=reference("appointment-reference", f"Appointment/{first['id']}"), headers=STAFF_H
    )
    assert "patient-reference" in outcome(refused, 422)


async def test_book_modifies_a_time_by_moving_it_and_cancels_with_the_resource(api):
    one, two = matches(await find(api, headers=STAFF_H, patient=1, count=2))
    old = only_appointment(
        fhir_json(
            await api.post(
                "/Appointment/$book", json=reference("appointment-reference", f"Appointment/{one['id']}"), headers=STAFF_H
            )
        )
    )
    # Modify: the stored resource, status booked, with the new time's slot.
    modify = parameters(("appointment-resource", "resource", old | {"slot": two["slot"]}))
    moved = only_appointment(fhir_json(await api.post("/Appointment/$book", json=modify, headers=STAFF_H)))
    assert moved["status"] == "booked" and moved["slot"] == two["slot"] and moved["id"] != old["id"]
    assert fhir_json(await api.get(f"/Appointment/{old['id']}", headers=STAFF_H))["status"] == "cancelled"
    # Cancel: the resource with status cancelled; the comment is the reason.
    cancel = parameters(
        ("appointment-resource", "resource", moved | {"status": "cancelled"}), ("comment", "valueString", "Pasienten ringte")
    )
    cancelled = only_appointment(fhir_json(await api.post("/Appointment/$book", json=cancel, headers=STAFF_H)))
    assert cancelled["status"] == "cancelled" and cancelled["cancelationReason"]["text"] == "Pasienten ringte"
    assert fhir_json(await api.get(f"/{two['slot'][0]['reference']}", headers=KARI_H))["status"] == "free"


async def test_book_a_new_appointment_resource_as_pending(api):
    first = matches(await find(api, count=1))[0]
    new = {k: v for k, v in first.items() if k != "id"} | {"status": "pending"}
    made = only_appointment(
        fhir_json(
            await api.post("/Appointment/$book", json=parameters(("appointment-resource", "resource", new)), headers=KARI_H)
        )
    )
    assert made["status"] == "pending" and made["slot"] == first["slot"]


async def test_find_existing_appointments_by_patient_and_date(api):
    # ITI-118: the server SHALL support patient and date, and answer a searchset with total.
    first = matches(await find(api, headers=STAFF_H, patient=1, count=1))[0]
    fhir_json(
        await api.post(
            "/Appointment/$book", json=reference("appointment-reference", f"Appointment/{first['id']}"), headers=STAFF_H
        )
    )
    bundle = fhir_json(await api.get("/Appointment", params={"patient": "Patient/1", "date": "ge2026-12-03"}, headers=STAFF_H))
    assert bundle["total"] >= 1 and first["slot"] in [a["slot"] for a in matches(bundle)]
    assert all(a["start"] >= "2026-12-03" for a in matches(bundle))


async def test_the_capability_statement_declares_the_operations(api):
    statement = fhir_json(await api.get("/metadata"))
    (appointment,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "Appointment"]
    ihe = {(name, IHE + f"appointment-{name}") for name in ("find", "hold", "book")}
    # and ours: the desk's offer of a freed time to a short-notice wish (issue 25)
    ours = {("offer", "https://timebok.example/fhir/OperationDefinition/appointment-offer")}
    assert {(o["name"], o["definition"]) for o in appointment["operation"]} == ihe | ours
