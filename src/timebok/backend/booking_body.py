"""A booking request and the office's answer as the rules take them: typed values read from the typed bodies,
each shape the rules cannot use a 400 that says what to send instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from timebok.backend.bodies import AppointmentBody, AppointmentResponseBody, CodeableConcept, Coding, Extension, Reference
from timebok.backend.fhir import OPT_OUT_URL, REPRESENTATIVE_URL, parse_id
from timebok.backend.outcome import FhirError, invalid
from timebok.domain.appointment_life import OVERRIDE_REASONS, OVERRIDE_SYSTEM, OVERRIDE_URL, READ_ONLY_URLS, REPLACES_URL

MAX_REASON = 1000  # characters of a reason for booking, cancelling or declining
OPT_OUTS = ("notices", "reminders")


@dataclass(frozen=True)
class BookingRequest:
    """POST Appointment: the patient asks for one slot, with an optional reason the office reads."""

    slot_id: int
    patient_id: int
    reason: str | None
    status: Literal["proposed", "pending", "booked"] = "pending"  # a hold, a request, or (staff) a booking
    replaces_id: int | None = None  # a change: the Appointment this new time replaces
    override: str | None = None  # staff past the change deadline: the reason code (OVERRIDE_REASONS)
    no_notices: bool = False
    no_reminders: bool = False


@dataclass(frozen=True)
class Answer:
    """POST AppointmentResponse: the office accepts or declines a pending request; a decline says why."""

    appointment_id: int
    status: Literal["accepted", "declined"]
    comment: str | None

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


def booking_request(body: AppointmentBody) -> BookingRequest:
    status = body.status
    if status not in ("proposed", "pending", "booked"):
        raise invalid(
            "A new Appointment must have status 'pending' (a request), 'proposed' (a hold) or 'booked' (staff)",
            expression=["Appointment.status"],
        )
    if body.slot is None or len(body.slot) != 1:
        raise invalid("A booking request must name exactly one slot")
    slot_id = _reference_id(body.slot[0], "Slot", "slot[0]")
    reason = _text(body.description, "description")
    if body.participant is None:
        raise invalid("participant must list the patient")
    patients = [p.actor for p in body.participant if p.actor is not None and p.actor.reference.startswith("Patient/")]
    if len(patients) != 1:
        raise invalid("participant must name exactly one Patient")
    replaces_id, override = extensions(body)
    notices, reminders = opt_outs(body.extension)
    return BookingRequest(
        slot_id=slot_id,
        patient_id=_reference_id(patients[0], "Patient", "participant.actor"),
        reason=reason,
        status=status,
        replaces_id=replaces_id,
        override=override,
        no_notices=notices,
        no_reminders=reminders,
    )


def opt_outs(extensions: list[Extension] | None) -> tuple[bool, bool]:
    """(no notices, no reminders) from the notice opt-out extensions among Appointment.extension (issue 25)."""
    codes: set[str] = set()
    for index, extension in enumerate(extensions or []):
        if extension.url != OPT_OUT_URL:
            continue
        if extension.valueCode not in OPT_OUTS:
            raise invalid(
                f"Appointment.extension[{index}] must be {OPT_OUT_URL} with valueCode 'notices' or 'reminders'",
                expression=[f"Appointment.extension[{index}]"],
            )
        codes.add(extension.valueCode)
    return "notices" in codes, "reminders" in codes


def extensions(body: AppointmentBody) -> tuple[int | None, str | None]:
    """The Appointment a change replaces and a staff deadline override, from the body's extensions; the read-only
    ones the server answers with may come back and are ignored; any other is a 400 naming it."""
    replaces_id, override = None, None
    for index, item in enumerate(body.extension or []):
        where = f"Appointment.extension[{index}]"
        if item.url == REPLACES_URL:
            if item.valueReference is None:
                raise invalid(
                    f"{where}.valueReference must name the Appointment replaced", expression=[f"{where}.valueReference"]
                )
            replaces_id = _reference_id(item.valueReference, "Appointment", f"{where}.valueReference")
        elif item.url == OVERRIDE_URL:
            override = override_code(item.valueCoding, f"{where}.valueCoding")
        elif item.url == OPT_OUT_URL:
            pass  # the notice opt-outs: read by opt_outs
        elif item.url not in READ_ONLY_URLS and item.url != REPRESENTATIVE_URL:
            raise invalid(f"{where}.url is not an extension this server accepts here", expression=[f"{where}.url"])
    return replaces_id, override


def override_code(coding: Coding | None, where: str) -> str:
    if coding is None or coding.system != OVERRIDE_SYSTEM or coding.code not in OVERRIDE_REASONS:
        raise invalid(f"{where} must be a code of {OVERRIDE_SYSTEM}: {', '.join(OVERRIDE_REASONS)}", expression=[f"{where}.code"])
    return coding.code


def cancel_override(reason: CodeableConcept | None, where: str) -> str | None:
    """A staff override of the deadline carried in cancelationReason.coding, if any."""
    for index, coding in enumerate((reason.coding or []) if reason else []):
        if coding.system == OVERRIDE_SYSTEM:
            return override_code(coding, f"{where}.coding[{index}]")
    return None


def answer(body: AppointmentResponseBody) -> Answer:
    appointment_id = _reference_id(body.appointment, "Appointment", "appointment")
    status = body.participantStatus
    if status not in ("accepted", "declined"):
        raise invalid("participantStatus must be 'accepted' or 'declined'")
    comment = _text(body.comment, "comment")
    if status == "declined" and not comment:
        raise invalid("A declined request needs a short reason in comment, for the patient")
    return Answer(appointment_id=appointment_id, status=status, comment=comment)


def check_reason(reason: str | None, element: str) -> None:
    if reason and len(reason) > MAX_REASON:
        raise FhirError(400, "too-long", f"{element} is {len(reason)} characters; at most {MAX_REASON} are allowed")


def _text(value: str | None, element: str) -> str | None:
    """A free text with its outer blanks removed, None when nothing is left; refused when longer than MAX_REASON."""
    text = (value or "").strip() or None
    check_reason(text, element)
    return text


def slot_reference(reference: Reference) -> int:
    """The Slot id of a reference like Slot/812; anything else a 400."""
    return _reference_id(reference, "Slot", "slot[0]")


def _reference_id(reference: Reference, resource_type: str, where: str) -> int:
    text = reference.reference
    id_ = parse_id(text.split("/", 1)[1]) if text.startswith(f"{resource_type}/") else None
    if id_ is None:
        raise invalid(f'{where} must be a reference like {{"reference": "{resource_type}/123"}}')
    return id_
