"""Turns stored rows into FHIR R4 resources (plain JSON dicts) and builds search Bundles."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from timebok.backend import schema
from timebok.domain import appointment_life as life
from timebok.domain.clock import OSLO, now
from timebok.domain.identity import DNR_SYSTEM, FNR_SYSTEM, HERID_SYSTEM, ORGNR_SYSTEM
from timebok.domain.notice_rules import OPT_OUT_URL as OPT_OUT_URL  # one definition, shared with the client
from timebok.domain.timetypes import TIMETYPE_SYSTEM, TIMETYPES

Resource = dict[str, Any]


def instant(value: datetime) -> str:
    """A stored UTC time as an Oslo-local FHIR instant with its offset."""
    # Remembered per stored (naive) value: the same slot times are answered again and again, and the
    # conversion was the month query's largest cost. An aware value is never looked up: equal instants in
    # different zones have different wall-clock times, and the wall-clock time is what is read here.
    if value.tzinfo is None:
        found = _INSTANTS.get(value)
        if found is None:
            if len(_INSTANTS) > 200_000:  # a server reading odd ranges must not grow this forever
                _INSTANTS.clear()
            found = _INSTANTS[value] = _convert(value)
        return found
    return _convert(value.replace(tzinfo=None))


def _convert(value: datetime) -> str:
    return value.replace(tzinfo=UTC).astimezone(OSLO).isoformat(timespec="seconds")


_INSTANTS: dict[datetime, str] = {}


def to_storage(value: datetime) -> datetime:
    """An aware time as the naive UTC the tables keep."""
    return value.astimezone(UTC).replace(tzinfo=None)


def parse_id(text: str) -> int | None:
    """The row id a FHIR id like "123" names, or None when it cannot name one (so it reads as not found)."""
    # ASCII only, since "²".isdigit() is true but int() refuses it; 18 digits at most, since
    # a longer number overflows SQLite's 64-bit INTEGER and would fail the query.
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return None


def ref(resource_type: str, id_: int) -> dict[str, str]:
    return {"reference": f"{resource_type}/{id_}"}


def _timetype(code: str) -> dict[str, Any]:
    return {"coding": [{"system": TIMETYPE_SYSTEM, "code": code, "display": TIMETYPES.get(code, code)}]}


def timetype(code: str) -> dict[str, Any]:
    """A Volven 7617 time type as a CodeableConcept."""
    return _timetype(code)


def organization(row: schema.Organization) -> Resource:
    resource: Resource = {
        "resourceType": "Organization",
        "id": str(row.id),
        "identifier": [
            {"system": HERID_SYSTEM, "value": row.her_id},
            {"system": ORGNR_SYSTEM, "value": row.orgnr},
        ],
        "active": True,
        "name": row.name,
    }
    if row.phone:
        resource["telecom"] = [{"system": "phone", "value": row.phone}]
    return resource


def location(row: schema.Location) -> Resource:
    return {
        "resourceType": "Location",
        "id": str(row.id),
        "status": "active",
        "name": row.name,
        "description": row.directions,
        "address": {"line": [row.address_line], "postalCode": row.postal_code, "city": row.city, "country": "NO"},
        "managingOrganization": ref("Organization", row.organization_id),
    }


def healthcare_service(
    row: schema.HealthcareService, available: list[dict[str, Any]] | None = None, closed: list[schema.ClosureDay] | None = None
) -> Resource:
    """`available`: the weekly ranges of its open timebooks (availableTime); `closed`: the office's closures (notAvailable)."""
    resource: Resource = {
        "resourceType": "HealthcareService",
        "id": str(row.id),
        "active": row.active,
        "providedBy": ref("Organization", row.organization_id),
        "type": [_timetype(row.type_code)],
        "name": TIMETYPES.get(row.type_code, row.type_code),
    }
    if available:
        resource["availableTime"] = [
            {"daysOfWeek": item["days"], "availableStartTime": f"{item['start']}:00", "availableEndTime": f"{item['end']}:00"}
            for item in available
        ]
    if closed:
        resource["notAvailable"] = [_not_available(c) for c in closed]
    return resource


