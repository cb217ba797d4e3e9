"""The front desk tried as a new secretary would (issue 13): whom the top line names, a live queue, two desks."""

from __future__ import annotations

import pytest

from tests.conftest import FJORD_STAFF, KARI, SUPPORT
from tests.tui_helpers import cut_off, footer_keys, make_app, screen_text, settle, wait_for
from timebok.screens.patient_search import PatientSearchScreen
from timebok.screens.requests import RequestQueueScreen
from timebok.screens.staff_home import StaffHomeScreen
from timebok.screens.time_type import TimeTypeScreen
from timebok.screens.today import TodayScreen

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


async def test_a_twelfth_digit_typed_fast_never_shows_the_patient_of_the_first_eleven(live_server):
    """A scanner or fast fingers: the 12th digit is in the field before the lookup of the first 11 starts. The list
    must match the field (nobody), or Enter would book for the wrong patient."""
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "b")
        query = app.screen.query_one("#patient-query")
        query.value = KARI_NUMBER  # both changes land before either is handled, as a burst of keys does
        query.value = KARI_NUMBER + "1"
        await settle(pilot)
        await pilot.pause(0.3)
        await settle(pilot)
        assert app.screen.found == [] and "Nordmann, Kari" not in screen_text(app)
        assert "For langt: 12 sifre" in screen_text(app)
        await _press(pilot, "enter")
        assert isinstance(app.screen, PatientSearchScreen) and app.draft is None


