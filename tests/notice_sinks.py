"""Real receivers on loopback for the notice tests: an SMTP server (aiosmtpd) and an HTTP SMS gateway."""

from __future__ import annotations

import asyncio
import json
import threading
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.serve_process import free_port


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        with self.sink.lock:
            self.sink.seen += 1
            number = self.sink.seen
        if self.sink.stall_at is not None and number >= self.sink.stall_at:
            await asyncio.sleep(3600)  # never answers: the sender is killed while it waits
        if self.sink.refuse:
            return "451 4.3.0 try again later"
        mail = message_from_bytes(envelope.content, policy=policy.default)
        with self.sink.lock:
            self.sink.mails.append((envelope.rcpt_tos, mail))
        return "250 OK"


class SmtpSink:
    """Accepts every mail on a loopback port and keeps it (`mails`: (recipients, message)); `refuse` answers 451,
    `stall_at` leaves the n-th message (and later ones) unanswered."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.mails: list[tuple[list[str], Message]] = []
        self.lock = threading.Lock()
        self.seen = 0
        self.refuse = False
        self.stall_at: int | None = None
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[Message]:
        return [mail for rcpt, mail in self.mails if address in rcpt]


class SmsSink:
    """An SMS gateway on loopback: each POSTed JSON body is kept in `received`; `status` is what it answers."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 202
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if sink.status < 300:
                    sink.received.append(body)
                self.send_response(sink.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/sms"

    def __enter__(self) -> SmsSink:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def to(self, number: str) -> list[dict]:
        return [sms for sms in self.received if sms["to"] == number]


def reminder_rows(count: int, moment: object, channel: str = "email", recipient: str | None = None) -> list[dict[str, object]]:
    """`count` reminders due at `moment` (as stored), written straight into the outbox: one recipient each
    (person<n>@innbygger.example) unless `recipient` is given, each with a dedup key of its own."""
    rows: list[dict[str, object]] = []
    for n in range(count):
        to = recipient or f"person{n}@innbygger.example"
        rows.append(
            {
                "dedup_key": f"reminder:{n}:{channel}:{to}",
                "event": "reminder",
                "channel": channel,
                "recipient": to,
                "patient_id": 1,
                "organization_id": 1,
                "appointment_id": None,
                "subject": "Påminnelse om time",
                "body": f"melding {n}",
                "created": moment,
                "due": moment,
                "state": "pending",
                "reason": None,
                "attempts": 0,
            }
        )
    return rows
