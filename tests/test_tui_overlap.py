"""Step 5 in the real app on the real backend: a patient who holds a time already, Ctrl+Q with a typed reason, toasts."""

from __future__ import annotations

from dataclasses import replace

from tests.conftest import FJORD_STAFF, KARI, SUPPORT
from tests.tui_helpers import make_app, screen_text, settle, to_calendar, to_review, until, wait_for
from timebok.backend import schema
from timebok.backend.db import Database, database_url
from timebok.client.api import BookingClient
from timebok.screens.calendar import CalendarScreen
from timebok.screens.review import ReviewScreen
from timebok.ui.confirm_dialog import ConfirmDialog

SIZE = (80, 24)


def _twin(db_path, slot_id: str) -> str:
    """A second free slot at the same time in the same timebook, as «Samtidige timer» 2 makes; its id."""
    database = Database(database_url(db_path))
    try:
        with database.writing() as session:
            first = session.get(schema.Slot, int(slot_id))
            # The timebook's setup says so too, or regenerating it would take the second seat away again.
            session.get(schema.Schedule, first.schedule_id).parallel = 2
            twin = schema.Slot(schedule_id=first.schedule_id, start=first.start, end=first.end, status="free", version=1, seq=1)
            session.add(twin)
            session.flush()
            return str(twin.id)
    finally:
        database.engine.dispose()


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _desk_books_kari_in_a_twin_of_the_chosen_time(app, live_server, db_path) -> None:
    chosen = app.draft.slot
    async with BookingClient(live_server.url, FJORD_STAFF) as desk:
        await desk.request_booking(replace(chosen, id=_twin(db_path, chosen.id)), "1", "Ringte inn")


async def test_support_acting_as_kari_hears_which_time_she_already_has_and_goes_back_with_the_text(live_server, db_path):
    app = make_app(live_server, KARI, agent_token=SUPPORT)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "blodprøve")
        start = app.draft.slot.start
        await _desk_books_kari_in_a_twin_of_the_chosen_time(app, live_server, db_path)
        await pilot.press("f2", *"Sak 7: tester dobbeltbooking", "enter")  # an agent writes only after «Skriv som»
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen) and not app.read_only)
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, CalendarScreen)  # another time is what she needs: the calendar, fresh
        (note,) = [n for n in _notes(app) if "allerede" in n]
        day = f"{start.day}. november 2026 kl. {start:%H:%M}"  # the clock's today, 25 November: Lab has times left
        assert note.startswith("Kari Nordmann har allerede en time ") and day in note and "(Laboratoriet)" in note, note
        assert "Velg en annen tid" in note
        assert app.draft.reason == "blodprøve"


async def test_a_citizen_hears_that_she_herself_already_has_the_time(live_server, db_path):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "blodprøve")
        await _desk_books_kari_in_a_twin_of_the_chosen_time(app, live_server, db_path)
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, CalendarScreen)
        assert any(n.startswith("Du har allerede en time ") and "(Laboratoriet)" in n for n in _notes(app)), _notes(app)


async def test_ctrl_q_on_step_5_asks_before_a_typed_reason_is_thrown_away(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "vondt i halsen")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog) and app.is_running
        assert "Avslutte uten å sende bestillingen?" in screen_text(app)
        await pilot.press("escape")  # «Nei»: back on step 5 with the text
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen) and app.screen.query_one("#reason").value == "vondt i halsen"
        await pilot.press("ctrl+q", "j")
        await settle(pilot)
        assert not app.is_running


async def test_ctrl_q_on_step_5_with_nothing_typed_quits_at_once(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert not app.is_running


async def test_the_calendars_notice_does_not_follow_onto_step_5(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_calendar(pilot, downs=3)  # Vaksine: nothing free in November, so it opens on December and says so
        await until(pilot, lambda: any("desember" in n for n in _notes(app)))
        assert any("desember" in n for n in _notes(app)), _notes(app)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert _notes(app) == []


async def test_a_send_in_doubt_says_so_on_the_line_only(live_server, db_path):
    """A backend held up past the client's timeout may have booked: the line says we do not know; no toast repeats it."""
    import threading

    from tests.sqlite_lock import hold_write_lock

    app = make_app(live_server, KARI, timeout=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "influensavaksine")
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        try:
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not app.screen.writing, seconds=10)
            line = str(app.screen.query_one("#send-status").render())
            assert "vi vet ikke om bestillingen kom fram" in line and "Ctrl+R" in line
            assert not [n for n in app._notifications if n.severity == "error"]
        finally:
            release.set()
            holder.join(5)
