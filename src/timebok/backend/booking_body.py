"""A booking request and the office's answer as the rules take them: typed values read from the typed bodies,
each shape the rules cannot use a 400 that says what to send instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from timebok.backend.bodies import AppointmentBody, AppointmentResponseBody, Extension, Reference
from timebok.backend.fhir import OPT_OUT_URL, parse_id
from timebok.backend.outcome import FhirError, invalid

MAX_REASON = 1000  # characters of a reason for booking, cancelling or declining
OPT_OUTS = ("notices", "reminders")


@dataclass(frozen=True)
class BookingRequest:
    """POST Appointment: the patient asks for one slot, with an optional reason the office reads."""

    slot_id: int
    patient_id: int
    reason: str | None
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
    if body.status != "pending":
        raise invalid("A booking request must have status 'pending'")
    if body.slot is None or len(body.slot) != 1:
        raise invalid("A booking request must name exactly one slot")
    slot_id = _reference_id(body.slot[0], "Slot", "slot[0]")
    reason = _text(body.description, "description")
    if body.participant is None:
        raise invalid("participant must list the patient")
    patients = [p.actor for p in body.participant if p.actor is not None and p.actor.reference.startswith("Patient/")]
    if len(patients) != 1:
        raise invalid("participant must name exactly one Patient")
    notices, reminders = opt_outs(body.extension)
    return BookingRequest(
        slot_id=slot_id,
        patient_id=_reference_id(patients[0], "Patient", "participant.actor"),
        reason=reason,
        no_notices=notices,
        no_reminders=reminders,
    )


def opt_outs(extensions: list[Extension] | None) -> tuple[bool, bool]:
    """(no notices, no reminders) from Appointment.extension; any other extension is a 400 naming it."""
    codes: set[str] = set()
    for index, extension in enumerate(extensions or []):
        if extension.url != OPT_OUT_URL or extension.valueCode not in OPT_OUTS:
            raise invalid(
                f"Appointment.extension[{index}] must be {OPT_OUT_URL} with valueCode 'notices' or 'reminders'",
                expression=[f"Appointment.extension[{index}]"],
            )
        codes.add(extension.valueCode)
    return "notices" in codes, "reminders" in codes


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


def _reference_id(reference: Reference, resource_type: str, where: str) -> int:
    text = reference.reference
    id_ = parse_id(text.split("/", 1)[1]) if text.startswith(f"{resource_type}/") else None
    if id_ is None:
        raise invalid(f'{where} must be a reference like {{"reference": "{resource_type}/123"}}')
    return id_
