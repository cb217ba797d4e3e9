"""The citizen's guide as a new user meets it (issue 12): each test is one defect a citizen ran into."""

from __future__ import annotations

from textual.command import CommandPalette

from tests.conftest import KARI, SUPPORT
from tests.tui_helpers import book_for_self, footer_keys, make_app, screen_text, settle, to_calendar, to_review, until, wait_for
from timebok.screens.for_whom import ForWhomScreen
from timebok.screens.time_type import TimeTypeScreen

SIZE = (100, 32)


def _back_to_norwegian() -> None:
    from timebok.ui import i18n

    i18n.set_language("nb")


async def _palette_command(pilot, search: str) -> None:
    await pilot.press("ctrl+p")
    await settle(pilot)
    assert CommandPalette.is_open(pilot.app), "the command palette did not open"
    await pilot.press(*search)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def _footer_words(app) -> set[str]:
    return {key.description for key in footer_keys(app)}


async def _help_text(pilot) -> str:
    """What F1 shows on the current screen; the help is closed again after."""
    await pilot.press("f1")
    await settle(pilot)
    text = screen_text(pilot.app)
    await pilot.press("escape")
    await settle(pilot)
    return text


async def test_the_palette_survives_two_language_switches_and_the_user_stays_on_the_step(live_server):
    app = make_app(live_server, KARI)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await book_for_self(pilot)
            await pilot.press("down", "down")  # Lab highlighted, not chosen
            await _palette_command(pilot, "språk")  # the Norwegian word finds the switch
            assert isinstance(app.screen, TimeTypeScreen)
            assert "Step 2 of 8" in screen_text(app)
            assert app.screen.query_one("#types").highlighted == 2
            # The keys are described in English too, in the footer and in F1's list.
            assert {"Back", "Continue", "Help", "Quit", "Commands"} <= _footer_words(app)
            assert "Continue" in await _help_text(pilot) and "Gå videre" not in screen_text(app)
            await _palette_command(pilot, "norsk")  # the palette still opens, in English now
            assert isinstance(app.screen, TimeTypeScreen) and "Steg 2 av 8" in screen_text(app)
            assert app.screen.query_one("#types").highlighted == 2
            assert {"Tilbake", "Gå videre", "Hjelp", "Avslutt", "Kommandoer"} <= _footer_words(app)
            assert "Gå videre" in await _help_text(pilot)
            await pilot.press("ctrl+p")
            await settle(pilot)
            assert CommandPalette.is_open(app)
    finally:
        _back_to_norwegian()


async def test_the_palette_and_the_quit_prompt_speak_norwegian(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Fargetema", "Avslutt", "Skjermbilde"} <= titles
        assert not titles & {"Theme", "Quit", "Screenshot", "Keys"}
        await pilot.press("ctrl+p")
        await settle(pilot)
        from textual.command import CommandInput

        assert app.screen.query_one(CommandInput).placeholder == "Søk etter kommandoer …"
        from textual.command import CommandList

        await pilot.press(*"xyzzy")
        options = app.screen.query_one(CommandList)
        await wait_for(pilot, lambda: options.option_count and "Ingen treff" in str(options.get_option_at_index(0).prompt))
        await settle(pilot)
        assert "Ingen treff" in str(options.get_option_at_index(0).prompt)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert any("Trykk ^q for å avslutte timebok." in str(n.message) for n in app._notifications)


def _restarted(server):
    """The backend again on the same port and database, as when an operator starts it after a stop."""
    import socket

    from timebok.backend.server import EmbeddedServer

    fresh = EmbeddedServer(server.db_path, demo=True)
    fresh._socket.close()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", server.port))
    sock.listen(128)
    fresh._socket, fresh.port, fresh.url = sock, server.port, server.url
    fresh.start()
    fresh.ready.wait(30)
    return fresh


async def test_coming_back_to_the_reason_puts_the_cursor_at_the_end_with_nothing_selected(live_server):
    from timebok.screens.review import ReviewScreen

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "blodprøve")
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("enter")  # the same time again
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press(*" i dag")
        assert app.screen.query_one("#reason").value == "blodprøve i dag"


async def test_ctrl_r_after_a_failed_send_sends_again(live_server):
    from timebok.screens.confirmation import ConfirmationScreen
    from timebok.screens.review import ReviewScreen

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "influensa")
        live_server.stop()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        line = str(app.screen.query_one("#send-status").render())  # the step's own line says it (no toast on top)
        assert "Det du skrev er tatt vare på. Trykk Ctrl+R for å prøve igjen." in line
        again = _restarted(live_server)
        try:
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmationScreen)
        finally:
            again.stop()


