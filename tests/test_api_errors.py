"""Bad input: each answer is a 4xx OperationOutcome that says what was wrong, nothing changes, and the server keeps serving."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.conftest import FJORD_STAFF, KARI, OLA, bearer
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
from timebok.backend.http import MAX_BODY

JSON = {"Content-Type": "application/fhir+json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Bad:
    """One bad request and the answer it must get."""

    name: str
    method: str
    path: str
    status: int
    code: str
    says: str
    request: Callable[[Any], dict[str, Any]] = lambda ids: {}
    token: str = KARI
    headers: dict[str, str] = field(default_factory=dict)
    over_http: bool = True  # False where a real HTTP client refuses to send it
    secret: str | None = None  # what the answer must not repeat


async def _chunks(size: int) -> AsyncIterator[bytes]:
    # A generator body goes out chunked, with no Content-Length for the server to check first.
    sent = 0
    while sent < size:
        yield b" " * min(8192, size - sent)
        sent += 8192


_TOO_BIG = MAX_BODY + 8192
_LONG = "x" * 1001

CASES = [
    # The booking request.
    Bad(
        "malformed JSON",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "not valid JSON",
        lambda ids: {"content": b'{"resourceType": "Appointment",', "headers": JSON},
    ),
    Bad(
        "not UTF-8",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "not valid JSON",
        lambda ids: {"content": b"\xff\xfe{}", "headers": JSON},
    ),
    Bad(
        "JSON nested too deeply",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "nests too deeply",
        lambda ids: {"content": b"[" * 60000, "headers": JSON},
    ),
    Bad("empty body", "POST", "/Appointment", 400, "invalid", "empty", lambda ids: {"content": b"", "headers": JSON}),
    Bad("JSON array", "POST", "/Appointment", 400, "invalid", "must be an Appointment", lambda ids: {"json": [1, 2]}),
    Bad(
        "wrong resourceType",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "must be an Appointment",
        lambda ids: {"json": booking_request(ids.free, 1) | {"resourceType": "Patient"}},
    ),
    Bad(
        "not pending",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "status 'pending'",
        lambda ids: {"json": booking_request(ids.free, 1) | {"status": "arrived"}},
    ),
    Bad(
        "two slots",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "exactly one slot",
        lambda ids: {"json": booking_request(ids.free, 1) | {"slot": [{"reference": f"Slot/{ids.free}"}] * 2}},
    ),
    Bad(
        "slot not a reference",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "Slot/123",
        lambda ids: {"json": booking_request("abc", 1)},
    ),
    Bad(
        "slot id overflows",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "Slot/123",
        lambda ids: {"json": booking_request("9" * 25, 1)},
    ),
    Bad(
        "slot id in other digits",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "Slot/123",
        lambda ids: {"json": booking_request("²", 1)},
    ),
    Bad(
        "no patient",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "exactly one Patient",
        lambda ids: {"json": booking_request(ids.free, 1) | {"participant": []}},
    ),
    Bad(
        "description not text",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "description must be a string",
        lambda ids: {"json": booking_request(ids.free, 1) | {"description": 42}},
    ),
    Bad(
        "reason of 1001 characters",
        "POST",
        "/Appointment",
        400,
        "too-long",
        "1001 characters; at most 1000",
        lambda ids: {"json": booking_request(ids.free, 1, _LONG)},
    ),
    Bad(
        "unknown slot",
        "POST",
        "/Appointment",
        422,
        "not-found",
        "Slot/999999 was not found",
        lambda ids: {"json": booking_request(999999, 1)},
    ),
    Bad("past slot", "POST", "/Appointment", 422, "business-rule", "past", lambda ids: {"json": booking_request(ids.past, 1)}),
    Bad(
        "slot not free",
        "POST",
        "/Appointment",
        409,
        "conflict",
        "no longer free",
        lambda ids: {"json": booking_request(ids.taken, 1)},
    ),
    Bad(
        "wrong content type",
        "POST",
        "/Appointment",
        415,
        "not-supported",
        "application/fhir+json",
        lambda ids: {"content": b"{}", "headers": {"Content-Type": "text/plain"}},
    ),
    Bad("no content type", "POST", "/Appointment", 415, "not-supported", "no content type", lambda ids: {"content": b"{}"}),
    Bad(
        "oversized with Content-Length",
        "POST",
        "/Appointment",
        413,
        "too-long",
        "64 KiB",
        lambda ids: {"content": b" " * _TOO_BIG, "headers": JSON},
    ),
    Bad(
        "oversized chunked",
        "POST",
        "/Appointment",
        413,
        "too-long",
        "64 KiB",
        lambda ids: {"content": _chunks(_TOO_BIG), "headers": JSON},
    ),
    Bad(
        "lying Content-Length",
        "POST",
        "/Appointment",
        413,
        "too-long",
        "64 KiB",
        lambda ids: {"content": b"{}", "headers": JSON | {"Content-Length": "not-a-number"}},
        over_http=False,
    ),
    # The office's answer.
    Bad(
        "answer neither yes nor no",
        "POST",
        "/AppointmentResponse",
        400,
        "invalid",
        "'accepted' or 'declined'",
        lambda ids: {"json": answer(ids.pending, "tentative")},
        FJORD_STAFF,
    ),
    Bad(
        "answer of the wrong type",
        "POST",
        "/AppointmentResponse",
        400,
        "invalid",
        "AppointmentResponse resource",
        lambda ids: {"json": answer(ids.pending, "accepted") | {"resourceType": "Appointment"}},
        FJORD_STAFF,
    ),
    Bad(
        "answer to nothing",
        "POST",
        "/AppointmentResponse",
        422,
        "not-found",
        "Appointment/999999 was not found",
        lambda ids: {"json": answer(999999, "accepted")},
        FJORD_STAFF,
    ),
    Bad(
        "rejection reason too long",
        "POST",
        "/AppointmentResponse",
        400,
        "too-long",
        "1001 characters",
        lambda ids: {"json": answer(ids.pending, "declined", _LONG)},
        FJORD_STAFF,
    ),
    Bad(
        "oversized answer chunked",
        "POST",
        "/AppointmentResponse",
        413,
        "too-long",
        "64 KiB",
        lambda ids: {"content": _chunks(_TOO_BIG), "headers": JSON},
        FJORD_STAFF,
    ),
    # Cancelling.
    Bad(
        "patch not a JSON Patch",
        "PATCH",
        "/Appointment/{pending}",
        400,
        "invalid",
        "JSON Patch array",
        lambda ids: {"json": {"status": "cancelled"}},
        OLA,
    ),
    Bad(
        "patch moves the time",
        "PATCH",
        "/Appointment/{pending}",
        422,
        "business-rule",
        "'/start'",
        lambda ids: {"json": [{"op": "replace", "path": "/start", "value": "2026-12-24T10:00:00+01:00"}]},
        OLA,
    ),
    Bad(
        "patch books",
        "PATCH",
        "/Appointment/{pending}",
        403,
        "forbidden",
        "Only the GP office may move",
        lambda ids: {"json": [{"op": "replace", "path": "/status", "value": "booked"}]},
        OLA,
    ),
    Bad(
        "patch removes",
        "PATCH",
        "/Appointment/{pending}",
        400,
        "invalid",
        "'replace' and 'add'",
        lambda ids: {"json": [{"op": "remove", "path": "/status"}]},
        OLA,
    ),
    Bad(
        "garbage If-Match",
        "PATCH",
        "/Appointment/{pending}",
        400,
        "invalid",
        "If-Match",
        lambda ids: {"json": CANCEL, "headers": {"If-Match": "yesterday"}},
        OLA,
    ),
    Bad(
        "If-Match in other digits",
        "PATCH",
        "/Appointment/{pending}",
        400,
        "invalid",
        "If-Match",
        lambda ids: {"json": CANCEL, "headers": {"If-Match": 'W/"\xb2"'.encode("latin-1")}},
        OLA,
    ),
    Bad(
        "cancel reason too long",
        "PATCH",
        "/Appointment/{pending}",
        400,
        "too-long",
        "1001 characters",
        lambda ids: {"json": CANCEL + [{"op": "add", "path": "/cancelationReason", "value": {"text": _LONG}}]},
        OLA,
    ),
    Bad(
        "put with another id",
        "PUT",
        "/Appointment/{pending}",
        400,
        "invalid",
        "does not match",
        lambda ids: {"json": {"resourceType": "Appointment", "id": "1", "status": "cancelled"}},
        OLA,
    ),
    Bad(
        "put books",
        "PUT",
        "/Appointment/{pending}",
        403,
        "forbidden",
        "Only the GP office may move",
        lambda ids: {"json": {"resourceType": "Appointment", "id": str(ids.pending), "status": "booked"}},
        OLA,
    ),
    # Every element is type-checked before any rule runs (a list as the reason was stored on PostgreSQL).
    *[
        Bad(
            f"{verb} cancelationReason.text as {kind}",
            verb,
            "/Appointment/{pending}",
            400,
            "invalid",
            "Appointment.cancelationReason.text must be a string",
            request,
            OLA,
        )
        for kind, value in (("integer", 5), ("boolean", True), ("float", 1.5), ("object", {"x": 1}), ("list", ["x"]))
        for verb, request in (
            (
                "PATCH",
                lambda ids, v=value: {"json": CANCEL + [{"op": "add", "path": "/cancelationReason", "value": {"text": v}}]},
            ),
            (
                "PUT",
                lambda ids, v=value: {
                    "json": {
                        "resourceType": "Appointment",
                        "id": str(ids.pending),
                        "status": "cancelled",
                        "cancelationReason": {"text": v},
                    }
                },
            ),
        )
    ],
    Bad(
        "PATCH cancelationReason/text as a list",
        "PATCH",
        "/Appointment/{pending}",
        400,
        "invalid",
        "Appointment.cancelationReason.text must be a string",
        lambda ids: {"json": CANCEL + [{"op": "replace", "path": "/cancelationReason/text", "value": ["x"]}]},
        OLA,
    ),
    Bad(
        "PATCH status as a list",
        "PATCH",
        "/Appointment/{pending}",
        400,
        "invalid",
        "Appointment.status must be a string",
        lambda ids: {"json": [{"op": "replace", "path": "/status", "value": ["cancelled"]}]},
        OLA,
    ),
    Bad(
        "PATCH operation not an object",
        "PATCH",
        "/Appointment/{pending}",
        400,
        "invalid",
        "PATCH[0] must be an object",
        lambda ids: {"json": ["cancel"]},
        OLA,
    ),
    Bad(
        "PATCH path as a number",
        "PATCH",
        "/Appointment/{pending}",
        400,
        "invalid",
        "PATCH[0].path must be a string",
        lambda ids: {"json": [{"op": "replace", "path": 5, "value": "cancelled"}]},
        OLA,
    ),
    *[
        Bad(
            f"answer comment as {kind}",
            "POST",
            "/AppointmentResponse",
            400,
            "invalid",
            "AppointmentResponse.comment must be a string",
            lambda ids, v=value: {"json": answer(ids.pending, "declined") | {"comment": v}},
            FJORD_STAFF,
        )
        for kind, value in (("integer", 5), ("boolean", True), ("object", {"text": "x"}), ("list", ["x"]))
    ],
    Bad(
        "answer without appointment",
        "POST",
        "/AppointmentResponse",
        400,
        "invalid",
        "AppointmentResponse.appointment is required",
        lambda ids: {"json": {"resourceType": "AppointmentResponse", "participantStatus": "accepted"}},
        FJORD_STAFF,
    ),
    Bad(
        "answer with an unknown element",
        "POST",
        "/AppointmentResponse",
        400,
        "invalid",
        "AppointmentResponse.priority is not an element",
        lambda ids: {"json": answer(ids.pending, "accepted") | {"priority": 1}},
        FJORD_STAFF,
    ),
    Bad(
        "description as a list",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "Appointment.description must be a string",
        lambda ids: {"json": booking_request(ids.free, 1) | {"description": ["x"]}},
    ),
    Bad(
        "slot reference as a number",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "Appointment.slot[0].reference must be a string",
        lambda ids: {"json": booking_request(ids.free, 1) | {"slot": [{"reference": 5}]}},
    ),
    Bad(
        "participant status as a boolean",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "Appointment.participant[0].status",
        lambda ids: {
            "json": booking_request(ids.free, 1) | {"participant": [{"actor": {"reference": "Patient/1"}, "status": True}]}
        },
    ),
    Bad(
        "unknown element named like an identity number",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "is not an element",
        lambda ids: {"json": booking_request(ids.free, 1) | {"14838512470": "x"}},
        secret="14838512470",
    ),
    # Text the databases cannot store, and numbers Python cannot read.
    *[
        Bad(f"lone surrogate in the {where}", verb, path, 400, "invalid", "lone UTF-16 surrogate", request, token)
        for where, verb, path, request, token in (
            (
                "reason",
                "POST",
                "/Appointment",
                lambda ids: {
                    "content": b'{"resourceType":"Appointment","status":"pending","description":"x\\ud800y"}',
                    "headers": JSON,
                },
                KARI,
            ),
            (
                "comment",
                "POST",
                "/AppointmentResponse",
                lambda ids: {"content": b'{"resourceType":"AppointmentResponse","comment":"x\\udfffy"}', "headers": JSON},
                FJORD_STAFF,
            ),
            (
                "cancel reason",
                "PATCH",
                "/Appointment/{pending}",
                lambda ids: {
                    "content": b'[{"op":"add","path":"/cancelationReason","value":{"text":"x\\ud800"}}]',
                    "headers": JSON,
                },
                OLA,
            ),
        )
    ],
    Bad(
        "integer of 5000 digits",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "4300 digits",
        lambda ids: {"content": b'{"resourceType":"Appointment","x":' + b"9" * 5000 + b"}", "headers": JSON},
    ),
    Bad("NaN", "POST", "/Appointment", 400, "invalid", "NaN", lambda ids: {"content": b'{"x": NaN}', "headers": JSON}),
    # Searches.
    Bad(
        "unknown slot search parameter",
        "GET",
        "/Slot",
        400,
        "invalid",
        "Unknown search parameter(s): colour",
        lambda ids: {"params": {"schedule": f"Schedule/{ids.lab}", "colour": "blue"}},
    ),
    Bad(
        "unknown appointment search parameter",
        "GET",
        "/Appointment",
        400,
        "invalid",
        "Unknown search parameter(s): identifier",
        lambda ids: {"params": {"identifier": "x"}},
    ),
    Bad(
        "unknown inbox search parameter",
        "GET",
        "/Communication",
        400,
        "invalid",
        "supported: recipient, subject",
        lambda ids: {"params": {"category": "x"}},
    ),
    Bad(
        "impossible date",
        "GET",
        "/Slot",
        400,
        "invalid",
        "ge2026-13-01",
        lambda ids: {"params": {"schedule": f"Schedule/{ids.lab}", "start": "ge2026-13-01"}},
    ),
    Bad(
        "date past year 9999",
        "GET",
        "/Slot",
        400,
        "invalid",
        "date",
        lambda ids: {"params": {"schedule": f"Schedule/{ids.lab}", "start": "le9999-12-31"}},
    ),
    Bad("date before year 1", "GET", "/Appointment", 400, "invalid", "date", lambda ids: {"params": {"date": "ge0001-01-01"}}),
    Bad(
        "zero count",
        "GET",
        "/Slot",
        400,
        "invalid",
        "_count",
        lambda ids: {"params": {"schedule": f"Schedule/{ids.lab}", "_count": "0"}},
    ),
    Bad(
        "count in other digits",
        "GET",
        "/Slot",
        400,
        "invalid",
        "_count",
        lambda ids: {"params": {"schedule": f"Schedule/{ids.lab}", "_count": "²"}},
    ),
    Bad(
        "reference of the wrong type",
        "GET",
        "/Slot",
        400,
        "invalid",
        "Schedule/123",
        lambda ids: {"params": {"schedule": "Location/1"}},
    ),
    Bad(
        "reference that overflows",
        "GET",
        "/Appointment",
        400,
        "invalid",
        "Patient/123",
        lambda ids: {"params": {"patient": "Patient/" + "9" * 25}},
    ),
    Bad(
        "not a slot status",
        "GET",
        "/Slot",
        400,
        "invalid",
        "Slot status",
        lambda ids: {"params": {"schedule": f"Schedule/{ids.lab}", "status": "taken"}},
    ),
    Bad(
        "parameter twice",
        "GET",
        "/Slot",
        400,
        "invalid",
        "only once",
        lambda ids: {"params": [("schedule", f"Schedule/{ids.lab}"), ("status", "free"), ("status", "busy")]},
    ),
    Bad(
        "unsupported include",
        "GET",
        "/Schedule",
        400,
        "invalid",
        "Schedule:actor",
        lambda ids: {"params": {"_include": "Schedule:*"}},
    ),
    Bad("unsupported sort", "GET", "/Appointment", 400, "invalid", "_sort", lambda ids: {"params": {"_sort": "priority"}}),
    Bad(
        "not true or false",
        "GET",
        "/HealthcareService",
        400,
        "invalid",
        "true or false",
        lambda ids: {"params": {"active": "yes"}},
    ),
    Bad(
        "mistyped identity number",
        "POST",
        "/Patient/_search",
        400,
        "invalid",
        "control digit",
        lambda ids: {"data": {"identifier": "15088512314"}},
        FJORD_STAFF,
        secret="15088512314",
    ),
    Bad(
        "impossible birth date in identity number",
        "POST",
        "/Patient/_search",
        400,
        "invalid",
        "birth date",
        lambda ids: {"data": {"identifier": "15138512313"}},
        FJORD_STAFF,
        secret="15138512313",
    ),
    Bad(
        "oversized patient search chunked",
        "POST",
        "/Patient/_search",
        413,
        "too-long",
        "64 KiB",
        lambda ids: {"content": _chunks(_TOO_BIG), "headers": FORM},
        FJORD_STAFF,
    ),
    Bad(
        "unreadable patient search form",
        "POST",
        "/Patient/_search",
        400,
        "invalid",
        "could not be read",
        lambda ids: {"content": b"\xff\xfe", "headers": FORM},
        FJORD_STAFF,
    ),
    # Name search is bounded: each word is a LIKE over the office's patients (1000 words overflowed SQLite).
    Bad(
        "name search of 1000 words",
        "POST",
        "/Patient/_search",
        400,
        "invalid",
        "Patient._search.name is longer than 100",
        lambda ids: {"data": {"name": " ".join(["a"] * 1000)}},
        FJORD_STAFF,
    ),
    Bad(
        "name search of 30000 words",
        "POST",
        "/Patient/_search",
        400,
        "invalid",
        "longer than 100",
        lambda ids: {"data": {"name": "a " * 30000}},
        FJORD_STAFF,
    ),
    Bad(
        "name search of six words",
        "POST",
        "/Patient/_search",
        400,
        "invalid",
        "at most 5 words",
        lambda ids: {"data": {"name": "a b c d e f"}},
        FJORD_STAFF,
    ),
    Bad(
        "blank name search",
        "POST",
        "/Patient/_search",
        400,
        "invalid",
        "by identifier",
        lambda ids: {"content": b"name=+", "headers": FORM},
        FJORD_STAFF,
    ),
    Bad(
        "identifier of 200 characters",
        "POST",
        "/Patient/_search",
        400,
        "invalid",
        "Patient._search.identifier is longer",
        lambda ids: {"data": {"identifier": "1" * 200}},
        FJORD_STAFF,
    ),
    # NUL: PostgreSQL cannot store or even compare it, so both databases refuse it before asking.
    Bad(
        "NUL in the reason",
        "POST",
        "/Appointment",
        400,
        "invalid",
        "NUL character",
        lambda ids: {"json": booking_request(ids.free, 1, "vondt i\u0000halsen")},
    ),
    Bad(
        "NUL in a search parameter",
        "GET",
        "/Organization",
        400,
        "invalid",
        "NUL character",
        lambda ids: {"params": {"name": "Fjord\x00"}},
    ),
    Bad(
        "NUL in a patient search form",
        "POST",
        "/Patient/_search",
        400,
        "invalid",
        "NUL character",
        lambda ids: {"data": {"name": "Kari\x00"}},
        FJORD_STAFF,
    ),
    # A diagnostic never echoes an identity number the caller sent, wherever it was put.
    Bad(
        "identity number as status",
        "GET",
        "/Appointment",
        400,
        "invalid",
        "status must be",
        lambda ids: {"params": {"status": "14838512470"}},
        secret="14838512470",
    ),
    Bad(
        "identity number as a parameter name",
        "GET",
        "/Appointment",
        400,
        "invalid",
        "Unknown search parameter",
        lambda ids: {"params": {"14838512470": "x"}},
        secret="14838512470",
    ),
    Bad(
        "identity number as date",
        "GET",
        "/Appointment",
        400,
        "invalid",
        "date must be",
        lambda ids: {"params": {"date": "ge14838512470"}},
        secret="14838512470",
    ),
    Bad(
        "identity number as participant",  # a citizen naming anyone but themself: 403 not-representative (issue 27)
        "POST",
        "/Appointment",
        403,
        "forbidden",
        "may not act for this person",
        lambda ids: {"json": booking_request(ids.free, "14838512470")},
        secret="14838512470",
    ),
    Bad(
        "identity number as the id to cancel",
        "PATCH",
        "/Appointment/14838512470",
        404,
        "not-found",
        "was not found",
        lambda ids: {"json": CANCEL},
        secret="14838512470",
    ),
    Bad(
        "identity number as If-Match",
        "PATCH",
        "/Appointment/{pending}",
        400,
        "invalid",
        "If-Match",
        lambda ids: {"json": CANCEL, "headers": {"If-Match": "148 385 124 70"}},
        OLA,
        secret="148 385 124 70",
    ),
    # Where nothing is.
    Bad("unknown endpoint", "GET", "/Nonsense", 404, "not-found", "No such endpoint: /fhir/Nonsense"),
    Bad("unknown appointment", "GET", "/Appointment/999999", 404, "not-found", "Appointment/999999 was not found"),
    Bad("appointment id that overflows", "GET", "/Appointment/" + "9" * 25, 404, "not-found", "was not found"),
    Bad("appointment id in other digits", "GET", "/Appointment/²", 404, "not-found", "was not found"),
    Bad("slot id that overflows", "GET", "/Slot/" + "9" * 20, 404, "not-found", "was not found"),
    Bad("patient id that overflows", "GET", "/Patient/" + "9" * 20, 404, "not-found", "was not found", token=FJORD_STAFF),
    Bad(
        "cancel an id that overflows",
        "PATCH",
        "/Appointment/" + "9" * 25,
        404,
        "not-found",
        "was not found",
        lambda ids: {"json": CANCEL},
    ),
    Bad("delete", "DELETE", "/Appointment/{pending}", 409, "conflict", "only a hold is deleted", token=OLA),
    Bad("post a slot", "POST", "/Slot", 405, "not-supported", "POST is not supported", lambda ids: {"json": {}}),
    Bad("delete an answer", "DELETE", "/AppointmentResponse/1", 405, "not-supported", "DELETE is not supported"),
]


@pytest.fixture
async def ids(api, database) -> SimpleNamespace:
    """The timebook and slots the bad requests aim at."""
    lab = await timebook(api, KARI, 1, "Lab")
    free = (await free_slots(api, KARI, lab, "2026-12-03"))[0]["id"]
    headers = bearer(KARI)
    today = matches(
        fhir_json(
            await api.get(
                "/Slot", params={"schedule": f"Schedule/{lab}", "start": ["ge2026-11-25", "lt2026-11-25T09:00"]}, headers=headers
            )
        )
    )
    past = today[0]["id"]
    with database.writing() as session:  # a time still marked free, but already begun: only the clock refuses it
        session.execute(update(schema.Slot).where(schema.Slot.id == int(past)).values(status="free"))
    taken = matches(
        fhir_json(
            await api.get(
                "/Slot",
                params={"schedule": f"Schedule/{lab}", "status": "busy-tentative", "start": "ge2026-11-25"},
                headers=headers,
            )
        )
    )[0]["id"]
    olas = matches(fhir_json(await api.get("/Appointment", params={"status": "pending"}, headers=bearer(OLA))))
    return SimpleNamespace(lab=lab, free=free, past=past, taken=taken, pending=olas[0]["id"])


async def _send(client: httpx.AsyncClient, case: Bad, ids) -> httpx.Response:
    request = case.request(ids)
    headers = bearer(case.token) | case.headers | request.pop("headers", {})
    return await client.request(case.method, case.path.format(pending=ids.pending), headers=headers, **request)


async def _still_serving(client: httpx.AsyncClient, ids) -> None:
    assert fhir_json(await client.get("/metadata"))["resourceType"] == "CapabilityStatement"
    assert len(await free_slots(client, KARI, ids.lab, "2026-12-03")) == 5


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_input_is_a_clear_4xx_outcome_and_changes_nothing(api, database, ids, case):
    before = snapshot(database)
    response = await _send(api, case, ids)
    diagnostics = outcome(response, case.status, case.code)
    assert case.says in diagnostics
    if case.secret:
        assert case.secret not in response.text and case.secret[6:] not in response.text
    assert snapshot(database) == before
    await _still_serving(api, ids)


async def test_the_whole_battery_over_real_http_leaves_the_server_serving(live_server, api, database, ids):
    before = snapshot(database)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
        for case in (c for c in CASES if c.over_http):
            response = await _send(client, case, ids)
            assert response.status_code == case.status, (case.name, response.text)
            assert case.says in outcome(response, case.status, case.code), case.name
        assert snapshot(database) == before
        await _still_serving(client, ids)
        booked = await client.post("/Appointment", json=booking_request(ids.free, 1), headers=bearer(KARI))
        assert fhir_json(booked, 201)["status"] == "pending"


async def test_a_reason_of_exactly_1000_characters_is_accepted_whole(api, ids):
    reason = "æ" * 999 + "."
    appointment = fhir_json(await api.post("/Appointment", json=booking_request(ids.free, 1, reason), headers=bearer(KARI)), 201)
    assert appointment["description"] == reason
    read = fhir_json(await api.get(f"/Appointment/{appointment['id']}", headers=bearer(KARI)))
    assert read["description"] == reason
