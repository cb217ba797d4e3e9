"""Who may see and change what: tokens, one patient per citizen, one office per staff, the audit log, and no numbers in logs."""

from __future__ import annotations

import logging
from datetime import UTC

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import BAKKE_STAFF, FJORD_STAFF, KARI, NOW, OLA, SUPPORT, bearer
from tests.fhir_validate import (
    CANCEL,
    answer,
    booking_request,
    fhir_json,
    free_slots,
    matches,
    outcome,
    snapshot,
    timebook,
)
from timebok.backend import schema
from timebok.backend.app import create_app
from timebok.domain.clock import parse_instant

KARI_H, OLA_H = bearer(KARI), bearer(OLA)
FJORD_H, BAKKE_H = bearer(FJORD_STAFF), bearer(BAKKE_STAFF)
FORM = "application/x-www-form-urlencoded"

# Every endpoint that needs a token, with a body where it takes one: (name, method, path, request).
_GUARDED = [
    (f"{method} {path}", method, path, kwargs)
    for method, path, kwargs in [
        ("GET", "/Organization/1", {}),
        ("GET", "/Organization", {"params": {"identifier": "8123401"}}),
        ("GET", "/HealthcareService", {"params": {"organization": "Organization/1"}}),
        ("GET", "/Schedule", {"params": {"actor": "HealthcareService/1"}}),
        ("GET", "/Schedule/1", {}),
        ("GET", "/Location/1", {}),
        ("GET", "/Slot", {"params": {"schedule": "Schedule/4"}}),
        ("GET", "/Slot/1", {}),
        ("POST", "/Appointment", {"json": booking_request(3000, 1)}),
        ("GET", "/Appointment/2", {}),
        ("GET", "/Appointment", {}),
        ("PATCH", "/Appointment/2", {"json": CANCEL}),
        ("PUT", "/Appointment/2", {"json": {"resourceType": "Appointment", "id": "2", "status": "cancelled"}}),
        ("POST", "/AppointmentResponse", {"json": answer(2, "accepted")}),
        ("GET", "/Communication", {}),
        ("GET", "/Patient/1", {}),
        ("POST", "/Patient/_search", {"data": {"name": "Kari"}}),
        ("GET", "http://testserver/auth/userinfo", {}),
    ]
] + [
    (
        "POST /Appointment with a body it cannot read",
        "POST",
        "/Appointment",
        {"content": b"{not json", "headers": {"Content-Type": "application/fhir+json"}},
    )
]


@pytest.mark.parametrize(("method", "path", "kwargs"), [g[1:] for g in _GUARDED], ids=[g[0] for g in _GUARDED])
async def test_no_or_unknown_token_is_401_and_changes_nothing(api, database, method, path, kwargs):
    before = snapshot(database)
    kwargs = dict(kwargs)
    extra = kwargs.pop("headers", {})
    for authorization in (None, "Bearer not-a-token", "Basic a2FyaTpoZW1tZWxpZw==", "Bearer ", f"Token {KARI}"):
        headers = extra | ({"Authorization": authorization} if authorization is not None else {})
        response = await api.request(method, path, headers=headers, **kwargs)
        outcome(response, 401, "login")
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert snapshot(database) == before


async def test_metadata_needs_no_token(api):
    assert fhir_json(await api.get("/metadata"))["resourceType"] == "CapabilityStatement"


async def test_userinfo_tells_a_token_whose_it_is(api):
    assert (await api.get("http://testserver/auth/userinfo", headers=KARI_H)).json() == {
        "role": "citizen",
        "name": "Kari Nordmann",
        "patient": "Patient/1",
        "organization": None,
        "agent": None,
        "read_only": False,
        "writing_until": None,
    }
    assert (await api.get("http://testserver/auth/userinfo", headers=BAKKE_H)).json()["organization"] == "Organization/2"


async def _ids(api, headers, **params) -> list[str]:
    return [a["id"] for a in matches(fhir_json(await api.get("/Appointment", params=params, headers=headers)))]


# A citizen sees only themself.