async def test_at_80x24_the_search_field_and_the_patients_found_fit(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await _press(pilot, "b", *"nordmann", "enter")
        assert "Nordmann, Kari" in screen_text(app)
        assert cut_off(app) == []


async def test_the_patients_found_by_name_stay_through_a_language_switch(live_server):
    from timebok.ui import i18n

    app = make_app(live_server, FJORD_STAFF)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await _press(pilot, "b", *"nordmann", "enter", "down")  # Ola highlighted
            app.action_switch_language()
            await settle(pilot)
            assert isinstance(app.screen, PatientSearchScreen)
            assert [p.name for p in app.screen.found] == ["Kari Nordmann", "Ola Nordmann"]
            assert app.screen.query_one("#patients").highlighted == 1
            await _press(pilot, "enter")
            assert isinstance(app.screen, TimeTypeScreen) and app.draft.patient.name == "Ola Nordmann"
    finally:
        i18n.set_language("nb")


async def test_esc_on_the_results_goes_back_and_up_returns_to_the_field_without_wiping_it(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "b", *"nordmann", "enter")
        assert app.screen.focused is app.screen.query_one("#patients")
        await _press(pilot, "up", "x")  # back in the field; a key typed adds to the text, never replaces it
        assert app.screen.query_one("#patient-query").value == "nordmannx"
        await _press(pilot, "backspace", "enter")
        assert app.screen.focused is app.screen.query_one("#patients")
        await _press(pilot, "tab", "x")  # Tab from the results goes to the field: no stop on nothing visible
        assert app.screen.query_one("#patient-query").value == "nordmannx"
        await _press(pilot, "backspace", "enter", "escape")  # Esc on the results: back, as the footer says
        assert isinstance(app.screen, StaffHomeScreen)


def test_the_trace_panel_finds_its_folder_without_importing_the_command_line():
    """Paths the app and the CLI share live in tui/locations.py: no circle screens → cli → run → app → screens."""
    import subprocess
    import sys

    probe = "import sys, timebok.screens.trace; print('timebok.tui.cli' in sys.modules, 'timebok.tui.run' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


# -- the queue: live, undo, past times, and the desk that answers second ----------------------

import datetime as _dt  # noqa: E402

from tests.conftest import OLA  # noqa: E402
from timebok.client.api import BookingClient  # noqa: E402
from timebok.client.models import AppointmentState  # noqa: E402
from timebok.domain import clock  # noqa: E402


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _kari_requests_a_lab_time(server) -> str:
    async with BookingClient(server.url, KARI) as kari:
        lab = next(tt for tt in await kari.time_types("1") if tt.code == "Lab")
        [book] = await kari.timebooks(lab.id)
        day = await kari.first_free_date(book.id, clock.today() + _dt.timedelta(days=1))  # beyond the lead time
        slot = (await kari.free_slots(book.id, day))[0]
        return (await kari.request_booking(slot, "1", "Blodprøve")).id


async def _state(server, appointment_id: str) -> AppointmentState:
    async with BookingClient(server.url, FJORD_STAFF) as office:
        return (await office.appointment(appointment_id)).state


async def test_the_queue_and_the_home_count_update_by_themselves_and_r_refreshes(live_server, monkeypatch):
    # Short, but longer than an answer takes on a loaded machine: settle() waits for a moment with no fetch under way.
    monkeypatch.setattr(RequestQueueScreen, "POLL_SECONDS", 1.0)
    monkeypatch.setattr(StaffHomeScreen, "POLL_SECONDS", 1.0)
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Oppdatert kl. 09:00" in screen_text(app)
        await _kari_requests_a_lab_time(live_server)
        # No key pressed: the home count follows.
        await wait_for(pilot, lambda: str(app.screen.query_one("#requests").label) == "f · Forespørsler (3)")
        await settle(pilot)
        assert str(app.screen.query_one("#requests").label) == "f · Forespørsler (3)"

        await _press(pilot, "f")
        assert [r.patient.name for r in app.screen.requests] == ["Ola Nordmann", "Aisha Khan", "Kari Nordmann"]
        async with BookingClient(live_server.url, OLA) as ola:
            await ola.cancel(await ola.appointment(app.screen.requests[0].id))
        await wait_for(pilot, lambda: len(app.screen.requests) == 2)
        await settle(pilot)
        assert [r.patient.name for r in app.screen.requests] == ["Aisha Khan", "Kari Nordmann"]
        assert "Forespørsler (2)" in screen_text(app) and "Oppdatert kl. 09:00" in screen_text(app)
        assert "r" in app.screen.active_bindings  # «r Oppdater» in the footer, beside ^r «Prøv igjen»


async def test_r_refreshes_the_queue_at_once(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "f")
        assert len(app.screen.requests) == 2
        await _kari_requests_a_lab_time(live_server)
        await _press(pilot, "r")
        assert len(app.screen.requests) == 3


async def test_a_stray_b_is_undone_with_z_and_the_patient_is_never_told(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "f")
        ola = app.screen.requests[0]
        await _press(pilot, "b")
        assert "Bekrefter timen til Ola Nordmann om 5 sekunder. Z angrer." in screen_text(app)
        assert [r.patient.name for r in app.screen.requests] == ["Aisha Khan"]
        assert app.screen.check_action("undo", ()) is True  # Z works now (said on screen, beside the request)
        await _press(pilot, "z")
        assert [r.patient.name for r in app.screen.requests] == ["Ola Nordmann", "Aisha Khan"]
        assert "Angret: timen til Ola Nordmann er ikke bekreftet" in screen_text(app)
        await pilot.pause(5.5)  # well past the window: nothing is sent
        await settle(pilot)
    assert await _state(live_server, ola.id) is AppointmentState.WAITING
    async with BookingClient(live_server.url, OLA) as client:
        assert [m.topic for m in await client.inbox("2") if m.appointment_id == ola.id] == ["Timeforespørselen er sendt"]


async def test_leaving_the_queue_in_the_undo_window_sends_the_confirmation(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "f")
        ola = app.screen.requests[0]
        await _press(pilot, "b", "escape")
        await settle(pilot)
        assert str(app.screen.query_one("#requests").label) == "f · Forespørsler (1)"
        assert any("Timen til Ola Nordmann" in n and "er bekreftet" in n for n in _notes(app))
    assert await _state(live_server, ola.id) is AppointmentState.CONFIRMED


async def test_a_request_still_waiting_when_its_time_begins_leaves_the_queue_unanswered(live_server):
    # Issue 24: a request nobody answered before its time began is closed «Ikke besvart» (the patient is told),
    # so the queue no longer offers a time that has already begun.
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "f")
        ola = app.screen.requests[0]
        clock.set_now(ola.start + _dt.timedelta(minutes=1))  # Ola's time has just begun
        await _press(pilot, "r")
        await settle(pilot)
        assert ola.id not in [r.id for r in app.screen.requests]
    assert await _state(live_server, ola.id) is AppointmentState.UNANSWERED


