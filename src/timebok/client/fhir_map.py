"""Reads FHIR JSON from the backend into the client's domain models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from timebok.client.models import (
    Appointment,
    AppointmentState,
    InboxMessage,
    Office,
    Patient,
    Place,
    Represented,
    ShortNoticeWish,
    Slot,
    Timebook,
    TimeType,
)
from timebok.domain import appointment_life as life
from timebok.domain import short_notice
from timebok.domain.clock import OSLO
from timebok.domain.identity import HERID_SYSTEM, ORGNR_SYSTEM
from timebok.domain.notice_rules import OPT_OUT_URL

Json = dict[str, Any]


def ref_id(reference: Json | None, resource_type: str | None = None) -> str | None:
    text = (reference or {}).get("reference", "")
    kind, _, id_ = str(text).rpartition("/")
    if not id_ or (resource_type and kind.rpartition("/")[2] != resource_type):
        return None
    return id_


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(OSLO)


def _code(concepts: list[Json] | None) -> str:
    for concept in concepts or []:
        for coding in concept.get("coding", []):
            if coding.get("code"):
                return str(coding["code"])
    return ""


def office(resource: Json) -> Office:
    identifiers = {i.get("system"): i.get("value") for i in resource.get("identifier", [])}
    phones = [t["value"] for t in resource.get("telecom", []) if t.get("system") == "phone"]
    return Office(
        id=resource["id"],
        name=resource.get("name", ""),
        her_id=identifiers.get(HERID_SYSTEM),
        orgnr=identifiers.get(ORGNR_SYSTEM),
        phone=phones[0] if phones else None,
    )


def place(resource: Json) -> Place:
    address = resource.get("address", {})
    return Place(
        id=resource["id"],
        name=resource.get("name", ""),
        address=", ".join(address.get("line", [])),
        postal_code=address.get("postalCode", ""),
        city=address.get("city", ""),
        directions=resource.get("description", ""),
    )


def time_type(resource: Json) -> TimeType:
    return TimeType(id=resource["id"], code=_code(resource.get("type")), office_id=ref_id(resource.get("providedBy")) or "")


def timebook(resource: Json, places: dict[str, Place]) -> Timebook:
    place_id = next((ref_id(a, "Location") for a in resource.get("actor", []) if ref_id(a, "Location")), None)
    found = places.get(place_id) if place_id else None
    return Timebook(
        id=resource["id"],
        name=resource.get("comment", ""),
        time_type_code=_code(resource.get("serviceType")),
        place=found or Place(id=place_id or "", name="", address="", postal_code="", city="", directions=""),
        lead_minutes=_lead_minutes(resource),
        service_id=next((id_ for a in resource.get("actor", []) if (id_ := ref_id(a, "HealthcareService"))), ""),
    )


LEAD_TIME_URL = "https://timebok.example/fhir/StructureDefinition/booking-lead-time"


def _lead_minutes(resource: Json) -> int:
    for extension in resource.get("extension", []):
        if isinstance(extension, dict) and extension.get("url") == LEAD_TIME_URL:
            value = (extension.get("valueDuration") or {}).get("value")
            if isinstance(value, int | float):
                return int(value)
    return 120


def slot(resource: Json) -> Slot:
    return Slot(
        id=resource["id"],
        timebook_id=ref_id(resource.get("schedule")) or "",
        start=moment(resource["start"]),
        end=moment(resource["end"]),
        held_until=_moment_of(resource, life.HOLD_URL, "valueInstant"),
    )


def patient(resource: Json) -> Patient:
    name = (resource.get("name") or [{}])[0]
    identifiers = resource.get("identifier") or [{}]
    practitioners = resource.get("generalPractitioner") or [None]
    birth = resource.get("birthDate")
    return Patient(
        id=resource["id"],
        given=" ".join(name.get("given", [])),
        family=name.get("family", ""),
        birth_date=date.fromisoformat(birth) if birth else None,
        identity_number=identifiers[0].get("value", ""),
        office_id=ref_id(practitioners[0], "Organization"),
        noshow_count=_extension(resource, life.NOSHOW_COUNT_URL).get("valueUnsignedInt"),
        email=_contact(resource, "email"),
        mobile=_contact(resource, "sms") or _contact(resource, "phone", use="mobile"),
    )


def _contact(resource: Json, system: str, *, use: str | None = None) -> str | None:
    """The first `Patient.telecom` value of this system (and use, when given), or None."""
    for point in resource.get("telecom") or []:
        if isinstance(point, dict) and point.get("system") == system and (use is None or point.get("use") == use):
            value = point.get("value")
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _extension(resource: Json, url: str) -> Json:
    """The resource's extension with this url, or {}."""
    found = next((e for e in resource.get("extension") or [] if isinstance(e, dict) and e.get("url") == url), None)
    return found or {}


