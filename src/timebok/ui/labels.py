"""How the screens name things: time type labels, state words, dates and times, from the catalogues."""

from __future__ import annotations

from datetime import datetime

from timebok.client.models import Appointment, AppointmentState, Patient, Place
from timebok.ui.i18n import clock_time, has_text, long_date, t


def time_type_label(code: str, office: str) -> str:
    """«Time til laboratoriet hos Fjordsiden legekontor», as the guide words it."""
    key = f"type.{code}"
    return t(key, office=office) if has_text(key) else t("type.other", type=code, office=office)


def time_type_name(code: str) -> str:
    """The type alone («Laboratoriet»), for tables where the office goes without saying."""
    key = f"typeshort.{code}"
    return t(key) if has_text(key) else code


def when(moment: datetime) -> str:
    """«torsdag 3. desember 2026 kl. 08:30»."""
    return f"{long_date(moment.date())} {clock_time(moment)}"


def state_word(state: AppointmentState) -> str:
    return t(f"state.{state.value}")


def place_lines(place: Place | None) -> str:
    if place is None:
        return ""
    lines = [place.name, place.full_address]
    if place.directions:
        lines.append(place.directions)
    return "\n".join(lines)


def for_whom(own: Patient, appointment: Appointment) -> str:
    """« · for Emma Lie» when the time is someone else's than the list's own patient (a child, a fullmakt), else ""."""
    if appointment.patient_id == own.id or not appointment.patient_id:
        return ""
    name = appointment.patient.name if appointment.patient else f"Patient/{appointment.patient_id}"
    return " · " + t("list.for", patient=name)


def appointment_details(appointment: Appointment) -> str:
    """The expanded «Se detaljer» text: time, place, state, and the office's reason when rejected."""
    office = appointment.office.name if appointment.office else ""
    lines = [
        f"{t('details.type')}: {time_type_label(appointment.time_type_code, office)}",
        f"{t('details.time')}: {when(appointment.start)}",
    ]
    if appointment.place:
        lines.append(f"{t('details.place')}: {appointment.place.name}, {appointment.place.full_address}")
        if appointment.place.directions:
            lines.append(f"{t('details.directions')}: {appointment.place.directions}")
    lines.append(f"{t('details.state')}: {state_word(appointment.state)}")
    if appointment.office_reason:
        lines.append(f"{t('details.office_reason')}: {appointment.office_reason}")
    if appointment.reason:
        lines.append(f"{t('details.reason')}: {appointment.reason}")
    if appointment.representative:
        lines.append(f"{t('list.booked_by')}: {appointment.representative}")
    return "\n".join(lines)
