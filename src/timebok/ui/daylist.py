"""The desk's day list as rows: what «Dagens timer» shows, the printed day list prints and the CSV export holds."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from timebok.client.models import Appointment, AppointmentState, Patient, Timebook
from timebok.domain import appointment_life as life
from timebok.domain.privacy import initials
from timebok.ui.i18n import has_text, t
from timebok.ui.labels import time_type_name

# Each time type has a colour AND a symbol, so the type reads without colour (NO_COLOR, a printout, colour blindness).
TYPE_MARKS: dict[str, tuple[str, str]] = {
    "Koronatest": ("◆", "magenta"),
    "Koronavaksine": ("▲", "cyan"),
    "Lab": ("●", "green"),
    "Vaksine": ("■", "yellow"),
}
OTHER_MARK = ("○", "white")


def type_mark(code: str) -> tuple[str, str]:
    """The symbol and the colour of a time type."""
    return TYPE_MARKS.get(code, OTHER_MARK)


def shown_name(patient: Patient | None, patient_id: str, *, hidden: bool) -> str:
    """The patient as a staff screen names them: «Kari Nordmann», or with «Skjul navn» on «K. N. (1985)»."""
    if patient is None:
        return f"Patient/{patient_id}"
    if hidden:
        return initials(patient.given, patient.family, patient.birth_date.year if patient.birth_date else None)
    return patient.name


def status_of(appointment: Appointment) -> str:
    """The FHIR status the desk acts on (pending, booked, arrived, fulfilled, noshow, …)."""
    if appointment.status:
        return appointment.status
    return {AppointmentState.WAITING: "pending", AppointmentState.CONFIRMED: "booked"}.get(appointment.state, "cancelled")


def desk_state(appointment: Appointment) -> str:
    """A short state word for the desk's lists: «Forespørsel», «Bekreftet», «Møtt», «Ferdig», «Ikke møtt», «Flyttet»."""
    key = f"desk.state.{status_of(appointment)}"
    if appointment.state in (AppointmentState.WAITING, AppointmentState.CONFIRMED) or appointment.status in life.ATTENDANCE:
        return t(key) if has_text(key) else t(f"state.{appointment.state.value}")
    return t(f"state.{appointment.state.value}")  # cancelled, rejected, moved, unanswered: their own words


def is_late(appointment: Appointment, moment: datetime) -> bool:
    """A confirmed patient who has not arrived 10 minutes after the start (issue 24's rule, domain.appointment_life),
    on the day itself: a time days ago never marked is history, not a patient the desk is waiting for."""
    same_day = appointment.start.astimezone(moment.tzinfo).date() == moment.date()
    return same_day and life.is_late(appointment.start, status_of(appointment), moment)


def undo_of(status: str, marked_from: str | None) -> str | None:
    """The status an attendance mark's undo goes back to: what it was before this desk marked it, else the table's
    way back (done → arrived is allowed, but without knowing, back to booked). None: nothing to undo."""
    if status not in life.ATTENDANCE:
        return None
    if marked_from is not None and life.may_move(status, marked_from, life.STAFF):
        return marked_from
    return "booked"


def timebook_of(appointment: Appointment, timebooks: Sequence[Timebook]) -> Timebook | None:
    """The timebook an appointment is in: the one of its time type at its place."""
    return next(
        (b for b in timebooks if b.time_type_code == appointment.time_type_code and b.place.id == appointment.place_id), None
    )


def in_scope(appointment: Appointment, timebook: Timebook | None) -> bool:
    """Whether the day list scoped to `timebook` (None: all) shows the appointment."""
    return timebook is None or (
        appointment.time_type_code == timebook.time_type_code and appointment.place_id == timebook.place.id
    )


@dataclass(frozen=True)
class DayRow:
    """One appointment as the day list shows it, every value already in words."""

    appointment: Appointment
    time: str  # «08:15»
    type_code: str
    type_name: str  # «Laboratoriet»
    place: str
    patient: str  # a name, or initials and birth year
    number: str  # the masked number; empty with names hidden
    state: str
    late: bool
    reason: str

    @property
    def type_label(self) -> str:
        """The type with its symbol, «● Laboratoriet»: never colour alone."""
        return f"{type_mark(self.type_code)[0]} {self.type_name}"


def day_rows(
    appointments: Iterable[Appointment], *, hidden: bool, moment: datetime, timebook: Timebook | None = None
) -> list[DayRow]:
    """The rows of a day list, by time and then place; `timebook` scopes it to one timebook (None: all)."""
    chosen = sorted((a for a in appointments if in_scope(a, timebook)), key=lambda a: (a.start, a.place_id or "", a.id))
    return [
        DayRow(
            appointment=a,
            time=a.start.strftime("%H:%M"),
            type_code=a.time_type_code,
            type_name=time_type_name(a.time_type_code),
            place=a.place.name if a.place else "",
            patient=shown_name(a.patient, a.patient_id, hidden=hidden),
            number="" if hidden or a.patient is None else a.patient.masked_number,
            state=desk_state(a),
            late=is_late(a, moment),
            reason=a.reason or "",
        )
        for a in chosen
    ]


def csv_text(rows: Sequence[DayRow], day: date) -> str:
    """The day list as CSV for a spreadsheet: `;` between fields (a Norwegian spreadsheet reads `,` as a decimal
    comma), one header line in the user's language, the number masked as on screen."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([t(f"daylist.col_{c}") for c in ("date", "time", "type", "place", "patient", "number", "state", "reason")])
    for row in rows:
        state = f"{row.state} ({t('daylist.late')})" if row.late else row.state
        fields = [day.isoformat(), row.time, row.type_name, row.place, row.patient, row.number, state, row.reason]
        writer.writerow([_inert(field) for field in fields])
    return out.getvalue()


def _inert(field: str) -> str:
    """A field a spreadsheet will not run as a formula: a reason typed as «=HYPERLINK(…)» stays text."""
    return f"'{field}" if field[:1] in ("=", "+", "-", "@", "\t", "\r") else field
