"""Writes what the channels did with claimed outbox messages (sent, to try again, failed, skipped) on a thread of its
own, as a group commit: whatever the sending threads handed over while the previous write ran goes in the next one.

One write for many messages instead of a transaction a message (issue 25's 100 000 reminders). Each mark is handed
over the moment its channel took the message, and a sending thread hands its next message over only once every mark
handed over before is written (backend/sender.py; the wait overlaps the SMTP server's first answers), so a SIGKILL
can leave unmarked only the message each sending thread has in flight, resent later with the same Message-ID."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, literal, select, text, true, update

from timebok.backend import schema
from timebok.backend.db import Database
from timebok.backend.fhir import to_storage
from timebok.domain.clock import now

log = logging.getLogger("timebok.sender")
GIVE_UP_SECONDS = 60.0  # a database away this long: the marks are dropped, the leases lapse and the messages go again


@dataclass(frozen=True)
class Mark:
    """What became of one message: its new state, why (skipped), when to try again (pending) and the attempt made
    (ok, what the channel said), if one was."""

    message_id: int
    state: str
    reason: str | None = None
    due: datetime | None = None
    attempt: tuple[bool, str | None] | None = None


class Marks:
    """The writer: `put` hands a mark over and says its number; `wait_written(upto)` waits until the marks up to that
    one are written (all handed over so far, without it). Groups are written in the order handed over."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Condition()
        self._queue: list[Mark] = []
        self._handed = 0  # marks handed over, ever
        self._written = 0  # of them, written (or given up on)
        self._stop = False
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None  # PostgreSQL: the writer's own, kept (see _write_sent)

    def put(self, mark: Mark) -> int:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="timebok-sender-marks", daemon=True)
                self._thread.start()
            self._queue.append(mark)
            self._handed += 1
            self._lock.notify_all()
            return self._handed

    def wait_written(self, upto: int | None = None, timeout: float = GIVE_UP_SECONDS + 10) -> bool:
        with self._lock:
            target = self._handed if upto is None else upto
            if self._written >= target:
                return True
            return self._lock.wait_for(lambda: self._written >= target, timeout)

    def stop(self) -> None:
        """Writes what is handed over (waiting a while at most: a server stopping does not hang on a database that is
        away; those messages go again when their lease ends), then ends the thread."""
        self.wait_written(timeout=10)
        with self._lock:
            self._stop = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._drop_connection()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._queue or self._stop)
                if not self._queue:
                    return
                group, self._queue = self._queue, []
            self._write_until_done(group)
            with self._lock:
                self._written += len(group)
                self._lock.notify_all()

    def _write_until_done(self, group: list[Mark]) -> None:
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while True:
            try:
                if self.db.is_postgresql and all(mark.state == "sent" for mark in group):
                    self._write_sent([mark.message_id for mark in group])
                else:
                    write(self.db, group)
                return
            except Exception as error:  # noqa: BLE001 - a database that does not answer now may answer in a moment
                self._drop_connection()
                if time.monotonic() > deadline:
                    log.warning(
                        "could not mark %d outbox messages (%s); they go again when their lease ends",
                        len(group),
                        type(error).__name__,
                    )
                    return
                time.sleep(0.5)

    def _write_sent(self, ids: list[int]) -> None:
        """PostgreSQL, every mark a sent one (nearly always, when many fall due): one statement, which is its own
        transaction, on a connection of the writer's own that waits for no WAL flush and no pool check — the group
        costs one round trip. (A failed write drops the connection; the next opens another.)"""
        if self._connection is None:
            connection = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            # Not waiting for the WAL flush: an instance killed now keeps the marks (PostgreSQL has them); only
            # PostgreSQL itself crashing in the next instant could forget them, and the resend carries the same id.
            connection.exec_driver_sql("SET synchronous_commit TO OFF")
            self._connection = connection
        self._connection.exec_driver_sql(_SENT_POSTGRESQL, {"ids": ids, "at": to_storage(now())})

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except Exception:  # noqa: BLE001, S110 - it is being thrown away
                pass


_SENT_POSTGRESQL = """
WITH marked AS (
    UPDATE outbox_message
    SET state = 'sent', reason = NULL, lease_until = NULL, lease_owner = NULL, attempts = attempts + 1, sent = %(at)s
    WHERE id = ANY(%(ids)s)
    RETURNING id
)
INSERT INTO outbox_attempt (message_id, at, ok) SELECT id, %(at)s, true FROM marked
"""


def write(db: Database, marks: list[Mark]) -> None:
    """Every mark in one transaction: the sent ones (nearly all, when many fall due) by one UPDATE and one INSERT of
    their attempts, the rest one by one. A message its channel took is sent whatever happened to its row meanwhile;
    any other mark changes only a message still waiting (one a patient's opt-out skipped meanwhile keeps its reason)."""
    moment = to_storage(now())
    sent = [mark.message_id for mark in marks if mark.state == "sent"]
    with db.writing_connection() as connection:
        if db.is_postgresql:
            # Not waiting for the WAL flush: an instance killed now keeps the marks (PostgreSQL has them); only
            # PostgreSQL itself crashing in the next instant could forget them, and then the resend carries the
            # same id to the channel.
            connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
        if sent:
            message = schema.OutboxMessage
            connection.execute(
                update(message)
                .where(message.id.in_(sent))
                .values(state="sent", reason=None, lease_until=None, lease_owner=None, attempts=message.attempts + 1, sent=moment)
            )
            took = select(message.id, literal(moment, schema.OutboxAttempt.at.type), true()).where(message.id.in_(sent))
            connection.execute(
                insert(schema.OutboxAttempt).from_select(
                    [schema.OutboxAttempt.message_id, schema.OutboxAttempt.at, schema.OutboxAttempt.ok], took
                )
            )
        for mark in marks:
            if mark.state != "sent":
                _write_one(connection, mark, moment)


def _write_one(connection: Connection, mark: Mark, moment: datetime) -> None:
    values: dict[str, Any] = {"state": mark.state, "reason": mark.reason, "lease_until": None, "lease_owner": None}
    if mark.due is not None:
        values["due"] = to_storage(mark.due)
    if mark.attempt is not None:
        values["attempts"] = schema.OutboxMessage.attempts + 1
    connection.execute(
        update(schema.OutboxMessage)
        .where(schema.OutboxMessage.id == mark.message_id, schema.OutboxMessage.state == "pending")
        .values(**values)
    )
    if mark.attempt is not None:
        ok, detail = mark.attempt
        connection.execute(
            insert(schema.OutboxAttempt).values(message_id=mark.message_id, at=moment, ok=ok, detail=detail and detail[:300])
        )
