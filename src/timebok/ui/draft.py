"""The booking being put together, kept while the user moves back and forth between steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # names for the fields' types only: the models need not load before the first paint
    from timebok.client.models import Appointment, Patient, Slot, Timebook, TimeType

Choice = TypeVar("Choice")


class StepTooSoon(RuntimeError):
    """A booking step was opened before a choice it builds on was made: a bug in the order of the steps."""


def chosen(choice: Choice | None, what: str) -> Choice:
    """`choice`, made on an earlier step of the booking (a step holds it from when it opens: going back closes it)."""
    if choice is None:
        raise StepTooSoon(f"no {what} chosen yet")
    return choice


@dataclass
class BookingDraft:
    """Every choice and every typed character of the booking in progress; Esc never loses any of it."""

    patient: Patient | None = None
    time_type: TimeType | None = None
    timebooks: list[Timebook] = field(default_factory=list)
    timebook: Timebook | None = None
    month: date | None = None
    day: date | None = None
    slot: Slot | None = None
    reason: str = ""
    pointed_type_id: str | None = None  # the time type highlighted on step 2, kept across a language switch
    # «Endre time»: the appointment this booking replaces (sent as R5's `replaces`); None for a new booking.
    replaces: Appointment | None = None
    # The time held for this user since step 5 opened (a `proposed` Appointment), and the slot it holds; kept in the
    # draft so a language switch, which builds step 5 again, keeps the same hold rather than taking a second.
    hold: Appointment | None = None
    hold_slot_id: str | None = None
    override: str | None = None  # the desk's reason (OVERRIDE_REASONS) to change past the deadline
    # «Kan komme på kort varsel», ticked on step 5: once sent, the patient asks for an earlier time of this type here.
    short_notice: bool = False
    wish_made: bool | None = None  # whether that wish was made (None: not asked for)
    # Step 5 for a time offered at short notice (the hold is the offer): Esc leaves it held, «N» in «Timeavtaler» declines.
    offer: bool = False

    def choose_patient(self, patient: Patient | None) -> None:
        """Step 1 «Bestill for»: someone else's booking starts afresh (their office may offer other types)."""
        if self.patient != patient:
            self.patient = patient
            self.time_type, self.timebooks, self.timebook = None, [], None
            self.month = self.day = self.slot = None
            self.pointed_type_id = None

    def choose_time_type(self, time_type: TimeType) -> None:
        if self.time_type != time_type:
            self.time_type = time_type
            self.timebooks, self.timebook = [], None
            self.month = self.day = self.slot = None

    def choose_timebook(self, timebook: Timebook) -> None:
        if self.timebook != timebook:
            self.timebook = timebook
            self.month = self.day = self.slot = None