async def test_screens_that_fail_to_load_say_so_inline_and_how_to_retry(live_server):
    from timebok.screens.appointments import AppointmentsScreen
    from timebok.screens.inbox import InboxScreen

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        live_server.stop()
        app.clear_notifications()  # as when the toast has faded
        for key_, screen in (("t", AppointmentsScreen), ("i", InboxScreen), ("b", TimeTypeScreen)):
            if key_ == "b":
                await book_for_self(pilot)  # step 1 «Meg selv» needs no backend; step 2 says it cannot reach it
            else:
                await pilot.press(key_)
                await settle(pilot)
            app.clear_notifications()
            assert isinstance(app.screen, screen)
            text = screen_text(app)
            assert "Får ikke kontakt med bookingtjenesten" in text and "Trykk Ctrl+R for å prøve igjen." in text, key_
            assert "tatt vare på" not in text  # nothing was typed here
            assert "Kommende timer" not in text  # no empty headings that read as «no appointments»
            await pilot.press("escape")
            await settle(pilot)
            if isinstance(app.screen, ForWhomScreen):
                await pilot.press("escape")
                await settle(pilot)
        again = _restarted(live_server)
        try:
            await pilot.press("t")
            await settle(pilot)
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert "Kommende timer" in screen_text(app) and "Får ikke kontakt" not in screen_text(app)
        finally:
            again.stop()


async def test_n_jumps_to_the_next_free_date_after_the_cursor_across_months(live_server):
    from datetime import date

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=2)  # Lab: free times all month
        calendar = app.screen.calendar
        start = calendar.cursor
        await pilot.press("n")
        await settle(pilot)
        assert calendar.cursor > start and calendar.cursor in app.screen.availability.dates
        assert app.draft.day == calendar.cursor
        calendar.cursor = date(2026, 11, 30)  # the last day of the month
        await pilot.press("n")
        await settle(pilot)
        assert calendar.month == date(2026, 12, 1) and calendar.cursor >= date(2026, 12, 1)
        assert "Ledige tidspunkt" in screen_text(app) and "desember 2026" in screen_text(app)
        # As after Enter on a date, the times have the keys: one Enter picks the first (it used to re-pick the date).
        assert app.focused is app.screen.query_one("#times")
        first = app.screen.day_slots[0]
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "ReviewScreen" and app.draft.slot.id == first.id


async def test_month_keys_change_the_month_even_from_the_list_of_times(live_server):
    from datetime import date

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=2)
        await pilot.press("enter")  # a date: focus goes to its times
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#times")
        highlighted = app.screen.query_one("#times").highlighted
        await pilot.press("pagedown")
        await settle(pilot)
        assert app.screen.calendar.month == date(2026, 12, 1)
        await pilot.press("pageup")
        await settle(pilot)
        assert app.screen.calendar.month == date(2026, 11, 1)
        assert app.draft.slot is None or app.screen.query_one("#times").highlighted == highlighted


async def test_the_calendar_names_the_type_and_the_place_being_booked(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_calendar(pilot, downs=2)
        place = app.draft.timebook.place
        line = str(app.screen.query_one("#what-where").render())
        assert line == f"Laboratoriet · {place.name}, {place.full_address}"
        await pilot.press("enter")  # a date: its times and the place beside them still fit, and nothing scrolls
        await settle(pilot)
        assert app.screen.query_one("#body").max_scroll_y == 0


async def test_a_language_switch_with_no_date_chosen_keeps_the_calendars_cursor(live_server):
    from datetime import timedelta

    app = make_app(live_server, KARI)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await to_calendar(pilot, downs=2)
            first = app.screen.calendar.cursor
            await pilot.press("right", "right")  # no date chosen: only the cursor has moved, within the month
            await settle(pilot)
            cursor = app.screen.calendar.cursor
            assert app.draft.day is None and cursor == first + timedelta(days=2) and cursor.month == first.month
            for command in ("språk", "norsk"):
                await _palette_command(pilot, command)
                await settle(pilot)
                assert app.screen.calendar.cursor == cursor, command
                assert app.focused is app.screen.calendar
    finally:
        _back_to_norwegian()


async def test_pgdn_opens_the_month_on_its_first_free_date_as_the_readme_says(live_server):
    """README step 4: the month opens on the same day if it has free times, else on its first free date; with a date
    chosen in the month before, PgDn left the cursor on a day with nothing free."""
    from datetime import date

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=2)  # Lab: 25.11 is free, and 25.12 (Christmas Day) is not
        await pilot.press("enter", "escape")  # 25.11 chosen, back to the dates
        await settle(pilot)
        assert app.draft.day == date(2026, 11, 25)
        await pilot.press("pagedown")
        await settle(pilot)
        free = app.screen.availability.dates
        assert date(2026, 12, 25) not in free and app.screen.calendar.cursor == min(free)
        await pilot.press("pageup")  # back to the month of the chosen date: on it, not on the 1st
        await settle(pilot)
        assert app.screen.calendar.cursor == date(2026, 11, 25)