async def test_the_desk_second_to_answer_is_told_the_other_rejected_it(live_server, monkeypatch):
    monkeypatch.setattr(RequestQueueScreen, "UNDO_SECONDS", 0.1)
    first, second = make_app(live_server, FJORD_STAFF), make_app(live_server, FJORD_STAFF)
    async with first.run_test(size=SIZE) as one, second.run_test(size=SIZE) as two:
        for pilot in (one, two):
            await settle(pilot)
            await _press(pilot, "f")
        await _press(one, "a", *"Ring oss", "enter")  # the first desk rejects …
        await _press(two, "b")  # … the second, not yet knowing, confirms
        await settle(two)  # waits out the 0.1 s undo window: a timer due soon is work under way
        told = "Forespørselen fra Ola Nordmann var allerede avvist av en annen ekspedisjon."
        assert any(told in n for n in _notes(second)) and told in screen_text(second)
        assert [r.patient.name for r in second.screen.requests] == ["Aisha Khan"]


async def test_the_desk_is_told_when_the_patient_cancelled_first_and_keeps_its_reason(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "f")
        ola_request = app.screen.requests[0]
        async with BookingClient(live_server.url, OLA) as ola:
            await ola.cancel(await ola.appointment(ola_request.id))
        await _press(pilot, "a", *"Fullt i dag", "enter")
        text = screen_text(app)
        assert "Ola Nordmann har selv avbestilt forespørselen." in text
        assert "Begrunnelsen din ble ikke sendt: «Fullt i dag»" in text
        assert "allerede besvart av noen andre" not in "\n".join(_notes(app))
    assert await _state(live_server, ola_request.id) is AppointmentState.CANCELLED


# -- a started appointment (13.6) --------------------------------------------------------------


async def test_a_started_appointment_is_not_upcoming_and_not_offered_for_cancelling(live_server):
    clock.set_now("2026-11-25T11:05")  # Ola's lab time today at 11:00 has begun
    app = make_app(live_server, OLA)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "t")
        upcoming = "\n".join(str(i.render()) for i in app.screen.query("#upcoming ExpandableItem Static"))
        past = "\n".join(str(i.render()) for i in app.screen.query("#past ExpandableItem Static"))
        assert "kl. 11:00" not in upcoming and "onsdag 25. november 2026 kl. 11:00" in past
        app.screen.query_one("#past").focus()
        await settle(pilot)
        # «a Avbestill» not offered on it (hidden: past the 24-hour deadline, which a begun time always is)
        assert app.screen.check_action("cancel", ()) is False


async def test_cancelling_a_time_that_began_meanwhile_says_so_in_norwegian(live_server):
    # The demo's Lab has a 24-hour deadline, past which «Avbestill» is not offered (issue 24): without one, a time
    # may be cancelled until it begins.
    async with BookingClient(live_server.url, FJORD_STAFF) as desk:
        setup = await desk.office_setup("1")
        for book in setup.timebooks:
            book.deadline_hours = 0
        await desk.change_setup(setup)
    clock.set_now("2026-11-25T10:59")
    app = make_app(live_server, OLA)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "t")
        assert app.screen._highlighted().start.strftime("%d.%m %H:%M") == "25.11 11:00"
        await _press(pilot, "a")  # «Vil du avbestille timen …?»
        clock.set_now("2026-11-25T11:01")  # … and while the patient reads the question, the time begins
        await _press(pilot, "j")
        notes = "\n".join(_notes(app))
        assert "Timen har begynt og kan ikke avbestilles. Ring legekontoret." in notes
        assert "started" not in notes and "cannot" not in notes