async def test_a_citizen_never_reads_another_patients_appointment(api):
    olas = await _ids(api, OLA_H)
    assert olas, "the demo gives Ola appointments"
    unknown = await api.get("/Appointment/999999", headers=KARI_H)
    for id_ in olas:
        response = await api.get(f"/Appointment/{id_}", headers=KARI_H)
        outcome(response, 404, "not-found")  # as if it did not exist, exactly like an unknown id
        assert response.status_code == unknown.status_code
    assert not set(olas) & set(await _ids(api, KARI_H))
    # Naming him is refused as for anyone she may not act for, the same as for nobody at all (issue 27).
    named = await api.get("/Appointment", params={"patient": "Patient/2"}, headers=KARI_H)
    nobody = await api.get("/Appointment", params={"patient": "Patient/999999"}, headers=KARI_H)
    assert outcome(named, 403, "forbidden") == outcome(nobody, 403, "forbidden")


async def test_a_citizen_never_reads_another_patients_inbox_or_record(api):
    assert matches(fhir_json(await api.get("/Communication", headers=OLA_H))), "Ola has messages"
    for param in ("recipient", "subject"):
        outcome(await api.get("/Communication", params={param: "Patient/2"}, headers=KARI_H), 403, "forbidden")
    mine = matches(fhir_json(await api.get("/Communication", headers=KARI_H)))
    assert mine and {m["recipient"][0]["reference"] for m in mine} == {"Patient/1"}
    outcome(await api.get("/Patient/2", headers=KARI_H), 403, "forbidden")


async def test_a_citizen_never_cancels_another_patients_appointment(api, database):
    before = snapshot(database)
    for id_ in await _ids(api, OLA_H, status="pending,booked", date="ge2026-11-25"):
        outcome(await api.patch(f"/Appointment/{id_}", json=CANCEL, headers=KARI_H), 404, "not-found")
        body = {"resourceType": "Appointment", "id": id_, "status": "cancelled"}
        outcome(await api.put(f"/Appointment/{id_}", json=body, headers=KARI_H), 404, "not-found")
    assert snapshot(database) == before


async def test_a_citizen_never_books_on_another_patients_behalf(api, database):
    slot = (await free_slots(api, KARI, await timebook(api, KARI, 1, "Lab"), "2026-12-03"))[0]
    before = snapshot(database)
    response = await api.post("/Appointment", json=booking_request(slot["id"], 2), headers=KARI_H)
    outcome(response, 403, "forbidden")
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "not-representative"
    assert snapshot(database) == before


async def test_citizens_cannot_answer_requests_or_search_patients(api, database):
    (pending,) = await _ids(api, OLA_H, status="pending", date="ge2026-11-26T12:00")
    before = snapshot(database)
    assert "office" in outcome(
        await api.post("/AppointmentResponse", json=answer(pending, "accepted"), headers=OLA_H), 403, "forbidden"
    )
    # An answer the office could not send either is refused for who sends it, not picked apart for a citizen.
    for wrong in (answer(pending, "tentative"), answer(pending, "declined"), answer("x", "accepted")):
        assert "office" in outcome(await api.post("/AppointmentResponse", json=wrong, headers=OLA_H), 403, "forbidden")
    assert "staff" in outcome(await api.post("/Patient/_search", data={"name": "Nordmann"}, headers=KARI_H), 403, "forbidden")
    assert snapshot(database) == before


# Staff see only their own office.


async def test_staff_never_see_another_offices_appointments(api):
    fjord = await _ids(api, FJORD_H)
    bakke = await _ids(api, BAKKE_H)
    assert fjord and bakke and not set(fjord) & set(bakke)
    for id_ in fjord:
        outcome(await api.get(f"/Appointment/{id_}", headers=BAKKE_H), 404, "not-found")
    offices = {
        p["actor"]["reference"]
        for a in matches(fhir_json(await api.get("/Appointment", headers=BAKKE_H)))
        for p in a["participant"]
        if p["actor"]["reference"].startswith("Organization/")
    }
    assert offices == {"Organization/2"}
    assert fhir_json(await api.get("/Appointment", params={"patient": "Patient/1"}, headers=BAKKE_H))["total"] == 0