async def test_ctrl_r_after_going_on_failed_on_step_2_goes_on(live_server):
    """«Gå videre» on step 2 meets a stopped backend; once it is back, Ctrl+R (as the message says) goes on to the
    calendar (it fetched the types again and stayed)."""
    from timebok.screens.calendar import CalendarScreen

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await book_for_self(pilot)
        await pilot.press("down", "down")  # Lab
        live_server.stop()
        await pilot.press("enter")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, TimeTypeScreen) and "Trykk Ctrl+R for å prøve igjen." in screen_text(app)
        again = _restarted(live_server)
        try:
            await pilot.press("ctrl+r")
            await settle(pilot, rounds=10)
            assert isinstance(app.screen, CalendarScreen) and app.draft.time_type.code == "Lab"
        finally:
            again.stop()


async def _take_time(server, token: str, slot) -> str:
    """Another patient books `slot` through the API; its id."""
    from timebok.client.api import BookingClient

    async with BookingClient(server.url, token) as other:
        await other.request_booking(slot, (await other.whoami()).patient.id)
        return slot.id


async def test_an_open_calendar_stops_offering_a_time_another_patient_took(live_server, monkeypatch):
    """While the calendar is open, Ola takes the time Kari has highlighted: the next poll no longer offers it, and the
    cursor, the chosen date and the list's focus stay (it was offered until the month was changed)."""
    from tests.conftest import OLA
    from timebok.screens.calendar import CalendarScreen

    monkeypatch.setattr(CalendarScreen, "POLL_SECONDS", 0.3)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=2)  # Lab, Fjordsiden: Ola is listed there too
        await pilot.press("enter")  # the first free date: its times take the keys
        await settle(pilot)
        day, times = app.draft.day, app.screen.query_one("#times")
        taken = await _take_time(live_server, OLA, app.screen.day_slots[times.highlighted])  # the time Kari has highlighted
        await pilot.pause(1.0)
        await settle(pilot)
        assert taken not in {slot.id for slot in app.screen.day_slots}
        assert taken not in {times.get_option_at_index(i).id for i in range(times.option_count)}
        assert (app.draft.day, app.screen.calendar.cursor, app.focused) == (day, day, times)


async def test_an_open_calendar_stops_offering_a_day_the_office_closed(live_server, monkeypatch):
    """The office closes the day Kari is looking at: the poll takes its times away, says so, and keeps the cursor."""
    import copy

    from tests.conftest import FJORD_STAFF
    from timebok.client.api import BookingClient
    from timebok.client.models import Closure
    from timebok.screens.calendar import CalendarScreen

    monkeypatch.setattr(CalendarScreen, "POLL_SECONDS", 0.3)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=2)
        await pilot.press("enter")
        await settle(pilot)
        day = app.draft.day
        async with BookingClient(live_server.url, FJORD_STAFF) as office:
            setup = await office.office_setup("1")
            closed = copy.deepcopy(setup)
            closed.closures.append(Closure(day=day, reason="Stengt"))
            await office.change_setup(closed)
        await pilot.pause(1.0)
        await settle(pilot)
        assert day not in app.screen.availability.dates and app.screen.day_slots == []
        assert not app.screen.query_one("#times").display
        assert app.screen.calendar.cursor == day
        assert any("ingen ledige timer igjen" in str(n.message) for n in app._notifications)


async def test_a_day_opened_again_shows_its_times_as_they_are_now(live_server):
    """No poll needed: Enter on a date, Esc, another patient takes a time, Enter on the date again → it is gone."""
    from tests.conftest import OLA

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=2)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")  # back to the dates
        await settle(pilot)
        taken = await _take_time(live_server, OLA, app.screen.day_slots[0])
        await pilot.press("enter")  # the same date again
        await settle(pilot)
        assert taken not in {slot.id for slot in app.screen.day_slots}
        assert app.screen.day_slots and app.focused is app.screen.query_one("#times")


