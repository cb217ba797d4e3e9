"""The sender loop: claims due outbox messages with a lease, hands each to its channel, then marks it sent.

At least once to the channel, never twice to the person: a message is marked sent right after its channel took it,
and the channel gets the outbox's dedup key as the message's id, so the one resend a crash between the two can cause
is the same message. On PostgreSQL each instance claims with `FOR UPDATE SKIP LOCKED`, so instances never wait for
or take each other's messages; SQLite's single writer (BEGIN IMMEDIATE) does the same. A killed instance's claims
lapse when their lease ends and another instance takes them. A failing channel never touches a booking: bookings
only write rows, and this loop runs on a thread of its own."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, text, update

from timebok.backend import schema
from timebok.backend.channels import Channel, Failed, Outgoing
from timebok.backend.db import Database
from timebok.backend.fhir import to_storage
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


_DUE = (
    select(
        schema.OutboxMessage.id,
        schema.OutboxMessage.dedup_key,
        schema.OutboxMessage.event,
        schema.OutboxMessage.channel,
        schema.OutboxMessage.recipient,
        schema.OutboxMessage.subject,
        schema.OutboxMessage.body,
        schema.OutboxMessage.attempts,
        schema.Appointment.start,
        schema.Appointment.status,
    )
    .outerjoin(schema.Appointment, schema.OutboxMessage.appointment_id == schema.Appointment.id)
    .order_by(schema.OutboxMessage.due, schema.OutboxMessage.id)
)


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

    def start(self) -> Sender:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=15)
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
        for message in claimed:
            if self._stop.is_set():
                break  # the rest keep their lease; it lapses and another round takes them
            self._deliver(message, down, self.channels if channels is None else channels)
        return len(claimed)

    def _claim(self) -> list[Claimed]:
        moment = to_storage(now())
        query = _DUE.where(
            schema.OutboxMessage.state == "pending",
            schema.OutboxMessage.due <= moment,
            or_(schema.OutboxMessage.lease_until.is_(None), schema.OutboxMessage.lease_until < moment),
        ).limit(self.batch)
        if self.db.is_postgresql:
            query = query.with_for_update(of=schema.OutboxMessage, skip_locked=True)
        with self.db.writing() as session:
            rows = session.execute(query).all()
            if not rows:
                return []
            session.execute(
                update(schema.OutboxMessage)
                .where(schema.OutboxMessage.id.in_([row[0] for row in rows]))
                .values(lease_until=moment + self.lease, lease_owner=self.owner)
            )
        return [
            Claimed(*row[:8], start=row[8].replace(tzinfo=UTC) if row[8] is not None else None, status=row[9]) for row in rows
        ]

    def _deliver(self, message: Claimed, down: set[str], channels: dict[str, Channel]) -> None:
        moment = now()
        if message.event == "reminder" and message.status not in (None, "booked"):
            self._finish(message, state="skipped", reason=rules.CANCELLED)
            return
        if message.event not in UNTIMED and not rules.still_useful(message.channel, message.start, moment):
            self._finish(message, state="skipped", reason=rules.TOO_SOON)
            return
        channel = channels.get(message.channel)
        if channel is None:
            self._finish(message, state="skipped", reason=rules.NO_CHANNEL)
            return
        if message.channel in down:
            # Its channel just failed in this batch: not tried again now, and no attempt counted for it.
            self._finish(message, state="pending", due=moment + rules.retry_after(1))
            return
        try:
            channel.send(Outgoing(message.key, message.recipient, message.subject, message.body))
        except Failed as error:
            attempts = message.attempts + 1
            if error.final or attempts >= rules.MAX_ATTEMPTS:
                self._finish(message, state="failed", attempt=(False, str(error)))
            else:
                down.add(message.channel)
                self._finish(message, state="pending", due=moment + rules.retry_after(attempts), attempt=(False, str(error)))
            log.info("outbox message %s (%s) not taken by %s: %s", message.id, message.event, message.channel, error)
            return
        self._finish(message, state="sent", attempt=(True, None))

    def _finish(
        self,
        message: Claimed,
        *,
        state: str,
        reason: str | None = None,
        due: datetime | None = None,
        attempt: tuple[bool, str | None] | None = None,
    ) -> None:
        moment = to_storage(now())
        values: dict[str, Any] = {"state": state, "reason": reason, "lease_until": None, "lease_owner": None}
        if due is not None:
            values["due"] = to_storage(due)
        if attempt is not None:
            values["attempts"] = schema.OutboxMessage.attempts + 1
        if state == "sent":
            values["sent"] = moment
        which = [schema.OutboxMessage.id == message.id]
        if state != "sent":
            # Only a message still waiting: one that a patient's opt-out skipped meanwhile keeps its reason
            # (a message its channel took is sent whatever happened meanwhile).
            which.append(schema.OutboxMessage.state == "pending")
        with self.db.writing() as session:
            if self.db.is_postgresql:
                # Not waiting for the WAL flush: an instance killed now keeps the mark (PostgreSQL has it); only
                # PostgreSQL itself crashing in the next instant could forget it, and then the resend carries the
                # same id to the channel. It makes marking several times cheaper when many messages fall due at once.
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            session.execute(update(schema.OutboxMessage).where(*which).values(**values))
            if attempt is not None:
                ok, detail = attempt
                session.execute(
                    insert(schema.OutboxAttempt).values(message_id=message.id, at=moment, ok=ok, detail=detail and detail[:300])
                )
