"""Hides national identity numbers in any text that may be logged, traced or exported."""

from __future__ import annotations

import re

# Eleven digits standing alone: fødselsnummer, D-nummer, H-nummer. The server reads a number with a single
# space between any two characters («148 385 124 70»), so a space, hyphen or dot may stand between any digits.
_IDENTITY_NUMBER = re.compile(r"(?<!\d)\d(?:[ .-]?\d){10}(?!\d)")
_SEPARATOR = re.compile(r"[ .-]")


def _mask(match: re.Match[str]) -> str:
    return _SEPARATOR.sub("", match.group())[:6] + " *****"


def scrub(text: str) -> str:
    """Replace every identity number in `text` with its masked form «010203 *****»."""
    return _IDENTITY_NUMBER.sub(_mask, text)
