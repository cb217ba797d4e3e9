"""The client's typed calls for the appointment's life, against the real backend on loopback."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tests.conftest import FJORD_STAFF, KARI, OLA
from timebok.client.api import BookingClient
from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import AppointmentState
from timebok.domain.clock import OSLO, set_now


@pytest.fixture
async def kari(live_server):
    async with BookingClient(live_server.url, KARI) as client:
        yield client


@pytest.fixture
async def ola(live_server):
    async with BookingClient(live_server.url, OLA) as client:
        yield client


@pytest.fixture
async def staff(live_server):
    async with BookingClient(live_server.url, FJORD_STAFF) as client:
        yield client


async def _slots(client, day: date, count: int = 3):
    lab = next(t for t in await client.time_types("1") if t.code == "Lab")
    (book,) = await client.timebooks(lab.id)
    return (await client.free_slots(book.id, day))[:count]


async def _booked(kari, staff, slot):
    request = await kari.request_booking(slot, "1")
    await staff.confirm(request)
    return await kari.appointment(request.id)


async def test_a_hold_is_held_for_me_refused_to_others_and_sent_as_my_request(kari, ola):
    slot, *_ = await _slots(kari, date(2026, 12, 3))
    hold = await kari.hold(slot, "1")
    assert hold.state is AppointmentState.HELD and hold.status == "proposed"
    assert hold.hold_expires == datetime(2026, 11, 25, 9, 5, tzinfo=OSLO)
    assert [(s.id, s.held_until) for s in await ola.held_times(slot.timebook_id, slot.day)] == [(slot.id, hold.hold_expires)]
    with pytest.raises(BookingError) as caught:
        await ola.request_booking(slot, "2")
    assert caught.value.kind is ErrorKind.SLOT_HELD and caught.value.until == hold.hold_expires
    sent = await kari.send_held(hold, "influensavaksine")
    assert (sent.id, sent.state, sent.reason, sent.hold_expires) == (hold.id, AppointmentState.WAITING, "influensavaksine", None)


async def test_a_released_hold_frees_the_time(kari, ola):
    slot, *_ = await _slots(kari, date(2026, 12, 3))
    hold = await kari.hold(slot, "1")
    released = await kari.release(hold)
    assert released.state is AppointmentState.CANCELLED and released.cancel_code == "hold-ended"
    assert (await ola.request_booking(slot, "2")).state is AppointmentState.WAITING


async def test_a_citizen_changes_a_time_and_keeps_the_old_until_confirmed(kari, staff):
    old_slot, new_slot, _ = await _slots(kari, date(2026, 12, 3))
    old = await _booked(kari, staff, old_slot)
    assert old.deadline == old.start - timedelta(hours=24) and not old.past_deadline(datetime(2026, 11, 25, 9, tzinfo=OSLO))
    change = await kari.change(old, new_slot)
    assert change.state is AppointmentState.WAITING and change.replaces_id == old.id
    assert (await kari.appointment(old.id)).state is AppointmentState.CONFIRMED
    await staff.confirm(change)
    assert (await kari.appointment(change.id)).state is AppointmentState.CONFIRMED
    moved = await kari.appointment(old.id)
    assert moved.state is AppointmentState.MOVED and moved.cancel_code == "moved"


async def test_past_the_deadline_the_citizen_hears_it_and_the_desk_overrides(kari, staff):
    soon_slot, *_ = await _slots(kari, date(2026, 11, 26))
    soon = await _booked(kari, staff, soon_slot)
    assert soon.past_deadline(datetime(2026, 11, 25, 9, tzinfo=OSLO))
    with pytest.raises(BookingError) as caught:
        await kari.cancel(soon)
    assert caught.value.kind is ErrorKind.CHANGE_DEADLINE and caught.value.until == soon.deadline
    (later,) = await _slots(kari, date(2026, 12, 4), 1)
    moved = await staff.change(soon, later, book=True, override="sykdom")
    assert moved.state is AppointmentState.CONFIRMED and moved.replaces_id == soon.id
    assert (await staff.appointment(soon.id)).state is AppointmentState.MOVED


async def test_the_desk_marks_attendance_and_sees_the_no_show_count(kari, staff):
    (slot,) = [s for s in await _slots(staff, date(2026, 11, 25), 40) if s.start.hour >= 10][:1]
    hold = await staff.hold(slot, "1")
    booked = await staff.send_held(hold, book=True)
    assert booked.state is AppointmentState.CONFIRMED
    arrived = await staff.mark_attendance(booked, "arrived")
    assert arrived.state is AppointmentState.ARRIVED
    assert [a.id for a in await staff.todays_appointments()].count(booked.id) == 1  # still on «Dagens timer»
    undone = await staff.mark_attendance(arrived, "booked")
    with pytest.raises(BookingError) as early:
        await staff.mark_attendance(undone, "noshow")
    assert early.value.kind is ErrorKind.TOO_EARLY
    with pytest.raises(BookingError) as stale:
        await staff.mark_attendance(arrived, "fulfilled")  # the copy from before the undo
    assert stale.value.kind is ErrorKind.STALE
    set_now(slot.start + timedelta(minutes=11))
    late = await staff.appointment(booked.id)
    assert late.late
    gone = await staff.mark_attendance(late, "noshow")
    assert gone.state is AppointmentState.NO_SHOW
    assert (await staff.patient("1")).noshow_count == 1
    with pytest.raises(BookingError) as illegal:
        await staff.mark_attendance(gone, "fulfilled")
    assert illegal.value.kind is ErrorKind.ILLEGAL_TRANSITION
    with pytest.raises(BookingError) as citizen:
        await kari.mark_attendance(gone, "booked")
    assert citizen.value.kind is ErrorKind.FORBIDDEN


async def test_an_unanswered_request_reads_as_unanswered_and_an_old_one_as_overdue(kari, staff):
    first, second, _ = await _slots(kari, date(2026, 12, 3))
    soon = await kari.request_booking(first, "1")
    assert soon.answer_due == datetime(2026, 11, 27, 9, tzinfo=OSLO) and not soon.overdue
    set_now(datetime(2026, 11, 27, 9, 1, tzinfo=OSLO))
    (waiting,) = [r for r in await staff.pending_requests() if r.id == soon.id]
    assert waiting.overdue
    set_now(first.start + timedelta(minutes=1))
    with pytest.raises(BookingError) as caught:
        await staff.confirm(soon)
    assert caught.value.kind is ErrorKind.UNANSWERED
    closed = await kari.appointment(soon.id)
    assert closed.state is AppointmentState.UNANSWERED
