"""The public directory over the wire: capability, offices, time types, timebooks with places, and paged free slots."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from tests.conftest import KARI, bearer
from tests.fhir_validate import fhir_json, included, matches, next_link, outcome, timebook, validate
from timebok.domain.clock import OSLO
from timebok.domain.identity import HERID_SYSTEM, ORGNR_SYSTEM, parse_orgnr
from timebok.domain.timetypes import TIMETYPE_SYSTEM

KARI_H = bearer(KARI)


async def test_metadata_lists_every_interaction_the_server_serves(api):
    statement = fhir_json(await api.get("/metadata"))  # no token: FHIR clients ask before they log in
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1" and "application/fhir+json" in statement["format"]
    assert statement["implementation"]["url"] == "http://testserver/fhir"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}

    def interactions(kind):
        return {i["code"] for i in resources[kind]["interaction"]}

    def params(kind):
        return {p["name"] for p in resources[kind].get("searchParam", [])}

    assert {"read", "search-type"} <= interactions("Organization") and "identifier" in params("Organization")
    assert "search-type" in interactions("HealthcareService") and {"organization", "active"} <= params("HealthcareService")
    assert "search-type" in interactions("Schedule") and {"actor", "active"} <= params("Schedule")
    assert "Schedule:actor" in resources["Schedule"]["searchInclude"]
    assert "search-type" in interactions("Slot") and {"schedule", "status", "start"} <= params("Slot")
    assert {"create", "read", "search-type", "patch", "update"} <= interactions("Appointment")
    assert {"patient", "status", "date"} <= params("Appointment") and resources["Appointment"]["versioning"] == "versioned"
    assert "create" in interactions("AppointmentResponse")
    assert "search-type" in interactions("Communication") and "recipient" in params("Communication")
    assert "search-type" in interactions("Patient") and {"identifier", "name"} <= params("Patient")


async def test_organization_read_carries_her_id_and_a_valid_orgnr(api):
    office = fhir_json(await api.get("/Organization/1", headers=KARI_H))
    assert office["name"] == "Fjordsiden legekontor"
    ids = {i["system"]: i["value"] for i in office["identifier"]}
    assert ids[HERID_SYSTEM] == "8123401"
    assert parse_orgnr(ids[ORGNR_SYSTEM]) == ids[ORGNR_SYSTEM]
    assert office["telecom"][0]["value"] == "55 12 34 00"


@pytest.mark.parametrize("system", [HERID_SYSTEM, ORGNR_SYSTEM, None])
async def test_organization_search_by_identifier_finds_exactly_that_office(api, system):
    bakke = fhir_json(await api.get("/Organization/2", headers=KARI_H))
    value = {i["system"]: i["value"] for i in bakke["identifier"]}[system or HERID_SYSTEM]
    bundle = fhir_json(
        await api.get("/Organization", params={"identifier": f"{system}|{value}" if system else value}, headers=KARI_H)
    )
    assert bundle["total"] == 1 and [o["id"] for o in matches(bundle)] == ["2"]


async def test_organization_search_for_an_unknown_number_is_empty_not_an_error(api):
    bundle = fhir_json(await api.get("/Organization", params={"identifier": f"{HERID_SYSTEM}|9999999"}, headers=KARI_H))
    assert bundle["total"] == 0 and matches(bundle) == []


async def test_organization_search_refuses_an_unknown_identifier_system(api):
    diagnostics = outcome(await api.get("/Organization", params={"identifier": "urn:oid:1.2.3|8123401"}, headers=KARI_H), 400)
    assert "urn:oid:1.2.3" in diagnostics and "system" in diagnostics


async def test_unknown_organization_is_404(api):
    assert "Organization/99" in outcome(await api.get("/Organization/99", headers=KARI_H), 404, "not-found")


async def test_an_office_offers_its_time_types_with_volven_codes(api):
    fjord = fhir_json(
        await api.get("/HealthcareService", params={"organization": "Organization/1", "active": "true"}, headers=KARI_H)
    )
    codes = [s["type"][0]["coding"][0] for s in matches(fjord)]
    assert fjord["total"] == 4 and {c["system"] for c in codes} == {TIMETYPE_SYSTEM}
    assert [c["code"] for c in codes] == ["Koronatest", "Koronavaksine", "Lab", "Vaksine"]
    assert all(s["providedBy"] == {"reference": "Organization/1"} and s["active"] for s in matches(fjord))
    bakke = fhir_json(await api.get("/HealthcareService", params={"organization": "Organization/2"}, headers=KARI_H))
    assert [s["type"][0]["coding"][0]["code"] for s in matches(bakke)] == ["Lab", "Vaksine"]


async def test_timebooks_of_a_type_come_with_their_places_included(api):
    services = matches(fhir_json(await api.get("/HealthcareService", params={"organization": "Organization/1"}, headers=KARI_H)))
    corona = next(s for s in services if s["type"][0]["coding"][0]["code"] == "Koronatest")
    bundle = fhir_json(
        await api.get(
            "/Schedule",
            params={"actor": f"HealthcareService/{corona['id']}", "active": "true", "_include": "Schedule:actor"},
            headers=KARI_H,
        )
    )
    books = matches(bundle)
    assert bundle["total"] == 2 == len(books)  # total counts matches, not includes
    assert all(b["serviceType"][0]["coding"][0]["code"] == "Koronatest" and b["active"] for b in books)
    places = {p["id"]: p for p in included(bundle) if p["resourceType"] == "Location"}
    assert {b["actor"][1]["reference"].removeprefix("Location/") for b in books} == set(places)
    assert {p["name"] for p in places.values()} == {"Fjordsiden legekontor", "Drive-in teststasjon"}
    for place in places.values():
        assert place["address"]["line"] and place["address"]["city"] == "Bergen"
        assert len(place["description"]) > 20  # the directions the citizen sees when choosing a time


async def test_schedule_search_without_include_returns_no_places(api):
    bundle = fhir_json(await api.get("/Schedule", params={"actor": "HealthcareService/3"}, headers=KARI_H))
    assert bundle["total"] == 1 and included(bundle) == []


async def test_a_month_of_lab_slots_pages_to_exactly_total_distinct_slots_in_order(api):
    lab = await timebook(api, KARI, 1, "Lab")
    url = "/Slot"
    params = {"schedule": f"Schedule/{lab}", "status": "free", "start": ["ge2026-12-01", "lt2027-01-01"], "_count": 50}
    slots, pages, total = [], 0, None
    while url:
        bundle = fhir_json(await api.get(url, params=params, headers=KARI_H))
        total = bundle["total"] if total is None else total
        assert bundle["total"] == total  # every page reports the same total
        page = matches(bundle)
        assert 0 < len(page) <= 50
        slots += page
        pages += 1
        url, params = next_link(bundle), None
        assert pages < 100, "next links never end"
    assert total > 200 and pages == -(-total // 50)  # a real month, in as many pages as 50 a page needs
    assert len(slots) == total == len({s["id"] for s in slots})
    starts = [datetime.fromisoformat(s["start"]) for s in slots]
    assert starts == sorted(starts)
    assert all(s["status"] == "free" for s in slots)
    assert {(t.astimezone(OSLO).year, t.astimezone(OSLO).month) for t in starts} == {(2026, 12)}


async def test_slot_start_bounds_are_oslo_days(api):
    lab = await timebook(api, KARI, 1, "Lab")
    bundle = fhir_json(
        await api.get(
            "/Slot",
            params={"schedule": f"Schedule/{lab}", "start": ["ge2026-12-01", "lt2026-12-02"], "_count": 1000},
            headers=KARI_H,
        )
    )
    starts = [s["start"] for s in matches(bundle)]
    assert bundle["total"] == len(starts) == 42  # 08:00–11:30 and 12:00–15:30 in ten-minute slots
    assert starts[0] == "2026-12-01T08:00:00+01:00" and starts[-1] == "2026-12-01T15:20:00+01:00"
    assert next_link(bundle) is None


async def test_slot_read_matches_the_search(api):
    lab = await timebook(api, KARI, 1, "Lab")
    listed = matches(fhir_json(await api.get("/Slot", params={"schedule": f"Schedule/{lab}", "_count": 1}, headers=KARI_H)))[0]
    assert fhir_json(await api.get(f"/Slot/{listed['id']}", headers=KARI_H)) == listed


async def test_schedule_and_location_reads(api):
    schedule = fhir_json(await api.get("/Schedule/1", headers=KARI_H))
    place_ref = schedule["actor"][1]["reference"]
    place = fhir_json(await api.get(f"/{place_ref}", headers=KARI_H))
    assert place["managingOrganization"] == {"reference": "Organization/1"}
    service = fhir_json(await api.get(f"/{schedule['actor'][0]['reference']}", headers=KARI_H))
    assert service["type"][0]["coding"][0] == schedule["serviceType"][0]["coding"][0]  # the Volven 7617 time type


async def test_a_slot_search_needs_a_timebook(api):
    assert "schedule" in outcome(await api.get("/Slot", params={"status": "free"}, headers=KARI_H), 400, "invalid")


async def test_a_large_count_is_capped_not_refused(api):
    lab = await timebook(api, KARI, 1, "Lab")
    bundle = fhir_json(await api.get("/Slot", params={"schedule": f"Schedule/{lab}", "_count": 5000}, headers=KARI_H))
    assert len(matches(bundle)) == 1000 < bundle["total"] and next_link(bundle)


@pytest.mark.parametrize("count", [41, 42, 43])
async def test_the_last_time_of_a_day_is_never_lost_between_pages(api, count):
    lab = await timebook(api, KARI, 1, "Lab")
    params = {"schedule": f"Schedule/{lab}", "start": ["ge2026-12-01", "lt2026-12-02"], "_count": count}
    first = fhir_json(await api.get("/Slot", params=params, headers=KARI_H))
    assert first["total"] == 42 and len(matches(first)) == min(count, 42)
    if count >= 42:
        assert next_link(first) is None
    else:
        rest = fhir_json(await api.get(next_link(first), headers=KARI_H))
        assert [s["start"] for s in matches(rest)] == ["2026-12-01T15:20:00+01:00"] and next_link(rest) is None


@pytest.mark.parametrize(
    "break_it",
    [
        lambda s: s | {"status": "taken"},
        lambda s: {k: v for k, v in s.items() if k != "schedule"},
        lambda s: s | {"start": s["start"][:19]},  # an instant without its offset
        lambda s: s | {"colour": "blue"},
        lambda s: s | {"schedule": {"reference": "Timebook/1"}},
        lambda s: s | {"resourceType": "Basic"},
    ],
    ids=["unknown status", "no schedule", "no offset", "unknown element", "odd reference", "unexpected type"],
)
async def test_the_validator_notices_a_broken_resource(api, break_it):
    # Proof that the checks every other test leans on can fail.
    slot = fhir_json(await api.get("/Slot/1", headers=KARI_H))
    with pytest.raises((AssertionError, ValidationError)):
        validate(break_it(slot))
