"""The client against the real backend on loopback: every method a user's action goes through."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest

from tests.conftest import BAKKE_STAFF, FJORD_STAFF, KARI, OLA, SUPPORT
from timebok.client.api import BookingClient
from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import AppointmentState
from timebok.client.trace import Trace


@pytest.fixture
async def kari(live_server):
    async with BookingClient(live_server.url, KARI) as client:
        yield client


@pytest.fixture
async def staff(live_server):
    async with BookingClient(live_server.url, FJORD_STAFF) as client:
        yield client


async def _lab_timebook(client, office_id):
    lab = next(t for t in await client.time_types(office_id) if t.code == "Lab")
    (book,) = await client.timebooks(lab.id)
    return book


async def test_whoami_gives_the_citizen_their_patient_and_gp_office(kari):
    me = await kari.whoami()
    assert me.role == "citizen" and not me.is_staff
    assert me.patient.name == "Kari Nordmann"
    assert me.patient.masked_number.endswith(" *****") and len(me.patient.identity_number) == 11
    assert me.office.name == "Fjordsiden legekontor"


async def test_whoami_gives_staff_their_office(staff):
    me = await staff.whoami()
    assert me.is_staff and me.patient is None and me.office.name == "Fjordsiden legekontor"


async def test_an_agent_token_makes_the_client_a_support_agent_seeing_the_citizen(live_server):
    async with BookingClient(live_server.url, OLA, agent_token=SUPPORT) as agent:
        me = await agent.whoami()
        assert (me.role, me.name, me.agent, me.is_support) == ("citizen", "Ola Nordmann", "Kundesenter, NHN", True)
        assert {a.patient_id for a in await agent.appointments()} == {me.patient.id}
    async with BookingClient(live_server.url, OLA, agent_token="not-an-agent") as impostor:
        with pytest.raises(BookingError) as caught:
            await impostor.whoami()
        assert caught.value.kind is ErrorKind.UNAUTHORIZED


async def test_demo_users_come_from_a_demo_backend(kari):
    users = await kari.demo_users()
    assert [u.role for u in users] == ["citizen"] * 5 + ["staff"] * 2 + ["support"]
    assert next(u for u in users if u.token == KARI).name == "Kari Nordmann"


async def test_time_types_come_in_the_guides_order(kari):
    me = await kari.whoami()
    assert [t.code for t in await kari.time_types(me.office.id)] == ["Koronatest", "Koronavaksine", "Lab", "Vaksine"]


async def test_koronatest_has_two_timebooks_with_their_places(kari):
    me = await kari.whoami()
    corona = next(t for t in await kari.time_types(me.office.id) if t.code == "Koronatest")
    books = await kari.timebooks(corona.id)
    assert {b.place.name for b in books} == {"Fjordsiden legekontor", "Drive-in teststasjon"}
    assert all(b.place.address and b.place.directions for b in books)


async def test_month_availability_and_one_days_free_slots_agree(kari):
    book = await _lab_timebook(kari, (await kari.whoami()).office.id)
    month = await kari.month_availability(book.id, 2026, 12)
    assert date(2026, 12, 1) in month.dates
    assert date(2026, 12, 5) not in month.dates  # a Saturday
    assert date(2026, 12, 25) not in month.dates  # Christmas Day
    day = await kari.free_slots(book.id, date(2026, 12, 1))
    assert [s.id for s in day] == [s.id for s in month.on(date(2026, 12, 1))]
    assert all(s.start.hour >= 8 for s in day) and day == sorted(day, key=lambda s: s.start)


async def test_this_month_shows_no_time_that_has_already_begun(kari):
    book = await _lab_timebook(kari, (await kari.whoami()).office.id)
    month = await kari.month_availability(book.id, 2026, 11)
    assert month.slots and all(s.start.isoformat() > "2026-11-25T09:00" for s in month.slots)


async def test_paging_is_followed_over_a_month_with_many_slots(live_server):
    trace = Trace()
    async with BookingClient(live_server.url, KARI, page_size=40, trace=trace) as small_pages:
        book = await _lab_timebook(small_pages, "1")
        month = await small_pages.month_availability(book.id, 2026, 12)
    async with BookingClient(live_server.url, KARI) as one_page:
        whole = await one_page.month_availability(book.id, 2026, 12)
    slot_requests = [e for e in trace.exchanges if e.path.startswith("/fhir/Slot")]
    assert len(month.slots) > 200 and len(slot_requests) == -(-len(month.slots) // 40)
    assert [s.id for s in month.slots] == [s.id for s in whole.slots]


async def test_first_free_date_skips_a_fully_booked_month(kari):
    me = await kari.whoami()
    vaccine = next(t for t in await kari.time_types(me.office.id) if t.code == "Vaksine")
    (book,) = await kari.timebooks(vaccine.id)
    assert not (await kari.month_availability(book.id, 2026, 11)).dates
    first = await kari.first_free_date(book.id, date(2026, 11, 25))
    assert first is not None and first.month == 12


async def test_book_then_the_office_confirms_and_the_inbox_says_so(kari, staff):
    me = await kari.whoami()
    book = await _lab_timebook(kari, me.office.id)
    slot = (await kari.free_slots(book.id, date(2026, 12, 3)))[0]
    booked = await kari.request_booking(slot, me.patient.id, "influensavaksine")
    assert booked.state is AppointmentState.WAITING and booked.reason == "influensavaksine"
    assert booked.place.name == "Fjordsiden legekontor" and booked.start == slot.start
    assert slot.id not in {s.id for s in await kari.free_slots(book.id, date(2026, 12, 3))}

    waiting = await staff.pending_requests()
    assert booked.id in [a.id for a in waiting]
    assert next(a for a in waiting if a.id == booked.id).patient.name == "Kari Nordmann"
    confirmed = await staff.confirm(booked.id)
    assert confirmed.state is AppointmentState.CONFIRMED

    mine = {a.id: a for a in await kari.appointments()}
    assert mine[booked.id].state is AppointmentState.CONFIRMED
    inbox = await kari.inbox(me.patient.id)
    assert inbox[0].topic == "Timen er bekreftet" and inbox[0].appointment_id == booked.id
    assert [m.sent for m in inbox] == sorted((m.sent for m in inbox), reverse=True)


async def test_rejection_carries_the_offices_reason(kari, staff):
    me = await kari.whoami()
    book = await _lab_timebook(kari, me.office.id)
    slot = (await kari.free_slots(book.id, date(2026, 12, 4)))[0]
    request = await kari.request_booking(slot, me.patient.id)
    rejected = await staff.reject(request.id, "Ring legekontoret, du trenger en lengre time")
    assert rejected.state is AppointmentState.REJECTED
    assert rejected.office_reason == "Ring legekontoret, du trenger en lengre time"
    assert "lengre time" in (await kari.inbox(me.patient.id))[0].text
    assert slot.id in {s.id for s in await kari.free_slots(book.id, date(2026, 12, 4))}


async def test_cancel_frees_the_time_and_a_stale_copy_is_refused(kari):
    me = await kari.whoami()
    book = await _lab_timebook(kari, me.office.id)
    slot = (await kari.free_slots(book.id, date(2026, 12, 7)))[0]
    request = await kari.request_booking(slot, me.patient.id)
    cancelled = await kari.cancel(request)
    assert cancelled.state is AppointmentState.CANCELLED
    with pytest.raises(BookingError) as stale:
        await kari.cancel(request)  # still the old version
    assert stale.value.kind is ErrorKind.STALE
    assert slot.id in {s.id for s in await kari.free_slots(book.id, date(2026, 12, 7))}


async def test_the_slot_taken_race_has_one_winner(live_server):
    async with BookingClient(live_server.url, KARI) as kari, BookingClient(live_server.url, OLA) as ola:
        kari_me, ola_me = await kari.whoami(), await ola.whoami()
        book = await _lab_timebook(kari, kari_me.office.id)
        slot = (await kari.free_slots(book.id, date(2026, 12, 8)))[0]
        results = await asyncio.gather(
            *[(kari if i % 2 else ola).request_booking(slot, (kari_me if i % 2 else ola_me).patient.id) for i in range(10)],
            return_exceptions=True,
        )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, BookingError)]
    assert len(winners) == 1 and len(losers) == 9
    # The winner's own other tries hear that they hold this time already, and when; the other patient's that it is taken.
    kari_won = winners[0].patient_id == kari_me.patient.id
    theirs = [e for i, e in enumerate(results) if isinstance(e, BookingError) and (i % 2 == 1) == kari_won]
    others = [e for e in losers if e not in theirs]
    assert {e.kind for e in others} == {ErrorKind.SLOT_TAKEN} and "no longer free" in others[0].diagnostic
    assert len(theirs) == 4 and {e.kind for e in theirs} == {ErrorKind.PATIENT_OVERLAP}
    assert all(e.held.start == slot.start and e.held.type_code == "Lab" and e.held.place for e in theirs)


async def test_staff_find_patients_by_number_and_name_without_a_number_in_any_url(live_server):
    trace = Trace()
    async with BookingClient(live_server.url, KARI) as kari:
        number = (await kari.whoami()).patient.identity_number
    async with BookingClient(live_server.url, FJORD_STAFF, trace=trace) as staff:
        by_number = await staff.find_patients(identifier=number)
        by_name = await staff.find_patients(name="nordmann")
    assert [p.name for p in by_number] == ["Kari Nordmann"]
    assert {p.name for p in by_name} == {"Kari Nordmann", "Ola Nordmann"}
    exported = json.dumps([e.__dict__ for e in trace.exchanges], default=str)
    assert number not in exported  # neither in a path nor in a body of the trace
    assert number[:6] + " *****" in exported


async def test_staff_of_another_office_do_not_see_the_queue(live_server):
    async with BookingClient(live_server.url, BAKKE_STAFF) as other:
        assert all(a.office_id == "2" for a in await other.pending_requests())
        with pytest.raises(BookingError) as error:
            await other.confirm("2")  # Ola's request at Fjordsiden
    assert error.value.kind is ErrorKind.NOT_FOUND


async def test_todays_appointments_are_the_confirmed_ones_today(staff):
    today = await staff.todays_appointments()
    assert today and all(a.start.date() == date(2026, 11, 25) and a.state is AppointmentState.CONFIRMED for a in today)
    assert today[0].patient.name == "Ola Nordmann" and today[0].place is not None


async def test_a_bad_token_is_unauthorized(live_server):
    async with BookingClient(live_server.url, "not-a-token") as client:
        with pytest.raises(BookingError) as error:
            await client.whoami()
    assert error.value.kind is ErrorKind.UNAUTHORIZED and error.value.status == 401


async def test_a_stopped_backend_is_offline_after_brief_retries(live_server):
    url = live_server.url
    live_server.stop()
    trace = Trace()
    async with BookingClient(url, KARI, trace=trace, read_retries=2) as client:
        with pytest.raises(BookingError) as read_error:
            await client.time_types("1")
        assert read_error.value.kind is ErrorKind.OFFLINE
        assert len(trace.exchanges) == 3  # one try and two retries
        with pytest.raises(BookingError) as write_error:
            await client.reject("1", "x")
        assert write_error.value.kind is ErrorKind.OFFLINE
        # A write is safe to repeat (it carries one identifier, a conditional create), so it is retried as reads are.
        posts = trace.exchanges[3:]
        assert len(posts) == 3 and {e.method for e in posts} == {"POST"}
        assert len({e.request_body.split("urn:uuid:")[1][:36] for e in posts}) == 1
    assert all(e.status is None and e.error == "offline" for e in trace.exchanges)


async def test_the_trace_sees_method_path_status_duration_and_bodies(live_server):
    trace = Trace()
    async with BookingClient(live_server.url, KARI, trace=trace) as client:
        with pytest.raises(BookingError):
            await client.appointment("999999")
    last = trace.exchanges[-1]
    assert (last.method, last.path, last.status) == ("GET", "/fhir/Appointment/999999", 404)
    assert last.duration_ms >= 0 and last.response_bytes > 0 and "OperationOutcome" in last.response_body
