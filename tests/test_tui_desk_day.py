"""The front desk's whole day (issue 26), walked with Pilot on the real backend: the patient's page from the search,
«Dagens timer» on any day and timebook, the week, «Skjul navn», and printing from the screens."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
from textual.widgets import DataTable

from tests.conftest import FJORD_STAFF, KARI
from tests.test_tui_fit import problems
from tests.tui_helpers import make_app, screen_text, settle, wait_for
from timebok.client.api import BookingClient
from timebok.domain.clock import today
from timebok.screens.patient_page import CancelDialog, PatientScreen
from timebok.screens.patient_search import PatientSearchScreen
from timebok.screens.today import TodayScreen
from timebok.screens.week import WeekScreen
from timebok.ui import i18n

KARI_NUMBER = "14838512470"


def top_line(app) -> str:
    return str(app.screen.query_one("#who").render())


def table_text(app, table_id: str) -> str:
    table = app.screen.query_one(table_id, DataTable)
    return "\n".join(" | ".join(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count))


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def _book_for_kari(live_server, day: str = "2026-12-03") -> str:
    """A confirmed Lab time for Kari, made by the desk through the client: the id of the appointment."""
    async with BookingClient(live_server.url, FJORD_STAFF) as staff:
        lab = next(t for t in await staff.time_types("1") if t.code == "Lab")
        (book,) = await staff.timebooks(lab.id)
        slot = (await staff.free_slots(book.id, date.fromisoformat(day)))[0]
        made = await staff.request_booking(slot, "1", "blodprøve")
        await staff.confirm(made)
        return made.id


async def test_the_patients_page_is_one_key_from_a_typed_number_and_shows_only_that_patient(live_server):
    await _book_for_kari(live_server)
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "b", *KARI_NUMBER)
        assert isinstance(app.screen, PatientSearchScreen) and app.screen.found
        await press(pilot, "f2")  # one key after the number (≤ 3)
        assert isinstance(app.screen, PatientScreen)
        await wait_for(pilot, lambda: app.screen.upcoming, what="Kari's times")
        assert top_line(app).endswith("for Kari Nordmann")
        text = screen_text(app)
        assert "Kari Nordmann · født" in text and "148385 *****" in text and "14838512470" not in text
        assert {a.patient_id for a in app.screen.appointments} == {"1"}  # nobody else's data
        assert "03.12.26" in table_text(app, "#upcoming") and "Bekreftet" in table_text(app, "#upcoming")
        assert "Meldinger sendt" in text and "Timen er bekreftet" in text
        await press(pilot, "escape")
        assert isinstance(app.screen, PatientSearchScreen) and "Kari" not in top_line(app)


async def test_the_patients_page_shows_their_e_mail_and_mobile_and_skjul_navn_hides_them(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "b", *KARI_NUMBER, "f2")
        assert isinstance(app.screen, PatientScreen)
        contact = "Kontakt: e-post kari.nordmann@innbygger.example · mobil +47 000 00 123"
        assert contact in screen_text(app)  # where the office's e-mails and SMS go (Patient.telecom, issue 25)
        await press(pilot, "ctrl+n")  # a patient at the counter can see the screen
        text = screen_text(app)
        assert "Kontaktopplysninger: skjult (Skjul navn)" in text
        assert "innbygger.example" not in text and "000 00 123" not in text
        await press(pilot, "ctrl+n")
        assert contact in screen_text(app)


async def test_f2_does_nothing_once_the_field_names_someone_else(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "b", *KARI_NUMBER)
        assert app.screen.found
        await press(pilot, "backspace", "f2")  # the field no longer says what Kari was found for
        assert isinstance(app.screen, PatientSearchScreen) and not app.screen.found


async def test_the_desk_cancels_a_time_on_the_patients_page_with_a_reason_the_patient_reads(live_server):
    appointment_id = await _book_for_kari(live_server)
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "b", *KARI_NUMBER, "f2")
        await wait_for(pilot, lambda: app.screen.upcoming)
        index = next(i for i, a in enumerate(app.screen.upcoming) if a.id == appointment_id)
        app.screen.query_one("#upcoming", DataTable).move_cursor(row=index)
        await press(pilot, "a")
        assert isinstance(app.screen, CancelDialog)
        await press(pilot, "enter")  # no reason: not sent
        assert isinstance(app.screen, CancelDialog) and "Skriv en kort begrunnelse" in screen_text(app)
        await press(pilot, *"Legen er syk", "enter")
        await wait_for(pilot, lambda: appointment_id not in {a.id for a in app.screen.upcoming}, what="the cancel")
        assert "Avbestilt" in table_text(app, "#past")
    async with BookingClient(live_server.url, KARI) as kari:
        assert "Begrunnelse: Legen er syk" in (await kari.inbox("1"))[0].text


async def test_the_day_list_goes_to_other_days_and_timebooks_and_opens_the_patient(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        screen = app.screen
        assert isinstance(screen, TodayScreen)
        await wait_for(pilot, lambda: screen.rows)
        assert "Ola Nordmann" in table_text(app, "#day-table") and "I dag, onsdag 25. november 2026" in screen_text(app)
        assert "● Laboratoriet" in table_text(app, "#day-table")  # the type by symbol and word, never colour alone
        await press(pilot, "right")
        await wait_for(pilot, lambda: "torsdag 26. november 2026" in screen_text(app))
        assert all(r.appointment.start.date() == date(2026, 11, 26) for r in screen.rows)
        await press(pilot, "left", "left")
        await wait_for(pilot, lambda: "tirsdag 24. november 2026" in screen_text(app))
        await press(pilot, "t")
        await wait_for(pilot, lambda: "I dag, onsdag 25. november 2026" in screen_text(app) and screen.rows)
        everyone = len(screen.rows)
        await press(pilot, "v")  # the first timebook only
        assert screen.timebook is not None and f"· {screen.timebook.place.name}" in screen_text(app)
        assert all(r.type_code == screen.timebook.time_type_code for r in screen.rows) and len(screen.rows) <= everyone
        for _ in screen.timebooks:
            await press(pilot, "v")
        assert screen.timebook is None and "Alle timebøker" in screen_text(app)  # round again to all
        ola = next(i for i, r in enumerate(screen.rows) if r.patient == "Ola Nordmann")
        screen.query_one("#day-table", DataTable).move_cursor(row=ola)
        await press(pilot, "enter")
        assert isinstance(app.screen, PatientScreen) and top_line(app).endswith("for Ola Nordmann")
        await press(pilot, "escape")
        assert isinstance(app.screen, TodayScreen) and "Ola" not in top_line(app)


async def test_a_day_opened_again_shows_what_another_desk_changed_since(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "d", *["right"] * 8)  # 25 November → 3 December, each day fetched (press waits for it)
        screen = app.screen
        assert "torsdag 3. desember 2026" in screen_text(app) and "Kari Nordmann" not in table_text(app, "#day-table")
        before = len(screen.rows)
        await press(pilot, "left")
        await _book_for_kari(live_server, "2026-12-03")  # meanwhile another desk books and confirms Kari that day
        # The day comes back at once as this desk last saw it (known to the client), then as it is now.
        await press(pilot, "right")
        await wait_for(pilot, lambda: "Kari Nordmann" in table_text(app, "#day-table"), what="the other desk's booking")
        assert len(screen.rows) == before + 1 and "torsdag 3. desember 2026" in screen_text(app)


async def test_the_week_overview_counts_booked_free_and_requests_and_opens_a_day(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        await wait_for(pilot, lambda: app.screen.rows)
        booked_today = sum(1 for r in app.screen.rows if r.appointment.state.value == "confirmed")
        await press(pilot, "u")
        week = app.screen
        assert isinstance(week, WeekScreen)
        await wait_for(pilot, lambda: week.counts)
        assert "Uke 48: 23. nov.–27. nov." in screen_text(app)
        assert sum(week.counts[(b.id, today())][0] for b in week.timebooks) == booked_today
        assert any(free for (_book, day), (_b, free, _w) in week.counts.items() if day > today())
        table = week.query_one("#week-table", DataTable)
        table.move_cursor(row=0, column=5)  # Friday
        await press(pilot, "enter")
        assert isinstance(app.screen, TodayScreen)
        await wait_for(pilot, lambda: "fredag 27. november 2026" in screen_text(app))


async def test_hide_names_shows_initials_on_every_staff_screen_and_is_saved(live_server):
    saved: list[bool] = []
    app = make_app(live_server, FJORD_STAFF, on_hide_names_change=saved.append)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        await wait_for(pilot, lambda: app.screen.rows)
        await press(pilot, "ctrl+n")
        assert saved == [True]
        day = table_text(app, "#day-table")
        assert "Ola Nordmann" not in day and "O. N. (1979)" in day
        assert "029179" not in screen_text(app)  # no number either
        await press(pilot, "enter")
        assert isinstance(app.screen, PatientScreen)
        assert top_line(app).endswith("for O. N. (1979)") and "Nordmann" not in screen_text(app)
        await press(pilot, "escape", "escape", "b", *"nordmann", "enter")
        assert "Nordmann, Kari" not in screen_text(app) and "K. N." in screen_text(app)
        await press(pilot, "ctrl+n")
        assert saved == [True, False] and "Nordmann, Kari" in screen_text(app)


async def test_hide_names_is_remembered_across_restarts(live_server):
    from timebok.tui.config import load_settings
    from timebok.tui.state import read_hide_names, save_hide_names

    settings = load_settings(None)
    assert read_hide_names(settings) is False
    save_hide_names(settings, True)
    assert read_hide_names(load_settings(None)) is True
    app = make_app(live_server, FJORD_STAFF, hide_names=read_hide_names(load_settings(None)))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        await wait_for(pilot, lambda: app.screen.rows)
        assert "O. N. (1979)" in table_text(app, "#day-table")


@pytest.fixture
def downloads(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "Downloads").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr("timebok.ui.printing.printer", lambda: None)  # no printer set up here
    return home / "Downloads"


async def test_the_day_list_prints_and_exports_to_downloads_and_says_where(live_server, downloads):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        await wait_for(pilot, lambda: app.screen.rows)
        await press(pilot, "p")
        pdf = downloads / "dagsliste-2026-11-25.pdf"
        await wait_for(pilot, pdf.exists, what="the PDF")
        await wait_for(pilot, lambda: any(str(pdf) in n.message for n in app._notifications), what="the path said")
        await press(pilot, "e")
        csv_file = downloads / "dagsliste-2026-11-25.csv"
        await wait_for(pilot, csv_file.exists)
        assert "Ola Nordmann" in csv_file.read_text(encoding="utf-8-sig")
        await press(pilot, "k")  # the highlighted appointment's card
        await wait_for(pilot, lambda: list(downloads.glob("timekort-2026-11-25-*.pdf")))
        await press(pilot, "p")  # a second print never overwrites the first
        await wait_for(pilot, (downloads / "dagsliste-2026-11-25 (2).pdf").exists)
    if shutil.which("pdftotext"):
        from tests.test_desk_day import pdf_text

        assert "Ola Nordmann" in pdf_text(pdf.read_bytes())


@pytest.fixture(params=["nb", "en"])
def language(request):
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language("nb")


@pytest.mark.parametrize("size", [(80, 24), (100, 32)])
async def test_the_desks_day_screens_fit(live_server, language, size):
    await _book_for_kari(live_server)
    app = make_app(live_server, FJORD_STAFF)
    seen = []
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for keys in (("d",), ("u",), ("escape", "enter"), ("a",), ("escape", "escape", "escape", "b", *KARI_NUMBER)):
            await press(pilot, *keys)
            if isinstance(app.screen, TodayScreen | WeekScreen | PatientScreen):
                await wait_for(pilot, lambda: not any(w.is_running for w in app.workers))
            seen.append((type(app.screen).__name__, problems(app)))
        await press(pilot, "f2")
        await wait_for(pilot, lambda: app.screen.upcoming)
        seen.append((type(app.screen).__name__, problems(app)))
        await press(pilot, "escape", "escape", "d")
        await wait_for(pilot, lambda: app.screen.rows)
        app.screen.query_one("#day-table", DataTable).move_cursor(row=_ola_row(app.screen))
        await press(pilot, "c", "enter", "enter")  # «Endre time»: the review with «Fra … · Til …»
        seen.append((type(app.screen).__name__, problems(app)))
        await press(pilot, "enter")  # past the deadline: the desk says why
        seen.append((type(app.screen).__name__, problems(app)))
    assert [name for name, _ in seen] == [
        "TodayScreen",
        "WeekScreen",
        "PatientScreen",
        "CancelDialog",
        "PatientSearchScreen",
        "PatientScreen",
        "ReviewScreen",
        "OverrideDialog",
    ]
    problems_found = [(name, found) for name, found in seen if found]
    assert problems_found == [], problems_found


def test_the_day_after_is_tomorrow():  # guards the day arithmetic the tests above lean on
    assert today() + timedelta(days=1) == date(2026, 11, 26)


async def test_the_queue_sorts_by_time_or_by_sent_and_shows_when_each_was_sent(live_server):
    async with BookingClient(live_server.url, KARI) as kari:
        lab = next(t for t in await kari.time_types("1") if t.code == "Lab")
        (book,) = await kari.timebooks(lab.id)
        late = (await kari.free_slots(book.id, date(2026, 12, 10)))[0]
        early = (await kari.free_slots(book.id, date(2026, 12, 2)))[0]
        await kari.request_booking(late, "1")  # sent first, for a later time
        await kari.request_booking(early, "1")
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "f")
        queue = app.screen
        await wait_for(pilot, lambda: queue.requests and len(queue.requests) >= 2)
        table = queue.query_one("#requests", DataTable)
        assert [str(c.label) for c in table.columns.values()][-1] == "Sendt"
        by_sent = [r.created for r in queue.requests]
        assert by_sent == sorted(by_sent) and "Over svarfristen (!) først, så eldste først" in screen_text(app)
        assert [r.start for r in queue.requests] != sorted(r.start for r in queue.requests)
        await press(pilot, "s")
        assert [r.start for r in queue.requests] == sorted(r.start for r in queue.requests)
        cells = [str(table.get_row_at(i)[0]).strip() for i in range(table.row_count)]
        # «!» marks a request past the office's answer time (issue 24), in front of its time
        assert cells == [("! " if r.overdue else "") + r.start.strftime("%d.%m. %H:%M") for r in queue.requests]
        assert "Sortert etter tidspunkt" in screen_text(app)
        await press(pilot, "s")
        assert [r.created for r in queue.requests] == by_sent


async def test_parallel_seats_list_a_time_once_with_the_number_free(live_server):
    from tests.tui_helpers import to_calendar

    async with BookingClient(live_server.url, FJORD_STAFF) as staff:
        setup = await staff.office_setup("1")
        lab = next(b for b in setup.timebooks if b.type == "Lab")
        lab.parallel, lab.horizon_days = 3, 30  # within the cap of 5 000 free times
        await staff.change_setup(setup)
    app = make_app(live_server, KARI)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await to_calendar(pilot, downs=2)  # Lab
        await press(pilot, "enter")  # the first free date
        times = app.screen.query_one("#times")
        labels = [str(times.get_option_at_index(i).prompt) for i in range(times.option_count)]
        assert labels and len(labels) == len(set(labels))  # each time once
        assert any(label.endswith("(3 ledige)") for label in labels), labels
        assert len({s.start for s in app.screen.day_slots}) == len(app.screen.day_slots) == len(labels)


async def test_a_name_searched_can_be_corrected_from_the_list_of_patients_found(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "b", *"nordman", "enter")
        search = app.screen
        field = search.query_one("#patient-query")
        assert search.found and search.focused is search.query_one("#patients")
        await press(pilot, "left")  # back into the field, the name as typed
        assert search.focused is field and field.value == "nordman" and field.cursor_position == 6
        await press(pilot, "end", "n", "enter")  # corrected: «nordmann»
        assert field.value == "nordmann" and {p.family for p in search.found} == {"Nordmann"}
        await press(pilot, "down", "home")
        assert search.focused is field and field.cursor_position == 0 and field.value == "nordmann"


@pytest.mark.parametrize(
    ("lang", "words"),
    [("nb", ["Skriv ut", "Uke", "Timekort", "Skjul navn"]), ("en", ["Print", "Week", "Appointment card", "Hide names"])],
)
async def test_every_day_list_action_is_in_the_palette_in_both_languages(live_server, lang, words):
    app = make_app(live_server, FJORD_STAFF)
    try:
        i18n.set_language(lang)
        async with app.run_test(size=(100, 32)) as pilot:
            await settle(pilot)
            await press(pilot, "d")
            await wait_for(pilot, lambda: app.screen.rows)
            titles = [command.title for command in app.get_system_commands(app.screen)]
            for word in words:
                assert word in titles, (word, titles)
            run = next(c for c in app.get_system_commands(app.screen) if c.title == words[1])
            run.callback()  # the week, from the palette
            await settle(pilot)
            assert isinstance(app.screen, WeekScreen)
    finally:
        i18n.set_language("nb")


def _ola_row(screen) -> int:
    return next(i for i, r in enumerate(screen.rows) if r.patient == "Ola Nordmann")


async def test_arrived_done_and_no_show_are_marked_and_undone_from_the_day_list(live_server):
    from timebok.domain import clock

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        screen = app.screen
        await wait_for(pilot, lambda: screen.rows)
        table = screen.query_one("#day-table", DataTable)
        table.move_cursor(row=_ola_row(screen))

        def state() -> str:
            return screen.rows[_ola_row(screen)].state

        for key, word in (("m", "Møtt"), ("z", "Bekreftet"), ("f", "Ferdig"), ("z", "Bekreftet")):
            await press(pilot, key)
            await wait_for(pilot, lambda word=word: state() == word, what=f"{key} → {word}")
        await press(pilot, "m", "f")
        await wait_for(pilot, lambda: state() == "Ferdig")
        await press(pilot, "z")  # done after arrived: back to arrived, as this desk marked it
        await wait_for(pilot, lambda: state() == "Møtt")
        await press(pilot, "z")
        await wait_for(pilot, lambda: state() == "Bekreftet")
        await press(pilot, "i")  # before the time has begun: refused, in words
        await wait_for(pilot, lambda: any("først settes når timen har begynt" in n.message for n in app._notifications))
        assert state() == "Bekreftet"

        clock.set_now("2026-11-25T11:12:00+01:00")  # 12 minutes past Ola's 11:00, not arrived
        await press(pilot, "r")
        await wait_for(pilot, lambda: screen.rows[_ola_row(screen)].late)
        assert "⏰ Sen" in table_text(app, "#day-table")
        await press(pilot, "i")
        await wait_for(pilot, lambda: state() == "Ikke møtt")
        assert not screen.rows[_ola_row(screen)].late
        await press(pilot, "enter")  # the patient's page counts the no-show
        await wait_for(pilot, lambda: isinstance(app.screen, PatientScreen) and app.screen.appointments)
        assert "Ikke møtt: 1 gang" in screen_text(app)


async def test_the_desk_moves_a_time_from_the_day_list_in_at_most_six_keys(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        screen = app.screen
        await wait_for(pilot, lambda: screen.rows)
        screen.query_one("#day-table", DataTable).move_cursor(row=_ola_row(screen))
        old = screen.rows[_ola_row(screen)].appointment
        keys = ["c", "enter", "enter"]  # «Endre time», the first free date, its first time
        await press(pilot, *keys)
        assert "Fra: ons. 25. nov. 11:00 · Til:" in screen_text(app)
        await press(pilot, "enter")  # «Send bestilling»: past the 24-hour deadline, so the desk says why
        keys.append("enter")
        assert "Fristen har gått ut" in screen_text(app)
        await press(pilot, "enter")  # «Pasienten er syk»
        keys.append("enter")
        assert len(keys) <= 6
        await wait_for(pilot, lambda: isinstance(app.screen, TodayScreen), what="back in «Dagens timer»")
    async with BookingClient(live_server.url, FJORD_STAFF) as staff:
        moved = await staff.appointment(old.id)
        mine = [a for a in await staff.appointments("2") if a.replaces_id == old.id]
    assert moved.state.value == "moved" and len(mine) == 1 and mine[0].state.value == "confirmed"
    assert mine[0].start != old.start


async def test_cancelling_past_the_deadline_asks_the_desk_why_and_escape_sends_nothing(live_server):
    from timebok.screens.override_dialog import OverrideDialog

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        await wait_for(pilot, lambda: app.screen.rows)
        app.screen.query_one("#day-table", DataTable).move_cursor(row=_ola_row(app.screen))
        await press(pilot, "enter")
        page = app.screen
        await wait_for(pilot, lambda: page.upcoming)
        ola_today = next(i for i, a in enumerate(page.upcoming) if a.start.date() == date(2026, 11, 25))
        page.query_one("#upcoming", DataTable).move_cursor(row=ola_today)
        await press(pilot, "a", *"Legen er syk", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OverrideDialog))
        await press(pilot, "escape")  # thought better of it: nothing cancelled
        assert app.screen is page and page.upcoming[ola_today].state.value == "confirmed"
        await press(pilot, "a", *"Legen er syk", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OverrideDialog))
        await press(pilot, "enter")
        await wait_for(pilot, lambda: all(a.start.date() != date(2026, 11, 25) for a in page.upcoming), what="cancelled")
        assert "Avbestilt" in table_text(app, "#past")


async def test_a_day_not_fetched_is_said_and_never_printed_as_empty(live_server, downloads):
    from tests.tui_helpers import short_timeout

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        await wait_for(pilot, lambda: app.screen.rows)
        live_server.stop()  # the backend goes away
        with short_timeout(app, 2.0):
            await press(pilot, "right")
            await wait_for(pilot, lambda: "ikke hentet" in screen_text(app), what="the day said not fetched")
            await press(pilot, "p", "e")
        assert not list(downloads.iterdir())  # no empty day list printed or exported
        assert any("ikke hentet" in n.message for n in app._notifications)


async def test_the_queue_fits_80_columns_and_names_the_place_only_when_the_requests_are_at_more_than_one(live_server):
    """At 80x24 the five columns were wider than the screen: the sent time was cut off behind a scrollbar."""
    async with BookingClient(live_server.url, KARI) as kari:
        lab = next(t for t in await kari.time_types("1") if t.code == "Lab")
        (book,) = await kari.timebooks(lab.id)
        await kari.request_booking((await kari.free_slots(book.id, date(2026, 12, 10)))[0], "1")
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "f")
        queue = app.screen
        await wait_for(pilot, lambda: bool(queue.requests))
        table = queue.query_one("#requests", DataTable)
        labels = [str(c.label) for c in table.columns.values()]
        places = {r.place.name for r in queue.requests if r.place}
        assert ("Sted" in labels) == (len(places) > 1), (labels, places)
        assert table.virtual_size.width <= table.scrollable_content_region.width, (table.virtual_size, table.size)