def _moment_of(resource: Json, url: str, key: str) -> datetime | None:
    value = _extension(resource, url).get(key)
    return moment(value) if isinstance(value, str) else None


_STATES = {
    "pending": AppointmentState.WAITING,
    "proposed": AppointmentState.HELD,
    "booked": AppointmentState.CONFIRMED,
    "arrived": AppointmentState.ARRIVED,
    "fulfilled": AppointmentState.DONE,
    "noshow": AppointmentState.NO_SHOW,
}
_CANCELLED = {"prov": AppointmentState.REJECTED, life.MOVED: AppointmentState.MOVED, life.UNANSWERED: AppointmentState.UNANSWERED}


def _state(resource: Json) -> AppointmentState:
    status = resource.get("status")
    if isinstance(status, str) and status in _STATES:
        return _STATES[status]
    reason = _code([resource.get("cancelationReason") or {}])
    # "prov": the provider (the office) said no; moved and unanswered have words of their own; the rest is a cancellation.
    return _CANCELLED.get(reason, AppointmentState.CANCELLED)


def appointment(resource: Json, included: dict[str, Json] | None = None) -> Appointment:
    included = included or {}
    actors = [p.get("actor", {}) for p in resource.get("participant", [])]
    patient_id = next((id_ for a in actors if (id_ := ref_id(a, "Patient"))), "")
    office_id = next((id_ for a in actors if (id_ := ref_id(a, "Organization"))), "")
    place_id = next((ref_id(a, "Location") for a in actors if ref_id(a, "Location")), None)
    state = _state(resource)
    found_place = included.get(f"Location/{place_id}")
    found_office = included.get(f"Organization/{office_id}")
    found_patient = included.get(f"Patient/{patient_id}")
    return Appointment(
        id=resource["id"],
        version=int(resource.get("meta", {}).get("versionId", "1")),
        state=state,
        start=moment(resource["start"]),
        end=moment(resource["end"]),
        time_type_code=_code(resource.get("serviceType")),
        patient_id=patient_id,
        office_id=office_id,
        place_id=place_id,
        reason=resource.get("description"),
        office_reason=(resource.get("cancelationReason") or {}).get("text") if state is AppointmentState.REJECTED else None,
        created=moment(resource["created"]) if resource.get("created") else None,
        place=place(found_place) if found_place else None,
        office=office(found_office) if found_office else None,
        patient=patient(found_patient) if found_patient else None,
        representative=_representative(resource),
        status=str(resource.get("status", "")),
        replaces_id=ref_id(_extension(resource, life.REPLACES_URL).get("valueReference"), "Appointment"),
        deadline=_moment_of(resource, life.DEADLINE_URL, "valueDateTime"),
        hold_expires=_moment_of(resource, life.HOLD_URL, "valueInstant"),
        answer_due=_moment_of(resource, life.ANSWER_DUE_URL, "valueDateTime"),
        overdue=_extension(resource, life.OVERDUE_URL).get("valueBoolean") is True,
        late=_extension(resource, life.LATE_URL).get("valueBoolean") is True,
        cancel_code=_code([resource.get("cancelationReason") or {}]) or None,
        no_notices=_opted_out(resource, "notices"),
        no_reminders=_opted_out(resource, "reminders"),
        slot_id=next((id_ for s in resource.get("slot", []) if (id_ := ref_id(s, "Slot"))), None),
    )


