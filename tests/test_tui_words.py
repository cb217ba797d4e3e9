"""Textual's own words on our screens (the theme picker, the screenshot, the trace's failures) in the user's language."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Input

from tests.conftest import KARI
from tests.tui_helpers import make_app, settle
from timebok.client.trace import Exchange
from timebok.screens.trace_detail import status_text
from timebok.ui import i18n
from timebok.ui.widgets.palette import Palette

SIZE = (100, 32)


async def test_the_theme_picker_asks_in_norwegian(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_change_theme()
        await settle(pilot)
        assert isinstance(app.screen, Palette)
        assert app.screen.query_one(Input).placeholder == "Søk etter fargetema …"  # Textual's says «Search for themes…»


async def test_a_screenshot_is_saved_and_its_place_said_in_norwegian(live_server, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # a home with no Downloads folder, as on this machine: saved in the home
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        saved = app.save_screenshot()
        await settle(pilot)
        assert saved is not None and saved.parent == tmp_path and saved.read_text().startswith("<svg")
        notes = [str(n.message) for n in app._notifications]
        assert f"Skjermbildet er lagret i {saved}" in notes, notes


def test_a_request_that_got_no_answer_is_said_in_the_users_words():
    exchange = Exchange(datetime(2026, 11, 25, 9, 0), "POST", "/fhir/Appointment", None, 10002, 300, 0, "{}", "", error="timeout")
    assert status_text(exchange) == "tidsavbrudd"
    i18n.set_language("en")
    try:
        assert status_text(exchange) == "timeout"
    finally:
        i18n.set_language("nb")
    assert status_text(Exchange(datetime(2026, 11, 25, 9, 0), "GET", "/fhir/Slot", 200, 3, 0, 10, "", "{}")) == "200"
