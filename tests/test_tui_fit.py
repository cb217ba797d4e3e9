"""80x24, the smallest terminal we support: on every screen and dialog a user reaches, nothing is cut off on the right."""

from __future__ import annotations

from tests.conftest import FJORD_STAFF, KARI
from tests.tui_helpers import cut_off, make_app, screen_text, settle, to_review

SIZE = (80, 24)


async def _visit(pilot, seen: dict, *keys: str) -> None:
    """Press `keys`, then note what the screen now cuts off, under the screen's name."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)
    seen[type(pilot.app.screen).__name__ + " after " + " ".join(keys)] = cut_off(pilot.app)


async def test_the_citizens_screens_fit_80x24(live_server):
    app = make_app(live_server, KARI)
    seen: dict = {}
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen["start"] = cut_off(app)
        await to_review(pilot, "influensavaksine")
        seen["review"] = cut_off(app)
        await _visit(pilot, seen, "ctrl+s")  # the confirmation
        await _visit(pilot, seen, "i")  # the inbox
        await _visit(pilot, seen, "escape", "t")  # «Timeavtaler»
        await _visit(pilot, seen, "a")  # «Avbestille?»
        await _visit(pilot, seen, "escape", "f1")  # help
    shown = [name.split(" after ")[0] for name in seen]
    assert shown == ["start", "review", "ConfirmationScreen", "InboxScreen", "AppointmentsScreen", "ConfirmDialog", "HelpScreen"]
    assert all(not cuts for cuts in seen.values()), seen


async def test_the_front_desks_screens_and_forms_fit_80x24(live_server):
    app = make_app(live_server, FJORD_STAFF)
    seen: dict = {}
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen["home"] = cut_off(app)
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
    shown = [name.split(" after ")[0] for name in seen]
    assert shown == ["home", "RequestQueueScreen", "RejectDialog", "TodayScreen", "SetupScreen", "SetupForm", "PreviewDialog",
                     "SetupForm", "SetupForm", "PatientSearchScreen"]
    assert all(not cuts for cuts in seen.values()), seen
