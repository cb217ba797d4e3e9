"""80x24, the smallest terminal we support: on every screen and dialog a user reaches, in both languages, nothing
is cut off on the right and no key falls out of the footer."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from tests.conftest import FJORD_STAFF, KARI, SUPPORT
from tests.tui_helpers import cut_off, make_app, screen_text, settle, to_calendar, to_review
from timebok.domain.clock import now
from timebok.ui import i18n
from timebok.ui.widgets.footer import TimebokFooter

SIZE = (80, 24)


def lost_keys(app) -> list[str]:
    """The keys this screen shows in its footer by its bindings, but that the line at this width leaves out."""
    footers = [f for f in app.screen.query(TimebokFooter) if f.display]
    if not footers:
        return []
    footer = footers[-1]
    rows, _palette = footer._rows()
    drawn = {key.key for key in footer.shown_keys()}
    return [binding.key for binding, _enabled, _tip in rows if binding.key not in drawn]


def squeezed_top_line(app) -> list[str]:
    """The top line's title or «who» when either is cut short («…») or runs into the other."""
    found = []
    for part in app.screen.query("#topbar Static"):
        if part.display and cell_len(str(part.render())) > part.region.width:
            found.append(str(part.render()))
    return found


def problems(app) -> dict:
    found = {"cut off": cut_off(app), "lost keys": lost_keys(app), "top line": squeezed_top_line(app)}
    return {what: items for what, items in found.items() if items}


