"""Issue 24's screens in the real app on the real backend: the hold on step 5, «Endre time», the deadline."""

from __future__ import annotations

from datetime import date, timedelta

from tests.conftest import FJORD_STAFF, KARI, OLA
from tests.test_tui_fit import problems
from tests.tui_helpers import footer_keys, make_app, screen_text, settle, to_review, wait_for
from timebok.client.api import BookingClient
from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import Appointment, AppointmentState
from timebok.domain import clock
from timebok.screens.appointments import AppointmentsScreen
from timebok.screens.calendar import CalendarScreen
from timebok.screens.confirmation import ConfirmationScreen
from timebok.screens.review import ReviewScreen

SIZE = (80, 24)


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _kari_booked(live_server, day: date, index: int = 0) -> Appointment:
    """A Lab time for Kari on `day`, requested by her and confirmed by the office."""
    async with BookingClient(live_server.url, KARI) as kari:
        me = await kari.whoami()
        lab = next(t for t in await kari.time_types(me.office.id) if t.code == "Lab")
        (book,) = await kari.timebooks(lab.id)
        asked = await kari.request_booking((await kari.free_slots(book.id, day))[index], me.patient.id, "kontroll")
    async with BookingClient(live_server.url, FJORD_STAFF) as office:
        return await office.confirm(asked.id)


async def _ola_tries(live_server, slot) -> ErrorKind | None:
    async with BookingClient(live_server.url, OLA) as ola:
        try:
            await ola.request_booking(slot, "2")
        except BookingError as error:
            return error.kind
    return None


async def test_step_5_holds_the_time_says_until_when_and_esc_gives_it_back(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "blodprøve")
        await wait_for(pilot, lambda: app.draft.hold is not None)
        hold = app.draft.hold
        assert f"Timen holdes for deg til {hold.hold_expires:%H:%M}." in screen_text(app)
        assert hold.hold_expires - clock.now() == timedelta(minutes=5)  # the setup's default hold minutes
        slot = app.draft.slot
        assert await _ola_tries(live_server, slot) is ErrorKind.SLOT_HELD  # nobody else gets it meanwhile
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen) and app.draft.hold is None
        await wait_for(pilot, lambda: not any(w.group == "release-hold" and not w.is_finished for w in app.workers))
        assert await _ola_tries(live_server, slot) is None  # given back at once, not after five minutes
        await pilot.press("escape", "escape", "escape", "escape")  # calendar, place, type, «Bestill for» (issue 27)
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentsScreen)
        assert "Avbestilt" not in screen_text(app) and "Kommende timer (0)" in screen_text(app)  # a hold was no booking


async def test_sending_turns_the_hold_into_the_request(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "blodprøve")
        await wait_for(pilot, lambda: app.draft.hold is not None)
        hold_id = app.draft.hold.id
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, ConfirmationScreen)
        assert app.screen.appointment.id == hold_id and app.screen.appointment.state is AppointmentState.WAITING
        assert app.screen.appointment.reason == "blodprøve"


async def test_an_expired_hold_says_so_and_a_time_taken_meanwhile_goes_back_with_the_reason(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "blodprøve")
        await wait_for(pilot, lambda: app.draft.hold is not None)
        hold, slot = app.draft.hold, app.draft.slot
        clock.set_now((hold.hold_expires + timedelta(seconds=1)).isoformat())
        app.screen._hold_expired()  # the screen's timer, due at the expiry, fires now
        await settle(pilot)
        text = screen_text(app)
        assert f"Holdetiden gikk ut {hold.hold_expires:%H:%M}." in text and "Teksten din beholdes" in text
        assert await _ola_tries(live_server, slot) is None  # expired: the next one gets it
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, CalendarScreen), screen_text(app)
        assert any("Holdetiden gikk ut, og noen andre har tatt tiden" in n for n in _notes(app)), _notes(app)
        assert app.draft.reason == "blodprøve"


async def test_a_time_another_desk_holds_is_said_to_be_held_by_another_desk(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press(*"14838512470")
        await settle(pilot)
        for keys in (("enter",), ("down", "down", "enter"), ("enter",)):
            await pilot.press(*keys)
            await settle(pilot)
        assert isinstance(app.screen, CalendarScreen)
        slot = app.screen.day_slots[0]
        async with BookingClient(live_server.url, FJORD_STAFF) as other_desk:
            held = await other_desk.hold(slot, "2")  # another desk picked the same time for Ola
        await pilot.press("enter")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, CalendarScreen)
        assert any(f"Holdes av en annen ekspedisjon til {held.hold_expires:%H:%M}" in n for n in _notes(app)), _notes(app)


