"""Where the outbox's messages go: an SMTP server, an SMS gateway (JSON POST), or a file (the demo without either)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import httpx

from timebok.backend import mail_format
from timebok.domain.clock import now

SMTP_USER, SMTP_PASSWORD = "TIMEBOK_SMTP_USER", "TIMEBOK_SMTP_PASSWORD"
DEFAULT_SENDER = "timebok <ikke-svar@timebok.example>"
IDLE_CHECK_SECONDS = 5.0  # a kept SMTP connection unused this long is asked NOOP before the next message


@dataclass(frozen=True)
class Outgoing:
    """One message as a channel sends it; `key` is the outbox's dedup key, which the channel receives as the message's
    id (Message-ID, the SMS gateway's `id`), so a resend after a crash is one message to the person, not two."""

    key: str
    recipient: str
    subject: str
    body: str

    @property
    def message_id(self) -> str:
        # A digest: the key names the recipient's address, which does not belong in a header's id.
        return hashlib.sha256(self.key.encode()).hexdigest()[:32]


class Failed(Exception):
    """The channel did not take the message; `final` when trying again cannot help (an address refused)."""

    def __init__(self, detail: str, *, final: bool = False) -> None:
        super().__init__(detail)
        self.final = final


class Channel(Protocol):
    name: str

    # Raises Failed. `ready` is called at the last moment before the message cannot be taken back (SMTP: after the
    # server said go ahead to DATA): the sender waits there for the previous message's mark (backend/marks.py).
    def send(self, message: Outgoing, ready: Callable[[], object] = ...) -> None: ...

    def close(self) -> None: ...

    def describe(self) -> str: ...


class SmtpChannel:
    """E-mail over SMTP: `smtp://host:port` (with `starttls`) or `smtps://host:port`; user and password from the
    environment, never from the command line (where `ps` shows them). One connection is kept and reused for message
    after message (one per sending thread); one left idle is checked with NOOP first, one that failed is opened anew."""

    name = "email"

    def __init__(self, url: str, *, starttls: bool = False, sender: str = DEFAULT_SENDER, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"--smtp must look like smtp://host:port or smtps://host:port, not {url!r}")
        self.host, self.tls = parts.hostname, parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 25)
        self.starttls, self.sender, self.timeout = starttls, sender, timeout
        self.user = os.environ.get(SMTP_USER) or (unquote(parts.username) if parts.username else None)
        self.password = os.environ.get(SMTP_PASSWORD)
        self._from = parseaddr(sender)[1]
        self._connection: smtplib.SMTP | None = None
        self._used = 0.0  # when the kept connection last carried a message (monotonic)

    def describe(self) -> str:
        return f"{'smtps' if self.tls else 'smtp'}://{self.host}:{self.port}" + (" (STARTTLS)" if self.starttls else "")

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            if time.monotonic() - self._used < IDLE_CHECK_SECONDS:
                return self._connection
            # Idle a while: the server may have closed it meanwhile; a NOOP finds out before a message is spent on it.
            try:
                if self._connection.noop()[0] == 250:
                    return self._connection
            except (OSError, smtplib.SMTPException):
                pass
            self.close()
        context = ssl.create_default_context()
        if self.tls:
            connection: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                connection.starttls(context=context)
        connection.ehlo_or_helo_if_needed()  # its extensions (8BITMIME, SMTPUTF8) decide how a message is written
        if self.user and self.password:
            connection.login(self.user, self.password)
        self._connection = connection
        return connection

    def send(self, message: Outgoing, ready: Callable[[], object] = lambda: None) -> None:
        try:
            connection = self._connect()
            if _NOT_AN_ADDRESS.search(message.recipient) or "@" not in message.recipient:
                raise Failed("not an e-mail address", final=True)
            if not message.recipient.isascii() and not connection.has_extn("smtputf8"):
                raise Failed("the SMTP server cannot take an address with letters outside ASCII (no SMTPUTF8)", final=True)
            data = mail_format.build(
                sender=self.sender,
                recipient=message.recipient,
                subject=message.subject,
                body=message.body,
                message_id=message.message_id,
                date=now(),
                eight_bit=connection.has_extn("8bitmime"),
            )
            options = ["BODY=8BITMIME"] if not data.isascii() and connection.has_extn("8bitmime") else []
            if not message.recipient.isascii():
                options.append("SMTPUTF8")
            self._transaction(connection, message.recipient, data, options, ready)
        except mail_format.Unsendable as error:
            raise Failed(str(error), final=True) from None
        except _Refused as error:  # as before: this address is given up on (a for-now 4xx too, not the whole channel)
            raise Failed(f"SMTP {error.code} {error.text}"[:300], final=True) from None
        except smtplib.SMTPResponseException as error:
            self.close()
            raise Failed(_smtp_detail(error), final=500 <= error.smtp_code < 600) from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()  # a dropped connection: the next try opens a new one
            raise Failed(f"{type(error).__name__}: {error}"[:300]) from None
        finally:
            self._used = time.monotonic()

    def _transaction(
        self, connection: smtplib.SMTP, recipient: str, data: bytes, options: list[str], ready: Callable[[], object]
    ) -> None:
        """MAIL, RCPT, DATA and the message, as smtplib's sendmail does, with `ready` before the message itself."""
        if options:
            code, reply = connection.mail(self._from, options)  # smtplib switches the command encoding for SMTPUTF8
        else:  # the common case, without smtplib's address parsing (a tenth of the sender's CPU a message)
            code, reply = connection.docmd("mail", f"FROM:<{self._from}>")
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, self._from)
        code, reply = connection.docmd("rcpt", f"TO:<{recipient}>")
        if code not in (250, 251):
            connection.rset()  # the connection stays good for the next message
            raise _Refused(code, reply.decode(errors="replace"))
        code, reply = connection.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        ready()
        connection.send(_LEADING_DOT.sub(b"..", data) + b".\r\n")  # dot-stuffed; `data` ends with CRLF
        code, reply = connection.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()


