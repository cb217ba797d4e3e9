"""Search equals read: every resource a search answers (matches and includes) is exactly what a read of it answers,
and the CapabilityStatement declares each search parameter that works and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import FJORD_STAFF, KARI, bearer
from tests.fhir_validate import answer, booking_request, fhir_json, free_slots, matches, outcome, timebook

# One search per resource type the backend serves: (token, path, query). Each must find something.
SEARCHES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "Organization": (KARI, "/Organization", {}),
    "Location": (KARI, "/Location", {"organization": "Organization/1"}),
    "HealthcareService": (KARI, "/HealthcareService", {"organization": "Organization/1"}),
    "Schedule": (KARI, "/Schedule", {"_include": "Schedule:actor"}),
    "Slot": (KARI, "/Slot", {"schedule": "Schedule/1", "_count": 20}),
    "Appointment": (FJORD_STAFF, "/Appointment", {"_include": "Appointment:actor", "_count": 30}),
    "AppointmentResponse": (FJORD_STAFF, "/AppointmentResponse", {}),
    "Communication": (KARI, "/Communication", {"recipient": "Patient/1"}),
}


async def _answered_request(api) -> str:
    """A booking request the office has answered, so there is an AppointmentResponse to find; its Appointment id."""
    book = await timebook(api, KARI, 1, "Lab")
    slot = (await free_slots(api, KARI, book, "2026-12-03", count=1))[0]
    made = fhir_json(await api.post("/Appointment", json=booking_request(slot["id"], 1), headers=bearer(KARI)), 201)
    fhir_json(await api.post("/AppointmentResponse", json=answer(made["id"], "accepted"), headers=bearer(FJORD_STAFF)), 201)
    return str(made["id"])


async def _read_back(api, token: str, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        found = entry["resource"]
        read = fhir_json(await api.get(f"/{found['resourceType']}/{found['id']}", headers=bearer(token)))
        assert found == read, f"{found['resourceType']}/{found['id']}: the search answers what a read does not"


@pytest.mark.parametrize("kind", sorted(SEARCHES))
async def test_every_resource_a_search_answers_equals_its_read(api, kind):
    await _answered_request(api)
    token, path, query = SEARCHES[kind]
    bundle = fhir_json(await api.get(path, params=query, headers=bearer(token)))
    found = [e for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
    assert found and all(e["resource"]["resourceType"] == kind for e in found)
    await _read_back(api, token, bundle["entry"])  # includes too: an _include is a read of its own


async def test_a_healthcare_service_search_shows_the_opening_hours_and_closures_a_read_shows(api, database):
    # The case: a client that only searches saw no opening hours.
    services = matches(
        fhir_json(await api.get("/HealthcareService", params={"organization": "Organization/1"}, headers=bearer(KARI)))
    )
    assert all(s["availableTime"] for s in services if s["active"])
    assert any(s.get("notAvailable") for s in services), "the seed's closure days ahead are shown in the search"


async def test_a_patient_search_answers_what_a_read_does(api):
    bundle = fhir_json(
        await api.post(
            "/Patient/_search",
            content="name=Nordmann",
            headers=bearer(FJORD_STAFF) | {"Content-Type": "application/x-www-form-urlencoded"},
        )
    )
    assert matches(bundle)
    await _read_back(api, FJORD_STAFF, bundle["entry"])


async def test_locations_are_found_by_office_name_and_city(api):
    fjord = matches(fhir_json(await api.get("/Location", params={"organization": "Organization/1"}, headers=bearer(KARI))))
    assert {p["name"] for p in fjord} >= {"Fjordsiden legekontor", "Drive-in teststasjon"}
    assert all(p["managingOrganization"] == {"reference": "Organization/1"} for p in fjord)
    drive_in = matches(fhir_json(await api.get("/Location", params={"name": "drive"}, headers=bearer(KARI))))
    assert [p["name"] for p in drive_in] == ["Drive-in teststasjon"]
    bergen = fhir_json(await api.get("/Location", params={"address-city": "berg"}, headers=bearer(KARI)))
    assert bergen["total"] >= len(fjord) and all(p["address"]["city"] == "Bergen" for p in matches(bergen))


async def test_another_patients_answer_and_message_read_as_if_they_did_not_exist(api):
    appointment = await _answered_request(api)
    response = matches(
        fhir_json(
            await api.get("/AppointmentResponse", params={"appointment": f"Appointment/{appointment}"}, headers=bearer(KARI))
        )
    )
    assert len(response) == 1
    message = matches(fhir_json(await api.get("/Communication", params={"recipient": "Patient/1"}, headers=bearer(KARI))))[0]
    for path in (f"/AppointmentResponse/{response[0]['id']}", f"/Communication/{message['id']}"):
        outcome(await api.get(path, headers=bearer("demo-citizen-ola")), 404, "not-found")
        outcome(await api.get(path, headers=bearer("demo-staff-bakkebyen")), 404, "not-found")


# A value that works for each parameter the CapabilityStatement declares: the declared set must equal this table's.
WORKING: dict[str, dict[str, tuple[str, str]]] = {
    "Organization": {"identifier": (KARI, "8123401"), "name": (KARI, "fjord"), "_id": (KARI, "1")},
    "Location": {
        "organization": (KARI, "Organization/1"),
        "name": (KARI, "Drive"),
        "address-city": (KARI, "Bergen"),
        "_id": (KARI, "1"),
    },
    "HealthcareService": {
        "organization": (KARI, "Organization/2"),
        "active": (KARI, "true"),
        "service-type": (KARI, "urn:oid:2.16.578.1.12.4.1.1.7617|Lab"),
    },
    "Schedule": {"actor": (KARI, "HealthcareService/1"), "active": (KARI, "true")},
    "Slot": {"schedule": (KARI, "Schedule/1"), "status": (KARI, "free"), "start": (KARI, "ge2026-12-01")},
    "Appointment": {
        "patient": (FJORD_STAFF, "Patient/1"),
        "status": (FJORD_STAFF, "booked"),
        "date": (FJORD_STAFF, "ge2026-11-01"),
        "service-type": (FJORD_STAFF, "Lab"),
        "actor": (FJORD_STAFF, "Patient/1"),
        "location": (FJORD_STAFF, "Location/1"),
    },
    "AppointmentResponse": {"appointment": (FJORD_STAFF, "Appointment/{appointment}")},
    "Communication": {"recipient": (KARI, "Patient/1"), "subject": (KARI, "Patient/1")},
}


async def _declared(api) -> dict[str, set[str]]:
    statement = fhir_json(await api.get("/metadata"))
    return {
        r["type"]: {p["name"] for p in r.get("searchParam", [])}
        for r in statement["rest"][0]["resource"]
        if "search-type" in {i["code"] for i in r["interaction"]}
    }


async def test_the_capability_statement_declares_exactly_the_parameters_that_work(api):
    declared = await _declared(api)
    declared.pop("Patient")  # searched by POST _search with a form (no identity number in a URL): its own test below
    assert declared == {kind: set(params) for kind, params in WORKING.items()}
    appointment = await _answered_request(api)
    for kind, params in WORKING.items():
        for name, (token, value) in params.items():
            path = "/Slot" if kind == "Slot" else f"/{kind}"
            query = {name: value.format(appointment=appointment)}
            if kind == "Slot" and name != "schedule":
                query["schedule"] = "Schedule/1"  # a Slot search always names its timebook
            everything = fhir_json(
                await api.get(path, params={"schedule": "Schedule/1"} if kind == "Slot" else {}, headers=bearer(token))
            )
            narrowed = fhir_json(await api.get(path, params=query, headers=bearer(token)))
            assert matches(narrowed), f"{kind}?{name}={value} found nothing"
            assert narrowed["total"] <= everything["total"]


async def test_the_declared_patient_search_parameters_work(api):
    declared = (await _declared(api))["Patient"]
    assert declared == {"identifier", "name"}
    form = bearer(FJORD_STAFF) | {"Content-Type": "application/x-www-form-urlencoded"}
    kari = fhir_json(await api.get("/Patient/1", headers=bearer(KARI)))
    by_name = fhir_json(await api.post("/Patient/_search", content=f"name={kari['name'][0]['family']}", headers=form))
    by_id = fhir_json(await api.post("/Patient/_search", content=f"identifier={kari['identifier'][0]['value']}", headers=form))
    assert "1" in {p["id"] for p in matches(by_name)} and [p["id"] for p in matches(by_id)] == ["1"]


@pytest.mark.parametrize("kind", sorted(WORKING))
async def test_an_undeclared_search_parameter_is_refused_and_named(api, kind):
    # FHIR lets a server refuse (handling=strict) or ignore a parameter it does not know; this one refuses, so a
    # client never takes an unfiltered answer for a filtered one.
    query = {"schedule": "Schedule/1"} if kind == "Slot" else {}
    diagnostics = outcome(
        await api.get(f"/{kind}", params=query | {"near": "60.39|5.32|10|km"}, headers=bearer(FJORD_STAFF)), 400
    )
    assert "near" in diagnostics
