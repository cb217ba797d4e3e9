"""The front desk's patient search after a name search (issue 22): what is typed is never lost, and Enter never books a
patient the field no longer names."""

from __future__ import annotations

import pytest
from textual import events

from tests.conftest import FJORD_STAFF
from tests.tui_helpers import make_app, screen_text, settle
from timebok.screens.patient_search import PatientSearchScreen
from timebok.screens.time_type import TimeTypeScreen

SIZE = (80, 24)
OLA_NUMBER = "02917923453"  # the demo's Ola Nordmann (synthetic), listed at Fjordsiden


async def _press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot, rounds=2)
    await settle(pilot)


async def _burst(pilot, *keys: str) -> None:
    """Keys that arrive together, as from fast fingers or a scanner: all are queued before the first is handled."""
    for key in keys:
        pilot.app._driver.send_message(events.Key(key, key if len(key) == 1 else None))
    await settle(pilot)


def _top_line(app) -> str:
    return str(app.screen.query_one("#who").render())


def _field(app) -> str:
    return app.screen.query_one("#patient-query").value


def _listed(app) -> list[str]:
    """The patients the screen shows (nothing when the list is hidden)."""
    options = app.screen.query_one("#patients")
    return [p.name for p in app.screen.found] if options.display else []


async def _name_search(pilot, name: str = "Nordmann, Kari") -> None:
    await settle(pilot)
    await _press(pilot, "b", *name, "enter")
    app = pilot.app
    assert app.screen.focused is app.screen.query_one("#patients")  # the list has the keys, as before the fix


async def test_a_number_typed_after_a_name_search_books_that_patient_not_the_one_listed(live_server):
    """The issue's repro: Kari by name, then Ola's number typed straight away, Enter: the booking is for Ola."""
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _name_search(pilot)
        assert _listed(app) == ["Kari Nordmann"]
        await _press(pilot, *OLA_NUMBER)
        assert _field(app) == OLA_NUMBER
        assert "Nordmann, Kari" not in screen_text(app) and _listed(app) == ["Ola Nordmann"]
        await _press(pilot, "enter")
        assert isinstance(app.screen, TimeTypeScreen)
        assert _top_line(app).endswith("for Ola Nordmann") and app.draft.patient.name == "Ola Nordmann"


async def test_letters_typed_on_the_list_start_a_new_name_search(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _name_search(pilot, "nordmann")
        await _press(pilot, "down")  # Ola highlighted
        await _press(pilot, *"khan")
        assert _field(app) == "khan" and _listed(app) == []  # Ola's highlight went with the old list
        assert "Trykk Enter for å søke på navn." in screen_text(app)
        await _press(pilot, "enter")
        assert _listed(app) == ["Aisha Khan"]
        await _press(pilot, "enter")
        assert isinstance(app.screen, TimeTypeScreen) and app.draft.patient.name == "Aisha Khan"


@pytest.mark.parametrize(("key", "left"), [("backspace", "Nordmann, Kar"), ("ctrl+u", ""), ("delete", "")])
async def test_backspace_ctrl_u_and_delete_on_the_list_edit_the_field_and_drop_the_list(live_server, key, left):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _name_search(pilot)
        await _press(pilot, key)
        assert _field(app) == left
        assert _listed(app) == [] and "Nordmann, Kari ·" not in screen_text(app)
        assert app.screen.focused is app.screen.query_one("#patient-query")
        await _press(pilot, "enter")  # never Kari, whom the field no longer names
        assert isinstance(app.screen, PatientSearchScreen) and app.draft is None


async def test_a_field_cleared_on_the_list_takes_the_next_number(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _name_search(pilot)
        await _press(pilot, "ctrl+u", *OLA_NUMBER, "enter")
        assert isinstance(app.screen, TimeTypeScreen) and app.draft.patient.name == "Ola Nordmann"


async def test_an_enter_right_behind_the_first_digit_never_books_the_patient_listed(live_server):
    """Keys queued together: the first digit drops the list at once, so the Enter behind it finds no Kari."""
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _name_search(pilot)
        await _burst(pilot, "0", "2", "enter")
        assert isinstance(app.screen, PatientSearchScreen) and app.draft is None
        assert _field(app) == "02"  # both digits kept, in order
        assert "For kort: 2 av 11 sifre." in screen_text(app)


async def test_a_number_pasted_on_the_list_replaces_the_name(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _name_search(pilot)
        app.screen.query_one("#patients").post_message(events.Paste("029179 23453"))
        await settle(pilot)
        assert _field(app) == "029179 23453" and _listed(app) == ["Ola Nordmann"]


async def test_enter_in_the_field_takes_the_patient_highlighted_in_the_list(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _name_search(pilot, "nordmann")
        await _press(pilot, "down", "tab")  # Ola highlighted, then back to the field: the text is unchanged
        assert _field(app) == "nordmann" and _listed(app) == ["Kari Nordmann", "Ola Nordmann"]
        await _press(pilot, "enter")
        assert isinstance(app.screen, TimeTypeScreen) and app.draft.patient.name == "Ola Nordmann"


async def test_a_name_search_answered_after_the_field_changed_is_not_shown(live_server):
    """The answer for «nordmann» arrives after the field says something else: it is dropped, and Enter searches anew."""
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "b", *"nordmann")
        query = app.screen.query_one("#patient-query")
        real_find = app.client.find_patients
        typed_on = []

        async def answered_late(**search):
            found = await real_find(**search)
            if not typed_on:  # the desk typed on while the first answer was on its way
                typed_on.append(True)
                query.value = "khan"
            return found

        app.client.find_patients = answered_late
        await _press(pilot, "enter")
        assert typed_on and _field(app) == "khan"
        assert app.screen.found == [] and _listed(app) == [] and "Nordmann" not in screen_text(app)
        assert app.screen.focused is query  # focus did not jump to a list of someone else
        await _press(pilot, "enter")
        assert _listed(app) == ["Aisha Khan"]


async def test_results_never_outlive_a_changed_query(live_server):
    """However the field changes (typed, pasted, set), a list found for other text is gone before anything reads it."""
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _name_search(pilot, "nordmann")
        await _press(pilot, "up")  # back in the field: a key typed adds to the text there
        await _press(pilot, "x")
        assert _field(app) == "nordmannx" and _listed(app) == []
        await _press(pilot, "backspace")  # the text searched, typed again: the old list does not come back
        assert _field(app) == "nordmann" and _listed(app) == []
        await _press(pilot, "enter")
        assert _listed(app) == ["Kari Nordmann", "Ola Nordmann"]


@pytest.mark.parametrize("typed", ["148385  12470", "148385 - 12470"])
async def test_a_number_with_a_run_of_spaces_between_its_groups_finds_the_patient(live_server, typed):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "b")
        for key in typed:
            await _press(pilot, key)
            assert "har bare sifre" not in screen_text(app), _field(app)  # not while typing, not at the end
        assert _field(app) == typed and _listed(app) == ["Kari Nordmann"]