def _not_available(row: schema.ClosureDay) -> dict[str, Any]:
    first = datetime.combine(row.day, datetime.strptime(row.start_time or "00:00", "%H:%M").time(), tzinfo=OSLO)
    last = (
        datetime.combine(row.day, datetime.strptime(row.end_time, "%H:%M").time(), tzinfo=OSLO)
        if row.end_time
        else datetime.combine(row.day, datetime.max.time().replace(microsecond=0), tzinfo=OSLO)
    )
    return {"description": row.reason, "during": {"start": first.isoformat(), "end": last.isoformat()}}


LEAD_TIME_URL = "https://timebok.example/fhir/StructureDefinition/booking-lead-time"
SLOT_LENGTH_URL = "https://timebok.example/fhir/StructureDefinition/slot-length"
PARALLEL_URL = "https://timebok.example/fhir/StructureDefinition/parallel-slots"


HN_SCHEDULE_TYPE = "http://helsenorge.no/fhir/CodeSystem/hn-schedule-type-cs"
_IDS = uuid.UUID("5d7b1c3e-2f4a-5b6c-9d8e-7f6a5b4c3d2e")  # the namespace of the UUIDs below


def stable_uuid(kind: str, row_id: int, office_id: int) -> dict[str, str]:
    """The UUID identifier Helsenorge's profiles ask of a Schedule: the same for a row every time it is read."""
    return {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid5(_IDS, f'Organization/{office_id}/{kind}/{row_id}')}"}


def schedule(row: schema.Schedule, service: schema.HealthcareService) -> Resource:
    # Helsenorge's hn-basis-schedule: a UUID identifier, its own schedule type code beside Volven 7617, typed actors.
    time_type = _timetype(service.type_code)
    time_type["coding"].append({"system": HN_SCHEDULE_TYPE, "code": service.type_code})
    return {
        "resourceType": "Schedule",
        "id": str(row.id),
        "identifier": [stable_uuid("Schedule", row.id, service.organization_id)],
        "active": row.active,
        "serviceType": [time_type],
        "actor": [
            ref("HealthcareService", service.id) | {"type": "HealthcareService"},
            ref("Location", row.location_id) | {"type": "Location"},
        ],
        "comment": row.name,
        "planningHorizon": _horizon(row),
        "extension": [
            {"url": LEAD_TIME_URL, "valueDuration": _minutes(row.lead_minutes)},
            {"url": SLOT_LENGTH_URL, "valueDuration": _minutes(row.slot_minutes)},
            {"url": PARALLEL_URL, "valuePositiveInt": row.parallel},
        ],
    }


