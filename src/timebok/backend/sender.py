"""The sender loop: claims due outbox messages with a lease, hands each to its channel, and has it marked.

At least once to the channel, never twice to the person: a message's mark (sent, to try again, skipped) goes to the
instance's mark writer (backend/marks.py) the moment its channel took it, and the next message is handed over only
once that mark is written; the channel gets the outbox's dedup key as the message's id, so the one resend a crash
can cause (the message each thread has in flight) is the same message. Each batch is claimed with one statement:
on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so instances never wait for or take each other's messages; SQLite's
single writer (BEGIN IMMEDIATE) does the same. A killed instance's claims lapse when their lease ends and another
instance takes them. A failing channel never touches a booking: bookings only write rows, and this loop runs on
threads of its own."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import and_, or_, select, update

from timebok.backend import schema
from timebok.backend.channels import Channel, Failed, Outgoing
from timebok.backend.db import Database
from timebok.backend.fhir import to_storage
from timebok.backend.marks import Mark, Marks
from timebok.backend.notices import UNTIMED
from timebok.domain import notice_rules as rules
from timebok.domain.clock import now

log = logging.getLogger("timebok.sender")
SWEEP_SECONDS = 15.0  # how often the loop closes requests nobody answered before their time began


def close_unanswered(db: Database, limit: int = 200) -> int:
    """Requests still pending when their time began are closed «Ikke besvart» (and ended holds end) across every office,
    so the patient hears of it without anyone reading the list first (issue 24 closes them on read as well). Each close
    is issue 24's conditional update: several instances sweeping at once close each one once."""
    from timebok.backend import life

    stamp = to_storage(now())
    with db.reading() as session:
        due = session.scalars(
            select(schema.Appointment.id)
            .where(
                or_(
                    and_(schema.Appointment.status == "pending", schema.Appointment.start <= stamp),
                    and_(schema.Appointment.status == "proposed", schema.Appointment.held_until <= stamp),
                )
            )
            .limit(limit)
        ).all()
    if due:
        with db.writing() as session:
            for appointment_id in due:
                life.close(session, appointment_id)
    return len(due)


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    event: str
    channel: str
    recipient: str
    subject: str
    body: str
    attempts: int
    start: datetime | None
    status: str | None


def _claim_statement(moment: datetime, until: datetime, owner: str, limit: int, *, postgresql: bool) -> Any:
    """One statement claims a batch: the due messages' ids (on PostgreSQL locked, skipping those another instance is
    claiming this instant), leased to this sender, returned with their appointment's start and status. Ordered by
    `due` alone, which the (state, due) index gives at once: a tie-break on id would sort every message due at the
    same moment (100 000 reminders) on each claim."""
    message = schema.OutboxMessage
    due = (
        select(message.id)
        .where(
            message.state == "pending",
            message.due <= moment,
            or_(message.lease_until.is_(None), message.lease_until < moment),
        )
        .order_by(message.due)
        .limit(limit)
    )
    if postgresql:
        due = due.with_for_update(skip_locked=True)
    columns: list[Any] = [message.id, message.dedup_key, message.event, message.channel, message.recipient]
    columns += [message.subject, message.body, message.attempts, message.due, message.appointment_id]
    if postgresql:
        # The appointment's start and status in the same statement. (SQLAlchemy writes SQLite's RETURNING without
        # table names, which would make such a subquery ambiguous: there `_claim` asks for them after.)
        appointment = schema.Appointment
        columns.append(select(appointment.start).where(appointment.id == message.appointment_id).scalar_subquery())
        columns.append(select(appointment.status).where(appointment.id == message.appointment_id).scalar_subquery())
    return update(message).where(message.id.in_(due)).values(lease_until=until, lease_owner=owner).returning(*columns)


