"""Text from users and the backend is shown as written: a «[» in a reason, a name or a body is never markup."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import FJORD_STAFF, KARI, OLA, SUPPORT
from tests.tui_helpers import book_for_self, make_app, screen_text, settle, wait_for
from timebok.backend import schema
from timebok.backend.server import open_database
from timebok.client.api import BookingClient
from timebok.screens.appointments import AppointmentsScreen
from timebok.screens.confirmation import ConfirmationScreen
from timebok.screens.inbox import InboxScreen
from timebok.screens.requests import RequestQueueScreen
from timebok.screens.review import ReviewScreen
from timebok.screens.time_type import TimeTypeScreen
from timebok.screens.today import TodayScreen
from timebok.screens.trace import TraceScreen
from timebok.screens.trace_detail import TraceDetailScreen

SIZE = (100, 32)
REASON = "[/] haster [bold]x[/bold]"  # «[/]» alone made Textual raise MarkupError; «[bold]» made x bold
OLA_GIVEN = "Ola [jr]"
OLA_NAME = f"{OLA_GIVEN} Nordmann"


@pytest.fixture
def bracketed(db_path):
    """Ola, with brackets in his given name and in the reason of every request he wrote (written before the server starts)."""
    database = open_database(db_path, demo=False)
    with database.writing() as session:
        session.get(schema.Patient, 2).given = OLA_GIVEN
        session.get(schema.AccessToken, OLA).name = OLA_NAME  # the name the sign-in gives (an OIDC «name» claim)
        for appointment in session.scalars(select(schema.Appointment).where(schema.Appointment.patient_id == 2)):
            if appointment.description:
                appointment.description = REASON
    database.dispose()


ADDRESS = "Storgata [b]1[/b]"
DIRECTIONS = "[/] Inngang fra bakgården"


@pytest.fixture
def odd_places(db_path):
    """Every place's address and directions with brackets, as an office might type them."""
    database = open_database(db_path, demo=False)
    with database.writing() as session:
        for location in session.scalars(select(schema.Location)):
            location.address_line, location.directions = ADDRESS, DIRECTIONS
    database.dispose()


def _toasts(app) -> list[str]:
    """The notifications as painted on the screen."""
    from textual.widgets._toast import Toast

    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def _expand_first(pilot) -> str:
    from textual.widgets import ListView

    pilot.app.screen.query(ListView).first().focus()
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    return screen_text(pilot.app)


async def test_a_citizens_reason_and_the_places_address_with_brackets_stay_as_written(odd_places, live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await book_for_self(pilot)
        await pilot.press("down", "down", "enter")  # the lab: one place
        await settle(pilot)
        await pilot.press("enter")  # the first free date: the place is described beside its times
        await settle(pilot)
        text = screen_text(app)
        assert ADDRESS in text and DIRECTIONS in text
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert f"{ADDRESS}, " in screen_text(app)
        await pilot.press(*REASON)
        await settle(pilot)
        assert app.screen.query_one("#reason").value == REASON
        assert f"{len(REASON)} av 1000 tegn" in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmationScreen)
        assert "Timehenvendelsen er sendt" in screen_text(app) and f"{ADDRESS}, " in screen_text(app)
        await pilot.press("enter")  # to the inbox
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert f"Hva timen gjelder: {REASON}" in await _expand_first(pilot)

        await pilot.press("escape", "t")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentsScreen)
        assert f"Hva timen gjelder: {REASON}" in await _expand_first(pilot)


async def test_the_front_desk_shows_brackets_in_names_and_reasons_as_written(bracketed, live_server, monkeypatch):
    monkeypatch.setattr(RequestQueueScreen, "UNDO_SECONDS", 0.1)
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE, notifications=True) as pilot:  # toasts painted, as a user sees them
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, RequestQueueScreen)
        table = app.screen.query_one("#requests")
        assert OLA_NAME in [str(cell) for cell in table.get_row_at(0)]
        text = screen_text(app)
        assert f"Pasient: {OLA_NAME}" in text and REASON in text  # the details below the table

        await pilot.press("b")  # confirm (after the undo window): the toast names the patient
        await wait_for(pilot, lambda: _toasts(app))  # the toast is mounted a moment after the answer
        assert any(f"Timen til {OLA_NAME}" in note for note in _toasts(app)), _toasts(app)

        await pilot.press("escape", "d")
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        await wait_for(pilot, lambda: app.screen.rows)
        text = screen_text(app)  # the highlighted time's details, under the list
        assert "kl. 11:00 · ● Laboratoriet" in text and f"{OLA_NAME} (029179 *****)" in text and f"gjelder: {REASON}" in text


async def test_a_patient_name_with_brackets_in_the_search_and_the_top_line(bracketed, live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press(*"[/]x [b]y", "enter")
        await settle(pilot)
        assert "Fant ingen pasient som heter «[/]x [b]y» hos Fjordsiden legekontor." in screen_text(app)
        await pilot.press(*["backspace"] * 9, *"nordmann", "enter")
        await settle(pilot)
        assert f"Nordmann, {OLA_GIVEN} · født 2. nov. 1979 · 029179 *****" in screen_text(app)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TimeTypeScreen)
        assert f"for {OLA_NAME}" in str(app.screen.query_one("#who").render())


async def test_a_rejection_reason_with_brackets_reaches_the_citizens_inbox_as_written(bracketed, live_server):
    answer = "[/] fullt [bold]i dag[/bold]"
    async with BookingClient(live_server.url, FJORD_STAFF) as office:
        ola_request = next(a for a in await office.pending_requests() if a.patient_id == "2")
        await office.reject(ola_request, answer)
    app = make_app(live_server, OLA)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert OLA_NAME in str(app.screen.query_one("#who").render())
        assert f"Hei, {OLA_NAME}" in screen_text(app)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert answer in await _expand_first(pilot)


async def test_the_trace_shows_bodies_with_brackets_as_sent(bracketed, live_server):
    app = make_app(live_server, OLA, agent_token=SUPPORT)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, TraceScreen)
        table = app.screen.query_one("#trace")
        paths = [str(table.get_row_at(i)[4]) for i in range(table.row_count)]
        table.move_cursor(row=paths.index("/fhir/Patient/2"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TraceDetailScreen)
        assert f'"{OLA_GIVEN}"' in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        table.move_cursor(row=next(i for i, p in enumerate(paths) if p.startswith("/fhir/Appointment?")))
        await pilot.press("enter")
        await settle(pilot)
        assert REASON in screen_text(app)
