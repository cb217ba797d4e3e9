"""The client when things go wrong on the way: a slow database, a lost answer, a dribbling or hostile server."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.conftest import FJORD_STAFF, KARI
from tests.sqlite_lock import hold_write_lock
from timebok.backend import schema
from timebok.backend.db import Database, database_url
from timebok.client.api import BookingClient
from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import AppointmentState
from timebok.client.trace import Trace


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
    async with BookingClient(live_server.url, KARI, trace=(trace := Trace())) as kari:
        me, slot = await _lab_slot(kari, date(2026, 12, 3))
        kari.timeout = 0.4  # only now: the reads above must not time out on a loaded machine
        holder = hold_write_lock(db_path, seconds=1.0)  # the database is slow: the booking commits after the client gave up
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
    async with BookingClient(live_server.url, FJORD_STAFF) as desk:
        desk.timeout = 0.4  # the confirm below answers too late; nothing before it is timed
        holder = hold_write_lock(db_path, seconds=1.0)
        confirmed = await desk.confirm(request)
        holder.join()
    assert confirmed.state is AppointmentState.CONFIRMED
    db = Database(database_url(db_path))
    try:
        with db.reading() as session:
            answers = session.scalar(
                select(func.count())
                .select_from(schema.AppointmentResponse)
                .where(schema.AppointmentResponse.appointment_id == int(request.id))
            )
    finally:
        db.dispose()
    assert answers == 1


class StandIn:
    """A third-party HTTP server on a loopback port, for what our own server never does: dribble, redirect
    pages elsewhere, drop a kept-alive connection. `answer(path, nth_on_connection)` gives (status, body bytes)
    or None to close the connection without answering; `dribble` sends the body a byte at a time."""

    def __init__(self, answer, *, dribble: float = 0.0) -> None:
        self.answer = answer
        self.dribble = dribble
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.connections = 0

    async def __aenter__(self) -> StandIn:
        import asyncio

        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/fhir"
        return self

    async def __aexit__(self, *_exc) -> None:
        self._server.close()

    async def _serve(self, reader, writer) -> None:
        import asyncio

        self.connections += 1
        nth = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                self.requests.append((path, headers))
                nth += 1
                answered = self.answer(path, nth)
                if answered is None:
                    break
                status, body = answered
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/fhir+json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                )
                if self.dribble:
                    for i in range(len(body)):
                        writer.write(body[i : i + 1])
                        await writer.drain()
                        await asyncio.sleep(self.dribble)
                else:
                    writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _bundle(next_url: str | None) -> bytes:
    import json

    links = [{"relation": "self", "url": "x"}] + ([{"relation": "next", "url": next_url}] if next_url else [])
    return json.dumps({"resourceType": "Bundle", "type": "searchset", "link": links, "entry": []}).encode()


async def test_a_next_link_to_another_server_is_not_followed_and_the_token_stays_home():
    async with StandIn(lambda path, nth: (200, _bundle(None))) as elsewhere:
        async with StandIn(lambda path, nth: (200, _bundle(f"{elsewhere.url}/Slot?page=2"))) as backend:
            async with BookingClient(backend.url, KARI, agent_token="demo-support-nhn") as client:
                with pytest.raises(BookingError) as error:
                    await client.free_slots("4", date(2026, 12, 3))
    assert error.value.kind is ErrorKind.SERVER and "another server" in error.value.diagnostic
    assert elsewhere.requests == []  # neither the bearer token nor the agent's went there


async def test_a_next_link_to_itself_is_read_once_and_pages_are_bounded():
    async with StandIn(lambda path, nth: (200, _bundle(f"{backend.url}/Slot?page=1"))) as backend:
        async with BookingClient(backend.url, KARI) as client:
            with pytest.raises(BookingError) as error:
                await client.free_slots("4", date(2026, 12, 3))
    assert "already read" in error.value.diagnostic and len(backend.requests) == 2

    pages = iter(range(1, 10_000))
    async with StandIn(lambda path, nth: (200, _bundle(f"{endless.url}/Slot?page={next(pages)}"))) as endless:
        async with BookingClient(endless.url, KARI, max_pages=20) as client:
            with pytest.raises(BookingError) as error:
                await client.free_slots("4", date(2026, 12, 3))
    assert "more than 20 pages" in error.value.diagnostic and len(endless.requests) == 20


async def test_the_timeout_bounds_the_whole_request_not_each_read():
    async with StandIn(
        lambda path, nth: (200, b'{"resourceType": "Bundle", "type": "searchset", "entry": []}'), dribble=0.1
    ) as dribbling:  # ~6 s for the whole body, a byte every 0.1 s
        async with BookingClient(dribbling.url, KARI, timeout=1.0) as client:
            started = time.perf_counter()
            with pytest.raises(BookingError) as error:
                await client.free_slots("4", date(2026, 12, 3))
            took = time.perf_counter() - started
    assert error.value.kind is ErrorKind.TIMEOUT and took < 2.0


async def test_a_read_on_a_connection_the_server_dropped_is_retried_once_on_a_new_one():
    def answer(path, nth_on_connection):
        # Each connection answers once, then closes on the next request without a word (as after a 500).
        return (200, _bundle(None)) if nth_on_connection == 1 else None

    async with StandIn(answer) as backend:
        async with BookingClient(backend.url, KARI, read_retries=0) as client:
            await client.free_slots("4", date(2026, 12, 3))
            await client.free_slots("4", date(2026, 12, 4))  # goes out on the kept-alive connection first
    assert backend.connections == 2 and len(backend.requests) == 3