async def _visit(pilot, seen: list, *keys: str) -> None:
    """Press `keys`, then note the screen reached and anything it cuts off or leaves out of its footer."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)
    seen.append((type(pilot.app.screen).__name__, problems(pilot.app)))


@pytest.fixture(params=["nb", "en"])
def language(request):
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language("nb")


async def test_the_citizens_screens_fit_80x24(live_server, language):
    app = make_app(live_server, KARI)
    seen: list = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen.append(("start", problems(app)))
        await pilot.press("b")
        await settle(pilot)
        seen.append(("for whom", problems(app)))  # step 1 «Bestill for»
        await pilot.press("escape")
        await to_calendar(pilot, downs=0)  # Koronatest: the place step
        seen.append(("place", problems(app)))
        await _visit(pilot, seen, "escape", "escape", "escape")
        await to_review(pilot, "influensavaksine")
        seen.append(("review", problems(app)))
        await _visit(pilot, seen, "escape")  # the calendar with the day's times
        await _visit(pilot, seen, "enter", "ctrl+s")  # the confirmation
        await _visit(pilot, seen, "i")  # the inbox
        await _visit(pilot, seen, "escape", "t")  # «Timeavtaler»
        await _visit(pilot, seen, "a")  # «Avbestille?»
        await _visit(pilot, seen, "escape", "f1")  # help
    assert [name for name, _ in seen] == [
        "start",
        "for whom",
        "place",
        "StartScreen",
        "review",
        "CalendarScreen",
        "ConfirmationScreen",
        "InboxScreen",
        "AppointmentsScreen",
        "ConfirmDialog",
        "HelpScreen",
    ]
    assert [(name, found) for name, found in seen if found] == []


async def test_the_support_agents_screens_fit_80x24(live_server, language):
    app = make_app(live_server, KARI, agent_token=SUPPORT)
    seen: list = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen.append(("start", problems(app)))
        await _visit(pilot, seen, "b")  # step 1 «Bestill for»
        await _visit(pilot, seen, "down", "enter")  # step 2 for Emma, with the agent's longest top line
        await _visit(pilot, seen, "down", "down", "enter")  # the calendar, with ^t in the footer
        await _visit(pilot, seen, "enter", "enter")  # the review
        await _visit(pilot, seen, "ctrl+t")  # the trace
        await _visit(
            pilot, seen, "escape", "escape", "escape", "escape", "escape", "escape", "o"
        )  # the office setup as the citizen sees it, with whom she may book for
    assert [name for name, _ in seen] == [
        "start",
        "ForWhomScreen",
        "TimeTypeScreen",
        "CalendarScreen",
        "ReviewScreen",
        "TraceScreen",
        "SupportSetupScreen",
    ]
    assert [(name, found) for name, found in seen if found] == []


async def test_the_front_desks_screens_and_forms_fit_80x24(live_server, language):
    app = make_app(live_server, FJORD_STAFF)
    seen: list = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen.append(("home", problems(app)))
        await _visit(pilot, seen, "f")  # «Forespørsler»
        await _visit(pilot, seen, "a")  # the reject dialog
        await _visit(pilot, seen, "escape", "escape", "d")  # «Dagens timer»
        await _visit(pilot, seen, "escape", "o")  # the timebook setup
        await _visit(pilot, seen, "m")  # the weekly pattern form
        await _visit(pilot, seen, "ctrl+s")  # its preview
        await _visit(pilot, seen, "escape", "escape", "k")  # a campaign
        await _visit(pilot, seen, "escape", "s")  # «Steng dag»
        await _visit(pilot, seen, "escape", "escape", "b", *"nordmann", "enter")  # the patients found
        assert "Nordmann, Kari" in screen_text(app)
        await _visit(pilot, seen, "enter", "down", "down", "enter")  # the calendar, for Kari
        await _visit(pilot, seen, "enter", "enter", "enter")  # the confirmation, with «Bekreft timen nå»
    assert [name for name, _ in seen] == [
        "home",
        "RequestQueueScreen",
        "RejectDialog",
        "TodayScreen",
        "SetupScreen",
        "SetupForm",
        "PreviewDialog",
        "SetupForm",
        "SetupForm",
        "PatientSearchScreen",
        "CalendarScreen",
        "ConfirmationScreen",
    ]
    assert [(name, found) for name, found in seen if found] == []


async def test_with_many_messages_and_times_the_line_above_each_list_stays_in_view(live_server):
    """Ten bookings: the inbox's count line and «Kommende timer» stay on screen at 80x24; the lists scroll, the screen
    does not (it opened scrolled down, the count out of view, with two scrollbars nested in «Timeavtaler»)."""
    from datetime import date

    from timebok.client.api import BookingClient

    async with BookingClient(live_server.url, KARI) as kari:
        me = await kari.whoami()
        lab = next(tt for tt in await kari.time_types(me.office.id) if tt.code == "Lab")
        (book,) = await kari.timebooks(lab.id)
        for slot in (await kari.free_slots(book.id, date(2026, 12, 2)))[:10]:
            await kari.request_booking(slot, me.patient.id)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, first_line in (("i", "meldinger"), ("escape", None), ("t", "Kommende timer")):
            await pilot.press(key)
            await settle(pilot)
            if first_line is None:
                continue
            body = app.screen.query_one("#body")
            assert body.max_scroll_y == 0 and body.scroll_y == 0, type(app.screen).__name__
            shown = [w for w in app.screen.query("Static") if w.display and first_line in str(w.render())]
            assert shown and shown[0].region.y >= body.region.y, first_line
            assert problems(app) == {}


async def test_every_appointment_and_its_details_can_be_read_at_80x24(live_server):
    """Kari has five upcoming times: the heading counts them, the list scrolls to each with no empty rows left below
    the lists, and each time's opened details («Se detaljer»), down to «Status» and «Hva timen gjelder», are all in
    view (the lists were capped at 35 % of the height: 2 of 4 showed, and the details were cut inside the box)."""
    from datetime import date

    from textual.widgets import ListView

    from timebok.client.api import BookingClient

    reason = "Blodprøve og en lang forklaring som går over flere linjer, så detaljene brytes mer enn én gang her"
    async with BookingClient(live_server.url, KARI) as kari:
        me = await kari.whoami()
        lab = next(tt for tt in await kari.time_types(me.office.id) if tt.code == "Lab")
        (book,) = await kari.timebooks(lab.id)
        for day in (2, 3, 4, 7):
            await kari.request_booking((await kari.free_slots(book.id, date(2026, 12, day)))[0], me.patient.id, reason)
        upcoming_count = sum(1 for a in await kari.appointments(me.patient.id) if a.start > now())
    assert upcoming_count >= 4
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert f"Kommende timer ({upcoming_count})" in screen_text(app)
        body = app.screen.query_one("#body")
        upcoming, past = app.screen.query_one("#upcoming", ListView), app.screen.query_one("#past", ListView)
        # The lists fill the body: not a row left empty below them, and the screen itself does not scroll.
        assert body.max_scroll_y == 0
        assert past.region.bottom >= body.content_region.bottom - 1  # the last row may be an item's margin
        seen = set()
        for index in range(upcoming_count):
            if index:
                await pilot.press("down")
                await settle(pilot)
            item = upcoming.highlighted_child
            assert upcoming.region.contains_region(item.region), f"time {index + 1} is not fully in view"
            await pilot.press("enter")  # «Se detaljer»
            await settle(pilot)
            details = item.query_one(".details")
            assert "Status:" in str(details.render()) and "Hva timen gjelder:" in str(details.render())
            assert upcoming.region.contains_region(item.region), f"the details of time {index + 1} are cut off"
            assert body.max_scroll_y == 0 and problems(app) == {}
            seen.add(item.key)
            await pilot.press("enter")  # closed again
            await settle(pilot)
        assert len(seen) == upcoming_count