class _Refused(Exception):
    """The server refused the recipient."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


_LEADING_DOT = re.compile(rb"(?m)^\.")
_NOT_AN_ADDRESS = re.compile(r"[\s<>\x00-\x1f\x7f]")  # would break out of RCPT TO:<…> or the To header


def _smtp_detail(error: Exception) -> str:
    code = getattr(error, "smtp_code", None)
    text = getattr(error, "smtp_error", b"")
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(error)
    return (f"SMTP {code} {text}" if code else f"SMTP {text}")[:300]


class SmsGateway:
    """SMS through an HTTP gateway: POST {"id", "to", "text"} as JSON; 2xx is taken, 4xx (but 408/429) is final."""

    name = "sms"

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"--sms-gateway must be an http(s) URL, not {url!r}")
        self.url = url
        self._client = httpx.Client(timeout=timeout)

    def describe(self) -> str:
        return self.url

    def send(self, message: Outgoing, ready: Callable[[], object] = lambda: None) -> None:
        ready()
        try:
            answer = self._client.post(self.url, json={"id": message.message_id, "to": message.recipient, "text": message.body})
        except httpx.HTTPError as error:
            raise Failed(f"{type(error).__name__}: {error}"[:300]) from None
        if answer.is_success:
            return
        final = 400 <= answer.status_code < 500 and answer.status_code not in (408, 429)
        raise Failed(f"HTTP {answer.status_code} {answer.text[:200]}", final=final)

    def close(self) -> None:
        pass


class FileChannel:
    """The demo's stand-in for a gateway: each message appended to a file as one JSON line, to read with `tail -f`."""

    def __init__(self, name: str, path: Path) -> None:
        self.name, self.path = name, path
        self._lock = threading.Lock()

    def describe(self) -> str:
        return str(self.path)

    def send(self, message: Outgoing, ready: Callable[[], object] = lambda: None) -> None:
        ready()
        line = json.dumps(
            {"id": message.message_id, "to": message.recipient, "subject": message.subject, "text": message.body},
            ensure_ascii=False,
        )
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as file:
                    file.write(line + "\n")
        except OSError as error:
            raise Failed(f"cannot write {self.path}: {error.strerror}") from None

    def close(self) -> None:
        pass


def build(
    *, smtp: str | None = None, starttls: bool = False, sms_gateway: str | None = None, files: Path | None = None
) -> dict[str, Channel]:
    """The channels a server sends through; without SMTP or a gateway, `files` (the demo) takes that channel's messages
    as JSON lines in `e-post.jsonl` / `sms.jsonl`, and with neither its messages are skipped («ingen kanal»)."""
    channels: dict[str, Channel] = {}
    if smtp:
        channels["email"] = SmtpChannel(smtp, starttls=starttls)
    elif files is not None:
        channels["email"] = FileChannel("email", files / "e-post.jsonl")
    if sms_gateway:
        channels["sms"] = SmsGateway(sms_gateway)
    elif files is not None:
        channels["sms"] = FileChannel("sms", files / "sms.jsonl")
    return channels


def describe(channels: dict[str, Channel]) -> str:
    """One log line: where e-mail and SMS go."""
    parts = []
    for name, label in (("email", "e-mail"), ("sms", "SMS")):
        channel = channels.get(name)
        parts.append(f"{label} → {channel.describe() if channel else 'not sent (no channel set up)'}")
    return "; ".join(parts)