def _opted_out(resource: Json, code: str) -> bool:
    return any(
        isinstance(e, dict) and e.get("url") == OPT_OUT_URL and e.get("valueCode") == code
        for e in resource.get("extension") or []
    )


def wish(resource: Json, included: dict[str, Json] | None = None) -> ShortNoticeWish:
    """A short-notice wish (`Appointment/waitlist-N`): its patient, timebook actors, period, offer and end; with its
    patient and place when the search included them (the desk's list)."""
    included = included or {}
    actors = [p.get("actor", {}) for p in resource.get("participant", [])]
    period = (resource.get("requestedPeriod") or [{}])[0]
    active = resource.get("status") == "waitlist"
    patient_id = next((id_ for a in actors if (id_ := ref_id(a, "Patient"))), "")
    place_id = next((id_ for a in actors if (id_ := ref_id(a, "Location"))), "")
    found_patient, found_place = included.get(f"Patient/{patient_id}"), included.get(f"Location/{place_id}")
    return ShortNoticeWish(
        id=resource["id"],
        patient_id=patient_id,
        time_type_code=_code(resource.get("serviceType")),
        service_id=next((id_ for a in actors if (id_ := ref_id(a, "HealthcareService"))), ""),
        place_id=place_id,
        period_start=moment(period["start"]),
        period_end=moment(period["end"]),
        active=active,
        created=moment(resource["created"]) if resource.get("created") else None,
        replaces_id=ref_id(_extension(resource, life.REPLACES_URL).get("valueReference"), "Appointment"),
        offer_id=ref_id(_extension(resource, life.SHORT_NOTICE_OFFER_URL).get("valueReference"), "Appointment"),
        ended=None if active else (_code([resource.get("cancelationReason") or {}]) or "withdrawn"),
        offered_start=_moment_of(resource, short_notice.OFFERED_TIME_URL, "valueInstant"),
        offered_until=_moment_of(resource, life.HOLD_URL, "valueInstant"),
        patient=patient(found_patient) if found_patient else None,
        place=place(found_place) if found_place else None,
    )


REPRESENTATIVE_URL = "http://helsenorge.no/fhir/StructureDefinition/hn-extension-representant"


def _representative(resource: Json) -> str | None:
    """The name in Helsenorge's representative extension (who booked on the patient's behalf), if there is one."""
    for extension in resource.get("extension") or []:
        if extension.get("url") == REPRESENTATIVE_URL:
            for part in extension.get("extension") or []:
                if part.get("url") == "name":
                    name = part.get("valueHumanName") or {}
                    return " ".join([*name.get("given", []), name.get("family", "")]).strip() or None
    return None


ACCESS_URL = "https://timebok.example/fhir/StructureDefinition/representation-access"
RULE_URL = "https://timebok.example/fhir/StructureDefinition/representation-rule"


def represented(resource: Json) -> Represented | None:
    """A person the caller may act for (a Patient carrying the caller as a contained RelatedPerson); None for the
    caller's own Patient."""
    related = next((c for c in resource.get("contained") or [] if c.get("resourceType") == "RelatedPerson"), None)
    if related is None:
        return None
    values = {e.get("url"): e.get("valueCode") for e in related.get("extension") or []}
    code = _code(related.get("relationship"))
    return Represented(
        patient=patient(resource),
        relation="fullmakt" if code == "POWATT" else "parent",
        access=str(values.get(ACCESS_URL) or "read"),
        rule=str(values.get(RULE_URL) or ""),
    )


def inbox_message(resource: Json) -> InboxMessage:
    payload = resource.get("payload") or [{}]
    about = resource.get("about") or [None]
    return InboxMessage(
        id=resource["id"],
        sent=moment(resource["sent"]),
        topic=(resource.get("topic") or {}).get("text", ""),
        text=payload[0].get("contentString", ""),
        kind=_code(resource.get("category")),
        office_id=ref_id(resource.get("sender"), "Organization"),
        appointment_id=ref_id(about[0], "Appointment"),
        patient_id=ref_id((resource.get("recipient") or [None])[0], "Patient"),
    )