# -- staff wording (13.7) ----------------------------------------------------------------------


async def test_the_front_desk_is_addressed_as_a_front_desk_and_the_guide_speaks_about_the_patient(live_server):
    from tests.conftest import SUPPORT

    app = make_app(live_server, FJORD_STAFF, embedded=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Fjordsiden legekontor · ekspedisjonen. Innlogget som Helsesekretær, Fjordsiden." in text
        assert "Hei, Helsesekretær" not in text
        await _press(pilot, "b", *KARI_NUMBER, "enter")
        text = screen_text(app)
        assert "Hva skal pasienten ha time til?" in text and "Hva vil du bestille" not in text
        await _press(pilot, "enter")  # Koronatest: several places, step 3
        text = screen_text(app)
        assert "Hvor skal pasienten møte opp?" in text and "Hvor vil du møte opp?" not in text

    agent = make_app(live_server, KARI, agent_token=SUPPORT, embedded=True)
    async with agent.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(agent)
        assert "Demo: du er logget inn som Kundesenter, NHN og ser det Kari Nordmann ser." in text
        assert "Demo: du er Kundesenter, NHN · som" not in text
        await _press(pilot, "b", "enter")  # the citizen's own guide («Meg selv») still speaks to the citizen
        assert "Hva vil du bestille time til?" in screen_text(agent)


async def test_a_d_number_is_labelled_as_one(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "b", *"khan", "enter")
        assert "Khan, Aisha · født 21. juli 1992 · D-nummer 618792 *****" in screen_text(app)


async def test_one_failed_b_with_the_backend_down_says_so_once_and_keeps_the_request(live_server, monkeypatch):
    monkeypatch.setattr(RequestQueueScreen, "UNDO_SECONDS", 0.1)
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "f")
        live_server.stop()
        await _press(pilot, "b")
        await settle(pilot)  # waits out the 0.1 s undo window: a timer due soon is work under way
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1, [str(n.message) for n in errors]  # one toast, not the same one twice
        assert "Fikk ikke oppdatert" in screen_text(app)  # the list is the last one fetched, and says so
        assert [r.patient.name for r in app.screen.requests] == ["Ola Nordmann", "Aisha Khan"]


async def test_staff_may_book_inside_the_lead_time_and_are_warned(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "b", *KARI_NUMBER, "enter", "down", "down", "enter", "enter", "enter")  # Lab, today, 09:10
        assert app.draft.slot.start.strftime("%d.%m %H:%M") == "25.11 09:10"
        assert any("innenfor bestillingsfristen på 120 minutter" in n for n in _notes(app))


@pytest.mark.parametrize("name", ["support_start", "staff_confirmation", "staff_home", "request_queue", "staff_calendar"])
async def test_at_80_columns_no_footer_key_is_covered_by_the_palette_key(live_server, name):
    """Each key of the footer reads whole at 80 columns: none runs under the palette key docked on the right."""
    from tests.test_snapshots import STAFF_SCREENS_80x24

    token, agent, keys = STAFF_SCREENS_80x24[name]
    app = make_app(live_server, token, agent_token=agent, embedded=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await settle(pilot)
        keys = footer_keys(app)
        palette = [k for k in keys if k.palette]
        shown = [k for k in keys if not k.palette]
        assert palette and shown
        assert {"help", "quit"} <= {k.action for k in shown}
        rightmost = max(k.right for k in shown)
        assert rightmost <= palette[0].x, (name, keys)


async def test_a_terminal_narrowed_to_80_columns_keeps_every_footer_key_whole(live_server):
    def palette():
        return next(k for k in footer_keys(app) if k.palette)

    app = make_app(live_server, KARI, agent_token=SUPPORT, embedded=True)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        assert palette().description == "Kommandoer"
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        shown = [k for k in footer_keys(app) if not k.palette]
        assert palette().description == "Mer"
        assert max(k.right for k in shown) <= palette().x
        await pilot.resize_terminal(100, 32)
        await settle(pilot)
        assert palette().description == "Kommandoer"
