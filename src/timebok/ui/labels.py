"""How the screens name things: time type labels, state words, dates and times, from the catalogues."""

from __future__ import annotations

from datetime import datetime

from timebok.client.models import Appointment, AppointmentState, Patient, Place
from timebok.ui.i18n import clock_time, has_text, language, long_date, t


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


def short_when(moment: datetime) -> str:
    """«tir. 9. des. 08:15» / «Tue 9 Dec 08:15»: a time in a line that names two (a change's from and to)."""
    from babel.dates import format_date

    lang = language()
    pattern = "EEE d. MMM" if lang == "nb" else "EEE d MMM"
    day = format_date(moment.date(), pattern, locale="nb_NO" if lang == "nb" else "en_GB")
    return f"{day} {moment:%H:%M}"


def change_line(old: datetime, new: datetime) -> str:
    """The queue's «Endring: tir. 9. des. 08:15 → tor. 11. des. 10:30»."""
    return t("change.queue_line", old=short_when(old), new=short_when(new))


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
