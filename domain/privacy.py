"""Hides national identity numbers in any text that may be logged, traced or exported."""

from __future__ import annotations

import re

# Eleven digits standing alone: fødselsnummer, D-nummer, H-nummer (with or without a space, hyphen or dot after the date part).
_IDENTITY_NUMBER = re.compile(r"(?<!\d)(\d{6})[ .-]?\d{5}(?!\d)")


def scrub(text: str) -> str:
    """Replace every identity number in `text` with its masked form «010203 *****»."""
    return _IDENTITY_NUMBER.sub(r"\1 *****", text)
