"""«Timebokoppsett», «Steng dag» and «Oppsett for legekontor» in the real app against the real backend (issue 15)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from tests.conftest import FJORD_STAFF, KARI, SUPPORT
from tests.tui_helpers import make_app, screen_text, settle, wait_for
from timebok.backend import schema
from timebok.backend.server import open_database
from timebok.client.models import Campaign, Closure, WeeklyRange
from timebok.screens.calendar import CalendarScreen
from timebok.screens.setup import SetupScreen
from timebok.screens.staff_home import StaffHomeScreen
from timebok.screens.support_setup import SupportSetupScreen
from timebok.ui.confirm_dialog import ConfirmDialog
from timebok.ui.setup_form import PreviewDialog, SetupForm

SIZE = (100, 32)


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _setup_screen(pilot) -> None:
    await settle(pilot)
    assert isinstance(pilot.app.screen, StaffHomeScreen)
    await pilot.press("o")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SetupScreen)


async def _field(pilot, name: str, text: str) -> None:
    box = pilot.app.screen.query_one(f"#field-{name}")
    box.value = ""
    box.focus()
    await pilot.press(*text)


async def test_the_setup_screen_shows_types_timebooks_the_week_grid_and_closures(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _setup_screen(pilot)
        text = screen_text(app)
        assert "Timetyper: Koronatest på · Koronavaksine på · Laboratoriet på · Vaksine på" in text
        assert "Koronatest · Koronatest drive-in · Drive-in teststasjon" in text
        assert "man tir ons tor fre lør søn" in text.replace("  ", " ").replace("  ", " ")
        assert "09:00-14:00    ■   ■   ■   ■   ■   ·   ·" in text  # the first timebook's week grid
        assert "11.12.2026 · Planleggingsdag" in text
        await pilot.press("down")  # the drive-in: Monday, Wednesday, Friday
        await settle(pilot)
        assert "08:00-12:00    ■   ·   ■   ·   ■   ·   ·" in screen_text(app)


async def test_a_pattern_error_keeps_the_form_then_the_preview_comes_before_saving(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _setup_screen(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, SetupForm)
        await _field(pilot, "ranges", "09:00-13:50")  # not a whole number of 15-minute times
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SetupForm)  # the form stays, with what was typed, and names range and length
        assert "Tidsrommet 09:00-13:50 kan ikke deles i hele timer på 15 minutter." in " ".join(screen_text(app).split())
        assert app.screen.query_one("#field-ranges").value == "09:00-13:50"
        assert app.screen.query_one("#field-ranges").has_class("-invalid")
        await _field(pilot, "ranges", "09:00-12:00, 11:00-13:00")  # overlapping: refused by the backend
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SetupForm) and "To tidsrom overlapper samme dag." in screen_text(app)
        assert app.screen.query_one("#field-ranges").has_class("-invalid")
        await _field(pilot, "days", "man-fre")
        await _field(pilot, "ranges", "09:00-12:00")  # shorter days: the afternoons go, Ola's 09:00 stays
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog)
        preview = screen_text(app)
        # Per timebook: its type and name, what goes, and on which dates (the afternoons of the weekdays ahead).
        assert "Koronatest på legekontoret: 240 ledige timer fjernet: 25.–27. nov., 30. nov.–4. des.," in " ".join(
            preview.split()
        )
        assert "nye ledige timer" not in preview
        await pilot.press("escape")  # «Endre videre»: back in the form, everything kept
        await settle(pilot)
        assert isinstance(app.screen, SetupForm) and app.screen.query_one("#field-ranges").value == "09:00-12:00"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        assert any(n.startswith("Lagret: 0 nye ledige timer") for n in _notes(app))
        assert "09:00-12:00    ■   ■   ■   ■   ■   ·   ·" in screen_text(app)


async def test_an_office_with_nothing_sets_up_vaccine_with_a_campaign_from_the_tui(live_server):
    db = open_database(live_server.db_path, demo=True)
    try:
        with db.writing() as session:  # Bakkebyen starts from scratch: its timebooks off, no free times
            session.execute(
                update(schema.HealthcareService).where(schema.HealthcareService.organization_id == 2).values(active=False)
            )
    finally:
        db.dispose()
    app = make_app(live_server, "demo-staff-bakkebyen")
    async with app.run_test(size=SIZE) as pilot:
        await _setup_screen(pilot)
        assert "Vaksine av" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        await _field(pilot, "name", "Influensa og vaksiner")
        await _field(pilot, "ranges", "08:00-10:00")
        await _field(pilot, "horizon", "28")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog)
        assert "Influensa og vaksiner: " in screen_text(app) and " nye ledige timer: " in screen_text(app)
        await pilot.press("l")
        await settle(pilot)
        assert "Vaksine på" in screen_text(app)
        # The new timebook is the last; a flu campaign on Tuesdays and Thursdays in December.
        books = app.screen.query_one("#timebooks")
        books.highlighted = books.option_count - 1
        await pilot.press("k")
        await settle(pilot)
        await _field(pilot, "first", "01.12.2026")
        await _field(pilot, "last", "17.12.2026")
        await _field(pilot, "ranges", "10:00-15:00")  # after the weekly 08-10
        await pilot.press("ctrl+s")
        await settle(pilot)
        # 1, 3, 8, 10, 15, 17 Dec × 20 quarter-hours, the dates named (those before today are not made)
        assert "Influensa og vaksiner: 120 nye ledige timer: 1. des., 3. des., 8. des., 10. des., 15. des., 17. des." in " ".join(
            screen_text(app).split()
        )
        await pilot.press("l")
        await settle(pilot)
        assert "Kampanje «Influensavaksine» 01.12.2026–17.12.2026: tir, tor 10:00-15:00" in screen_text(app)


async def test_close_day_from_the_calendar_lists_the_booking_it_hits(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press(*"Ola", "enter")
        await settle(pilot)
        await pilot.press("enter")  # Ola Nordmann
        await settle(pilot)
        await pilot.press("enter")  # Koronatest
        await settle(pilot)
        await pilot.press("enter")  # at the office
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen)
        app.screen.calendar.jump_to(date(2026, 11, 27))
        await settle(pilot)
        await pilot.press("s", "enter")  # a stray s, then Enter: «Nei» is the default, nothing opens or closes
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen) and date(2026, 11, 27) in app.screen.availability.dates
        await pilot.press("s")  # asks first, naming the day and the timebook
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Stenge fredag 27. november 2026 i Koronatest · " in " ".join(screen_text(app).split())
        await pilot.press("j")
        await settle(pilot)
        assert isinstance(app.screen, SetupForm) and app.screen.query_one("#field-day").value == "27.11.2026"
        await pilot.press(*"Sykepleier syk", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog)
        assert "1 bestilt time blir berørt og står som før:" in screen_text(app)
        assert "kl. 09:00 · Ola Nordmann (venter på svar)" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen)
        assert any("Ola Nordmann" in n for n in _notes(app))
        assert date(2026, 11, 27) not in app.screen.availability.dates
        assert app.screen.calendar.cursor > date(2026, 11, 27)  # on to the next free date, not back to the month's first
        for key in ("escape", "escape", "escape", "escape", "o"):  # to «Timebokoppsett»: the day is named with its timebook
            await pilot.press(key)
            await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        assert "27.11.2026 · Sykepleier syk · bare Koronatest · " in screen_text(app)
        assert "11.12.2026 · Planleggingsdag\n" in screen_text(app) + "\n"  # the whole office's: no timebook named


async def test_closing_two_parts_of_a_day_keeps_both(live_server):
    """«Del av dagen» with two ranges: both are closed (the second used to be dropped without a word)."""
    from timebok.client.api import BookingClient

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _setup_screen(pilot)
        await pilot.press("s")
        await settle(pilot)
        await _field(pilot, "day", "01.12.2026")
        await _field(pilot, "times", "08:00-10:00, 12:00-13:00")
        await _field(pilot, "reason", "Kurs")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        text = screen_text(app)
        assert "01.12.2026 08:00-10:00 · Kurs" in text and "01.12.2026 12:00-13:00 · Kurs" in text
    async with BookingClient(live_server.url, FJORD_STAFF) as desk:
        closures = (await desk.office_setup("1")).closures
    assert sorted((c.start, c.end) for c in closures if c.day.isoformat() == "2026-12-01") == [
        ("08:00", "10:00"),
        ("12:00", "13:00"),
    ]


async def test_support_sees_why_a_citizen_sees_nothing(live_server):
    db = open_database(live_server.db_path, demo=True)
    try:
        with db.writing() as session:
            session.execute(
                update(schema.HealthcareService)
                .where(schema.HealthcareService.organization_id == 1, schema.HealthcareService.type_code == "Vaksine")
                .values(active=False)
            )
            lab = session.scalar(
                select(schema.Schedule.id).where(schema.Schedule.name == "Laboratoriet").order_by(schema.Schedule.id)
            )
            session.execute(update(schema.Slot).where(schema.Slot.schedule_id == lab).values(status="busy"))
    finally:
        db.dispose()
    app = make_app(live_server, KARI, agent_token=SUPPORT)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, SupportSetupScreen)
        text = screen_text(app)
        assert "Vaksine: vises ikke – timetypen er slått av hos kontoret." in text
        assert "Laboratoriet: ingen ledige timer – alle" in text
        assert "Koronatest:" in text and "ledige timer" in text
        assert "Det Kari Nordmann ser hos Fjordsiden legekontor:" in text
        box = app.screen.query_one("#office-her")
        assert app.focused is box  # ready for another HER-id, as the help says
        box.value = ""
        await pilot.press(*"8123402", "enter")
        await settle(pilot)
        text = screen_text(app)
        # Another office: its setup, said as such, not as what Kari sees (she sees none of it).
        assert "Oppsettet hos Bakkebyen legesenter:" in text and "Det Kari Nordmann ser hos" not in text
        assert "Kari Nordmann står på liste hos Fjordsiden legekontor, ikke hos Bakkebyen legesenter" in text
        assert "Koronatest: vises ikke – timetypen er slått av hos kontoret." in text


async def test_two_timebooks_at_one_place_are_told_apart_by_name(live_server):
    from timebok.backend.generation import generate_all

    db = open_database(live_server.db_path, demo=True)
    try:
        with db.writing() as session:
            vaccine = session.scalar(
                select(schema.HealthcareService.id).where(
                    schema.HealthcareService.organization_id == 2, schema.HealthcareService.type_code == "Vaksine"
                )
            )
            session.add(
                schema.Schedule(
                    healthcare_service_id=vaccine,
                    location_id=3,
                    name="Influensa",
                    slot_minutes=15,
                    horizon_days=28,
                    weekly='[{"days": ["tue", "thu"], "start": "08:00", "end": "10:00"}]',
                )
            )
        generate_all(db, 2)
    finally:
        db.dispose()
    app = make_app(live_server, "demo-citizen-per")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("down", "enter")  # Vaksine
        await settle(pilot)
        text = screen_text(app)
        assert "Vaksinasjon\nBakkebyen legesenter" in text and "Influensa\nBakkebyen legesenter" in text


async def test_when_another_desk_saved_first_the_form_keeps_what_was_typed_and_offers_the_new_setup(live_server):
    from timebok.client.api import BookingClient

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _setup_screen(pilot)
        await pilot.press("s")  # «Steng dag» for the whole office
        await settle(pilot)
        assert isinstance(app.screen, SetupForm)
        await _field(pilot, "day", "30.11.2026")
        await _field(pilot, "reason", "Planleggingsdag")
        # Meanwhile the other desk closes Friday.
        async with BookingClient(live_server.url, FJORD_STAFF) as other:
            setup = await other.office_setup("1")
            setup.closures.append(Closure(day=date(2026, 11, 27), reason="Sykepleier syk"))
            await other.change_setup(setup)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SetupForm)  # refused: the form stays with what was typed, nothing saved
        text = " ".join(screen_text(app).split())
        assert "Noen andre har endret timebokoppsettet siden du åpnet det" in text
        assert app.screen.query_one("#setup-message").has_class("error")  # said in red: a problem
        reload = app.screen.query_one("#reload")
        assert reload.display and str(reload.label) == "Hent på nytt" and app.focused is reload
        assert app.screen.query_one("#field-reason").value == "Planleggingsdag"
        assert app.screen.query_one("#field-day").value == "30.11.2026"
        await pilot.press("enter")  # the focused «Hent på nytt»
        await settle(pilot)
        assert "Oppsettet er hentet på nytt" in " ".join(screen_text(app).split())
        assert not app.screen.query_one("#setup-message").has_class("error")  # done as asked: not said as an error
        assert app.screen.query_one("#field-reason").value == "Planleggingsdag"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        text = screen_text(app)
        assert "27.11.2026 · Sykepleier syk" in text and "30.11.2026 · Planleggingsdag" in text  # both desks' days stand


async def test_after_another_desks_change_the_pattern_form_keeps_its_change_too(live_server):
    """Two desks edit one timebook's weekly pattern: A types new hours, B saves a new slot length first. After A's
    «Hent på nytt» (Ctrl+R, as the message says), the fields A did not touch show B's values, so A's save keeps both."""
    from timebok.client.api import BookingClient

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _setup_screen(pilot)
        await pilot.press("m")  # the first timebook's pattern
        await settle(pilot)
        assert isinstance(app.screen, SetupForm)
        book_id = app.screen_stack[-2].current().id
        await _field(pilot, "ranges", "08:00-11:30, 12:00-14:00")
        async with BookingClient(live_server.url, FJORD_STAFF) as other:
            setup = await other.office_setup("1")
            book = next(b for b in setup.timebooks if b.id == book_id)
            assert book.slot_minutes != 30
            book.slot_minutes = 30
            await other.change_setup(setup)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Noen andre har endret timebokoppsettet" in " ".join(screen_text(app).split())
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "Oppsettet er hentet på nytt" in " ".join(screen_text(app).split())
        assert app.screen.query_one("#field-minutes").value == "30"  # B's, not the 15 the form opened with
        assert app.screen.query_one("#field-ranges").value == "08:00-11:30, 12:00-14:00"  # A's, as typed
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        async with BookingClient(live_server.url, FJORD_STAFF) as other:
            book = next(b for b in (await other.office_setup("1")).timebooks if b.id == book_id)
        assert book.slot_minutes == 30
        assert [(w.start, w.end) for w in book.weekly] == [("08:00", "11:30"), ("12:00", "14:00")]


async def test_a_save_on_a_slow_backend_is_waited_for_not_sent_again_nor_left(live_server, db_path):
    """Ctrl+S and Esc while «Lagre» waits on a slow backend (another writer holds the database): the form waits for
    the answer. A second preview used to cancel the save under way, then find the setup changed (by that very save)
    and say another desk had changed it; Esc left without hearing whether it was saved."""
    import threading

    from tests.sqlite_lock import hold_write_lock

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _setup_screen(pilot)
        await pilot.press("s")  # «Steng dag» for the whole office
        await settle(pilot)
        await _field(pilot, "day", "30.11.2026")
        await _field(pilot, "reason", "Planleggingsdag")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog)
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        await pilot.press("l")
        await wait_for(pilot, lambda: "Lagrer" in screen_text(app))
        assert isinstance(app.screen, SetupForm) and "Lagrer" in screen_text(app)
        await pilot.press("ctrl+s", "escape")
        await pilot.pause(0.3)
        assert isinstance(app.screen, SetupForm)  # still waiting for the answer
        release.set()
        holder.join(5)
        await wait_for(pilot, lambda: isinstance(app.screen, SetupScreen))
        assert isinstance(app.screen, SetupScreen), screen_text(app)
        await settle(pilot)
        assert "30.11.2026 · Planleggingsdag" in screen_text(app)
        assert not [n for n in app._notifications if "endret timebokoppsettet" in str(n.message)]


async def test_esc_or_a_language_switch_never_drops_what_was_typed_in_a_form_without_a_word(live_server):
    from timebok.ui.confirm_dialog import ConfirmDialog

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _setup_screen(pilot)
        await pilot.press("m")
        await settle(pilot)
        await _field(pilot, "ranges", "07:00-08:00, 09:00-14:00")
        app.action_switch_language()  # as from the palette: the form would close with the screens, so it says why not
        await settle(pilot)
        assert isinstance(app.screen, SetupForm) and app.screen.query_one("#field-ranges").value == "07:00-08:00, 09:00-14:00"
        assert any("Lagre eller avbryt skjemaet først" in str(n.message) for n in app._notifications)
        await pilot.press("escape")  # asks, with «Nei» (keep) first
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog) and "Forkaste det du har skrevet" in screen_text(app)
        await pilot.press("enter")  # «Nei»
        await settle(pilot)
        assert isinstance(app.screen, SetupForm) and app.screen.query_one("#field-ranges").value == "07:00-08:00, 09:00-14:00"
        await pilot.press("escape", "j")  # yes, discard
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        await pilot.press("m", "escape")  # nothing typed: Esc leaves at once
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)


async def test_f1_works_in_a_form_and_its_preview_and_both_show_it_and_ctrl_q(live_server):
    from tests.tui_helpers import footer_keys
    from timebok.screens.help import HelpScreen

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(80, 24)) as pilot:
        await _setup_screen(pilot)
        for key, screen in (("m", SetupForm), ("ctrl+s", PreviewDialog)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, screen)
            assert {"f1", "ctrl+q"} <= {k.key for k in footer_keys(app)}
            await pilot.press("f1")
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen)  # it did nothing here before
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, screen)


async def test_a_date_typed_first_closes_that_date_and_the_preview_names_it(live_server):
    """«Steng dag» opened with the cursor in «Årsak»: «15.12.2026», Enter closed TODAY with the date as the reason."""
    from timebok.client.api import BookingClient

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(80, 24)) as pilot:
        await _setup_screen(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SetupForm) and app.focused is app.screen.query_one("#field-day")
        await pilot.press(*"15.12.2026", "enter", "enter", *"Kurs", "enter")  # date, (whole day), reason, preview
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog)
        text = " ".join(screen_text(app).split())
        assert "Stenger 15.12.2026 for hele kontoret." in text
        assert "Koronatest på legekontoret: " in text and " ledige timer fjernet: 15. des." in text  # per timebook, dated
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        assert "15.12.2026 · Kurs" in screen_text(app)
    async with BookingClient(live_server.url, FJORD_STAFF) as desk:
        closures = (await desk.office_setup("1")).closures
    assert [(c.day.isoformat(), c.reason) for c in closures if c.reason == "Kurs"] == [("2026-12-15", "Kurs")]
    assert not [c for c in closures if c.day.isoformat() == "2026-11-25"]  # today stays open


async def _add_campaign(live_server) -> None:
    from timebok.client.api import BookingClient

    async with BookingClient(live_server.url, FJORD_STAFF) as desk:
        setup = await desk.office_setup("1")
        setup.timebooks[0].campaigns.append(
            Campaign(
                name="Influensavaksine",
                first=date(2026, 12, 5),
                last=date(2026, 12, 6),
                weekly=[WeeklyRange(days=["sat", "sun"], start="10:00", end="12:00")],
            )
        )
        await desk.change_setup(setup)


async def _free_times(live_server, first: str, last: str) -> int:
    from timebok.client.api import BookingClient

    async with BookingClient(live_server.url, FJORD_STAFF) as desk:
        return sum(b.ahead.free for b in (await desk.office_setup("1")).timebooks)


async def test_a_closed_day_and_a_campaign_are_removed_and_edited_from_the_setup_screen(live_server):
    from tests.tui_helpers import footer_keys
    from timebok.client.api import BookingClient

    await _add_campaign(live_server)
    before = await _free_times(live_server, "", "")
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(80, 24)) as pilot:
        await _setup_screen(pilot)
        assert not {"e", "x"} & {k.key for k in footer_keys(app)}  # on the timebooks: not offered
        app.screen.query_one("#setup-items").focus()
        await settle(pilot)
        keys = {k.key: k.description for k in footer_keys(app)}
        assert keys.get("e") == "Endre" and keys.get("x") == "Fjern"  # with the list focused: in the footer
        assert {"f1", "ctrl+q", "s"} <= set(keys) and not {"m", "k"} & set(keys)  # 80 columns: no key lost
        items = app.screen.query_one("#setup-items")
        rows = [str(items.get_option_at_index(i).prompt) for i in range(items.option_count)]
        assert rows[0] == "11.12.2026 · Planleggingsdag"
        assert any(r.startswith("Kampanje «Influensavaksine» 05.12.2026–06.12.2026 · ") for r in rows)
        # Remove the closed day: the preview says so and that free times come back; L saves.
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog)
        text = " ".join(screen_text(app).split())
        assert "Fjerner den stengte dagen 11.12.2026 · Planleggingsdag." in text
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen) and "Planleggingsdag" not in screen_text(app)
        after_closure = await _free_times(live_server, "", "")
        assert after_closure > before  # the day's times are free again
        # Edit the campaign: its values fill the form; a new name, saved in place (no second campaign).
        items = app.screen.query_one("#setup-items")
        items.focus()
        items.highlighted = next(
            i for i in range(items.option_count) if "Influensavaksine" in str(items.get_option_at_index(i).prompt)
        )
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, SetupForm) and app.screen.query_one("#field-first").value == "05.12.2026"
        await _field(pilot, "name", "Vaksinehelg")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        text = screen_text(app)
        assert "Vaksinehelg" in text and "Influensavaksine 05" not in text
        # Remove it: its free times go.
        items = app.screen.query_one("#setup-items")
        items.focus()
        items.highlighted = next(
            i for i in range(items.option_count) if "Vaksinehelg" in str(items.get_option_at_index(i).prompt)
        )
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog)
        assert "Fjerner kampanjen «Vaksinehelg» (05.12.2026–06.12.2026) i " in " ".join(screen_text(app).split())
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen) and "Vaksinehelg" not in screen_text(app)
    async with BookingClient(live_server.url, FJORD_STAFF) as desk:
        setup = await desk.office_setup("1")
    assert not [c for b in setup.timebooks for c in b.campaigns]
    assert not [c for c in setup.closures if c.day.isoformat() == "2026-12-11"]
    assert await _free_times(live_server, "", "") == after_closure - 16  # 2 days × 8 half-hours of the campaign gone


async def test_editing_a_closed_day_changes_it_in_place(live_server):
    from timebok.client.api import BookingClient

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _setup_screen(pilot)
        app.screen.query_one("#setup-items").focus()
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, SetupForm) and app.screen.query_one("#field-reason").value == "Planleggingsdag"
        assert app.focused is app.screen.query_one("#field-day")
        await pilot.press(*"14.12.2026", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PreviewDialog) and "Stenger 14.12.2026 for hele kontoret." in " ".join(
            screen_text(app).split()
        )
        await pilot.press("l")
        await settle(pilot)
    async with BookingClient(live_server.url, FJORD_STAFF) as desk:
        closures = (await desk.office_setup("1")).closures
    assert [c.day.isoformat() for c in closures if c.reason == "Planleggingsdag"] == ["2026-12-14"]


async def test_support_sees_closed_days_campaigns_and_lead_time_and_a_change_made_meanwhile(live_server):
    from timebok.client.api import BookingClient

    app = make_app(live_server, KARI, agent_token=SUPPORT)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, SupportSetupScreen)
        text = screen_text(app)
        assert "Stengte dager framover:" in text and "11.12.2026 · Planleggingsdag" in text
        assert "kan bestilles senest 2 timer før timen" in text
        assert "Kampanjer:" not in text
        await _add_campaign(live_server)  # meanwhile the front desk adds a campaign and closes the 15th
        async with BookingClient(live_server.url, FJORD_STAFF) as desk:
            setup = await desk.office_setup("1")
            setup.closures.append(Closure(day=date(2026, 12, 15), reason="Kurs"))
            await desk.change_setup(setup)
        await pilot.press("r")  # from the HER-id field, where the focus is
        await settle(pilot)
        text = screen_text(app)
        assert "15.12.2026 · Kurs" in text
        assert "«Influensavaksine» 05.12.2026–06.12.2026 i " in text and ": lør, søn 10:00-12:00" in text
        assert "r" not in app.screen.query_one("#office-her").value  # the key refreshed; it was not typed
        # And without a key: the next poll shows the next change.
        async with BookingClient(live_server.url, FJORD_STAFF) as desk:
            setup = await desk.office_setup("1")
            setup.closures.append(Closure(day=date(2026, 12, 16), reason="Tannlege"))
            await desk.change_setup(setup)
        app.screen._poll()
        await settle(pilot)
        assert "16.12.2026 · Tannlege" in screen_text(app)


def test_a_preview_from_a_backend_without_changes_per_timebook_shows_the_totals():
    """Until every backend answers with «changes», the preview falls back to the totals and the bookings."""
    from datetime import datetime

    from timebok.client.models import AffectedAppointment, OfficeSetup, SetupChange
    from timebok.domain.clock import OSLO
    from timebok.ui.setup_form import change_lines

    ola = AffectedAppointment(
        id="7", status="pending", start=datetime(2026, 11, 27, 9, 0, tzinfo=OSLO), patient_name="Ola Nordmann", timebook_id="1"
    )
    change = SetupChange(setup=OfficeSetup(organization="Organization/1"), created=0, removed=65, preview=True, affected=[ola])
    lines = change_lines(change)
    assert lines[:2] == ["0 nye ledige timer blir lagt ut.", "65 ledige timer blir fjernet."]
    assert "  fredag 27. november 2026 kl. 09:00 · Ola Nordmann (venter på svar)" in lines
