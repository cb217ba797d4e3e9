"""One plain-text e-mail as the bytes an SMTP server takes, built directly (the stdlib `email` package's header
registry cost about a millisecond of CPU per message, more than the rest of sending one)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache

_WORD_BYTES = 42  # UTF-8 bytes per RFC 2047 encoded word: 56 base64 characters, 68 with =?utf-8?b?…?=, 77 after "Subject: "
_LINE_BYTES = 998  # RFC 5322's hard limit for a line; a longer body line goes quoted-printable


class Unsendable(ValueError):
    """A header value that cannot go into a message as it is (a line break in it would start a header of its own)."""


@lru_cache(maxsize=256)  # subjects come from a handful of texts: each is encoded once
def subject_header(subject: str) -> str:
    """The Subject header's value: as it is when plain ASCII, else RFC 2047 encoded words (UTF-8, base64), split on
    characters (never inside one) and folded one word a line, so no line passes 78 characters."""
    _check(subject)
    if subject.isascii():
        return subject
    words, word = [], ""
    for character in subject:
        if len((word + character).encode()) > _WORD_BYTES:
            words.append(word)
            word = ""
        word += character
    words.append(word)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(part.encode()).decode()}?=" for part in words)


def build(*, sender: str, recipient: str, subject: str, body: str, message_id: str, date: datetime, eight_bit: bool) -> bytes:
    """The message: From, To, Subject, Date, Message-ID and a text/plain UTF-8 body with CRLF line ends — 7bit when
    ASCII, 8bit when the server said 8BITMIME (and no line is too long), quoted-printable otherwise. The SMTP
    client adds the dot-stuffing and the final dot."""
    _check(recipient)
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if body.isascii() and all(len(line) <= _LINE_BYTES for line in lines):
        encoding, text = "7bit", "\r\n".join(lines).encode()
    elif eight_bit and all(len(line.encode()) <= _LINE_BYTES for line in lines):
        encoding, text = "8bit", "\r\n".join(lines).encode()
    else:
        encoding = "quoted-printable"
        text = binascii.b2a_qp("\n".join(lines).encode(), istext=True).replace(b"\n", b"\r\n")
    head = (
        f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject_header(subject)}\r\n"
        f"Date: {format_datetime(date)}\r\nMessage-ID: <{message_id}@timebok.example>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    return head.encode() + text + (b"" if text.endswith(b"\r\n") else b"\r\n")


def _check(value: str) -> None:
    if "\r" in value or "\n" in value:
        raise Unsendable("a line break in a header")
