"""Hides national identity numbers in any text that may be logged, traced or exported."""

from __future__ import annotations

import re

# Eleven digits standing alone, shaped like a fødselsnummer, D-nummer or H-nummer: a day field (00-79: days,
# D-nummer days 41-71) and then a month field (00-19, 40-59, 80-99: months, H-nummer 41-52, synthetic 81-92).
# The fields are wider than the valid ranges, so a number mistyped in its date is masked as well; they are
# narrow enough that a year is never a day and month («lt2027-02-01 200», «20270201 200» stay as they are).
# The server reads a number with a single space between any two characters («148 385 124 70»), so a space,
# hyphen or dot may stand between any digits. An OID («urn:oid:2.16.578.1.12.4.1.4.1», the identifier systems
# in every Patient) is read first and kept whole: its dotted digits would otherwise pass for a number spelled
# with dots, and the case would lose its systems. Its arcs are short: an arc of ten digits or more is never
# taken for one, so a number cannot hide in an «OID».
_S = "[ .-]?"
_IDENTITY_NUMBER = re.compile(rf"(urn:oid:[0-2](?:\.\d{{1,9}}(?!\d))+)|(?<!\d)[0-7]{_S}\d{_S}[014589](?:{_S}\d){{8}}(?!\d)")
_SEPARATOR = re.compile(r"[ .-]")


def _mask(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1)
    return _SEPARATOR.sub("", match.group())[:6] + " *****"


def scrub(text: str) -> str:
    """Replace every identity number in `text` with its masked form «010203 *****»."""
    return _IDENTITY_NUMBER.sub(_mask, text)


def initials(given: str, family: str, birth_year: int | None) -> str:
    """A name as «Skjul navn» shows it on a screen a patient at the counter can see: «K. N. (1985)».

    The initials of every given and family name part («Ola Jonas» → «O. J.»), then the birth year, which tells
    two patients with the same initials apart at the desk without naming either."""
    parts = [*given.replace("-", " ").split(), *family.replace("-", " ").split()]
    letters = " ".join(f"{part[0].upper()}." for part in parts if part)
    return f"{letters} ({birth_year})" if birth_year else letters
