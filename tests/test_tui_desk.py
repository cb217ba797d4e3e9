"""The front desk tried as a new secretary would (issue 13): whom the top line names, a live queue, two desks."""

from __future__ import annotations

from screens.patient_search import PatientSearchScreen
from screens.requests import RequestQueueScreen
from screens.staff_home import StaffHomeScreen
from screens.time_type import TimeTypeScreen
from screens.today import TodayScreen
from tests.conftest import FJORD_STAFF
from tests.tui_helpers import make_app, screen_text, settle

SIZE = (100, 32)
KARI_NUMBER = "14838512470"


def _top_line(app) -> str:
    return str(app.screen.query_one("#who").render())


async def _press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def test_the_top_line_names_only_the_patient_of_the_booking_in_progress(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # A booking for Aisha Khan, found by name, then left with Esc all the way home.
        await _press(pilot, "b", *"khan", "enter", "enter")
        assert isinstance(app.screen, TimeTypeScreen) and _top_line(app).endswith("for Aisha Khan")
        await _press(pilot, "escape")
        assert isinstance(app.screen, PatientSearchScreen)
        assert "for " not in _top_line(app)  # a fresh search names no patient
        await _press(pilot, "escape")
        assert isinstance(app.screen, StaffHomeScreen) and "Aisha" not in _top_line(app)
        assert app.draft is None  # the booking ended with its screens

        # Kari by number: her booking names her, and Esc back to the search names nobody.
        await _press(pilot, "b", *KARI_NUMBER, "enter")
        assert isinstance(app.screen, TimeTypeScreen) and _top_line(app).endswith("for Kari Nordmann")
        assert app.draft.patient.name == "Kari Nordmann"
        await _press(pilot, "escape")
        assert isinstance(app.screen, PatientSearchScreen)
        assert "Nordmann, Kari" in screen_text(app)
        assert "Aisha" not in _top_line(app) and "Kari" not in _top_line(app)

        # The office-wide screens name no patient either.
        await _press(pilot, "escape", "f")
        assert isinstance(app.screen, RequestQueueScreen) and "for " not in _top_line(app)
        await _press(pilot, "escape", "d")
        assert isinstance(app.screen, TodayScreen) and "for " not in _top_line(app)


async def test_searching_what_the_list_shows_or_a_number_with_separators_finds_the_patient(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "b", *"Nordmann, Kari", "enter")
        assert [p.name for p in app.screen.found] == ["Kari Nordmann"]  # the comma is read as a space
        query = app.screen.query_one("#patient-query")
        query.value = ""
        await settle(pilot)
        query.focus()
        for typed in ("148385-12470", "148385.12470", "148385 12470"):
            query.value = ""
            await settle(pilot)
            await _press(pilot, *typed)
            assert [p.name for p in app.screen.found] == ["Kari Nordmann"], typed
            assert "har bare sifre" not in screen_text(app)


async def test_a_twelfth_digit_is_not_lost_and_the_patient_found_goes_away(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "b", *KARI_NUMBER)
        assert [p.name for p in app.screen.found] == ["Kari Nordmann"]
        await _press(pilot, "0")  # one digit too many, typed on
        query = app.screen.query_one("#patient-query")
        assert query.value == KARI_NUMBER + "0"
        assert "For langt: 12 sifre" in screen_text(app)
        assert app.screen.found == [] and "Nordmann, Kari" not in screen_text(app)
        await _press(pilot, "backspace", "enter")  # fixed: Enter books for her
        assert isinstance(app.screen, TimeTypeScreen) and app.draft.patient.name == "Kari Nordmann"


async def test_esc_on_the_results_goes_back_and_up_returns_to_the_field_without_wiping_it(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "b", *"nordmann", "enter")
        assert app.screen.focused is app.screen.query_one("#patients")
        await _press(pilot, "up", "x")  # back in the field; a key typed adds to the text, never replaces it
        assert app.screen.query_one("#patient-query").value == "nordmannx"
        await _press(pilot, "backspace", "enter", "escape")  # Esc on the results: back, as the footer says
        assert isinstance(app.screen, StaffHomeScreen)


def test_the_trace_panel_finds_its_folder_without_importing_the_command_line():
    """Paths the app and the CLI share live in tui/locations.py: no circle screens → cli → run → app → screens."""
    import subprocess
    import sys

    probe = "import sys, screens.trace; print('tui.cli' in sys.modules, 'tui.run' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
