"""The e-mail and SMS texts, in Norwegian and English: only the time, the place, the office and where to read more.
Never the reason, the time type, an identity number or the patient's name (a phone or mailbox may be shared)."""

from __future__ import annotations

from datetime import datetime

from timebok.domain.clock import OSLO

_WEEKDAYS = {
    "nb": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "nb": ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "desember"),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}

EVENTS = (
    "request-received",
    "confirmed",
    "rejected",
    "cancelled-office",
    "cancelled-patient",
    "changed",
    "closed-unanswered",
    "reminder",
    "offer",
)

# (subject, first sentence); {when}, {place} and {office} are filled in. The inbox has the whole story.
_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "nb": {
        "request-received": ("Timeforespørselen er mottatt", "{office} har fått timeforespørselen din for {when}, {place}."),
        "confirmed": ("Timen er bekreftet", "{office} har bekreftet timen din {when}, {place}."),
        "rejected": ("Svar på timeforespørselen", "{office} kunne ikke gi deg timen {when}."),
        "cancelled-office": ("Timen er avbestilt", "{office} har avbestilt timen din {when}."),
        "cancelled-patient": ("Timen er avbestilt", "Timen din hos {office} {when} er avbestilt."),
        "changed": ("Timen er endret", "Timen din hos {office} er flyttet til {when}, {place}."),
        "closed-unanswered": ("Timeforespørselen er lukket", "{office} svarte ikke på timeforespørselen din for {when}."),
        "reminder": ("Påminnelse om time", "Du har time hos {office} {when}, {place}."),
        "offer": ("Ledig time til deg", "{office} holder av en ledig time til deg {when}, {place}."),
    },
    "en": {
        "request-received": ("Your request was received", "{office} has received your request for {when}, {place}."),
        "confirmed": ("Your appointment is confirmed", "{office} has confirmed your appointment {when}, {place}."),
        "rejected": ("Answer to your request", "{office} could not give you the appointment {when}."),
        "cancelled-office": ("Your appointment is cancelled", "{office} has cancelled your appointment {when}."),
        "cancelled-patient": ("Your appointment is cancelled", "Your appointment at {office} {when} is cancelled."),
        "changed": ("Your appointment has changed", "Your appointment at {office} has moved to {when}, {place}."),
        "closed-unanswered": ("Your request was closed", "{office} did not answer your request for {when}."),
        "reminder": ("Appointment reminder", "You have an appointment at {office} {when}, {place}."),
        "offer": ("A free time for you", "{office} is holding a free time for you {when}, {place}."),
    },
}
_MORE = {
    "nb": "Les mer i innboksen din i timebok. Du kan ikke svare på denne meldingen.",
    "en": "Read more in your timebok inbox. Please do not reply to this message.",
}


def when(start: datetime, language: str) -> str:
    """«tirsdag 8. desember 2026 kl. 11:00» / «on Tuesday 8 December 2026 at 11:00»."""
    local = start.astimezone(OSLO)
    day = _WEEKDAYS[language][local.weekday()]
    month = _MONTHS[language][local.month - 1]
    if language == "en":
        return f"on {day} {local.day} {month} {local.year} at {local:%H:%M}"
    return f"{day} {local.day}. {month} {local.year} kl. {local:%H:%M}"


def language_of(code: str | None) -> str:
    return code if code in _TEXTS else "nb"


def render(event: str, language: str, *, office: str, place: str, start: datetime) -> tuple[str, str]:
    """(subject, body) of one notice."""
    language = language_of(language)
    subject, first = _TEXTS[language][event]
    return subject, first.format(office=office, place=place, when=when(start, language)) + " " + _MORE[language]