async def test_a_time_that_passed_on_review_goes_back_to_fresh_times_in_norwegian(live_server):
    from datetime import timedelta

    from timebok.domain import clock
    from timebok.screens.calendar import CalendarScreen

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "kontroll")
        chosen = app.draft.slot
        clock.set_now((chosen.start + timedelta(minutes=1)).isoformat())
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen)
        messages = " ".join(str(n.message) for n in app._notifications)
        assert "Tidspunktet du valgte, har allerede vært" in messages
        assert "Slot/" not in messages and "past" not in messages
        assert chosen.id not in {s.id for s in app.screen.day_slots}
        assert app.draft.reason == "kontroll"


async def test_the_calendar_does_not_offer_times_inside_the_lead_time(live_server):
    from datetime import date, datetime

    from timebok.domain.clock import OSLO

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=2)
        today_times = app.screen.availability.on(date(2026, 11, 25))
        assert today_times, "the seed has Lab times later today"
        assert min(s.start for s in today_times) >= datetime(2026, 11, 25, 11, 0, tzinfo=OSLO)


async def test_opened_messages_stay_read_after_a_restart(live_server, tmp_path):
    from timebok.tui.settings import Settings
    from timebok.tui.state import read_seen, save_seen

    settings = Settings(state_path=tmp_path / "state.toml")
    options = dict(load_seen=lambda k: read_seen(settings, k), save_seen=lambda k, ids: save_seen(settings, k, ids))
    app = make_app(live_server, KARI, **options)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        before = screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
    again = make_app(live_server, KARI, **options)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        after = screen_text(again)
    assert "2 meldinger, 2 uleste" in before
    assert "2 meldinger, 1 ulest" in after
    # A support agent acting as Kari opens her other message: the agent's marks are the agent's, Kari's stay hers.
    agent = make_app(live_server, KARI, agent_token=SUPPORT, **options)
    async with agent.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert "2 meldinger, 2 uleste" in screen_text(agent)
        await pilot.press("down", "enter")
        await settle(pilot)
    kari = make_app(live_server, KARI, **options)
    async with kari.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert "2 meldinger, 1 ulest" in screen_text(kari)


async def test_the_start_screen_names_only_the_types_the_office_offers(live_server):
    from tests.conftest import PER

    app = make_app(live_server, PER)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Bestill time til laboratoriet eller vaksine hos legekontoret ditt." in text
        assert "korona" not in text


async def test_wrapped_lines_in_the_inbox_keep_their_indent(live_server):
    from timebok.screens.expandable import ExpandableItem

    app = make_app(live_server, KARI)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        item = app.screen.query(ExpandableItem).first()
        summary, more = item.query_one(".summary"), item.query_one(".more")
        assert more.region.height >= 2, "the appointment line wraps at 80 columns"
        assert more.content_region.x == summary.content_region.x + 2  # every wrapped line sits under the heading's text


async def test_the_reason_keeps_pasted_lines_and_says_when_the_limit_cuts(live_server):
    from textual import events

    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot)
        reason = app.screen.query_one("#reason")
        reason.post_message(events.Paste("vondt i halsen\nog feber\n"))
        await settle(pilot)
        assert reason.value == "vondt i halsen og feber"
        reason.post_message(events.Paste("x" * 1000))
        await settle(pilot)
        assert len(reason.value) == 1000
        assert "Grensen er 1000 tegn: 23 tegn kom ikke med." in screen_text(app)


async def test_arrows_move_between_the_buttons_of_the_cancel_dialog(live_server):
    from datetime import date

    from timebok.client.api import BookingClient

    async with BookingClient(live_server.url, KARI) as kari:
        me = await kari.whoami()
        lab = next(t for t in await kari.time_types(me.office.id) if t.code == "Lab")
        (book,) = await kari.timebooks(lab.id)
        await kari.request_booking((await kari.free_slots(book.id, date(2026, 12, 2)))[0], me.patient.id)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert app.screen.focused.id == "no"
        await pilot.press("left")
        assert app.screen.focused.id == "yes"
        await pilot.press("right")
        assert app.screen.focused.id == "no"
        await pilot.press("right")  # the right end: it stays on «Nei», never wraps round to «Ja, avbestill»
        assert app.screen.focused.id == "no"
        await pilot.press("left", "left")
        assert app.screen.focused.id == "yes"


