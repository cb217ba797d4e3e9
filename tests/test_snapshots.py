"""SVG snapshots of every screen, fixed clock (2026-11-25 09:00) and theme, in nb; the citizen's at 80x24 (the smallest) and 100x32; the calendar also in en and NO_COLOR."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from tests.conftest import FJORD_STAFF, KARI, SUPPORT
from tests.tui_helpers import make_app, settle
from timebok.ui import i18n

pytestmark = pytest.mark.usefixtures("steady_picture")  # the picture, not how long the walk to it took

SIZE = (100, 32)
# The citizen's screens at the smallest terminal and at the usual one.
SIZES = pytest.mark.parametrize("size", [(80, 24), (100, 32)], ids=["80x24", "100x32"])


def _walk(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.fixture
def english():
    i18n.set_language("en")
    yield
    i18n.set_language("nb")


@SIZES
def test_start(snap_compare, live_server, size):
    assert snap_compare(make_app(live_server, KARI), terminal_size=size, run_before=_walk())


@SIZES
def test_time_type(snap_compare, live_server, size):
    assert snap_compare(make_app(live_server, KARI), terminal_size=size, run_before=_walk("b", "enter", "down", "down"))


@SIZES
def test_place(snap_compare, live_server, size):
    assert snap_compare(make_app(live_server, KARI), terminal_size=size, run_before=_walk("b", "enter", "enter"))


@SIZES
def test_calendar_with_times_and_place(snap_compare, live_server, size):
    app = make_app(live_server, KARI)
    assert snap_compare(app, terminal_size=size, run_before=_walk("b", "enter", "down", "down", "enter", "enter", "down"))


@SIZES
def test_calendar_empty_month(snap_compare, live_server, size):
    app = make_app(live_server, KARI)
    walk = _walk("b", "enter", "down", "down", "down", "enter", "pageup")  # Vaksine opens on December; November is empty

    async def run_before(pilot) -> None:
        await walk(pilot)
        pilot.app.clear_notifications()  # the notice of where the calendar opened: its timing is not the picture's

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_calendar_in_english(snap_compare, live_server, english):
    app = make_app(live_server, KARI)
    assert snap_compare(app, terminal_size=SIZE, run_before=_walk("b", "enter", "down", "down", "enter", "pagedown"))


def test_calendar_without_colour(snap_compare, live_server, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(live_server, KARI)
    assert snap_compare(app, terminal_size=SIZE, run_before=_walk("b", "enter", "down", "down", "enter", "enter"))


@SIZES
def test_review(snap_compare, live_server, size):
    keys = ("b", "enter", "down", "down", "enter", "enter", "enter", *"influensavaksine")
    assert snap_compare(make_app(live_server, KARI), terminal_size=size, run_before=_walk(*keys))


@SIZES
def test_confirmation(snap_compare, live_server, size):
    keys = ("b", "enter", "down", "down", "enter", "enter", "enter", *"influensavaksine", "enter")
    assert snap_compare(make_app(live_server, KARI), terminal_size=size, run_before=_walk(*keys))


@SIZES
def test_inbox_with_details(snap_compare, live_server, size):
    assert snap_compare(make_app(live_server, KARI), terminal_size=size, run_before=_walk("i", "enter"))


@SIZES
def test_appointments(snap_compare, live_server, size):
    assert snap_compare(make_app(live_server, KARI), terminal_size=size, run_before=_walk("t", "tab", "enter"))


@SIZES
def test_help_on_the_calendar(snap_compare, live_server, size):
    app = make_app(live_server, KARI)
    assert snap_compare(app, terminal_size=size, run_before=_walk("b", "enter", "down", "down", "enter", "f1"))


@SIZES
def test_cancel_dialog(snap_compare, live_server, size):
    app = make_app(live_server, KARI)
    assert snap_compare(
        app,
        terminal_size=size,
        run_before=_walk("b", "enter", "down", "down", "enter", "enter", "enter", "enter", "escape", "t", "a"),
    )


@SIZES
def test_appointments_when_the_backend_is_down(snap_compare, live_server, size):
    app = make_app(live_server, KARI)

    async def run_before(pilot) -> None:
        await _walk()(pilot)
        live_server.stop()
        await _walk("t")(pilot)
        app.clear_notifications()  # as when the toast has faded: the screen itself says what happened
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


# The front desk and the support desk.


def test_staff_home(snap_compare, live_server):
    app = make_app(live_server, FJORD_STAFF, embedded=True)  # embedded: the demo's «bytt demobruker» line shows
    assert snap_compare(app, terminal_size=SIZE, run_before=_walk())


def test_patient_search_with_an_error(snap_compare, live_server):
    keys = ("b", *"14838512471")  # Kari's number with the last digit mistyped
    assert snap_compare(make_app(live_server, FJORD_STAFF), terminal_size=SIZE, run_before=_walk(*keys))


def test_request_queue(snap_compare, live_server):
    assert snap_compare(make_app(live_server, FJORD_STAFF), terminal_size=SIZE, run_before=_walk("f"))


def _started(exchange) -> tuple:
    """Two reads sent at once (the same clock) in a fixed order: the one whose path sorts first."""
    return (exchange.started, "waitlist" in exchange.path)


def test_trace_panel(snap_compare, live_server):
    app = make_app(live_server, KARI, agent_token=SUPPORT)

    async def run_before(pilot) -> None:
        await _walk("t")(pilot)
        # Real requests, but how long each took varies from run to run: fix that one column. «Timeavtaler» reads the
        # times and the short-notice list at once, and they finish in either order: listed in the order they started.
        app.trace.exchanges[:] = sorted((replace(e, duration_ms=12.0) for e in app.trace.exchanges), key=_started)
        await _walk("ctrl+t")(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


# Every staff and support screen at the smallest terminal, 80x24: nothing cut on the right, no footer key lost.

SMALL = (80, 24)
STAFF_SCREENS_80x24 = {
    "staff_home": (FJORD_STAFF, "", ()),
    "patient_found": (FJORD_STAFF, "", ("b", *"14838512470")),
    "request_queue": (FJORD_STAFF, "", ("f",)),
    "reject_dialog": (FJORD_STAFF, "", ("f", "a", *"Fullt i dag")),
    "today": (FJORD_STAFF, "", ("d",)),
    "staff_time_type": (FJORD_STAFF, "", ("b", *"14838512470", "enter")),
    "staff_calendar": (FJORD_STAFF, "", ("b", *"14838512470", "enter", "down", "down", "enter")),
    "staff_review": (FJORD_STAFF, "", ("b", *"14838512470", "enter", "down", "down", "enter", "enter", "enter")),
    "staff_confirmation": (FJORD_STAFF, "", ("b", *"14838512470", "enter", "down", "down", "enter", "enter", "enter", "enter")),
    "support_start": (KARI, SUPPORT, ()),
    "demo_users": (KARI, SUPPORT, ("u",)),
}


@pytest.mark.parametrize("name", list(STAFF_SCREENS_80x24))
def test_staff_and_support_screens_at_80x24(snap_compare, live_server, name):
    token, agent, keys = STAFF_SCREENS_80x24[name]
    app = make_app(live_server, token, agent_token=agent, embedded=True)
    assert snap_compare(app, terminal_size=SMALL, run_before=_walk(*keys))


@pytest.mark.parametrize("detail", [False, True])
def test_trace_panel_at_80x24(snap_compare, live_server, detail):
    app = make_app(live_server, KARI, agent_token=SUPPORT)

    async def run_before(pilot) -> None:
        await _walk("t")(pilot)
        # The loopback port differs per run: fix it where the bodies name it (paging links).
        app.trace.exchanges[:] = sorted(
            (
                replace(
                    e,
                    duration_ms=12.0,
                    request_id=None,
                    response_headers={},
                    response_body=re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:8787", e.response_body),
                )
                for e in app.trace.exchanges
            ),
            key=_started,
        )
        await _walk("ctrl+t", *(("enter",) if detail else ()))(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