async def test_staff_never_see_another_offices_messages_or_patients(api):
    messages = matches(fhir_json(await api.get("/Communication", headers=BAKKE_H)))
    assert messages and {m["sender"]["reference"] for m in messages} == {"Organization/2"}
    assert fhir_json(await api.get("/Communication", params={"recipient": "Patient/1"}, headers=BAKKE_H))["total"] == 0
    outcome(await api.get("/Patient/1", headers=BAKKE_H), 404, "not-found")
    outcome(await api.get("/Patient/4", headers=FJORD_H), 404, "not-found")
    found = fhir_json(await api.post("/Patient/_search", data={"name": "Nordmann"}, headers=BAKKE_H))
    assert found["total"] == 0


async def test_an_inbox_search_for_no_such_patient_shows_nothing(api):
    # Patient/0 names nobody; it must not fall back to "every patient of the office".
    assert fhir_json(await api.get("/Communication", params={"recipient": "Patient/0"}, headers=FJORD_H))["total"] == 0


async def test_staff_never_answer_or_cancel_another_offices_request(api, database):
    (pending,) = await _ids(api, OLA_H, status="pending", date="ge2026-11-26T12:00")
    before = snapshot(database)
    for status in ("accepted", "declined"):
        response = await api.post("/AppointmentResponse", json=answer(pending, status, "Nei"), headers=BAKKE_H)
        assert f"Appointment/{pending} was not found" in outcome(response, 422, "not-found")
    outcome(await api.patch(f"/Appointment/{pending}", json=CANCEL, headers=BAKKE_H), 404, "not-found")
    assert snapshot(database) == before


async def test_staff_book_only_in_their_own_offices_timebooks_for_patients_they_know(api, database):
    fjord_slot = (await free_slots(api, KARI, await timebook(api, KARI, 1, "Lab"), "2026-12-03"))[0]
    bakke_slot = (await free_slots(api, KARI, await timebook(api, KARI, 2, "Lab"), "2026-12-03"))[0]
    before = snapshot(database)
    outcome(await api.post("/Appointment", json=booking_request(fjord_slot["id"], 4), headers=BAKKE_H), 403, "forbidden")
    outcome(await api.post("/Appointment", json=booking_request(bakke_slot["id"], 1), headers=BAKKE_H), 422, "not-found")
    assert snapshot(database) == before


async def test_a_patient_who_books_at_another_office_becomes_visible_to_it(api):
    outcome(await api.get("/Patient/1", headers=BAKKE_H), 404)
    bakke_slot = (await free_slots(api, KARI, await timebook(api, KARI, 2, "Lab"), "2026-12-03"))[0]
    appointment = fhir_json(await api.post("/Appointment", json=booking_request(bakke_slot["id"], 1), headers=KARI_H), 201)
    assert fhir_json(await api.get("/Patient/1", headers=BAKKE_H))["name"][0]["text"] == "Kari Nordmann"
    assert appointment["id"] in await _ids(api, BAKKE_H)
    assert appointment["id"] not in await _ids(api, FJORD_H)  # Kari's own office does not see her time elsewhere


# Finding a patient by number: staff only, form body, never in a URL.


def _number(database, patient_id: int) -> str:
    with database.reading() as session:
        return session.get(schema.Patient, patient_id).identifier


async def test_staff_find_a_patient_by_identity_number_in_a_form_body(api, database):
    number = _number(database, 1)
    assert int(number[2:4]) > 80, "demo numbers are synthetic (Tenor: month + 80)"
    for value in (number, f"urn:oid:2.16.578.1.12.4.1.4.1|{number}", f"{number[:6]} {number[6:]}"):
        response = await api.post("/Patient/_search", data={"identifier": value}, headers=FJORD_H)
        bundle = fhir_json(response)
        assert [p["id"] for p in matches(bundle)] == ["1"] and bundle["total"] == 1
        assert number not in str(response.request.url) and number not in bundle["link"][0]["url"]
        assert response.request.headers["content-type"] == FORM


async def test_staff_find_patients_by_name_family_first(api):
    bundle = fhir_json(await api.post("/Patient/_search", data={"name": "nordmann"}, headers=FJORD_H))
    assert [p["name"][0]["text"] for p in matches(bundle)] == ["Kari Nordmann", "Ola Nordmann"]
    both = fhir_json(await api.post("/Patient/_search", data={"name": "Ola NORD"}, headers=FJORD_H))
    assert [p["id"] for p in matches(both)] == ["2"]