async def test_the_legend_explains_the_cursor_and_the_urgent_note_stands_beside_the_calendar(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=2)  # a month with free times
        text = screen_text(app)
        assert "markøren" in text and "Kontakt legekontoret hvis det haster.\nTelefon: 55 12 34 00" in text


async def test_the_inbox_and_timeavtaler_pick_up_the_offices_answer_by_themselves(live_server):
    from datetime import date

    from tests.conftest import FJORD_STAFF
    from timebok.client.api import BookingClient
    from timebok.screens.appointments import AppointmentsScreen
    from timebok.screens.inbox import InboxScreen

    async with BookingClient(live_server.url, KARI) as kari:
        me = await kari.whoami()
        lab = next(t for t in await kari.time_types(me.office.id) if t.code == "Lab")
        (book,) = await kari.timebooks(lab.id)
        booked = await kari.request_booking((await kari.free_slots(book.id, date(2026, 12, 2)))[0], me.patient.id)
    # Short, but longer than an answer takes on a loaded machine: a refresh restarts the one under way, and settle()
    # waits for a moment with no fetch under way.
    InboxScreen.REFRESH_SECONDS = AppointmentsScreen.REFRESH_SECONDS = 1.0
    try:
        app = make_app(live_server, KARI)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("t")
            await settle(pilot)
            assert "Venter på svar fra legekontoret" in screen_text(app)
            async with BookingClient(live_server.url, FJORD_STAFF) as office:
                await office.confirm(booked.id)
            await wait_for(pilot, lambda: "Venter på svar" not in screen_text(app))  # no key pressed: it refreshes itself
            await settle(pilot)
            assert "Bekreftet" in screen_text(app) and "Venter på svar" not in screen_text(app)
            await pilot.press("escape", "i")
            await settle(pilot)
            assert "Timen er bekreftet" in screen_text(app)
    finally:
        InboxScreen.REFRESH_SECONDS = AppointmentsScreen.REFRESH_SECONDS = 15.0


async def test_an_open_inbox_on_a_stopped_backend_says_since_when_it_is_not_current(live_server):
    from timebok.screens.inbox import InboxScreen

    InboxScreen.REFRESH_SECONDS = 0.3
    try:
        app = make_app(live_server, KARI)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("i")
            await settle(pilot)
            assert "Ikke oppdatert" not in screen_text(app)
            live_server.stop()
            await until(pilot, lambda: "Ikke oppdatert" in screen_text(app), seconds=8)
            text = screen_text(app)
            assert "Ikke oppdatert siden kl. 09:00 – bookingtjenesten svarer ikke" in text
            assert "meldinger" in text and "Timen er bekreftet" in text  # what was fetched is still shown
    finally:
        InboxScreen.REFRESH_SECONDS = 15.0


async def test_a_booking_inside_the_lead_time_is_its_own_error_kind(live_server):
    from datetime import date

    import pytest

    from timebok.client.api import BookingClient
    from timebok.client.errors import BookingError, ErrorKind

    async with BookingClient(live_server.url, KARI) as kari:
        me = await kari.whoami()
        lab = next(t for t in await kari.time_types(me.office.id) if t.code == "Lab")
        (book,) = await kari.timebooks(lab.id)
        assert book.lead_minutes == 120
        soon = (await kari.free_slots(book.id, date(2026, 11, 25)))[0]
        with pytest.raises(BookingError) as raised:
            await kari.request_booking(soon, me.patient.id)
        assert raised.value.kind is ErrorKind.TOO_SOON


async def test_at_80_columns_every_footer_key_fits_and_help_and_quit_are_there(live_server):
    app = make_app(live_server, KARI)
    seen = []
    async with app.run_test(size=(80, 24)) as pilot:

        async def check(where: str) -> None:
            await settle(pilot)
            keys = footer_keys(app)
            assert keys, where
            assert all(k.right <= 80 and k.width > 0 for k in keys), where
            actions = {k.action for k in keys}
            assert {"help", "quit", "command_palette"} <= actions, (where, actions)
            seen.append(where)

        await check("start")
        await book_for_self(pilot)
        await check("types")
        await pilot.press("down", "down", "enter")
        await check("calendar")
        await pilot.press("enter", "enter")
        await check("review")
        await pilot.press("escape", "escape", "escape", "escape")
        await settle(pilot)
        await pilot.press("i")
        await check("inbox")
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("t")
        await check("appointments")
    assert len(seen) == 6


