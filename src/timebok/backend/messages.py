"""The Norwegian texts of the messages the backend sends to a patient's inbox."""

from __future__ import annotations

from datetime import datetime

from timebok.domain.clock import OSLO

_WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
_MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "desember")


def when(start: datetime) -> str:
    """«torsdag 3. desember 2026 kl. 08:30» — written out here so the backend needs no locale data."""
    local = start.astimezone(OSLO)
    return f"{_WEEKDAYS[local.weekday()]} {local.day}. {_MONTHS[local.month - 1]} {local.year} kl. {local:%H:%M}"


# Named as the app names them («Time til laboratoriet hos …»), so a type reads the same everywhere.
_TYPE_WORDS = {"Koronatest": "koronatest", "Koronavaksine": "koronavaksine", "Lab": "laboratoriet", "Vaksine": "vaksine"}


def _what(type_code: str) -> str:
    return "time til " + _TYPE_WORDS.get(type_code, type_code.lower())


def _at(place: str, office: str) -> str:
    # When the office is itself the place, saying «på Fjordsiden legekontor … til Fjordsiden legekontor» is once too many.
    return "" if not place or place == office else f" på {place}"


def request_sent(office: str, type_code: str, start: datetime, place: str) -> tuple[str, str]:
    return (
        "Timeforespørselen er sendt",
        f"Timeforespørselen din om {_what(type_code)} {when(start)}{_at(place, office)} er sendt til {office}. "
        "Legekontoret må bekrefte eller avvise timen. Du får svar her i innboksen.",
    )


def confirmed(office: str, type_code: str, start: datetime, place: str) -> tuple[str, str]:
    return (
        "Timen er bekreftet",
        f"{office} har bekreftet timen din: {_what(type_code)} {when(start)}{_at(place, office)}. Velkommen!",
    )


def rejected(office: str, type_code: str, start: datetime, reason: str) -> tuple[str, str]:
    return (
        "Timeforespørselen er avvist",
        f"{office} har avvist timeforespørselen din om {_what(type_code)} {when(start)}. Begrunnelse: {reason}",
    )


def cancelled(office: str, type_code: str, start: datetime, by_office: bool, reason: str | None = None) -> tuple[str, str]:
    who = f"{office} har avbestilt" if by_office else "Du har avbestilt"
    text = f"{who} timen: {_what(type_code)} {when(start)}."
    # The office's reason is written to the patient (the desk is told so when it types it); the patient's own is not
    # repeated back to them.
    if by_office and reason and reason.strip():
        text += f" Begrunnelse: {reason.strip()}"
    return ("Timen er avbestilt", text)


def change_requested(office: str, type_code: str, old: datetime, new: datetime) -> tuple[str, str]:
    return (
        "Endringen er sendt",
        f"Du har bedt {office} om å flytte {_what(type_code)} fra {when(old)} til {when(new)}. "
        f"Du beholder timen {when(old)} til legekontoret har svart. Du får svar her i innboksen.",
    )


def moved(office: str, type_code: str, old: datetime, new: datetime, place: str) -> tuple[str, str]:
    return (
        "Timen er flyttet",
        f"{office} har flyttet timen din: {_what(type_code)} er nå {when(new)}{_at(place, office)}, ikke {when(old)}. Velkommen!",
    )


def change_rejected(office: str, type_code: str, old: datetime, new: datetime, reason: str) -> tuple[str, str]:
    return (
        "Endringen er avvist",
        f"{office} har avvist endringen til {when(new)}. Du beholder {_what(type_code)} {when(old)}. Begrunnelse: {reason}",
    )


def offer(office: str, type_code: str, start: datetime, place: str, until: datetime) -> tuple[str, str]:
    return (
        "Ledig time til deg",
        f"Du står på listen «Kan komme på kort varsel», og {office} har fått en ledig time: {_what(type_code)} "
        f"{when(start)}{_at(place, office)}. Den holdes for deg til {until.astimezone(OSLO):%H:%M}: send den under "
        "«Timeavtaler» for å ta den, eller la den gå, så går den til nestemann.",
    )


def unanswered(office: str, type_code: str, start: datetime) -> tuple[str, str]:
    return (
        "Timeforespørselen ble ikke besvart",
        f"{office} svarte ikke på timeforespørselen din om {_what(type_code)} {when(start)} før timen begynte, "
        "så forespørselen er lukket. Kontakt legekontoret hvis du fortsatt trenger time.",
    )