async def test_name_search_folds_norwegian_letters_and_sorts_the_same_on_every_database(api, database):
    # SQLite's lower() folds only A-Z and PostgreSQL's sort order depends on its locale: neither may show.
    with database.writing() as session:
        for n, (given, family) in enumerate([("Øyvind", "Ærø"), ("Åse", "Ødegård"), ("Ørjan", "Ødegård"), ("åsmund", "ødegård")]):
            session.add(
                schema.Patient(
                    identifier_system="urn:oid:2.16.578.1.12.4.1.4.1",
                    identifier=f"9999999999{n}",
                    given=given,
                    family=family,
                    birth_date=parse_instant(NOW).date(),
                    gp_organization_id=1,
                )
            )
        session.add(schema.Organization(name="Ålesund legesenter", her_id="8123499", orgnr="999999999"))
    found = fhir_json(await api.post("/Patient/_search", data={"name": "ØYVIND ærø"}, headers=FJORD_H))
    assert [p["name"][0]["text"] for p in matches(found)] == ["Øyvind Ærø"]
    family = fhir_json(await api.post("/Patient/_search", data={"name": "ødegård"}, headers=FJORD_H))
    # Family, then given, by code point on both databases: upper case before lower, Å (U+00C5) before Ø (U+00D8).
    assert [p["name"][0]["text"] for p in matches(family)] == ["Åse Ødegård", "Ørjan Ødegård", "åsmund ødegård"]
    offices = fhir_json(await api.get("/Organization", params={"name": "ÅLESUND"}, headers=KARI_H))
    assert [o["name"] for o in matches(offices)] == ["Ålesund legesenter"]


@pytest.mark.parametrize("typed", ["%", "_", "n_rdmann", "%nordmann"])
async def test_patient_name_search_takes_wildcards_literally(api, typed):
    # Otherwise a stray "%" would list every patient of the office (and audit them all as searched).
    assert fhir_json(await api.post("/Patient/_search", data={"name": typed}, headers=FJORD_H))["total"] == 0


async def test_organization_name_search_takes_wildcards_literally(api):
    assert fhir_json(await api.get("/Organization", params={"name": "%"}, headers=KARI_H))["total"] == 0
    assert [o["id"] for o in matches(fhir_json(await api.get("/Organization", params={"name": "FJORD"}, headers=KARI_H)))] == [
        "1"
    ]


async def test_a_number_in_the_search_url_is_never_used(api, database):
    number = _number(database, 1)
    response = await api.post(f"/Patient/_search?identifier={number}", content=b"", headers=FJORD_H | {"Content-Type": FORM})
    assert "Search by identifier" in outcome(response, 400, "invalid") and number not in response.text


async def test_an_invalid_identity_number_is_400_and_not_echoed(api, database):
    number = _number(database, 1)
    wrong = number[:10] + str((int(number[10]) + 1) % 10)
    response = await api.post("/Patient/_search", data={"identifier": wrong}, headers=FJORD_H)
    diagnostics = outcome(response, 400, "invalid")
    assert "control digit" in diagnostics
    assert wrong not in response.text and wrong[6:] not in response.text