class Sender:
    """Sends what is due every `every` seconds (at once again while there is more), on a daemon thread."""

    def __init__(
        self,
        db: Database,
        channels: dict[str, Channel],
        *,
        every: float = 0.5,
        batch: int = 100,
        lease: timedelta = timedelta(minutes=2),
        owner: str | None = None,
        threads: int = 1,
        make_channels: Callable[[], dict[str, Channel]] | None = None,
    ) -> None:
        self.db, self.channels, self.every, self.batch, self.lease = db, channels, every, batch, lease
        self.owner = owner or f"{socket.gethostname()[:20]}:{os.getpid()}:{id(self) % 10000}"
        self._stop = threading.Event()
        # Sending waits on the network, so a few threads keep the channel busy; each has its own connections.
        self._threads = [
            threading.Thread(
                target=self._run,
                args=(channels if n == 0 or make_channels is None else make_channels(),),
                name=f"timebok-sender-{n}",
                daemon=True,
            )
            for n in range(threads if make_channels is not None else 1)
        ]
        self._all_channels: list[dict[str, Channel]] = []
        self._next_sweep = 0.0  # the first round closes what is due at once
        self.marks = Marks(db)

    def start(self) -> Sender:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=15)
        self.marks.stop()
        for channels in [self.channels, *self._all_channels]:
            for channel in channels.values():
                channel.close()

    def _run(self, channels: dict[str, Channel]) -> None:
        if channels is not self.channels:
            self._all_channels.append(channels)
        while not self._stop.is_set():
            try:
                handled = self.run_once(channels)
            except Exception as error:  # noqa: BLE001 - a database that does not answer now may answer on the next round
                log.warning("could not send this round (%s); trying again shortly", type(error).__name__)
                handled = 0
            if handled < self.batch:
                for channel in channels.values():
                    channel.close()  # idle: do not keep an SMTP connection open for nothing
                self._stop.wait(self.every)

    def run_once(self, channels: dict[str, Channel] | None = None) -> int:
        """Claim one batch of due messages and deliver them; how many were claimed."""
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_SECONDS
            close_unanswered(self.db)
        if channels is None or channels is self.channels:  # one thread offers freed times: one query a round
            from timebok.backend import short_notice

            short_notice.run(self.db)
        claimed = self._claim()
        down: set[str] = set()
        last = 0  # this thread's last mark handed over (the previous round's are written)
        for message in claimed:
            if self._stop.is_set():
                break  # the rest keep their lease; it lapses and another round takes them
            # Its mark goes to the mark writer at once, written with other threads' (backend/marks.py); the message
            # goes to its channel once this thread's previous mark is written (not waiting for other threads' newer).
            ready = partial(self.marks.wait_written, last)
            last = self.marks.put(self._deliver(message, down, self.channels if channels is None else channels, ready))
        self.marks.wait_written(last)  # a round ends with its marks in the database (and callers may read them)
        return len(claimed)

    def _claim(self) -> list[Claimed]:
        moment = to_storage(now())
        statement = _claim_statement(moment, moment + self.lease, self.owner, self.batch, postgresql=self.db.is_postgresql)
        with self.db.writing_connection() as connection:
            rows = sorted(connection.execute(statement).all(), key=lambda row: (row[8], row[0]))
            times: dict[int, tuple[datetime, str]] = {}
            if not self.db.is_postgresql and (ids := {row[9] for row in rows if row[9] is not None}):
                appointment = schema.Appointment
                found = connection.execute(
                    select(appointment.id, appointment.start, appointment.status).where(appointment.id.in_(ids))
                )
                times = {number: (start, status) for number, start, status in found}
        claimed = []
        for row in rows:
            start, status = row[10:12] if self.db.is_postgresql else times.get(row[9], (None, None))
            claimed.append(
                Claimed(
                    id=row[0],
                    key=row[1],
                    event=row[2],
                    channel=row[3],
                    recipient=row[4],
                    subject=row[5],
                    body=row[6],
                    attempts=row[7],
                    start=start.replace(tzinfo=UTC) if start is not None else None,
                    status=status,
                )
            )
        return claimed

    def _deliver(self, message: Claimed, down: set[str], channels: dict[str, Channel], ready: Callable[[], object]) -> Mark:
        moment = now()
        if message.event == "reminder" and message.status not in (None, "booked"):
            return Mark(message.id, "skipped", reason=rules.CANCELLED)
        if message.event not in UNTIMED and not rules.still_useful(message.channel, message.start, moment):
            return Mark(message.id, "skipped", reason=rules.TOO_SOON)
        channel = channels.get(message.channel)
        if channel is None:
            return Mark(message.id, "skipped", reason=rules.NO_CHANNEL)
        if message.channel in down:
            # Its channel just failed in this batch: not tried again now, and no attempt counted for it.
            return Mark(message.id, "pending", due=moment + rules.retry_after(1))
        try:
            # Handed over only once the previous message's mark is written (while the SMTP server answers MAIL, RCPT
            # and DATA): a SIGKILL can leave at most the one message in flight unmarked, as with a write a message.
            channel.send(Outgoing(message.key, message.recipient, message.subject, message.body), ready)
        except Failed as error:
            log.info("outbox message %s (%s) not taken by %s: %s", message.id, message.event, message.channel, error)
            attempts = message.attempts + 1
            if error.final or attempts >= rules.MAX_ATTEMPTS:
                return Mark(message.id, "failed", attempt=(False, str(error)))
            down.add(message.channel)
            return Mark(message.id, "pending", due=moment + rules.retry_after(attempts), attempt=(False, str(error)))
        return Mark(message.id, "sent", attempt=(True, None))
