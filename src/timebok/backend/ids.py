"""Row ids sent by a client: a positive whole number that fits the database's 64-bit integer, or a 400 naming the field."""

from __future__ import annotations

from timebok.backend.outcome import at_fault

LARGEST = 2**63 - 1  # PostgreSQL BIGINT and SQLite INTEGER: one more fails the query (a 500) instead of finding nothing


def is_id(text: str) -> bool:
    """True for ASCII digits naming a row the database could hold ("²" is a digit to str.isdigit, not to int)."""
    return text.isascii() and text.isdigit() and len(text) <= 19 and 1 <= int(text) <= LARGEST


def row_id(text: str, field: str, *, rule: str = "setup") -> int:
    """`text` as a row id, or a 400 whose text and expression name `field`."""
    if not is_id(text):
        raise at_fault(field, f"must be a row id (a whole number from 1 to {LARGEST}), not {text[:30]!r}", rule=rule)
    return int(text)
