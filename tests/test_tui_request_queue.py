"""«Forespørsler» after it has been empty, and after Z (issue 22): ↑/↓ move the highlight the moment there are rows, and
B confirms the request highlighted."""

from __future__ import annotations

import datetime as _dt

import pytest

from tests.conftest import FJORD_STAFF, KARI, OLA
from tests.tui_helpers import make_app, screen_text, settle, until
from timebok.client.api import BookingClient
from timebok.client.models import AppointmentState
from timebok.domain import clock
from timebok.screens.requests import RequestQueueScreen

SIZE = (80, 24)


async def _press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot, rounds=2)
    await settle(pilot)


async def _requests_a_lab_time(server, token: str) -> str:
    """The patient signed in with `token` asks for the first free Lab time after today (beyond the lead time)."""
    async with BookingClient(server.url, token) as patient:
        me = await patient.whoami()
        lab = next(tt for tt in await patient.time_types(me.office.id) if tt.code == "Lab")
        [book] = await patient.timebooks(lab.id)
        day = await patient.first_free_date(book.id, clock.today() + _dt.timedelta(days=1))
        slot = (await patient.free_slots(book.id, day))[0]
        return (await patient.request_booking(slot, me.patient.id, "Blodprøve")).id


async def _answer_all_elsewhere(server) -> None:
    """Another desk rejects every request waiting: the queue is empty."""
    async with BookingClient(server.url, FJORD_STAFF) as office:
        for request in await office.pending_requests():
            await office.reject(request, "Ring oss")


async def _state(server, appointment_id: str) -> AppointmentState:
    async with BookingClient(server.url, FJORD_STAFF) as office:
        return (await office.appointment(appointment_id)).state


def _highlighted(app) -> str | None:
    current = app.screen._current()
    return current.patient.name if current and current.patient else None


async def _two_arrive_and_the_second_is_confirmed(pilot, server, arrive) -> None:
    """Kari's and then Ola's request arrive in an empty queue (by `arrive`); ↓ then B confirms Ola's, not Kari's."""
    app = pilot.app
    assert app.screen.requests == [] and "Ingen forespørsler" in screen_text(app)
    kari = await _requests_a_lab_time(server, KARI)
    ola = await _requests_a_lab_time(server, OLA)
    await arrive()
    assert [r.patient.name for r in app.screen.requests] == ["Kari Nordmann", "Ola Nordmann"]
    assert app.screen.focused is app.screen.query_one("#requests")  # the keys go to the table, no Tab needed
    await _press(pilot, "down")
    assert _highlighted(app) == "Ola Nordmann" and "Ola Nordmann (029179 *****)" in screen_text(app)
    await _press(pilot, "b")
    await pilot.pause(0.3)
    await settle(pilot)
    assert [r.patient.name for r in app.screen.requests] == ["Kari Nordmann"]
    assert await _state(server, ola) is AppointmentState.CONFIRMED
    assert await _state(server, kari) is AppointmentState.WAITING


async def test_requests_arriving_in_a_queue_opened_empty_take_the_arrow_keys_at_once(live_server, monkeypatch):
    monkeypatch.setattr(RequestQueueScreen, "UNDO_SECONDS", 0.1)
    await _answer_all_elsewhere(live_server)
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "f")

        async def refresh() -> None:
            await _press(pilot, "r")

        await _two_arrive_and_the_second_is_confirmed(pilot, live_server, refresh)


async def test_requests_arriving_by_polling_after_the_queue_emptied_take_the_arrow_keys(live_server, monkeypatch):
    monkeypatch.setattr(RequestQueueScreen, "UNDO_SECONDS", 0.1)
    monkeypatch.setattr(RequestQueueScreen, "POLL_SECONDS", 0.2)
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "f")
        assert len(app.screen.requests) == 2
        await _answer_all_elsewhere(live_server)  # the rows go while the desk looks on …
        await until(pilot, lambda: app.screen.requests == [])
        await settle(pilot)

        async def poll() -> None:  # … and new ones come by themselves, no key pressed
            await until(pilot, lambda: len(app.screen.requests) == 2)
            await settle(pilot)

        await _two_arrive_and_the_second_is_confirmed(pilot, live_server, poll)


@pytest.mark.parametrize("downs", [0, 1])
async def test_after_z_the_highlight_is_on_the_request_that_came_back(live_server, downs):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _press(pilot, "f", *["down"] * downs)
        picked = _highlighted(app)
        assert picked == ("Ola Nordmann", "Aisha Khan")[downs]
        await _press(pilot, "b")
        assert picked not in [r.patient.name for r in app.screen.requests]
        await _press(pilot, "z")
        assert [r.patient.name for r in app.screen.requests] == ["Ola Nordmann", "Aisha Khan"]
        assert _highlighted(app) == picked
        assert f"Pasient: {picked}" in screen_text(app)  # the details below the table are about it too