def test_texts_with_counts_have_real_plural_forms_in_both_languages():
    from timebok.ui import i18n
    from timebok.ui.i18n import t, tn

    try:
        for language, one, many in (
            ("nb", "1 melding, 1 ulest", "2 meldinger, 2 uleste"),
            ("en", "1 message, 1 unread", "2 messages, 2 unread"),
        ):
            i18n.set_language(language)
            assert t("inbox.count", messages=tn("inbox.messages", 1), unread=tn("inbox.unread", 1)).startswith(one)
            assert t("inbox.count", messages=tn("inbox.messages", 2), unread=tn("inbox.unread", 2)).startswith(many)
        i18n.set_language("nb")
        assert tn("staff.waiting", 1) == "1 forespørsel venter på svar."
        assert tn("staff.waiting", 3) == "3 forespørsler venter på svar."
        assert tn("trace.count", 1).startswith("1 forespørsel.")
    finally:
        i18n.set_language("nb")


async def test_switching_language_on_review_keeps_the_step_the_text_and_the_way_back_to_the_calendar(live_server):
    from datetime import timedelta

    from tests.conftest import OLA
    from timebok.client.api import BookingClient
    from timebok.domain import clock
    from timebok.screens.calendar import CalendarScreen
    from timebok.screens.review import ReviewScreen

    app = make_app(live_server, KARI)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await to_review(pilot, "blodprøve")
            await wait_for(pilot, lambda: app.draft.hold is not None)
            hold = app.draft.hold
            app.action_switch_language()
            await settle(pilot)
            assert isinstance(app.screen, ReviewScreen) and "Step 5 of 8" in screen_text(app)
            assert app.draft.hold is hold and f"The time is held for you until {hold.hold_expires:%H:%M}." in screen_text(app)
            await pilot.press(*" today")
            assert app.screen.query_one("#reason").value == "blodprøve today"
            # Someone else takes the time once the hold ran out: the review (built again) still sends the user back
            # to the calendar below it (built again too, in English), which shows fresh times.
            taken = app.draft.slot
            clock.set_now((hold.hold_expires + timedelta(seconds=1)).isoformat())
            async with BookingClient(live_server.url, OLA) as ola:
                await ola.request_booking(taken, (await ola.whoami()).patient.id)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, CalendarScreen) and "Step 4 of 8" in screen_text(app)
            assert any("The hold ended and someone else took the time" in str(n.message) for n in app._notifications)
            assert taken.id not in {s.id for s in app.screen.day_slots}
            assert app.draft.slot is None and app.draft.reason == "blodprøve today"
            await pilot.press("escape", "escape")  # from the list of times to the calendar, then a step back
            await settle(pilot)
            assert "Step 2 of 8" in screen_text(app)
    finally:
        _back_to_norwegian()


def test_every_error_kind_has_plain_words_in_both_languages_and_no_server_text():
    from timebok.client.errors import BookingError, ErrorKind
    from timebok.ui import i18n
    from timebok.ui.problems import full_text

    try:
        for language in ("nb", "en"):
            i18n.set_language(language)
            for kind in ErrorKind:
                text = full_text(BookingError(kind, "Slot/7 starts in the past and cannot be booked"), typed=True)
                assert text and "Slot/7" not in text and f"error.{kind.value}" not in text
    finally:
        i18n.set_language("nb")


async def test_a_click_on_a_footer_key_does_what_pressing_it_does(live_server):
    from timebok.screens.inbox import InboxScreen
    from timebok.ui.widgets.footer import TimebokFooter

    app = make_app(live_server, KARI)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        keys = footer_keys(app)
        inbox = next(k for k in keys if k.key == "i")
        await pilot.click(TimebokFooter, offset=(inbox.right, 0))  # the cell between two keys does nothing
        await settle(pilot)
        assert app.screen is app.home
        await pilot.click(TimebokFooter, offset=(inbox.x + 3, 0))  # on «Innboks»
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        palette = next(k for k in footer_keys(app) if k.palette)
        await pilot.click(TimebokFooter, offset=(palette.x + 2, 0))
        await settle(pilot)
        assert CommandPalette.is_open(app)


async def test_the_steps_keep_their_styles_after_a_theme_change(live_server):
    """The steps' styles (tui/screens.tcss) are read after the first paint; a theme change reads every style again."""
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.theme = "nord"
        await settle(pilot)
        await book_for_self(pilot)
        types = app.screen.query_one("#types")
        assert types.outer_size.width == 80  # «#types { max-width: 80 }»: not the whole 96 columns of the body
        assert types.styles.max_height.value == 16  # «OptionList { max-height: 16 }»