async def test_a_backend_outside_demo_mode_refuses_synthetic_numbers(database):
    number = _number(database, 1)
    # Static tokens kept on purpose (a real instance takes OpenID Connect tokens; tests/test_oidc.py): this is about numbers.
    transport = httpx.ASGITransport(app=create_app(database, demo=False, static_tokens=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/fhir") as real:
        response = await real.post("/Patient/_search", data={"identifier": number}, headers=FJORD_H)
        assert "synthetic" in outcome(response, 400, "invalid") and number not in response.text
        by_name = fhir_json(await real.post("/Patient/_search", data={"name": "Kari"}, headers=FJORD_H))
        assert [p["id"] for p in matches(by_name)] == ["1"]  # the rest of the backend works as usual


async def test_there_is_no_patient_search_by_url(api, database):
    number = _number(database, 1)
    # GET /Patient is a citizen's own list (issue 27); staff are sent to the POST search, and the number is not echoed.
    response = await api.get("/Patient", params={"identifier": number}, headers=FJORD_H)
    assert "POST" in outcome(response, 403)
    assert number not in response.text


@pytest.mark.parametrize(
    ("data", "content_type", "status", "says"),
    [
        ({}, FORM, 400, "Search by identifier"),
        ({"identifier": ""}, FORM, 400, "Search by identifier"),
        ({"birthdate": "1985-03-14"}, FORM, 400, "Unknown search parameter(s): birthdate"),
        ({"name": ["Kari", "Ola"]}, FORM, 400, "only once"),
        ({"name": "Kari"}, "application/json", 415, "x-www-form-urlencoded"),
    ],
)
async def test_patient_search_refuses_what_it_cannot_answer(api, data, content_type, status, says):
    body = str(httpx.QueryParams(data)).encode()
    response = await api.post("/Patient/_search", content=body, headers=FJORD_H | {"Content-Type": content_type})
    assert says in outcome(response, status)


# The audit log (Normen): every staff read or change of a patient's data.


def _audit(database) -> list[tuple]:
    with database.reading() as session:
        return [
            tuple(r)
            for r in session.execute(
                select(
                    schema.AuditEvent.actor,
                    schema.AuditEvent.organization_id,
                    schema.AuditEvent.patient_id,
                    schema.AuditEvent.action,
                    schema.AuditEvent.detail,
                    schema.AuditEvent.at,
                ).order_by(schema.AuditEvent.id)
            )
        ]


async def test_every_staff_read_and_change_of_patient_data_is_audited(api, database):
    at = parse_instant(NOW).astimezone(UTC).replace(tzinfo=None)
    who = ("staff:Helsesekretær, Fjordsiden", 1)
    (pending,) = await _ids(api, OLA_H, status="pending", date="ge2026-11-26T12:00")
    assert _audit(database) == []

    fhir_json(await api.get(f"/Appointment/{pending}", headers=FJORD_H))
    assert _audit(database)[-1] == (*who, 2, "read", f"Appointment/{pending}", at)

    fhir_json(await api.post("/Patient/_search", data={"name": "Kari"}, headers=FJORD_H))
    assert _audit(database)[-1] == (*who, 1, "search", "Patient search", at)

    messages = matches(fhir_json(await api.get("/Communication", params={"recipient": "Patient/2"}, headers=FJORD_H)))
    assert messages and _audit(database)[-1] == (*who, 2, "read", "Communication search", at)

    fhir_json(await api.get("/Patient/3", headers=FJORD_H))
    assert _audit(database)[-1] == (*who, 3, "read", "Patient/3", at)

    fhir_json(await api.post("/AppointmentResponse", json=answer(pending, "accepted"), headers=FJORD_H), 201)
    assert _audit(database)[-1] == (*who, 2, "update", f"Appointment/{pending} accepted", at)

    everyone = fhir_json(await api.get("/Appointment", headers=FJORD_H))
    patients = {
        int(p["actor"]["reference"].split("/")[1])
        for a in matches(everyone)
        for p in a["participant"]
        if p["actor"]["reference"].startswith("Patient/")
    }
    search_events = [e for e in _audit(database) if e[4] == "Appointment search"]
    assert {e[2] for e in search_events} == patients and len(search_events) == len(patients)  # one per patient seen


async def test_citizens_reading_their_own_data_are_not_audited(api, database):
    mine = await _ids(api, KARI_H)
    fhir_json(await api.get(f"/Appointment/{mine[0]}", headers=KARI_H))
    fhir_json(await api.get("/Communication", headers=KARI_H))
    fhir_json(await api.get("/Patient/1", headers=KARI_H))
    assert _audit(database) == []


# Support agents act as a citizen (the citizen's token plus their own) and are audited like staff.

AS_KARI = {**KARI_H, "X-Support-Agent": SUPPORT}


async def test_a_support_agent_sees_exactly_what_the_citizen_sees(api, database):
    info = (await api.get("http://testserver/auth/userinfo", headers=AS_KARI)).json()
    assert info == {
        "role": "citizen",
        "name": "Kari Nordmann",
        "patient": "Patient/1",
        "organization": None,
        "agent": "Kundesenter, NHN",
        "read_only": True,  # until «Skriv som» (tests/test_api_support_write.py)
        "writing_until": None,
    }
    for path in ("/Appointment", "/Communication", "/Patient/1"):
        as_agent = fhir_json(await api.get(path, headers=AS_KARI))
        as_citizen = fhir_json(await api.get(path, headers=KARI_H))
        assert as_agent == as_citizen, path


async def test_every_read_by_a_support_agent_is_audited_with_the_agents_name(api, database):
    at = parse_instant(NOW).astimezone(UTC).replace(tzinfo=None)
    who = ("support:Kundesenter, NHN as citizen:Kari Nordmann", None)
    mine = await _ids(api, AS_KARI)
    assert _audit(database)[-1] == (*who, 1, "read", "Appointment search", at)
    fhir_json(await api.get(f"/Appointment/{mine[0]}", headers=AS_KARI))
    assert _audit(database)[-1] == (*who, 1, "read", f"Appointment/{mine[0]}", at)
    fhir_json(await api.get("/Communication", headers=AS_KARI))
    assert _audit(database)[-1] == (*who, 1, "read", "Communication search", at)
    fhir_json(await api.get("/Patient/1", headers=AS_KARI))
    assert _audit(database)[-1] == (*who, 1, "read", "Patient/1", at)
    assert len(_audit(database)) == 4


@pytest.mark.parametrize(
    "agent, acting_as",
    [
        ("not-a-token", KARI),  # unknown agent token
        (KARI, OLA),  # a citizen's token is not an agent's
        (FJORD_STAFF, KARI),  # nor is staff's
        (SUPPORT, FJORD_STAFF),  # an agent acts only as a citizen
    ],
)
async def test_a_support_header_that_is_not_an_agent_acting_as_a_citizen_is_401(api, database, agent, acting_as):
    response = await api.get("/Appointment", headers={**bearer(acting_as), "X-Support-Agent": agent})
    assert response.status_code == 401
    assert fhir_json(response, 401)["resourceType"] == "OperationOutcome"
    assert _audit(database) == []


async def test_an_agent_token_alone_reads_no_patient_data(api):
    assert matches(fhir_json(await api.get("/Appointment", headers=bearer(SUPPORT)))) == []
    assert matches(fhir_json(await api.get("/Communication", headers=bearer(SUPPORT)))) == []
    assert (await api.get("/Patient/1", headers=bearer(SUPPORT))).status_code == 404


async def test_a_demo_backend_lists_its_demo_users_and_a_real_one_does_not(api, database):
    users = (await api.get("http://testserver/auth/demo-users")).json()
    assert {u["token"]: u["role"] for u in users}[SUPPORT] == "support"
    assert [u["role"] for u in users][:5] == ["citizen"] * 5
    real = create_app(database, demo=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=real), base_url="http://testserver") as client:
        assert (await client.get("/auth/demo-users")).status_code == 404


# Privacy: the access log never holds an identity number.


async def test_the_access_log_never_contains_an_identity_number(api, database, caplog):
    caplog.set_level(logging.INFO, logger="timebok.access")
    number = _number(database, 1)
    fhir_json(await api.post("/Patient/_search", data={"identifier": number}, headers=FJORD_H))
    spelled = [number, f"{number[:6]}+{number[6:]}", f"{number[:6]}%20{number[6:]}", f"%20{number}", f"x{number}x"]
    for value in spelled:
        await api.get(f"/Organization?name={value}", headers=FJORD_H)
    await api.get(f"/Patient/{number}", headers=FJORD_H)
    await api.get(f"/Appointment?patient=Patient/{number}", headers=FJORD_H)
    lines = [r.getMessage() for r in caplog.records if r.name == "timebok.access"]
    assert len(lines) == 2 + len(spelled) + 1
    assert all(number not in line and number[6:] not in line for line in lines), lines
    assert sum(f"{number[:6]} *****" in line for line in lines) == len(spelled) + 2  # masked, so still traceable


async def test_demo_users_are_only_the_seeded_ones_and_demo_refuses_a_database_with_real_users(api, database, db_url):
    from timebok.backend.seed import DEMO_TOKENS
    from timebok.backend.server import StartupError, open_database

    with database.writing() as session:
        session.add(schema.AccessToken(token="real-staff-secret", role="staff", name="Ekte ansatt", organization_id=1))
    users = (await api.get("http://testserver/auth/demo-users")).json()
    assert {u["token"] for u in users} == DEMO_TOKENS and "real-staff-secret" not in str(users)
    with pytest.raises(StartupError, match="--demo refuses .* 1 non-demo user"):
        open_database(db_url, demo=True)
    open_database(db_url, demo=False).dispose()  # without --demo it serves the database as always
