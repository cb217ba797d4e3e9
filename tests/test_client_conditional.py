"""The client's conditional reads: a repeated search is a 304 on the wire and the very same result to the caller."""

from __future__ import annotations

from datetime import date

from tests.conftest import FJORD_STAFF, KARI, OLA
from timebok.client.api import BookingClient
from timebok.client.trace import Trace


async def _lab(client: BookingClient):
    me = await client.whoami()
    lab = next(t for t in await client.time_types(me.office.id) if t.code == "Lab")
    (book,) = await client.timebooks(lab.id)
    return book


def _statuses(trace: Trace, path: str) -> list[int | None]:
    return [e.status for e in trace.exchanges if e.path.startswith(path)]


async def test_a_month_read_again_is_a_304_and_the_same_object_until_a_time_is_booked(live_server):
    trace = Trace()
    async with BookingClient(live_server.url, KARI, trace=trace) as kari, BookingClient(live_server.url, OLA) as ola:
        book = await _lab(kari)
        first = await kari.month_availability(book.id, 2026, 12)
        again = await kari.month_availability(book.id, 2026, 12)
        assert again is first and _statuses(trace, "/fhir/Slot") == [200, 304]
        assert trace.exchanges[-1].response_bytes == 0
        taken = first.on(date(2026, 12, 3))[0]
        await ola.request_booking(taken, (await ola.whoami()).patient.id)
        changed = await kari.month_availability(book.id, 2026, 12)
        assert changed is not first and _statuses(trace, "/fhir/Slot")[-1] == 200
        assert taken in first.slots and taken.id not in {s.id for s in changed.slots}


async def test_the_office_queue_polled_is_304_until_a_request_arrives(live_server):
    trace = Trace()
    async with BookingClient(live_server.url, FJORD_STAFF, trace=trace) as staff, BookingClient(live_server.url, KARI) as kari:
        queue = await staff.pending_requests()
        today = await staff.todays_appointments()
        assert await staff.pending_requests() is queue and await staff.todays_appointments() is today
        assert _statuses(trace, "/fhir/Appointment") == [200, 200, 304, 304]
        book = await _lab(kari)
        slot = (await kari.month_availability(book.id, 2026, 12)).slots[0]
        sent = await kari.request_booking(slot, (await kari.whoami()).patient.id, "influensavaksine")
        fresh = await staff.pending_requests()
        assert fresh is not queue and [a.id for a in fresh] == [a.id for a in queue] + [sent.id]
        assert _statuses(trace, "/fhir/Appointment")[-1] == 200


async def test_the_citizens_inbox_and_appointments_are_the_same_until_something_happens(live_server):
    trace = Trace()
    async with BookingClient(live_server.url, KARI, trace=trace) as kari:
        me = await kari.whoami()
        inbox, appointments = await kari.inbox(me.patient.id), await kari.appointments()
        assert await kari.inbox(me.patient.id) is inbox and await kari.appointments() is appointments
        assert _statuses(trace, "/fhir/Communication") == [200, 304]
        book = await _lab(kari)
        slot = (await kari.month_availability(book.id, 2026, 12)).slots[0]
        sent = await kari.request_booking(slot, me.patient.id)
        fresh = await kari.inbox(me.patient.id)
        assert fresh is not inbox and fresh[0].topic == "Timeforespørselen er sendt" and len(fresh) == len(inbox) + 1
        assert sent.id in [a.id for a in await kari.appointments()]


async def test_the_next_month_fetched_ahead_is_not_asked_for_twice(live_server):
    trace = Trace()
    async with BookingClient(live_server.url, KARI, trace=trace) as kari:
        book = await _lab(kari)
        kari.prefetch_month(book.id, 2027, 1)
        kari.prefetch_month(book.id, 2027, 1)  # already under way: nothing more
        january = await kari.month_availability(book.id, 2027, 1)
        assert january.dates and _statuses(trace, "/fhir/Slot") == [200]  # the caller got the fetch under way
        assert await kari.month_availability(book.id, 2027, 1) is january
        assert _statuses(trace, "/fhir/Slot") == [200, 304]
