"""Booking for someone else in the app (issue 27): Kari books for her daughter Emma at 80x24, the office confirms it,
and both see it; Jonas (14) is only seen, and a fullmakt withdrawn on the way is said in plain words."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from tests.conftest import FJORD_STAFF, KARI, SUPPORT
from tests.tui_helpers import cut_off, make_app, screen_text, settle, wait_for
from timebok.backend import schema
from timebok.client.api import BookingClient
from timebok.client.models import AppointmentState
from timebok.screens.appointments import AppointmentsScreen
from timebok.screens.calendar import CalendarScreen
from timebok.screens.confirmation import ConfirmationScreen
from timebok.screens.for_whom import ForWhomScreen
from timebok.screens.requests import RequestQueueScreen
from timebok.screens.review import ReviewScreen
from timebok.screens.time_type import TimeTypeScreen

SIZE = (80, 24)


async def _press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


def _top_line(app) -> str:
    """Who is looking, as the top line's right-hand side says it."""
    return str(app.screen.query_one("#who").render())


async def test_kari_books_for_emma_the_office_confirms_and_both_see_it(live_server, monkeypatch):
    monkeypatch.setattr(RequestQueueScreen, "UNDO_SECONDS", 0.1)
    kari = make_app(live_server, KARI)
    async with kari.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "b")
        # Step 1: whom for, only those she may book for (Jonas, 14, is not offered; Ola's protected daughter never).
        assert isinstance(kari.screen, ForWhomScreen)
        text = screen_text(kari)
        assert "Steg 1 av 8 · Bestill for" in text
        assert "Meg selv" in text and "Emma Lie (8 år)" in text and "Astrid Solberg (fullmakt)" in text
        assert "Jonas" not in text and "Sofie" not in text
        await _press(pilot, "down", "enter")  # Emma
        assert isinstance(kari.screen, TimeTypeScreen)
        assert _top_line(kari).endswith("Kari Nordmann · for Emma Lie")
        await _press(pilot, "down", "down", "enter", "enter", "enter")  # Lab, the first free date, its first time
        assert isinstance(kari.screen, ReviewScreen)
        assert "Pasient:\nEmma Lie (178918 *****)" in screen_text(kari) and _top_line(kari).endswith("for Emma Lie")
        assert cut_off(kari) == []
        await _press(pilot, "enter")  # «Send bestilling»
        await wait_for(pilot, lambda: isinstance(kari.screen, ConfirmationScreen))
        assert "Timeforespørselen for Emma Lie er sendt til Fjordsiden legekontor." in screen_text(kari)
        booked = kari.screen.appointment
        assert booked.patient_id == "6" and booked.representative == "Kari Nordmann"

    # The office sees Emma's request and confirms it.
    desk = make_app(live_server, FJORD_STAFF)
    async with desk.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "f")
        ids = [r.id for r in desk.screen.requests]
        assert booked.id in ids
        await _press(pilot, *(["down"] * ids.index(booked.id)))
        assert "Emma Lie" in screen_text(desk)
        await _press(pilot, "b")
        await settle(pilot)  # waits out the 0.1 s undo window
    # Kari sees it confirmed in «Timeavtaler», and Emma's messages in her inbox, each saying whom it is for.
    kari = make_app(live_server, KARI)
    async with kari.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "t")
        assert isinstance(kari.screen, AppointmentsScreen)
        await wait_for(pilot, lambda: "for Emma Lie" in screen_text(kari))
        assert kari.screen.by_id[booked.id].state is AppointmentState.CONFIRMED
        await _press(pilot, "escape", "i")
        await wait_for(pilot, lambda: "Timen er bekreftet" in screen_text(kari))
        assert "· for Emma Lie" in screen_text(kari)


async def test_jonas_times_show_but_cannot_be_cancelled_and_a_withdrawn_fullmakt_is_said(live_server, database):
    # The office booked a time for Jonas (14): his mother sees it, and is told she cannot cancel it.
    async with BookingClient(live_server.url, FJORD_STAFF) as staff:
        (jonas,) = await staff.find_patients(name="jonas")
        types = await staff.time_types("1")
        (lab,) = [t for t in types if t.code == "Lab"]
        (book,) = await staff.timebooks(lab.id)
        day = await staff.first_free_date(book.id, date(2026, 12, 3))
        assert day is not None
        await staff.request_booking((await staff.free_slots(book.id, day))[0], jonas.id)
    kari = make_app(live_server, KARI)
    async with kari.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "t")
        await wait_for(pilot, lambda: "for Jonas Lie" in screen_text(kari))
        await _press(pilot, "a")
        assert any("ikke bestille eller avbestille" in str(n.message) for n in kari._notifications)
        # Kari's mother withdraws her fullmakt while Kari reviews a booking for her: the send is refused, in words.
        await _press(pilot, "escape", "b", "down", "down", "enter")  # Astrid
        assert _top_line(kari).endswith("for Astrid Solberg")
        await _press(pilot, "down", "down", "enter", "enter", "enter")
        assert isinstance(kari.screen, ReviewScreen)
        with database.writing() as session:  # the register the backend reads: its own database
            withdraw = update(schema.RegisterRelation).where(schema.RegisterRelation.kind == "fullmakt")
            session.execute(withdraw.values(withdrawn=True))
        await _press(pilot, "enter")
        await wait_for(pilot, lambda: "Du kan ikke lenger bestille eller avbestille for denne personen" in screen_text(kari))
        assert isinstance(kari.screen, ReviewScreen)


async def test_support_acting_as_kari_booking_for_emma_reads_kari_pa_vegne_av_emma(live_server):
    app = make_app(live_server, KARI, agent_token=SUPPORT)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "b", "down", "enter")
        assert _top_line(app) == "som Kari på vegne av Emma"  # at 80 columns, beside «Steg 2 av 8 · Velg timetype»


async def test_endre_time_on_emmas_time_opens_the_calendar_for_emma_and_jonass_is_refused(live_server):
    # The desk booked a time for Emma (8) and one for Jonas (14); Kari sees both in «Timeavtaler».
    async with BookingClient(live_server.url, FJORD_STAFF) as staff:
        (emma,) = await staff.find_patients(name="emma")
        (jonas,) = await staff.find_patients(name="jonas")
        (lab,) = [t for t in await staff.time_types("1") if t.code == "Lab"]
        (book,) = await staff.timebooks(lab.id)
        day = await staff.first_free_date(book.id, date(2026, 12, 3))
        assert day is not None
        slots = await staff.free_slots(book.id, day)
        for slot, patient in ((slots[0], emma), (slots[1], jonas)):  # booked at once, as the desk does
            await staff.send_held(await staff.hold(slot, patient.id), book=True)
    kari = make_app(live_server, KARI)
    async with kari.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "t")
        await wait_for(pilot, lambda: "for Emma Lie" in screen_text(kari) and "for Jonas Lie" in screen_text(kari))
        # Emma's time first (the earlier): «Endre time» opens the guide for Emma, whose hold step 5 will take.
        await _press(pilot, "e")
        await wait_for(pilot, lambda: isinstance(kari.screen, CalendarScreen))
        assert kari.screen.draft.patient.id == emma.id and kari.screen.draft.replaces is not None
        # Back in the list, Jonas's time: Kari may see it but not change it; no guide opens.
        await _press(pilot, "escape")
        await wait_for(pilot, lambda: isinstance(kari.screen, AppointmentsScreen))
        await _press(pilot, "down", "e")
        assert isinstance(kari.screen, AppointmentsScreen)
        assert any("ikke bestille eller avbestille" in str(n.message) for n in kari._notifications)
