"""The citizen's whole booking flow in the real app, driven by keys, against the real backend."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from tests.conftest import FJORD_STAFF, KARI, OLA
from tests.tui_helpers import (
    book_for_self,
    footer_keys,
    make_app,
    screen_text,
    settle,
    short_timeout,
    to_calendar,
    to_review,
    wait_for,
)
from timebok.client.api import BookingClient
from timebok.client.models import AppointmentState, Closure
from timebok.domain import clock
from timebok.screens.appointments import AppointmentsScreen
from timebok.screens.calendar import CalendarScreen
from timebok.screens.confirmation import ConfirmationScreen
from timebok.screens.inbox import InboxScreen
from timebok.screens.place import PlaceScreen
from timebok.screens.review import ReviewScreen
from timebok.screens.start import StartScreen
from timebok.screens.time_type import TimeTypeScreen
from timebok.tui.app import TimebokApp
from timebok.tui.connection import Connection

SIZE = (100, 32)


async def test_book_a_lab_time_then_the_office_confirms_and_the_inbox_shows_it(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=2)  # Lab: one place, so step 3 is skipped
        assert isinstance(app.screen, CalendarScreen)
        assert "Steg 4 av 8" in screen_text(app)
        await pilot.press("enter")  # the first free date (the cursor starts on it)
        await settle(pilot)
        await pilot.press("down", "enter")  # the second free time that day
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        chosen = app.draft.slot
        await pilot.press(*"influensavaksine")
        text = screen_text(app)
        assert "Time til laboratoriet hos Fjordsiden legekontor" in text and "Kari Nordmann (148385 *****)" in text
        assert "16 av 1000 tegn" in text
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmationScreen)
        assert "Timehenvendelsen er sendt til fastlegen din hos Fjordsiden legekontor." in screen_text(app)
        await pilot.press("enter")  # «Gå til innboksen»
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen) and "Steg 8 av 8" in screen_text(app)
        assert "Timeforespørselen er sendt" in screen_text(app)

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, StartScreen)
        await pilot.press("t")
        await settle(pilot)
        assert "Venter på svar fra legekontoret" in screen_text(app)

        async with BookingClient(live_server.url, FJORD_STAFF) as office:
            waiting = [a for a in await office.pending_requests() if a.start == chosen.start]
            assert len(waiting) == 1 and waiting[0].reason == "influensavaksine"
            await office.confirm(waiting[0].id)

        await pilot.press("escape", "i")
        await settle(pilot)
        inbox = screen_text(app)
        assert inbox.index("Timen er bekreftet") < inbox.index("Timeforespørselen er sendt")  # newest first
        await pilot.press("enter")  # «Se detaljer» on the newest
        await settle(pilot)
        assert "Status: Bekreftet" in screen_text(app)


async def test_esc_goes_back_and_keeps_every_choice_and_character(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "blodprøve")
        slot = app.draft.slot
        await pilot.press("escape")  # review → calendar
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen)
        await pilot.press("escape", "escape")  # times → calendar grid → time types
        await settle(pilot)
        assert isinstance(app.screen, TimeTypeScreen)
        assert app.screen.query_one("#types").highlighted == 2  # Lab is still the highlighted choice
        await pilot.press("enter")
        await settle(pilot)
        assert app.draft.day == slot.day
        await pilot.press("enter")  # the times list is shown again with the same time highlighted
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen) and app.draft.slot == slot
        assert app.screen.query_one("#reason").value == "blodprøve"


async def test_the_place_step_appears_only_with_two_places(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=0)  # Koronatest has two timebooks
        assert isinstance(app.screen, PlaceScreen)
        text = screen_text(app)
        assert "Steg 3 av 8" in text and "Drive-in teststasjon" in text and "Kaiveien 4, 5015 Bergen" in text
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen) and app.draft.timebook.place.name == "Drive-in teststasjon"


async def test_a_timebook_with_nothing_free_this_month_opens_on_its_first_free_date(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=3)  # Vaksine: fully booked this month
        calendar = app.screen.calendar
        assert calendar.month == date(2026, 12, 1) and calendar.cursor == date(2026, 12, 1)
        assert date(2026, 12, 1) in calendar.free_dates
        assert app.draft.day is None  # the cursor is there; choosing is still the user's
        assert any(
            "Ingen ledige timer i november 2026. Kalenderen står på første ledige dato, tirsdag 1. desember 2026."
            == str(n.message)
            for n in app._notifications
        )
        await pilot.press("enter")
        await settle(pilot)
        assert "Ledige tidspunkt tirsdag 1. desember 2026:" in screen_text(app)


async def test_an_empty_month_says_so_and_one_key_jumps_to_the_next_free_date(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=3)  # Vaksine: fully booked this month, so it opens in December
        await pilot.press("pageup")  # back to November, where nothing is free
        await settle(pilot)
        # November has six weeks to December's five: the calendar grows a line, or «49  30» is cut off.
        assert app.screen.calendar.content_region.height == 2 + 6
        text = screen_text(app)
        assert "Ingen ledige timer i november 2026." in text
        assert "Kontakt legekontoret hvis det haster" in text
        assert "Første ledige dato er tirsdag 1. desember 2026" in text
        await pilot.press("n")
        await settle(pilot)
        calendar = app.screen.calendar
        assert calendar.month == date(2026, 12, 1) and app.draft.day == date(2026, 12, 1)
        assert "Ledige tidspunkt tirsdag 1. desember 2026:" in screen_text(app)


async def test_a_time_taken_meanwhile_sends_you_back_with_fresh_times_and_your_text(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "vondt i halsen")
        taken = app.draft.slot
        # Step 5 holds the time (issue 24): only once the hold has run out can someone else take it.
        await wait_for(pilot, lambda: app.draft.hold is not None)
        clock.set_now((app.draft.hold.hold_expires + timedelta(seconds=1)).isoformat())
        async with BookingClient(live_server.url, OLA) as ola:
            await ola.request_booking(taken, (await ola.whoami()).patient.id)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen)
        assert any("Holdetiden gikk ut, og noen andre har tatt tiden" in str(n.message) for n in app._notifications)
        assert taken.id not in {s.id for s in app.screen.day_slots}
        assert app.draft.reason == "vondt i halsen"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#reason").value == "vondt i halsen"


async def test_a_time_removed_by_the_office_meanwhile_sends_you_back_with_fresh_times_and_your_text(live_server):
    """The office closes the chosen day while the citizen is on step 5: the booking is refused as «no longer in the
    timebook», in those words (it used to say «Fant det ikke»), and the calendar shows the day without the time."""
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        # The day is closed while the citizen looks at its times: choosing one, step 5 cannot hold it (a time already
        # held on step 5 is kept from the setup change, issue 24).
        await to_calendar(pilot, downs=2)
        await pilot.press("enter")
        await settle(pilot)
        removed = app.screen.day_slots[0]
        async with BookingClient(live_server.url, FJORD_STAFF) as desk:
            setup = await desk.office_setup("1")
            setup.closures.append(Closure(day=removed.start.date(), reason="Kurs"))
            assert (await desk.change_setup(setup)).removed > 0
        app.draft.reason = "vondt i halsen"  # typed on an earlier visit to step 5
        await pilot.press("enter")
        await settle(pilot, rounds=5)
        assert isinstance(app.screen, CalendarScreen)
        notes = [str(n.message) for n in app._notifications]
        assert any("Kontoret har endret timeboken, og tidspunktet du valgte, er tatt bort" in n for n in notes), notes
        assert not any("Fant det ikke" in n for n in notes)
        assert removed.start.date() not in app.screen.calendar.free_dates  # the whole day was closed
        assert not app.screen.query_one("#times").display and app.screen.day_slots == []
        assert app.focused is app.screen.calendar  # the arrows move the date again (the keys went nowhere)
        before = app.screen.calendar.cursor
        await pilot.press("right")
        assert app.screen.calendar.cursor != before
        assert app.draft.reason == "vondt i halsen"


async def test_a_stopped_backend_is_explained_and_nothing_typed_is_lost(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "influensavaksine")
        live_server.stop()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert app.screen.query_one("#reason").value == "influensavaksine"
        # The step says what happened and what to do, until the next try; no toast on top of it says it again.
        line = app.screen.query_one("#send-status")
        assert line.display and line.has_class("error")
        said = str(line.render())
        assert "Får ikke kontakt med bookingtjenesten" in said and "Ctrl+R" in said
        # Nothing could be sent to a backend that refuses the connection: nobody need wonder whether it arrived.
        assert "ikke sendt" in said and "vi vet ikke" not in said
        assert not [n for n in app._notifications if n.severity == "error"]


async def _book_lab_on_2_december(live_server):
    """Kari books the first Lab time on 2 December through the client; returns the timebook and the slot."""
    async with BookingClient(live_server.url, KARI) as kari:
        me = await kari.whoami()
        lab = next(t for t in await kari.time_types(me.office.id) if t.code == "Lab")
        (book,) = await kari.timebooks(lab.id)
        slot = (await kari.free_slots(book.id, date(2026, 12, 2)))[0]
        await kari.request_booking(slot, me.patient.id)
    return book, slot


async def test_cancel_in_timeavtaler_asks_first_then_frees_the_time(live_server):
    book, slot = await _book_lab_on_2_december(live_server)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentsScreen)
        await pilot.press("a")
        await settle(pilot)
        assert "Vil du avbestille timen onsdag 2. desember 2026 kl. 08:00?" in screen_text(app)
        await pilot.press("escape")  # «Nei» is the default: nothing happens
        await settle(pilot)
        assert "Venter på svar fra legekontoret" in screen_text(app)
        await pilot.press("a", "j")
        await settle(pilot)
        assert "Avbestilt" in screen_text(app)
    async with BookingClient(live_server.url, KARI) as kari:
        assert slot.id in {s.id for s in await kari.free_slots(book.id, date(2026, 12, 2))}
        assert (await kari.appointments())[-1].state is AppointmentState.CANCELLED


async def test_the_first_screen_paints_before_the_backend_answers(live_server):
    release = threading.Event()
    app = TimebokApp(Connection(live_server.url, KARI, wait_until_ready=lambda: release.wait(10)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)
        assert "Kobler til bookingtjenesten" in screen_text(app)
        await pilot.pause(0.1)
        waiting = {k.key: k.enabled for k in footer_keys(app)}
        assert not (waiting["b"] or waiting["i"] or waiting["t"]) and waiting["f1"]  # greyed out, as the buttons are
        release.set()
        await settle(pilot)
        assert "Hei, Kari Nordmann. Fastlegekontoret ditt er Fjordsiden legekontor." in screen_text(app)
        assert all(k.enabled for k in footer_keys(app))


async def test_help_and_the_command_palette_offer_the_main_actions(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        text = screen_text(app)
        assert "Bestill time" in text and "Innboks" in text and "Timeavtaler" in text
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Bestill time", "Innboks", "Timeavtaler"} <= set(titles)


async def test_switching_language_rebuilds_the_screens_and_is_remembered(live_server):
    saved = []
    app = TimebokApp(Connection(live_server.url, KARI), on_language_change=saved.append)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.action_switch_language()
            await settle(pilot)
            assert isinstance(app.screen, StartScreen)
            assert "Hello, Kari Nordmann. Your GP office is Fjordsiden legekontor." in screen_text(app)
            assert saved == ["en"]
            await book_for_self(pilot)
            assert "Step 2 of 8" in screen_text(app) and "Laboratory at Fjordsiden legekontor" in screen_text(app)
    finally:
        from timebok.ui import i18n

        i18n.set_language("nb")


async def test_a_language_switch_keeps_what_is_highlighted_so_enter_picks_the_same(live_server):
    """Highlighted but not yet chosen: the second place, the third time of the day, the fourth appointment. After a
    switch each is still highlighted (it went back to the first, so Enter chose another place or time)."""
    from timebok.ui import i18n

    app = TimebokApp(Connection(live_server.url, KARI))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await to_calendar(pilot, downs=0)  # Koronatest: two places
            assert isinstance(app.screen, PlaceScreen)
            await pilot.press("down")
            app.action_switch_language()
            await settle(pilot)
            assert isinstance(app.screen, PlaceScreen) and app.screen.query_one("#places").highlighted == 1
            await pilot.press("enter")
            await settle(pilot)
            assert app.draft.timebook.place.name == "Drive-in teststasjon"

            await pilot.press("escape", "escape", "escape")  # home, then Lab's calendar: its first free day's times
            await to_calendar(pilot, downs=2)
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("down", "down")
            times = app.screen.query_one("#times")
            assert app.focused is times and times.highlighted == 2
            third = app.screen.day_slots[2]
            app.action_switch_language()
            await settle(pilot)
            times = app.screen.query_one("#times")
            assert isinstance(app.screen, CalendarScreen) and times.highlighted == 2 and app.focused is times
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ReviewScreen) and app.draft.slot.id == third.id
    finally:
        i18n.set_language("nb")


async def test_keys_rebound_in_the_config_work_by_binding_id(live_server):
    from timebok.screens.help import HelpScreen

    app = TimebokApp(Connection(live_server.url, KARI), keymap={"app.help": "f2", "start.book": "ctrl+b"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        await pilot.press("enter")  # step 1 «Bestill for»: «Meg selv»
        await settle(pilot)
        assert isinstance(app.screen, TimeTypeScreen)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_send_pressed_again_while_the_backend_is_slow_books_once_and_says_it_is_sending(live_server, db_path):
    """A slow backend (another writer holds the database): «Send bestilling» says it is on its way, and an impatient
    second Ctrl+S neither starts a second booking nor throws away the first, which would come back «tatt»."""
    from tests.sqlite_lock import hold_write_lock

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "influensavaksine")
        chosen = app.draft.slot
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Sender bestillingen" in screen_text(app))
        assert "Sender bestillingen" in screen_text(app)
        await pilot.press("ctrl+s", "escape")  # impatient, then giving up: neither is done while the answer is awaited
        await pilot.pause(0.3)
        assert isinstance(app.screen, ReviewScreen)
        shown = {k.key: k.enabled for k in footer_keys(app)}
        assert shown["ctrl+s"] is False and shown["escape"] is False  # greyed out in the footer; the line says why
        await pilot.press("ctrl+p")  # the palette's «Innboks» or language switch would leave or rebuild the step
        await pilot.pause(0.2)
        assert isinstance(app.screen, ReviewScreen) and shown["ctrl+p"] is False
        release.set()
        holder.join(5)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmationScreen))
        assert isinstance(app.screen, ConfirmationScreen), screen_text(app)
        async with BookingClient(live_server.url, KARI) as kari:
            booked = [a for a in await kari.appointments() if a.start == chosen.start]
        assert len(booked) == 1 and booked[0].reason == "influensavaksine"


async def test_quit_while_a_booking_is_on_its_way_warns_first_and_quits_on_the_second_press(live_server, db_path):
    """Ctrl+Q while «Send bestilling» awaits its answer: the first press says the user would not learn whether the booking
    went through and stays; the booking then lands and is confirmed. A second press (a hung backend) quits anyway."""
    from tests.sqlite_lock import hold_write_lock

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "influensavaksine")
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Sender bestillingen" in screen_text(app))
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: any("Trykk ^q en gang til" in str(n.message) for n in app._notifications))
        assert isinstance(app.screen, ReviewScreen) and app.is_running
        notes = [str(n.message) for n in app._notifications]
        assert any("Trykk ^q en gang til for å avslutte likevel" in n for n in notes), notes
        release.set()
        holder.join(5)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmationScreen))
        assert isinstance(app.screen, ConfirmationScreen), screen_text(app)
        await pilot.press("ctrl+q")  # nothing under way any more: one press quits
        await wait_for(pilot, lambda: not app.is_running)
        assert not app.is_running

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "kontroll")
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Sender bestillingen" in screen_text(app))
        await pilot.press("ctrl+q", "ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)
        assert not app.is_running
        release.set()
        holder.join(5)


async def test_a_cancel_that_got_no_answer_says_so_and_ctrl_r_finishes_it(live_server, db_path):
    """The backend answers too late: the screen says it does not know whether the time was cancelled, and Ctrl+R (as
    the message says) finishes the job: «Avbestilt», not «allerede avbestilt» about the user's own first try."""
    from tests.sqlite_lock import hold_write_lock

    await _book_lab_on_2_december(live_server)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        with short_timeout(app):
            await pilot.press("a", "j")
            await wait_for(pilot, lambda: app.screen.query_one("#cancel-note").display)
            note = " ".join(str(app.screen.query_one("#cancel-note").render()).split())
            assert "vi vet ikke om timen" in note and "Trykk Ctrl+R" in note, note
            release.set()
            holder.join(5)
        await pilot.pause(1.0)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "Avbestilt" in screen_text(app) and not app.screen.writing)
        await settle(pilot)
        assert "Avbestilt" in screen_text(app) and not app.screen.query_one("#cancel-note").display
        notes = [str(n.message) for n in app._notifications]
        assert not [n for n in notes if "allerede" in n or "endret" in n], notes
    async with BookingClient(live_server.url, KARI) as kari:
        assert [a.state for a in await kari.appointments() if a.start.date() == date(2026, 12, 2)] == [AppointmentState.CANCELLED]


async def test_a_cancel_on_a_slow_backend_says_it_is_under_way_and_is_waited_for(live_server, db_path):
    """«Avbestill» while another writer holds the database: the screen says the time is being cancelled, and A or Esc
    meanwhile do nothing. A second A used to cancel the first request under way and send another, which came back
    «Timen er allerede avbestilt» for the user's own cancel; Esc left without its answer."""
    from tests.sqlite_lock import hold_write_lock

    await _book_lab_on_2_december(live_server)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        await pilot.press("a", "j")
        await wait_for(pilot, lambda: "Avbestiller timen" in screen_text(app))
        assert "Avbestiller timen" in screen_text(app)
        await pilot.press("a")
        await pilot.pause(0.2)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert isinstance(app.screen, AppointmentsScreen)  # no second question, and still here
        release.set()
        holder.join(5)
        await wait_for(pilot, lambda: "Avbestilt" in screen_text(app))
        await settle(pilot)
        text = screen_text(app)
        assert "Avbestilt" in text and "Avbestiller timen" not in text
        notes = [str(n.message) for n in app._notifications]
        assert not [n for n in notes if "allerede avbestilt" in n], notes