def _minutes(value: int) -> dict[str, Any]:
    return {"value": value, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"}


def _horizon(row: schema.Schedule) -> dict[str, str]:
    # From today to the last day the timebook publishes free times (its setup's horizon).
    today = now().astimezone(OSLO).date()
    return {"start": today.isoformat(), "end": (today + timedelta(days=row.horizon_days)).isoformat()}


def slot_status(status: str, held_until: datetime | None) -> str:
    """A slot's status as read now: a hold that has ended leaves its slot free, with no job to run."""
    if status == "busy-tentative" and held_until is not None and _aware(held_until) <= now():
        return "free"
    return status


def slot(row: schema.Slot) -> Resource:
    status = slot_status(row.status, row.held_until)
    resource: Resource = {
        "resourceType": "Slot",
        "id": str(row.id),
        "schedule": ref("Schedule", row.schedule_id),
        "status": status,
        "start": instant(row.start),
        "end": instant(row.end),
    }
    if status == "busy-tentative" and row.held_until is not None:  # held for someone choosing, not a request
        resource["extension"] = [{"url": life.HOLD_URL, "valueInstant": instant(row.held_until)}]
    return resource


def patient(row: schema.Patient, noshows: int | None = None) -> Resource:
    """`noshows`: the patient's no-shows at the reading office, for staff only (None leaves it out)."""
    resource: Resource = {
        "resourceType": "Patient",
        "id": str(row.id),
        "identifier": [{"system": row.identifier_system or FNR_SYSTEM, "value": row.identifier}],
        "name": [{"family": row.family, "given": [row.given], "text": f"{row.given} {row.family}"}],
        "birthDate": row.birth_date.isoformat(),
    }
    if row.gp_organization_id:
        resource["generalPractitioner"] = [ref("Organization", row.gp_organization_id)]
    telecom = [{"system": "email", "value": row.email}] if row.email else []
    telecom += [{"system": "sms", "value": row.phone, "use": "mobile"}] if row.phone else []
    if telecom:
        resource["telecom"] = telecom
    resource["communication"] = [
        {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": row.language or "nb"}]}, "preferred": True}
    ]
    if noshows is not None:
        resource["extension"] = [{"url": life.NOSHOW_COUNT_URL, "valueUnsignedInt": noshows}]
    return resource


# Helsenorge's own extension for the person who acts on another's behalf (hn-basis, diverse_helsenorgeFhirProfiler:
# `name` a HumanName, `ident` the representative's fødselsnummer or D-nummer, typed by Volven 8116).
REPRESENTATIVE_URL = "http://helsenorge.no/fhir/StructureDefinition/hn-extension-representant"
ID_TYPE_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.8116"
# Ours: what a representative may do for the person (`read` or `write`) and the rule that decided it.
ACCESS_URL = "https://timebok.example/fhir/StructureDefinition/representation-access"
RULE_URL = "https://timebok.example/fhir/StructureDefinition/representation-rule"
ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
_ROLE = {"parent": ("PRN", "parent"), "fullmakt": ("POWATT", "power of attorney")}


def representative(person: schema.Patient) -> Resource:
    """The hn-extension-representant naming who booked on the patient's behalf."""
    system = person.identifier_system or FNR_SYSTEM
    return {
        "url": REPRESENTATIVE_URL,
        "extension": [
            {"url": "name", "valueHumanName": {"family": person.family, "given": [person.given]}},
            {
                "url": "ident",
                "valueIdentifier": {
                    "type": {"coding": [{"system": ID_TYPE_SYSTEM, "code": "DNR" if system == DNR_SYSTEM else "FNR"}]},
                    "system": system,
                    "value": person.identifier,
                },
            },
        ],
    }


def represented_patient(row: schema.Patient, me: schema.Patient, kind: str, access: str, rule: str) -> Resource:
    """A person the caller may act for: the Patient, with the caller as a contained RelatedPerson (linked from
    Patient.link) whose relationship says how (parent, fullmakt) and whose extensions say what and by which rule."""
    resource = patient(row)
    code, display = _ROLE[kind]
    resource["contained"] = [
        {
            "resourceType": "RelatedPerson",
            "id": "representative",
            "extension": [{"url": ACCESS_URL, "valueCode": access}, {"url": RULE_URL, "valueCode": rule}],
            "patient": ref("Patient", row.id),
            "relationship": [{"coding": [{"system": ROLE_SYSTEM, "code": code, "display": display}]}],
            "name": [{"family": me.family, "given": [me.given], "text": f"{me.given} {me.family}"}],
        }
    ]
    resource["link"] = [{"other": {"reference": "#representative"}, "type": "seealso"}]
    return resource


_PATIENT_STATUS = {"pending": "accepted", "booked": "accepted", "cancelled": "declined", "proposed": "accepted"}
_OFFICE_STATUS = {"pending": "needs-action", "booked": "accepted", "cancelled": "declined", "proposed": "needs-action"}


@dataclass(frozen=True)
class Life:
    """The timebook's rules an Appointment's answer shows: its deadline, and when a request should be answered."""

    deadline_hours: int = 0
    monday_by_friday: bool = False
    answer_days: int = 2


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def _life_extensions(row: schema.Appointment, rules: Life) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if row.replaces_id is not None:
        found.append({"url": life.REPLACES_URL, "valueReference": ref("Appointment", row.replaces_id)})
    start = _aware(row.start)
    if row.status == "proposed" and row.held_until is not None:
        found.append({"url": life.HOLD_URL, "valueInstant": instant(row.held_until)})
    if row.status == "booked":
        deadline = life.change_deadline(start, rules.deadline_hours, rules.monday_by_friday)
        if deadline is not None:
            found.append({"url": life.DEADLINE_URL, "valueDateTime": deadline.isoformat(timespec="seconds")})
        if life.is_late(start, row.status, now()):
            found.append({"url": life.LATE_URL, "valueBoolean": True})
    if row.status == "pending":
        from timebok.backend.slots import is_public_holiday  # the holidays library loads on first use

        due = life.answer_due(_aware(row.created), rules.answer_days, is_public_holiday)
        found.append({"url": life.ANSWER_DUE_URL, "valueDateTime": due.isoformat(timespec="seconds")})
        found.append({"url": life.OVERDUE_URL, "valueBoolean": now() > due})
    return found


def appointment(
    row: schema.Appointment,
    location_id: int,
    type_code: str,
    rules: Life | None = None,
    patient_identifier: dict[str, str] | None = None,
    acting: schema.Patient | None = None,
) -> Resource:
    """`patient_identifier`: the patient's identity number, carried next to the reference (Helsenorge's
    hn-basis-appointment wants the patient by identifier; timebok's clients follow the reference).
    `acting`: the representative who booked it for the patient (row.representative_id), if any."""
    resource: Resource = {
        "resourceType": "Appointment",
        "id": str(row.id),
        "meta": {"versionId": str(row.version), "lastUpdated": instant(row.last_updated)},
        "status": row.status,
        "serviceType": [_timetype(type_code)],
        "start": instant(row.start),
        "end": instant(row.end),
        "created": instant(row.created),
        "slot": [ref("Slot", row.slot_id)],
        "participant": [
            {
                "actor": ref("Patient", row.patient_id) | ({"identifier": patient_identifier} if patient_identifier else {}),
                "status": _PATIENT_STATUS.get(row.status, "accepted"),
                "required": "required",
            },
            {
                "actor": ref("Organization", row.organization_id),
                "status": _OFFICE_STATUS.get(row.status, "accepted"),
                "required": "required",
            },
            {"actor": ref("Location", location_id), "status": "accepted", "required": "information-only"},
        ],
    }
    if row.identifier:
        resource["identifier"] = [_identifier(row.identifier)]
    if row.description:
        resource["description"] = row.description
    extensions = ([representative(acting)] if acting is not None else []) + _life_extensions(row, rules or Life())
    extensions += [
        {"url": OPT_OUT_URL, "valueCode": code}
        for code, on in (("notices", row.no_notices), ("reminders", row.no_reminders))
        if on
    ]
    if extensions:
        resource["extension"] = extensions
    if row.cancelation_code:
        system = (
            life.CANCEL_SYSTEM
            if row.cancelation_code in life.OWN_CANCEL_CODES
            else "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
        )
        reason: dict[str, Any] = {"coding": [{"system": system, "code": row.cancelation_code}]}
        if row.cancelation_text:
            reason["text"] = row.cancelation_text
        resource["cancelationReason"] = reason
    return resource


def appointment_response(row: schema.AppointmentResponse) -> Resource:
    resource: Resource = {
        "resourceType": "AppointmentResponse",
        "id": str(row.id),
        "appointment": ref("Appointment", row.appointment_id),
        "actor": ref("Organization", row.organization_id),
        "participantStatus": row.status,
    }
    if row.identifier:
        resource["identifier"] = [_identifier(row.identifier)]
    if row.comment:
        resource["comment"] = row.comment
    return resource


def _identifier(stored: str) -> dict[str, str]:
    system, _, value = stored.rpartition("|")
    return {"system": system, "value": value} if system else {"value": value}


def communication(row: schema.Communication) -> Resource:
    resource: Resource = {
        "resourceType": "Communication",
        "id": str(row.id),
        "status": "completed",
        "category": [{"coding": [{"system": "urn:timebok:communication-kind", "code": row.kind}]}],
        "subject": ref("Patient", row.patient_id),
        "recipient": [ref("Patient", row.patient_id)],
        "sender": ref("Organization", row.organization_id),
        "sent": instant(row.sent),
        "topic": {"text": row.topic},
        "payload": [{"contentString": row.text}],
    }
    if row.appointment_id:
        resource["about"] = [ref("Appointment", row.appointment_id)]
    return resource


def bundle(
    base: str,
    matches: list[Resource],
    *,
    total: int,
    includes: Sequence[Resource] = (),
    next_url: str | None = None,
    self_url: str,
) -> Resource:
    result: Resource = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in matches
        ]
        + [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "include"}} for r in includes],
    }
    if next_url:
        result["link"].append({"relation": "next", "url": next_url})
    return result
