"""Every write is safe to repeat: a booking request or an office's answer sent again under its identifier returns the first."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from tests.conftest import FJORD_STAFF, KARI, OLA, bearer
from tests.fhir_validate import answer, booking_request, fhir_json, free_slots, outcome, timebook
from timebok.backend import schema

SYSTEM = "urn:ietf:rfc:3986"


def _key() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _conditional(body: dict, key: str) -> tuple[dict, dict]:
    return body | {"identifier": [{"system": SYSTEM, "value": key}]}, {"If-None-Exist": f"identifier={SYSTEM}|{key}"}


def _count(database, table, *where) -> int:
    with database.reading() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where))


async def _free(api) -> str:
    return (await free_slots(api, KARI, await timebook(api, KARI, 1, "Lab"), "2026-12-03"))[0]["id"]


async def test_a_booking_request_sent_twice_is_booked_once_and_the_repeat_returns_it(api, database):
    slot = await _free(api)
    body, header = _conditional(booking_request(slot, 1, "vondt i halsen"), _key())
    first = fhir_json(await api.post("/Appointment", json=body, headers=bearer(KARI) | header), 201)
    messages = _count(database, schema.Communication)
    again = fhir_json(await api.post("/Appointment", json=body, headers=bearer(KARI) | header), 200)
    assert again["id"] == first["id"] and again["status"] == "pending"
    assert again["identifier"] == body["identifier"]
    assert _count(database, schema.Appointment, schema.Appointment.slot_id == int(slot)) == 1
    assert _count(database, schema.Communication) == messages  # the patient is not told twice
    # A new request for the same slot, under a new identifier, is a second booking: Kari holds this time already,
    # and for anyone else the slot is taken.
    other, other_header = _conditional(booking_request(slot, 1), _key())
    assert "already has a time" in outcome(await api.post("/Appointment", json=other, headers=bearer(KARI) | other_header), 409)
    other, other_header = _conditional(booking_request(slot, 2), _key())
    assert "no longer free" in outcome(await api.post("/Appointment", json=other, headers=bearer(OLA) | other_header), 409)


async def test_someone_elses_identifier_finds_nothing_of_theirs(api, database):
    slot = await _free(api)
    key = _key()
    body, header = _conditional(booking_request(slot, 1), key)
    fhir_json(await api.post("/Appointment", json=body, headers=bearer(KARI) | header), 201)
    olas, olas_header = _conditional(booking_request(slot, 2), key)
    response = await api.post("/Appointment", json=olas, headers=bearer(OLA) | olas_header)
    assert "another booking request" in outcome(response, 409, "conflict")
    assert "Kari" not in response.text and f'"{slot}"' not in response.text


async def test_an_answer_sent_twice_by_one_desk_is_given_once_and_another_desks_is_refused(api, database):
    slot = await _free(api)
    booked = fhir_json(await api.post("/Appointment", json=booking_request(slot, 1), headers=bearer(KARI)), 201)
    body, header = _conditional(answer(booked["id"], "accepted"), _key())
    first = fhir_json(await api.post("/AppointmentResponse", json=body, headers=bearer(FJORD_STAFF) | header), 201)
    messages = _count(database, schema.Communication)
    again = fhir_json(await api.post("/AppointmentResponse", json=body, headers=bearer(FJORD_STAFF) | header), 200)
    assert again["id"] == first["id"] and again["participantStatus"] == "accepted"
    assert _count(database, schema.AppointmentResponse, schema.AppointmentResponse.appointment_id == int(booked["id"])) == 1
    assert _count(database, schema.Communication) == messages
    other, other_header = _conditional(answer(booked["id"], "declined", "Ingen lege"), _key())
    assert "already been answered" in outcome(
        await api.post("/AppointmentResponse", json=other, headers=bearer(FJORD_STAFF) | other_header), 409, "conflict"
    )


async def test_a_malformed_if_none_exist_is_refused_and_books_nothing(api, database):
    slot = await _free(api)
    before = _count(database, schema.Appointment)
    for value in ("identifier=", "name=x", f"identifier={SYSTEM}|", "identifier=nobar"):
        response = await api.post("/Appointment", json=booking_request(slot, 1), headers=bearer(KARI) | {"If-None-Exist": value})
        assert "If-None-Exist" in outcome(response, 400, "invalid"), value
    body, _ = _conditional(booking_request(slot, 1), _key())
    response = await api.post(
        "/Appointment", json=body, headers=bearer(KARI) | {"If-None-Exist": f"identifier={SYSTEM}|{_key()}"}
    )
    assert "does not carry" in outcome(response, 400, "invalid")
    assert _count(database, schema.Appointment) == before


def _audit(database) -> list[tuple]:
    with database.reading() as session:
        return [
            tuple(r)
            for r in session.execute(
                select(
                    schema.AuditEvent.actor,
                    schema.AuditEvent.patient_id,
                    schema.AuditEvent.action,
                    schema.AuditEvent.detail,
                ).order_by(schema.AuditEvent.id)
            )
        ]


async def test_staff_sending_a_booking_or_an_answer_again_leave_an_audit_row_for_what_they_read_back(api, database):
    desk = "staff:Helsesekretær, Fjordsiden"
    body, header = _conditional(booking_request(await _free(api), 2, "Ringte inn"), _key())
    first = fhir_json(await api.post("/Appointment", json=body, headers=bearer(FJORD_STAFF) | header), 201)
    before = _audit(database)
    fhir_json(await api.post("/Appointment", json=body, headers=bearer(FJORD_STAFF) | header), 200)
    assert _audit(database) == [*before, (desk, 2, "read", f"Appointment/{first['id']} (repeated create)")]

    reply, reply_header = _conditional(answer(first["id"], "accepted"), _key())
    given = fhir_json(await api.post("/AppointmentResponse", json=reply, headers=bearer(FJORD_STAFF) | reply_header), 201)
    before = _audit(database)
    fhir_json(await api.post("/AppointmentResponse", json=reply, headers=bearer(FJORD_STAFF) | reply_header), 200)
    assert _audit(database) == [*before, (desk, 2, "read", f"AppointmentResponse/{given['id']} (repeated create)")]


async def test_a_citizen_sending_again_is_not_audited(api, database):
    body, header = _conditional(booking_request(await _free(api), 1), _key())
    fhir_json(await api.post("/Appointment", json=body, headers=bearer(KARI) | header), 201)
    fhir_json(await api.post("/Appointment", json=body, headers=bearer(KARI) | header), 200)
    assert _audit(database) == []  # reading their own data leaves no trail (audit.record)
