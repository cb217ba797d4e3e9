"""The client when things go wrong on the way: a slow database, a lost answer, a dribbling or hostile server."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from backend import schema
from backend.db import Database, database_url
from client.api import BookingClient
from client.errors import BookingError, ErrorKind
from client.models import AppointmentState
from client.trace import Trace
from tests.conftest import FJORD_STAFF, KARI


def _hold_write_lock(path, seconds: float) -> threading.Thread:
    """Another process's long write: SQLite's one write lock held for `seconds`, so the backend's writes wait."""
    locked = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
        connection.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    locked.wait(5)
    return thread


def _appointments(db_path, slot_id: str) -> list[schema.Appointment]:
    db = Database(database_url(db_path))
    try:
        with db.reading() as session:
            return session.scalars(select(schema.Appointment).where(schema.Appointment.slot_id == int(slot_id))).all()
    finally:
        db.dispose()


async def _lab_slot(client: BookingClient, day: date):
    me = await client.whoami()
    lab = next(t for t in await client.time_types(me.office.id) if t.code == "Lab")
    (book,) = await client.timebooks(lab.id)
    return me, (await client.free_slots(book.id, day))[0]


async def test_a_booking_that_outlasts_the_timeout_is_found_again_not_reported_as_slot_taken(live_server, db_path):
    async with BookingClient(live_server.url, KARI, timeout=0.4, trace=(trace := Trace())) as kari:
        me, slot = await _lab_slot(kari, date(2026, 12, 3))
        holder = _hold_write_lock(db_path, 1.0)  # the database is slow: the booking commits after the client gave up
        appointment = await kari.request_booking(slot, me.patient.id, "vondt i halsen")
        holder.join()
    assert appointment.state is AppointmentState.WAITING and appointment.reason == "vondt i halsen"
    (stored,) = _appointments(db_path, slot.id)  # booked once, and it is the user's own
    assert str(stored.id) == appointment.id
    posts = [e for e in trace.exchanges if e.method == "POST"]
    assert posts[0].error == "timeout" and posts[-1].status in (200, 201)


async def test_a_booking_whose_follow_up_read_fails_is_still_reported_as_made(live_server, db_path):
    stopped = []

    def stop_after_the_booking(exchange) -> None:
        # The backend goes away right after it answered the booking: the reads that follow cannot be made.
        if exchange.method == "POST" and exchange.status == 201 and not stopped:
            live_server.stop()
            stopped.append(exchange)

    async with BookingClient(live_server.url, KARI, trace=stop_after_the_booking, read_retries=1) as kari:
        me, slot = await _lab_slot(kari, date(2026, 12, 3))
        appointment = await kari.request_booking(slot, me.patient.id)
    assert stopped and appointment.state is AppointmentState.WAITING and appointment.place is None
    assert [str(a.id) for a in _appointments(db_path, slot.id)] == [appointment.id]


async def test_a_confirm_repeated_after_a_timeout_is_not_another_desks_answer(live_server, db_path):
    async with BookingClient(live_server.url, KARI) as kari:
        me, slot = await _lab_slot(kari, date(2026, 12, 3))
        request = await kari.request_booking(slot, me.patient.id)
    async with BookingClient(live_server.url, FJORD_STAFF, timeout=0.4) as desk:
        holder = _hold_write_lock(db_path, 1.0)
        confirmed = await desk.confirm(request)
        holder.join()
    assert confirmed.state is AppointmentState.CONFIRMED
    db = Database(database_url(db_path))
    try:
        with db.reading() as session:
            answers = session.scalar(select(func.count()).select_from(schema.AppointmentResponse)
                                     .where(schema.AppointmentResponse.appointment_id == int(request.id)))
    finally:
        db.dispose()
    assert answers == 1
