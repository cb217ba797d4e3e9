"""Checks every resource the server emits against the FHIR R4B models (and the codes they leave unchecked); shared request helpers."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.appointmentresponse import AppointmentResponse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot
from sqlalchemy import select

from timebok.backend import schema

FHIR_JSON = "application/fhir+json"

# Only these may come over the wire; anything else is a mistake even if FHIR knows it.
MODELS = {
    model.__name__: model
    for model in (
        Appointment,
        AppointmentResponse,
        Bundle,
        CapabilityStatement,
        Communication,
        HealthcareService,
        Location,
        OperationOutcome,
        Organization,
        Patient,
        Schedule,
        Slot,
    )
}

# fhir.resources checks structure and types but not required value-set bindings, so a typo like
# "bookd" would pass it; these are the bindings of the elements the server fills in.
_PARTICIPATION = {"accepted", "declined", "tentative", "needs-action"}
_BINDINGS: dict[str, dict[str, set[str]]] = {
    "Slot": {"status": {"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"}},
    "Appointment": {
        "status": {
            "proposed",
            "pending",
            "booked",
            "arrived",
            "fulfilled",
            "cancelled",
            "noshow",
            "entered-in-error",
            "checked-in",
            "waitlist",
        }
    },
    "AppointmentResponse": {"participantStatus": _PARTICIPATION},
    "Communication": {
        "status": {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"}
    },
    "Bundle": {"type": {"searchset"}},
    "CapabilityStatement": {
        "status": {"draft", "active", "retired", "unknown"},
        "kind": {"instance", "capability", "requirements"},
    },
    "Location": {"status": {"active", "suspended", "inactive"}},
}
_ISSUE_CODES = {
    "invalid",
    "structure",
    "required",
    "value",
    "invariant",
    "security",
    "login",
    "unknown",
    "expired",
    "forbidden",
    "suppressed",
    "processing",
    "not-supported",
    "duplicate",
    "multiple-matches",
    "not-found",
    "deleted",
    "too-long",
    "code-invalid",
    "extension",
    "too-costly",
    "business-rule",
    "conflict",
    "transient",
    "lock-error",
    "no-store",
    "exception",
    "timeout",
    "incomplete",
    "throttled",
    "informational",
}
# A local reference ("#representative") points at a contained resource (a represented Patient's RelatedPerson).
_REFERENCE = re.compile(r"^((Organization|Location|HealthcareService|Schedule|Slot|Patient|Appointment)/[0-9]+|#[a-z]+)$")


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def validate(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate one resource (and, for a Bundle, each entry); returns it for chaining."""
    kind = resource.get("resourceType")
    assert kind in MODELS, f"the server emitted an unexpected resourceType {kind!r}"
    MODELS[kind].model_validate(resource)
    for element, allowed in _BINDINGS.get(kind, {}).items():
        assert resource.get(element) in allowed, f"{kind}.{element} = {resource.get(element)!r} is not a valid code"
    for reference in _references(resource):
        assert _REFERENCE.match(reference), f"{kind} has a malformed reference {reference!r}"
    if kind == "Appointment":
        for participant in resource["participant"]:
            assert participant["status"] in _PARTICIPATION
    if kind == "OperationOutcome":
        assert resource["issue"], "an OperationOutcome must carry at least one issue"
        for issue in resource["issue"]:
            assert issue["code"] in _ISSUE_CODES, f"unknown issue code {issue['code']!r}"
            assert issue.get("diagnostics"), "every issue must say in words what went wrong"
    if kind == "Bundle":
        assert isinstance(resource.get("total"), int), "a searchset Bundle must carry total"
        assert resource["link"][0]["relation"] == "self"
        for entry in resource.get("entry", []):
            inner = entry["resource"]
            assert entry["search"]["mode"] in ("match", "include")
            assert entry["fullUrl"].endswith(f"/{inner['resourceType']}/{inner['id']}")
            validate(inner)
    return resource


