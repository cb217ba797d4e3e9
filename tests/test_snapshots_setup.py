"""SVG snapshots of the timebook setup screens (issue 15) at 80x24 and 100x32, fixed clock, in nb."""

from __future__ import annotations

import pytest

from tests.conftest import FJORD_STAFF, KARI, SUPPORT
from tests.tui_helpers import make_app, settle

pytestmark = pytest.mark.usefixtures("steady_picture")  # the picture, not how long the walk to it took

SIZES = pytest.mark.parametrize("size", [(80, 24), (100, 32)], ids=["80x24", "100x32"])


def _walk(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            if key.startswith("type:"):
                await pilot.press(*key[5:])
            else:
                await pilot.press(key)
            await settle(pilot)

    return run_before


@SIZES
def test_setup_screen(snap_compare, live_server, size):
    assert snap_compare(make_app(live_server, FJORD_STAFF), terminal_size=size, run_before=_walk("o", "down", "down", "down"))


@SIZES
def test_setup_pattern_form_with_an_error(snap_compare, live_server, size):
    # The ranges field gets a range that is not a whole number of 15-minute times; the form keeps it.
    keys = ["o", "m", "tab", "ctrl+a", "ctrl+k", "type:09:00-13:50", "ctrl+s"]
    assert snap_compare(make_app(live_server, FJORD_STAFF), terminal_size=size, run_before=_walk(*keys))


@SIZES
def test_setup_preview_of_a_closure_with_a_booking(snap_compare, live_server, size):
    # «Steng dag» starts in the day (typing replaces it): Ola's Friday, the whole day, a reason, Enter previews.
    keys = ["o", "s", "type:27.11.2026", "tab", "tab", "type:Sykepleier syk", "enter"]
    assert snap_compare(make_app(live_server, FJORD_STAFF), terminal_size=size, run_before=_walk(*keys))


@SIZES
def test_support_office_setup(snap_compare, live_server, size):
    assert snap_compare(make_app(live_server, KARI, agent_token=SUPPORT), terminal_size=size, run_before=_walk("o"))