async def test_a_citizen_changes_a_time_and_keeps_the_old_one_until_the_office_confirms(live_server):
    old = await _kari_booked(live_server, date(2026, 12, 2))
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentsScreen)
        await pilot.press("enter")  # «Se detaljer»: the deadline, a day before
        await settle(pilot)
        assert "Frist for å avbestille eller endre: tirsdag 1. desember 2026 kl." in screen_text(app)
        assert problems(app) == {}
        await pilot.press("e")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, CalendarScreen) and app.draft.replaces.id == old.id
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        # Timeavtaler, under the guide, does not refresh itself: the guide's end goes home past it, and a refill then
        # found its widgets gone (a crash seen in tmux).
        (listing,) = [s for s in app.screen_stack if isinstance(s, AppointmentsScreen)]
        listing._refresh()
        assert not [w for w in app.workers if w.node is listing and not w.is_finished]
        new_start = app.draft.slot.start
        await wait_for(pilot, lambda: app.draft.hold is not None)
        assert app.draft.hold.replaces_id == old.id
        text = screen_text(app)
        assert f"Fra: ons. 2. des. {old.start:%H:%M} · Til: " in text and f"{new_start:%H:%M}" in text, text
        assert problems(app) == {}  # nothing cut off at 80x24, every key in the footer
        # The footer's Ctrl+S says what the button says: a change is sent, not a new booking.
        ctrl_s = [k.description for k in footer_keys(app) if k.key == "ctrl+s"]
        assert ctrl_s == ["Send endring"], ctrl_s
        await pilot.press(*"passer bedre")
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, ConfirmationScreen)
        assert app.screen.heading() == "Steg 6 av 8 · Endringen er sendt"  # not «Bestillingen er sendt»
        assert "Du beholder timen onsdag 2. desember 2026" in screen_text(app)
        await pilot.press("escape", "t")
        await settle(pilot, rounds=5)
        text = screen_text(app)
        assert f"Endring: ons. 2. des. {old.start:%H:%M} → " in text and "Bekreftet" in text, text

    async with BookingClient(live_server.url, FJORD_STAFF) as office:
        (change,) = [r for r in await office.pending_requests() if r.replaces_id == old.id]
        assert (await office.appointment(old.id)).state is AppointmentState.CONFIRMED  # kept until answered
        await office.confirm(change)
        assert (await office.appointment(old.id)).state is AppointmentState.MOVED


async def test_past_the_deadline_the_details_say_call_the_office_and_offer_no_cancel_or_change(live_server):
    old = await _kari_booked(live_server, date(2026, 11, 27))
    clock.set_now((old.deadline + timedelta(minutes=1)).isoformat())
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "Ring legekontoret på 55 12 34 00" in screen_text(app)
        assert "Frist for å avbestille" not in screen_text(app)
        assert app.screen.check_action("cancel", ()) is False and app.screen.check_action("change", ()) is False
        await settle(pilot)
        assert not {"a", "e"} & {k.key for k in footer_keys(app)}  # not offered in the footer at all
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentsScreen)  # not offered: the key does nothing


async def test_a_deadline_passing_on_review_is_refused_in_words_naming_it_and_the_text_stays(live_server):
    old = await _kari_booked(live_server, date(2026, 11, 27))
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot, rounds=10)
        for keys in ("pagedown", "enter", "enter"):  # a time in December, still ahead once the deadline has passed
            await pilot.press(keys)
            await settle(pilot)
        await wait_for(pilot, lambda: app.draft.hold is not None)
        await pilot.press(*"passer bedre")
        clock.set_now((old.deadline + timedelta(minutes=1)).isoformat())
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, ReviewScreen)
        text = screen_text(app)
        assert "Fristen for å avbestille eller endre timen gikk ut torsdag 26. november 2026 kl." in text, text
        assert "Det du skrev, er tatt vare på." in text
        assert app.screen.query_one("#reason").value == "passer bedre"


async def _kari_asks_to_change(live_server, old: Appointment, day: date) -> Appointment:
    async with BookingClient(live_server.url, KARI) as kari:
        me = await kari.whoami()
        lab = next(t for t in await kari.time_types(me.office.id) if t.code == "Lab")
        (book,) = await kari.timebooks(lab.id)
        return await kari.change(old, (await kari.free_slots(book.id, day))[0], "passer bedre")


async def _queue(pilot) -> None:
    from timebok.screens.requests import RequestQueueScreen

    await settle(pilot)
    await pilot.press("f")
    await settle(pilot, rounds=5)
    assert isinstance(pilot.app.screen, RequestQueueScreen)


