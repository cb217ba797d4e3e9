"""Typed request bodies: every field a client sends is checked for its type before any rule or query runs."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from timebok.backend.outcome import FhirError
from timebok.domain.privacy import scrub

# FHIR R4 value sets the bodies may carry (the rules decide which of them a request may use).
AppointmentStatus = Literal[
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
]
ParticipationStatus = Literal["accepted", "declined", "tentative", "needs-action"]

Body = TypeVar("Body", bound=BaseModel)

# The longest text any element may hold; the rules cap reasons tighter (1000), this bounds everything else.
_TEXT = 4096


class _Element(BaseModel):
    # strict: 5 is not a string and "true" is not a boolean; forbid: an element we do not know is a mistake,
    # not something to drop silently (the client would believe it was stored).
    model_config = ConfigDict(extra="forbid", strict=True)


class Coding(_Element):
    system: str | None = Field(default=None, max_length=_TEXT)
    code: str | None = Field(default=None, max_length=_TEXT)
    display: str | None = Field(default=None, max_length=_TEXT)


class CodeableConcept(_Element):
    coding: list[Coding] | None = Field(default=None, max_length=20)
    text: str | None = Field(default=None, max_length=_TEXT)


class Identifier(_Element):
    system: str | None = Field(default=None, max_length=200)
    value: str = Field(max_length=200)
    type: CodeableConcept | None = None


class Reference(_Element):
    reference: str = Field(max_length=200)
    display: str | None = Field(default=None, max_length=_TEXT)
    # What a read answers next to a Patient's reference (Helsenorge's logical reference); sent back, it is ignored.
    identifier: Identifier | None = None
    type: str | None = Field(default=None, max_length=64)


class HumanName(_Element):
    family: str | None = Field(default=None, max_length=200)
    given: list[str] | None = Field(default=None, max_length=10)
    text: str | None = Field(default=None, max_length=_TEXT)


class ExtensionPart(_Element):
    """A part of a complex extension: the representative's name and identifier in hn-extension-representant."""

    url: str = Field(max_length=200)
    valueHumanName: HumanName | None = None
    valueIdentifier: Identifier | None = None


class Meta(_Element):
    versionId: str | None = Field(default=None, max_length=40)
    lastUpdated: str | None = Field(default=None, max_length=40)


class Participant(_Element):
    actor: Reference | None = None
    status: ParticipationStatus
    required: Literal["required", "optional", "information-only"] | None = None
    type: list[CodeableConcept] | None = Field(default=None, max_length=20)


class Extension(_Element):
    """An extension the server knows by its url (the rules say which a request may carry; the read-only ones an
    Appointment is answered with may come back in a PUT of what was read, and are then ignored)."""

    url: str = Field(max_length=200)
    valueReference: Reference | None = None
    valueCoding: Coding | None = None
    valueDateTime: str | None = Field(default=None, max_length=40)
    valueInstant: str | None = Field(default=None, max_length=40)
    valueBoolean: bool | None = None
    valueCode: str | None = Field(default=None, max_length=40)  # the notice opt-outs
    valueUnsignedInt: int | None = None
    # hn-extension-representant is complex: it comes back in a PUT of what was read, and is ignored (the server
    # decides who the representative is, never the body).
    extension: list[ExtensionPart] | None = Field(default=None, max_length=10)


class Period(_Element):
    start: str | None = Field(default=None, max_length=40)
    end: str | None = Field(default=None, max_length=40)


class AppointmentBody(_Element):
    """An Appointment as a client sends it: a booking request (POST) or a cancelled copy of one it read (PUT)."""

    resourceType: Literal["Appointment"]
    id: str | None = Field(default=None, max_length=64)
    meta: Meta | None = None
    identifier: list[Identifier] | None = Field(default=None, max_length=10)
    status: AppointmentStatus
    serviceType: list[CodeableConcept] | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=_TEXT)
    start: str | None = Field(default=None, max_length=40)
    end: str | None = Field(default=None, max_length=40)
    created: str | None = Field(default=None, max_length=40)
    slot: list[Reference] | None = Field(default=None, max_length=20)
    participant: list[Participant] | None = Field(default=None, max_length=20)
    cancelationReason: CodeableConcept | None = None
    requestedPeriod: list[Period] | None = Field(default=None, max_length=5)  # a waitlist wish (short notice)
    extension: list[Extension] | None = Field(default=None, max_length=20)


class AppointmentResponseBody(_Element):
    """The office's answer to a booking request."""

    resourceType: Literal["AppointmentResponse"]
    id: str | None = Field(default=None, max_length=64)
    meta: Meta | None = None
    identifier: list[Identifier] | None = Field(default=None, max_length=10)
    appointment: Reference
    actor: Reference | None = None
    participantStatus: ParticipationStatus
    comment: str | None = Field(default=None, max_length=_TEXT)


class PatchOperation(_Element):
    """One JSON Patch operation; which paths may change is a rule checked after parsing."""

    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: str = Field(max_length=200)
    value: Any = None
    from_: str | None = Field(default=None, alias="from", max_length=200)


class CancelReason(_Element):
    """The value of a JSON Patch of /cancelationReason."""

    coding: list[Coding] | None = Field(default=None, max_length=20)
    text: str | None = Field(default=None, max_length=_TEXT)


MAX_NAME_LENGTH = 100
MAX_NAME_WORDS = 5


class PatientSearchForm(_Element):
    """The form of POST Patient/_search; a bounded name search (each word is a LIKE over every listed patient)."""

    identifier: str | None = Field(default=None, max_length=120)
    name: str | None = Field(default=None, max_length=MAX_NAME_LENGTH)
    count: str | None = Field(default=None, alias="_count", max_length=12)
    format: str | None = Field(default=None, alias="_format", max_length=100)


_KIND = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "list_type": "must be an array",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "model_attributes_type": "must be an object",
    "missing": "is required",
    "extra_forbidden": "is not an element this server accepts here",
    "string_too_long": "is too long",
    "too_long": "has too many items",
}


def _problem(error: ErrorDetails) -> str:
    kind, context = error["type"], error.get("ctx", {})
    if kind == "literal_error":
        return f"must be one of {context['expected']}"
    if kind == "string_too_long":
        return f"is longer than {context['max_length']} characters"
    if kind == "too_long":
        return f"has more than {context['max_length']} items"
    if kind == "greater_than_equal":
        return f"must be at least {context['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {context['le']}"
    return _KIND.get(kind, "has the wrong type")


def fhir_path(root: str, location: tuple[Any, ...]) -> str:
    """A pydantic error location as a FHIR path: ("participant", 0, "actor") → Patient.participant[0].actor."""
    path = root
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    # An unknown element's name is the caller's text and may be an identity number.
    return scrub(path)


def parse(model: type[Body], root: str, data: Any, *, status: int = 400, rule: str | None = None) -> Body:
    """`data` as `model`, or a 400 naming each wrong element by its FHIR path (`Appointment.cancelationReason.text`);
    `rule` is the rule code the refusal carries (a setup's ranges are its rules, declared on its fields)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        issues = []
        for problem in error.errors(include_url=False, include_input=False)[:10]:
            path = fhir_path(root, problem["loc"])
            issues.append((path, f"{path} {_problem(problem)}"))
        raise FhirError(
            status, "invalid", "; ".join(text for _, text in issues), expression=[path for path, _ in issues], rule=rule
        ) from None
