"""Booking for someone else: the server decides from the register whom a citizen may act for (parents, fullmakt),
and refuses everyone else with 403 `not-representative`, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.conftest import FJORD_STAFF, KARI, OLA, PER, SUPPORT, bearer
from tests.fhir_validate import CANCEL, answer, booking_request, fhir_json, free_slots, matches, outcome, snapshot, timebook
from timebok.backend import schema
from timebok.backend.fhir import ACCESS_URL, REPRESENTATIVE_URL, RULE_URL
from timebok.backend.outcome import RULE_SYSTEM
from timebok.domain import appointment_life as LIFE
from timebok.domain.clock import set_now
from timebok.domain.representation import Kind, Person, Protection, Relation, decide
from timebok.domain.timetypes import TIMETYPE_SYSTEM

KARI_ID, OLA_ID, EMMA, JONAS, SOFIE, ASTRID = 1, 2, 6, 7, 8, 9  # the seed's patients (Sofie: protected address)
DAY = "2026-12-03"


def _rule(response) -> str:
    return response.json()["issue"][0]["details"]["coding"][0]["code"]


def _refused(response, rule: str = "not-representative") -> str:
    said = outcome(response, 403, "forbidden")
    assert response.json()["issue"][0]["details"]["coding"] == [{"system": RULE_SYSTEM, "code": rule}]
    return said


async def _people(api, token: str = KARI) -> dict[str, dict]:
    """Name → (access, rule, relationship code) of everyone GET /Patient answers for the token; "self" for the caller."""
    found = {}
    for patient in matches(fhir_json(await api.get("/Patient", headers=bearer(token)))):
        name = patient["name"][0]["text"]
        if "contained" not in patient:
            found[name] = {"self": True}
            continue
        (related,) = patient["contained"]
        assert related["resourceType"] == "RelatedPerson" and patient["link"][0]["other"]["reference"] == "#representative"
        assert related["patient"] == {"reference": f"Patient/{patient['id']}"}
        ext = {e["url"]: e["valueCode"] for e in related["extension"]}
        found[name] = {
            "id": int(patient["id"]),
            "access": ext[ACCESS_URL],
            "rule": ext[RULE_URL],
            "relationship": related["relationship"][0]["coding"][0]["code"],
        }
    return found


async def _slot(api, nth: int = 0) -> dict:
    book = await timebook(api, KARI, 1, "Lab")
    return (await free_slots(api, KARI, book, DAY, count=nth + 1))[nth]


async def _book(api, patient: int, token: str = KARI, nth: int = 0):
    return await api.post("/Appointment", json=booking_request((await _slot(api, nth))["id"], patient), headers=bearer(token))


def _register(database, identifier_of: int, **values) -> None:
    """Change the demo register's entry for a patient's person, as the real register would change."""
    with database.writing() as session:
        number = session.get_one(schema.Patient, identifier_of).identifier
        session.execute(update(schema.RegisterPerson).where(schema.RegisterPerson.identifier == number).values(**values))


def _address_of(database, patient: int) -> str:
    with database.reading() as session:
        number = session.get_one(schema.Patient, patient).identifier
        return session.get_one(schema.RegisterPerson, number).address


def _tie(database, person: int, **values) -> None:
    with database.writing() as session:
        number = session.get_one(schema.Patient, person).identifier
        session.execute(update(schema.RegisterRelation).where(schema.RegisterRelation.person == number).values(**values))


async def test_kari_may_act_for_emma_and_her_mother_and_see_jonas_and_nobody_else(api):
    people = await _people(api)
    assert people == {
        "Kari Nordmann": {"self": True},
        "Emma Lie": {"id": EMMA, "access": "write", "rule": "child-under-12", "relationship": "PRN"},
        "Jonas Lie": {"id": JONAS, "access": "read", "rule": "child-12-16", "relationship": "PRN"},
        "Astrid Solberg": {"id": ASTRID, "access": "write", "rule": "fullmakt-health", "relationship": "POWATT"},
    }
    # Ola's daughter has a strictly confidential address: never listed, not even to her father.
    assert await _people(api, OLA) == {"Ola Nordmann": {"self": True}}
    assert await _people(api, PER) == {"Per Hansen": {"self": True}}
    outcome(await api.get("/Patient", headers=bearer(FJORD_STAFF)), 403, "forbidden")


async def test_kari_books_for_emma_the_office_confirms_and_both_inboxes_see_it(api, database):
    made = fhir_json(await _book(api, EMMA), 201)
    # The appointment is Emma's; Kari is the representative, in Helsenorge's extension, by her fødselsnummer.
    assert made["participant"][0]["actor"]["reference"] == f"Patient/{EMMA}"
    # (beside it the request's answer time, issue 24's extensions)
    (rep,) = [e for e in made["extension"] if e["url"] == REPRESENTATIVE_URL]
    parts = {p["url"]: p for p in rep["extension"]}
    assert parts["name"]["valueHumanName"] == {"family": "Nordmann", "given": ["Kari"]}
    assert parts["ident"]["valueIdentifier"]["value"] == "14838512470"
    assert parts["ident"]["valueIdentifier"]["type"]["coding"][0]["code"] == "FNR"
    # Audited under both identities.
    with database.reading() as session:
        events = session.execute(
            select(schema.AuditEvent.patient_id, schema.AuditEvent.action, schema.AuditEvent.detail).where(
                schema.AuditEvent.action == "create"
            )
        ).all()
    assert {(p, a) for p, a, _ in events} == {(EMMA, "create"), (KARI_ID, "create")}
    # The office sees Emma's request and confirms it.
    queue = matches(fhir_json(await api.get("/Appointment", params={"status": "pending"}, headers=bearer(FJORD_STAFF))))
    assert any(a["id"] == made["id"] and a["extension"][0]["url"] == REPRESENTATIVE_URL for a in queue)
    fhir_json(await api.post("/AppointmentResponse", json=answer(made["id"], "accepted"), headers=bearer(FJORD_STAFF)), 201)
    # Kari's «Timeavtaler» has it, booked, for Emma; her inbox has Emma's messages.
    mine = matches(fhir_json(await api.get("/Appointment", headers=bearer(KARI))))
    (emmas,) = [a for a in mine if a["id"] == made["id"]]
    assert emmas["status"] == "booked" and emmas["participant"][0]["actor"]["reference"] == f"Patient/{EMMA}"
    inbox = matches(fhir_json(await api.get("/Communication", headers=bearer(KARI))))
    kinds = [c["category"][0]["coding"][0]["code"] for c in inbox if c["recipient"][0]["reference"] == f"Patient/{EMMA}"]
    assert kinds == ["confirmed", "request-sent"]
    # Only Emma's: a search for her alone.
    only = matches(fhir_json(await api.get("/Appointment", params={"patient": f"Patient/{EMMA}"}, headers=bearer(KARI))))
    assert [a["id"] for a in only] == [made["id"]]
    # Her reads of Emma's times and messages are in both trails too, as staff reads are.
    with database.reading() as session:
        reads = session.execute(
            select(schema.AuditEvent.patient_id, schema.AuditEvent.detail, schema.AuditEvent.actor).where(
                schema.AuditEvent.action == "read"
            )
        ).all()
    assert {(p, d) for p, d, _ in reads} >= {
        (EMMA, "Appointment search"),
        (KARI_ID, "Appointment search for Patient/6"),
        (EMMA, "Communication search"),
    }
    citizens = {a for _, _, a in reads if a.startswith("citizen:")}  # the desk's reads are staff's, as ever
    assert citizens == {"citizen:Kari Nordmann representing Patient/6"}
    # Ola sees none of it.
    assert made["id"] not in [a["id"] for a in matches(fhir_json(await api.get("/Appointment", headers=bearer(OLA))))]


async def test_kari_cancels_emmas_time_and_the_message_reaches_her(api):
    made = fhir_json(await _book(api, EMMA), 201)
    headers = bearer(KARI) | {"If-Match": f'W/"{made["meta"]["versionId"]}"', "Content-Type": "application/json-patch+json"}
    cancelled = fhir_json(await api.patch(f"/Appointment/{made['id']}", json=CANCEL, headers=headers))
    assert cancelled["status"] == "cancelled" and cancelled["cancelationReason"]["coding"][0]["code"] == "pat-cpp"
    inbox = matches(fhir_json(await api.get("/Communication", params={"recipient": f"Patient/{EMMA}"}, headers=bearer(KARI))))
    assert inbox[0]["category"][0]["coding"][0]["code"] == "cancelled"


async def test_jonas_at_14_is_read_only_his_times_show_but_cannot_be_booked_or_cancelled(api, database):
    before = snapshot(database)
    _refused(await _book(api, JONAS), "read-only")
    assert snapshot(database) == before
    # The office books for Jonas; his mother sees it, and cannot cancel it.
    staffs = fhir_json(await _book(api, JONAS, FJORD_STAFF), 201)
    seen = matches(fhir_json(await api.get("/Appointment", params={"patient": f"Patient/{JONAS}"}, headers=bearer(KARI))))
    assert [a["id"] for a in seen] == [staffs["id"]]
    headers = bearer(KARI) | {"Content-Type": "application/json-patch+json"}
    _refused(await api.patch(f"/Appointment/{staffs['id']}", json=CANCEL, headers=headers), "read-only")


async def test_anyone_else_is_refused_alike_whether_the_person_exists_or_not(api, database):
    before = snapshot(database)
    # Ola for his protected daughter, Kari for Ola, and for a patient id that does not exist: the same answer.
    said = {
        _refused(await _book(api, SOFIE, OLA)),
        _refused(await _book(api, OLA_ID)),
        _refused(await _book(api, 987654)),
    }
    assert len(said) == 1
    assert snapshot(database) == before
    reads = [
        await api.get("/Patient/8", headers=bearer(OLA)),
        await api.get("/Patient/2", headers=bearer(KARI)),
        await api.get("/Patient/987654", headers=bearer(KARI)),
        await api.get("/Appointment", params={"patient": "Patient/2"}, headers=bearer(KARI)),
        await api.get("/Communication", params={"recipient": "Patient/987654"}, headers=bearer(KARI)),
    ]
    assert {_refused(r) for r in reads[:3]} and all(_rule(r) == "not-representative" for r in reads)
    assert fhir_json(await api.get(f"/Patient/{EMMA}", headers=bearer(KARI)))["name"][0]["text"] == "Emma Lie"


async def test_a_fullmakt_withdrawn_while_a_booking_is_in_flight_refuses_it_and_writes_nothing(api, database):
    assert (await _people(api))["Astrid Solberg"]["access"] == "write"  # chosen on step 1
    earlier = fhir_json(await _book(api, ASTRID, nth=1), 201)
    _tie(database, ASTRID, withdrawn=True)  # Astrid withdraws it while Kari is on the review step
    before = snapshot(database)
    _refused(await _book(api, ASTRID))
    assert snapshot(database) == before
    assert "Astrid Solberg" not in await _people(api)
    # Her earlier time no longer shows to Kari, and cannot be cancelled by her: the time Kari booked says why (403).
    assert earlier["id"] not in [a["id"] for a in matches(fhir_json(await api.get("/Appointment", headers=bearer(KARI))))]
    headers = bearer(KARI) | {"Content-Type": "application/json-patch+json"}
    _refused(await api.patch(f"/Appointment/{earlier['id']}", json=CANCEL, headers=headers))
    assert snapshot(database) == before


async def test_a_fullmakt_for_another_area_gives_nothing(api, database):
    _tie(database, ASTRID, area="okonomi")
    assert "Astrid Solberg" not in await _people(api)
    _refused(await _book(api, ASTRID))


@pytest.mark.parametrize(
    ("born", "access"),
    [
        (date(2014, 11, 26), "write"),  # 11 until tomorrow
        (date(2014, 11, 25), "read"),  # the 12th birthday is today
        (date(2010, 11, 26), "read"),  # 15 until tomorrow
        (date(2010, 11, 25), None),  # the 16th birthday is today: helserettslig myndig, no longer listed
    ],
)
async def test_the_age_limits_hold_on_the_day_of_the_12th_and_16th_birthdays(api, database, born, access):
    _register(database, EMMA, birth_date=born)
    people = await _people(api)
    assert people.get("Emma Lie", {}).get("access") == access
    response = await _book(api, EMMA)
    if access == "write":
        fhir_json(response, 201)
    else:
        _refused(response, "read-only" if access == "read" else "not-representative")


async def test_a_child_at_another_address_or_without_parental_responsibility_is_not_listed(api, database):
    _register(database, EMMA, address="Fjellveien 1, 5019 Bergen")
    _tie(database, JONAS, parental_responsibility=False)
    people = await _people(api)
    assert "Emma Lie" not in people and "Jonas Lie" not in people
    _refused(await _book(api, EMMA))


@pytest.mark.parametrize("protection", ["fortrolig", "strengt-fortrolig"])
async def test_a_protected_address_hides_the_child_from_the_parent(api, database, protection):
    _register(database, EMMA, protection=protection)
    assert "Emma Lie" not in await _people(api)
    _refused(await _book(api, EMMA))


async def test_support_acting_as_kari_hears_why_she_cannot_book_for_her_son(api):
    headers = bearer(KARI) | {"X-Support-Agent": SUPPORT}
    answer_ = (await api.get("http://testserver/support/representation", headers=headers)).json()
    rules = {p["name"]: (p["age"], p["access"], p["rule"]) for p in answer_["people"]}
    assert rules == {
        "Emma Lie": (8, "write", "child-under-12"),
        "Jonas Lie": (14, "read", "child-12-16"),
        "Astrid Solberg": (78, "write", "fullmakt-health"),
    }
    ola = (await api.get("http://testserver/support/representation", headers=bearer(OLA) | {"X-Support-Agent": SUPPORT})).json()
    assert ola == {"people": []}  # the protected daughter is not shown to support either
    outcome(await api.get("http://testserver/support/representation", headers=bearer(KARI)), 403, "forbidden")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    born=st.dates(min_value=date(2008, 1, 1), max_value=date(2026, 11, 25)),
    same_address=st.booleans(),
    protection=st.sampled_from(["none", "fortrolig", "strengt-fortrolig"]),
    responsibility=st.booleans(),
)
async def test_what_the_api_lists_is_what_the_rules_decide_for_any_register_entry(
    api, database, born, same_address, protection, responsibility
):
    _register(
        database,
        EMMA,
        birth_date=born,
        address="Strandgaten 30, 5013 Bergen" if same_address else "Fjellveien 1, 5019 Bergen",
        protection=protection,
    )
    _tie(database, EMMA, parental_responsibility=responsibility)
    kari = Person(date(1985, 3, 14), "Strandgaten 30, 5013 Bergen")
    emma = Person(born, "Strandgaten 30, 5013 Bergen" if same_address else "x", Protection(protection))
    verdict = decide(kari, emma, Relation(Kind.PARENT, parental_responsibility=responsibility), date(2026, 11, 25))
    listed = (await _people(api)).get("Emma Lie")
    assert (
        (listed["access"], listed["rule"]) == (verdict.access.value, verdict.rule.value) if verdict.may_read else listed is None
    )


# -- issue 24's life on a child's time: a change, a hold and attendance follow the same rules as a cancel ----------


def _change(slot_id: str, old_id: str, patient: int, status: str = "pending") -> dict:
    body = booking_request(slot_id, patient) | {"status": status}
    body["extension"] = [{"url": LIFE.REPLACES_URL, "valueReference": {"reference": f"Appointment/{old_id}"}}]
    return body


def _ext(resource: dict, url: str) -> dict | None:
    return next((e for e in resource.get("extension", []) if e["url"] == url), None)


def _said_by(rep: dict | None) -> str | None:
    """The representative's fødselsnummer in an Appointment's hn-extension-representant, if it has one."""
    if rep is None:
        return None
    return {p["url"]: p for p in rep["extension"]}["ident"]["valueIdentifier"]["value"]


async def _booked_for(api, patient: int, token: str, nth: int = 0) -> dict:
    """A confirmed time for `patient`, requested with `token` and accepted by the office."""
    made = fhir_json(await _book(api, patient, token, nth), 201)
    fhir_json(await api.post("/AppointmentResponse", json=answer(made["id"], "accepted"), headers=bearer(FJORD_STAFF)), 201)
    return fhir_json(await api.get(f"/Appointment/{made['id']}", headers=bearer(FJORD_STAFF)))


async def test_kari_changes_emmas_time_keeps_the_old_one_until_the_office_confirms_and_both_trails_say_so(api, database):
    old = await _booked_for(api, EMMA, KARI)
    new_slot = await _slot(api, 1)
    # Step 5 holds the new time for Emma: the hold is Emma's, with Kari in the representative extension.
    hold = await api.post("/Appointment", json=_change(new_slot["id"], old["id"], EMMA, "proposed"), headers=bearer(KARI))
    held = fhir_json(hold, 201)
    assert held["status"] == "proposed" and _said_by(_ext(held, REPRESENTATIVE_URL)) == "14838512470"
    assert _ext(held, LIFE.REPLACES_URL)["valueReference"] == {"reference": f"Appointment/{old['id']}"}
    # Sent as the request: the same Appointment, still carrying Kari as the representative.
    sent = fhir_json(
        await api.put(
            f"/Appointment/{held['id']}", json=held | {"status": "pending"}, headers=bearer(KARI) | {"If-Match": 'W/"1"'}
        )
    )
    assert sent["status"] == "pending" and _said_by(_ext(sent, REPRESENTATIVE_URL)) == "14838512470"
    # Emma keeps her old time until the office answers, and the message reaches Kari's inbox.
    assert fhir_json(await api.get(f"/Appointment/{old['id']}", headers=bearer(KARI)))["status"] == "booked"
    inbox = matches(fhir_json(await api.get("/Communication", params={"recipient": f"Patient/{EMMA}"}, headers=bearer(KARI))))
    assert inbox[0]["category"][0]["coding"][0]["code"] == "change-sent"
    # Audited under both identities, the hold and its sending alike.
    with database.reading() as session:
        trail = set(
            session.execute(
                select(schema.AuditEvent.patient_id, schema.AuditEvent.detail).where(schema.AuditEvent.action != "read")
            ).all()
        )
    assert {
        (EMMA, f"Appointment/{held['id']} proposed"),
        (KARI_ID, f"Appointment/{held['id']} proposed for Patient/{EMMA}"),
        (EMMA, f"Appointment/{held['id']} pending"),
        (KARI_ID, f"Appointment/{held['id']} pending for Patient/{EMMA}"),
    } <= trail
    # Ola may not touch Emma's time at all.
    before = snapshot(database)
    _refused(await api.post("/Appointment", json=_change((await _slot(api, 2))["id"], old["id"], EMMA), headers=bearer(OLA)))
    assert snapshot(database) == before
    # The office confirms: the new time is booked, the old one cancelled as moved, and Kari is told for Emma.
    fhir_json(await api.post("/AppointmentResponse", json=answer(sent["id"], "accepted"), headers=bearer(FJORD_STAFF)), 201)
    mine = {a["id"]: a for a in matches(fhir_json(await api.get("/Appointment", headers=bearer(KARI))))}
    assert mine[sent["id"]]["status"] == "booked" and _said_by(_ext(mine[sent["id"]], REPRESENTATIVE_URL)) == "14838512470"
    assert mine[old["id"]]["status"] == "cancelled"
    assert mine[old["id"]]["cancelationReason"]["coding"][0]["code"] == "moved"
    inbox = matches(fhir_json(await api.get("/Communication", params={"recipient": f"Patient/{EMMA}"}, headers=bearer(KARI))))
    assert inbox[0]["category"][0]["coding"][0]["code"] == "moved"


async def test_kari_lets_go_of_a_hold_for_emma_and_may_not_mark_her_attendance(api, database):
    old = await _booked_for(api, EMMA, KARI)
    hold = fhir_json(
        await api.post(
            "/Appointment", json=booking_request((await _slot(api, 1))["id"], EMMA) | {"status": "proposed"}, headers=bearer(KARI)
        ),
        201,
    )
    assert _said_by(_ext(hold, REPRESENTATIVE_URL)) == "14838512470"
    gone = await api.delete(f"/Appointment/{hold['id']}", headers=bearer(KARI))
    assert gone.status_code == 204
    # Attendance is the office's: Kari gets 403 for Emma's time as for her own, and nothing changes.
    before = snapshot(database)
    mark = [{"op": "replace", "path": "/status", "value": "arrived"}]
    headers = bearer(KARI) | {"Content-Type": "application/json-patch+json", "If-Match": f'W/"{old["meta"]["versionId"]}"'}
    outcome(await api.patch(f"/Appointment/{old['id']}", json=mark, headers=headers), 403, "forbidden")
    assert snapshot(database) == before


async def test_kari_may_not_change_or_hold_jonass_time_at_14_and_the_office_still_may(api, database):
    old = await _booked_for(api, JONAS, FJORD_STAFF)
    # She sees it (a read of his time is hers to make, audited under both identities) ...
    seen = fhir_json(await api.get(f"/Appointment/{old['id']}", headers=bearer(KARI)))
    assert seen["status"] == "booked"
    with database.reading() as session:
        reads = set(
            session.execute(
                select(schema.AuditEvent.patient_id, schema.AuditEvent.detail).where(schema.AuditEvent.action == "read")
            ).all()
        )
    assert {(JONAS, f"Appointment/{old['id']}"), (KARI_ID, f"Appointment/{old['id']} for Patient/{JONAS}")} <= reads
    # ... but a change, a hold for a change, and a mark are all refused read-only, and write nothing.
    before = snapshot(database)
    new_slot = (await _slot(api, 1))["id"]
    for status in ("pending", "proposed"):
        refused = await api.post("/Appointment", json=_change(new_slot, old["id"], JONAS, status), headers=bearer(KARI))
        assert "not book or cancel" in _refused(refused, "read-only")
    headers = bearer(KARI) | {"Content-Type": "application/json-patch+json", "If-Match": f'W/"{old["meta"]["versionId"]}"'}
    mark = [{"op": "replace", "path": "/status", "value": "arrived"}]
    _refused(await api.patch(f"/Appointment/{old['id']}", json=mark, headers=headers), "read-only")
    # Naming herself as the patient does not get round it: the time is not hers to change.
    outcome(await api.post("/Appointment", json=_change(new_slot, old["id"], KARI_ID), headers=bearer(KARI)), 422)
    assert snapshot(database) == before
    # Staff are unaffected: the desk moves Jonas's time at once.
    moved = fhir_json(
        await api.post("/Appointment", json=_change(new_slot, old["id"], JONAS, "booked"), headers=bearer(FJORD_STAFF)), 201
    )
    assert moved["status"] == "booked" and _ext(moved, REPRESENTATIVE_URL) is None
    assert fhir_json(await api.get(f"/Appointment/{old['id']}", headers=bearer(KARI)))["status"] == "cancelled"


async def test_karis_read_closes_emmas_request_left_unanswered_when_its_time_began(api):
    made = fhir_json(await _book(api, EMMA), 201)
    set_now(datetime.fromisoformat(made["start"]) + timedelta(minutes=1))
    # Nobody at the office answered; Kari's list is the first read, and it closes Emma's request as the patient's would.
    listed = {a["id"]: a for a in matches(fhir_json(await api.get("/Appointment", headers=bearer(KARI))))}
    assert listed[made["id"]]["status"] == "cancelled"
    assert listed[made["id"]]["cancelationReason"]["coding"][0]["code"] == "unanswered"
    inbox = matches(fhir_json(await api.get("/Communication", params={"recipient": f"Patient/{EMMA}"}, headers=bearer(KARI))))
    assert inbox[0]["category"][0]["coding"][0]["code"] == "unanswered"


async def test_emmas_messages_go_to_kari_who_booked_them_as_emma_has_no_contact(api, database):
    # Emma (8) has no e-mail or phone of her own: the request's e-mail and SMS reach Kari, and are filed under Emma.
    made = fhir_json(await _book(api, EMMA), 201)
    with database.reading() as session:
        sent = session.execute(
            select(schema.OutboxMessage.channel, schema.OutboxMessage.recipient, schema.OutboxMessage.patient_id).where(
                schema.OutboxMessage.appointment_id == int(made["id"])
            )
        ).all()
    assert sorted(sent) == [("email", "kari.nordmann@innbygger.example", EMMA), ("sms", "+47 000 00 123", EMMA)]


def _ihe(*items: tuple[str, str, object]) -> dict:
    return {"resourceType": "Parameters", "parameter": [{"name": n, kind: v} for n, kind, v in items]}


async def _find_for(api, patient: int, token: str = KARI):
    body = _ihe(
        ("start", "valueDateTime", f"{DAY}T00:00:00+01:00"),
        ("end", "valueDateTime", "2026-12-05T00:00:00+01:00"),
        ("visit-type", "valueString", f"{TIMETYPE_SYSTEM}|Lab"),
        ("patient-reference", "valueReference", {"reference": f"Patient/{patient}"}),
    )
    return await api.post("/Appointment/$find", json=body, headers=bearer(token))


async def test_ihe_hold_and_book_follow_the_same_representation_rules(api, database):
    # Kari finds, holds and books a time for Emma over IHE as over POST: Emma's, with Kari as representative.
    proposal = matches(fhir_json(await _find_for(api, EMMA)))[0]
    assert proposal["id"].endswith(f"-p{EMMA}")
    ref = _ihe(("appointment-reference", "valueReference", {"reference": f"Appointment/{proposal['id']}"}))
    held = matches(fhir_json(await api.post("/Appointment/$hold", json=ref, headers=bearer(KARI))))[0]
    assert held["status"] == "proposed" and _said_by(_ext(held, REPRESENTATIVE_URL)) == "14838512470"
    # Ola is not Emma's parent in the register: his $find and his $book of Kari's hold are 403, and write nothing.
    before = snapshot(database)
    _refused(await _find_for(api, EMMA, OLA))
    mine = _ihe(("appointment-reference", "valueReference", {"reference": f"Appointment/{held['id']}"}))
    refused = await api.post("/Appointment/$book", json=mine, headers=bearer(OLA))
    assert refused.status_code in (403, 404)
    # Jonas (14): Kari finds times (she may see his), but a hold of one is refused read-only; Sofie not at all.
    jonas = matches(fhir_json(await _find_for(api, JONAS)))[0]
    hold_jonas = _ihe(("appointment-reference", "valueReference", {"reference": f"Appointment/{jonas['id']}"}))
    _refused(await api.post("/Appointment/$hold", json=hold_jonas, headers=bearer(KARI)), "read-only")
    _refused(await _find_for(api, SOFIE))
    assert snapshot(database) == before
    # Emma is 13 in the register between the hold and the booking: Kari may see her times but the $book is refused
    # read-only, and the hold stays a hold; once Emma moved out, Kari may not act for her (not-representative).
    with database.reading() as session:
        born = session.get_one(schema.Patient, EMMA).birth_date
    _register(database, EMMA, birth_date=date(2013, 1, 1))
    _refused(await api.post("/Appointment/$book", json=mine, headers=bearer(KARI)), "read-only")
    _register(database, EMMA, birth_date=born, address="Elsewhere 1, 5000 Bergen")
    _refused(await api.post("/Appointment/$book", json=mine, headers=bearer(KARI)))
    assert snapshot(database) == before
    _register(database, EMMA, address=_address_of(database, KARI_ID))
    booked = matches(fhir_json(await api.post("/Appointment/$book", json=mine, headers=bearer(KARI))))[0]
    assert booked["status"] == "pending" and booked["participant"][0]["actor"]["reference"] == f"Patient/{EMMA}"