async def test_the_queue_shows_a_change_from_to_marks_the_overdue_first_and_confirming_moves_the_time(live_server, monkeypatch):
    from timebok.screens.requests import RequestQueueScreen

    monkeypatch.setattr(RequestQueueScreen, "UNDO_SECONDS", 0.1)
    old = await _kari_booked(live_server, date(2026, 12, 2))
    change = await _kari_asks_to_change(live_server, old, date(2026, 12, 3))
    # Monday: the change, sent Wednesday, is past the office's two working days; the seeded requests' times have
    # begun (closed unanswered), and Ola asks for a time now, not yet overdue.
    clock.set_now("2026-11-30T09:00:00+01:00")
    async with BookingClient(live_server.url, OLA) as ola:
        lab = next(t for t in await ola.time_types("1") if t.code == "Lab")
        (book,) = await ola.timebooks(lab.id)
        fresh = await ola.request_booking((await ola.free_slots(book.id, date(2026, 12, 4)))[0], "2")
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _queue(pilot)
        assert [r.id for r in app.screen.requests] == [change.id, fresh.id]
        text = screen_text(app)
        assert f"Endring: ons. 2. des. {old.start:%H:%M} → tor. 3. des. {change.start:%H:%M}" in text, text
        assert problems(app) == {}
        assert "! = svarfristen har gått ut" in text and "! Svarfristen gikk ut fredag 27. november 2026" in text
        await pilot.press("b")
        await wait_for(pilot, lambda: any("er bekreftet" in n for n in _notes(app)))
        await settle(pilot)
        assert [r.id for r in app.screen.requests] == [fresh.id]
    async with BookingClient(live_server.url, KARI) as kari:
        assert (await kari.appointment(change.id)).state is AppointmentState.CONFIRMED
        assert (await kari.appointment(old.id)).state is AppointmentState.MOVED


async def test_rejecting_a_change_in_the_queue_leaves_the_old_time_booked(live_server):
    old = await _kari_booked(live_server, date(2026, 12, 2))
    change = await _kari_asks_to_change(live_server, old, date(2026, 12, 3))
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _queue(pilot)
        table = app.screen.query_one("#requests")
        table.move_cursor(row=[r.id for r in app.screen.requests].index(change.id))
        await settle(pilot)
        assert "Endring: ons. 2. des." in screen_text(app)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"Vi har ikke tid den dagen", "enter")
        await settle(pilot, rounds=5)
        assert change.id not in [r.id for r in app.screen.requests]
    async with BookingClient(live_server.url, KARI) as kari:
        assert (await kari.appointment(change.id)).state is AppointmentState.REJECTED
        assert (await kari.appointment(old.id)).state is AppointmentState.CONFIRMED


async def _field(pilot, name: str, text: str) -> None:
    box = pilot.app.screen.query_one(f"#field-{name}")
    box.value = ""
    box.focus()
    await pilot.press(*text)


async def test_the_setup_sets_hold_deadline_the_monday_rule_and_answer_time_and_refuses_what_is_out_of_range(live_server):
    from timebok.screens.setup import SetupScreen
    from timebok.ui.setup_form import PreviewDialog, SetupForm

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot, rounds=5)
        assert isinstance(app.screen, SetupScreen)
        book = app.screen.current()
        assert "F: frister" in screen_text(app)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, SetupForm) and problems(app) == {}
        assert [app.screen.query_one(f"#field-{f}").value for f in ("hold", "deadline", "monday", "answer")] == [
            "5",
            "24",
            "nei",
            "2",
        ]
        for field, typed, problem in (
            ("hold", "45", "Holdetiden må være fra 1 til 30 minutter."),
            ("deadline", "400", "Fristen må være fra 0 til 336 timer (14 dager)."),
            ("monday", "kanskje", "Skriv ja eller nei."),
            ("answer", "0", "Svarfristen må være fra 1 til 20 virkedager."),
        ):
            before = app.screen.query_one(f"#field-{field}").value
            await _field(pilot, field, typed)
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, SetupForm) and problem in " ".join(screen_text(app).split()), problem
            assert app.screen.query_one(f"#field-{field}").has_class("-invalid")
            await _field(pilot, field, before)
        await _field(pilot, "hold", "2")
        await _field(pilot, "deadline", "48")
        await _field(pilot, "monday", "ja")
        await _field(pilot, "answer", "3")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog)
        await pilot.press("l")
        await settle(pilot, rounds=5)
        assert isinstance(app.screen, SetupScreen)
        assert "Holdes 2 min · avbestille/endre senest 48 t før (mandag: fredag kl. 12) · svar innen 3 virkedager" in (
            " ".join(screen_text(app).split())
        )
    async with BookingClient(live_server.url, FJORD_STAFF) as office:
        saved = (await office.office_setup("1")).timebook(book.id)
        assert (saved.hold_minutes, saved.deadline_hours, saved.monday_by_friday, saved.answer_days) == (2, 48, True, 3)