def fhir_json(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The validated resource of a response that must have `status` and the FHIR JSON media type."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:500]}"
    assert response.headers["content-type"].split(";")[0] == FHIR_JSON
    return validate(response.json())


def outcome(response: httpx.Response, status: int, code: str | None = None) -> str:
    """Assert an error answer is a valid OperationOutcome with `status` (and issue `code`); its diagnostics."""
    body = fhir_json(response, status)
    assert body["resourceType"] == "OperationOutcome", body
    issue = body["issue"][0]
    assert issue["severity"] in ("error", "fatal")
    if code is not None:
        assert issue["code"] == code, issue
    return issue["diagnostics"]


def matches(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def included(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "include"]


def next_link(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)


# Requests the tests send again and again.


def booking_request(slot_id: str | int, patient_id: str | int, description: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "pending",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
    }
    if description is not None:
        body["description"] = description
    return body


def answer(appointment_id: str | int, status: str, comment: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "AppointmentResponse",
        "appointment": {"reference": f"Appointment/{appointment_id}"},
        "participantStatus": status,
    }
    if comment is not None:
        body["comment"] = comment
    return body


CANCEL = [{"op": "replace", "path": "/status", "value": "cancelled"}]


async def timebook(api: httpx.AsyncClient, token: str, office_id: int, type_code: str, place: str | None = None) -> str:
    """The Schedule id of one office's timebook for a time type (at `place` when it has several)."""
    headers = {"Authorization": f"Bearer {token}"}
    services = matches(
        fhir_json(
            await api.get(
                "/HealthcareService", params={"organization": f"Organization/{office_id}", "active": "true"}, headers=headers
            )
        )
    )
    (service,) = [s for s in services if s["type"][0]["coding"][0]["code"] == type_code]
    bundle = fhir_json(
        await api.get(
            "/Schedule",
            params={"actor": f"HealthcareService/{service['id']}", "active": "true", "_include": "Schedule:actor"},
            headers=headers,
        )
    )
    places = {p["id"]: p["name"] for p in included(bundle) if p["resourceType"] == "Location"}
    books = [s for s in matches(bundle) if place is None or places[s["actor"][1]["reference"].split("/")[1]] == place]
    assert len(books) == 1, f"expected one {type_code} timebook, found {len(books)}"
    return books[0]["id"]


async def free_slots(api: httpx.AsyncClient, token: str, schedule_id: str, day: str, count: int = 5) -> list[dict[str, Any]]:
    """The first free slots of a timebook from a day on, in start order."""
    bundle = fhir_json(
        await api.get(
            "/Slot",
            params={
                "schedule": f"Schedule/{schedule_id}",
                "status": "free",
                "start": f"ge{day}",
                "_count": count,
            },
            headers={"Authorization": f"Bearer {token}"},
        )
    )
    return matches(bundle)


def snapshot(db) -> dict[str, list[tuple]]:
    """Everything a booking can change, straight from the tables, to show that a refused request changed nothing."""
    with db.reading() as session:
        return {
            "appointments": [
                tuple(r)
                for r in session.execute(
                    select(
                        schema.Appointment.id,
                        schema.Appointment.status,
                        schema.Appointment.version,
                        schema.Appointment.slot_id,
                        schema.Appointment.patient_id,
                        schema.Appointment.cancelation_code,
                        schema.Appointment.cancelation_text,
                        schema.Appointment.description,
                    ).order_by(schema.Appointment.id)
                )
            ],
            "slots": [
                tuple(r)
                for r in session.execute(select(schema.Slot.id, schema.Slot.status, schema.Slot.version).order_by(schema.Slot.id))
            ],
            "communications": [
                tuple(r)
                for r in session.execute(
                    select(schema.Communication.id, schema.Communication.patient_id, schema.Communication.kind).order_by(
                        schema.Communication.id
                    )
                )
            ],
            "responses": [
                tuple(r)
                for r in session.execute(
                    select(schema.AppointmentResponse.id, schema.AppointmentResponse.status).order_by(
                        schema.AppointmentResponse.id
                    )
                )
            ],
            "patients": [tuple(r) for r in session.execute(select(schema.Patient.id, schema.Patient.identifier))],
        }
