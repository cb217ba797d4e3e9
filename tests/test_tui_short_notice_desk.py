"""The desk's side of issue 25 in the real app on the real backend: the setup's «Varsler» (reminder hours and the
short-notice offer window), «Varsler om timen» per appointment for the citizen and the desk, and the desk's list
«Kan komme på kort varsel» with its offer by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from textual.widgets import Button, Checkbox, DataTable

from tests.conftest import FJORD_STAFF, KARI, OLA
from tests.test_tui_fit import problems
from tests.tui_helpers import footer_keys, make_app, screen_text, settle, wait_for
from timebok.client.api import BookingClient
from timebok.client.models import Appointment, Timebook
from timebok.domain.clock import OSLO
from timebok.screens.appointments import AppointmentsScreen
from timebok.screens.notice_settings_dialog import NoticeSettingsDialog
from timebok.screens.offer_dialog import OfferDialog
from timebok.screens.patient_page import PatientScreen
from timebok.screens.setup import SetupScreen
from timebok.screens.short_notice_list import ShortNoticeScreen
from timebok.screens.wish_dialog import WishDialog
from timebok.ui import i18n
from timebok.ui.setup_form import PreviewDialog, SetupForm

SIZE = (80, 24)
KARI_NUMBER = "14838512470"
SUNDAY = date(2026, 11, 29)  # no times on a Sunday: a wish for it waits, so the offer by hand goes to the days after


def text_of(app) -> str:
    return " ".join(screen_text(app).split())


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def _field(pilot, name: str, text: str) -> None:
    box = pilot.app.screen.query_one(f"#field-{name}")
    box.value = ""
    box.focus()
    await pilot.press(*text)


async def _lab(client: BookingClient) -> Timebook:
    return next(b for b in await client.office_timebooks("1") if b.time_type_code == "Lab")


async def _kari_booked(live_server) -> Appointment:
    async with BookingClient(live_server.url, FJORD_STAFF) as staff:
        book = await _lab(staff)
        slot = (await staff.free_slots(book.id, date(2026, 12, 3)))[0]
        made = await staff.request_booking(slot, "1", "blodprøve")
        return await staff.confirm(made)


async def test_the_setup_sets_reminder_hours_and_the_offer_window_and_refuses_what_is_out_of_range(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "o")
        await wait_for(pilot, lambda: isinstance(app.screen, SetupScreen) and app.screen.current() is not None)
        book = app.screen.current()
        assert "V: varsler" in screen_text(app)
        assert "Påminnelse 48 t før · tilbud på kort varsel holdes 30 min" in text_of(app)
        await press(pilot, "v")
        assert isinstance(app.screen, SetupForm)
        assert [app.screen.query_one(f"#field-{f}").value for f in ("reminder", "offer")] == ["48", "30"]
        for field, typed, problem in (
            ("reminder", "36", "Skriv av, 24, 48 eller 72."),
            ("offer", "5", "Et tilbud må holdes fra 10 til 240 minutter."),
            ("offer", "300", "Et tilbud må holdes fra 10 til 240 minutter."),
        ):
            before = app.screen.query_one(f"#field-{field}").value
            await _field(pilot, field, typed)
            await press(pilot, "ctrl+s")
            assert isinstance(app.screen, SetupForm) and problem in text_of(app), problem
            assert app.screen.query_one(f"#field-{field}").has_class("-invalid")
            await _field(pilot, field, before)
        await _field(pilot, "reminder", "av")
        await _field(pilot, "offer", "60")
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, PreviewDialog)
        await press(pilot, "l")
        await wait_for(pilot, lambda: isinstance(app.screen, SetupScreen) and "holdes 60 min" in text_of(app))
        assert "Påminnelse av · tilbud på kort varsel holdes 60 min" in text_of(app)
    async with BookingClient(live_server.url, FJORD_STAFF) as office:
        saved = (await office.office_setup("1")).timebook(book.id)
        assert (saved.reminder_hours, saved.offer_minutes) == (0, 60)


@pytest.mark.parametrize("size", [(80, 24), (100, 32)])
async def test_the_citizen_and_the_desk_turn_notices_for_one_time_off_and_on(live_server, size):
    booked = await _kari_booked(live_server)
    app = make_app(live_server, KARI)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await press(pilot, "t")
        await wait_for(pilot, lambda: isinstance(app.screen, AppointmentsScreen) and app.screen.by_id)
        await pilot.press("enter")  # «Se detaljer» names V (the footer has no room for it at 80 columns)
        await wait_for(pilot, lambda: "E-post, SMS og påminnelse om timen: på (V endrer)." in text_of(app))
        await press(pilot, "v")
        assert isinstance(app.screen, NoticeSettingsDialog) and problems(app) == {}
        assert "Innboksen får alle meldinger uansett" in text_of(app)
        await press(pilot, "space", "tab", "space", "ctrl+s")  # both ticked
        await wait_for(pilot, lambda: isinstance(app.screen, AppointmentsScreen) and not any(w.is_running for w in app.workers))
        if "Ingen e-post, SMS eller påminnelse" not in text_of(app):
            await pilot.press("enter")  # «Se detaljer» again, if the refill closed it
        await wait_for(pilot, lambda: "Ingen e-post, SMS eller påminnelse om denne timen" in text_of(app))
    async with BookingClient(live_server.url, KARI) as kari:
        now_ = await kari.appointment(booked.id)
        assert (now_.no_notices, now_.no_reminders) == (True, True)

    desk = make_app(live_server, FJORD_STAFF)
    async with desk.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "b", *KARI_NUMBER, "f2")
        await wait_for(pilot, lambda: isinstance(desk.screen, PatientScreen) and desk.screen.upcoming)
        await press(pilot, "v")
        assert isinstance(desk.screen, NoticeSettingsDialog)
        assert [c.value for c in desk.screen.query(Checkbox)] == [True, True]  # what the citizen chose
        await press(pilot, "space", "ctrl+s")  # e-mail and SMS on again, the reminder still off
        await wait_for(pilot, lambda: isinstance(desk.screen, PatientScreen) and not any(w.is_running for w in desk.workers))
    async with BookingClient(live_server.url, KARI) as kari:
        now_ = await kari.appointment(booked.id)
        assert (now_.no_notices, now_.no_reminders) == (False, True)


async def _wait_listed(live_server, token: str, patient_id: str) -> None:
    async with BookingClient(live_server.url, token) as client:
        start = datetime(SUNDAY.year, SUNDAY.month, SUNDAY.day, tzinfo=OSLO)
        await client.ask_short_notice(patient_id, await _lab(client), start, start.replace(day=SUNDAY.day + 1))


async def test_the_desks_list_shows_first_in_line_first_hides_names_and_offers_a_free_time_by_hand(live_server):
    await _wait_listed(live_server, FJORD_STAFF, "2")  # Ola first, put on the list by the desk
    await _wait_listed(live_server, KARI, "1")  # then Kari herself
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert str(app.screen.query_one("#short-notice", Button).label) == "k · Kort varsel"
        await press(pilot, "k")
        await wait_for(pilot, lambda: isinstance(app.screen, ShortNoticeScreen) and len(app.screen.rows) == 2)
        table = app.screen.query_one("#sn-table", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(2)]
        assert [r[1] for r in rows] == ["Ola Nordmann", "Kari Nordmann"]  # first in line first
        assert rows[0][3] == "29.11" and rows[0][4] == rows[1][4] == "venter"
        assert problems(app) == {}
        await press(pilot, "ctrl+n")
        assert str(table.get_row_at(0)[1]) == "O. N. (1979)" and "Ola" not in screen_text(app)
        await press(pilot, "ctrl+n")
        table.move_cursor(row=1)
        await press(pilot, "t")
        await wait_for(pilot, lambda: isinstance(app.screen, OfferDialog))
        assert "Ingen ledige i perioden pasienten ønsket" in text_of(app) and problems(app) == {}
        offered = app.screen.slots[0]
        await press(pilot, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ShortNoticeScreen) and app.screen.rows[1].offered)
        assert str(table.get_row_at(1)[4]) == "tilbudt til 09:30"  # held 30 minutes from now (09:00), for Kari
        assert not app.screen.rows[0].offered  # Ola, first in line, was not offered this one
        await press(pilot, "escape")
        await press(pilot, "k")
        await wait_for(pilot, lambda: isinstance(app.screen, ShortNoticeScreen) and app.screen.rows)
        app.screen.query_one("#sn-table", DataTable).move_cursor(row=1)
        await press(pilot, "t")  # Kari's already has an offer waiting: said, no dialog
        assert isinstance(app.screen, ShortNoticeScreen)
    async with BookingClient(live_server.url, KARI) as kari:
        assert (await kari.inbox("1"))[0].topic == "Ledig time til deg"
        holds = [a for a in await kari.appointments("1") if a.status == "proposed"]
        assert [h.start for h in holds] == [offered.start]


async def test_the_desk_takes_a_patient_off_the_list_after_a_yes(live_server):
    await _wait_listed(live_server, FJORD_STAFF, "2")  # Ola
    await _wait_listed(live_server, KARI, "1")
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "k")
        await wait_for(pilot, lambda: isinstance(app.screen, ShortNoticeScreen) and len(app.screen.rows) == 2)
        assert "x" in {k.key for k in footer_keys(app)}  # in the footer, whole, at 80x24
        await press(pilot, "x")
        assert "Ta Ola Nordmann av listen for kort varsel" in text_of(app)
        await press(pilot, "escape")  # no: Ola stays
        await wait_for(pilot, lambda: isinstance(app.screen, ShortNoticeScreen))
        assert [w.patient_id for w in app.screen.rows] == ["2", "1"]
        await press(pilot, "x")
        await press(pilot, "j")  # «Ja, fjern fra listen»
        await wait_for(pilot, lambda: isinstance(app.screen, ShortNoticeScreen) and len(app.screen.rows) == 1)
        assert [w.patient_id for w in app.screen.rows] == ["1"]  # Kari, now first in line
    async with BookingClient(live_server.url, OLA) as ola:
        assert await ola.wishes() == []


async def test_the_desk_puts_a_patient_on_the_list_for_an_earlier_time_from_their_page(live_server):
    booked = await _kari_booked(live_server)
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "b", *KARI_NUMBER, "f2")
        await wait_for(pilot, lambda: isinstance(app.screen, PatientScreen) and app.screen.upcoming)
        await press(pilot, "l")
        await wait_for(pilot, lambda: isinstance(app.screen, WishDialog))
        assert "tidligere time enn torsdag 3. desember 2026" in text_of(app) and problems(app) == {}
        assert app.screen.query_one("#wish-to").value == "03.12.2026"
        await press(pilot, "escape")
        assert isinstance(app.screen, PatientScreen)
        await press(pilot, "l")
        await wait_for(pilot, lambda: isinstance(app.screen, WishDialog))
        await press(pilot, "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PatientScreen) and app.screen.wishes)
        assert "Kort varsel: Laboratoriet 25.11–03.12, venter" in text_of(app)
    async with BookingClient(live_server.url, FJORD_STAFF) as staff:
        (wish,) = await staff.wishes(patient_id="1")
        assert wish.replaces_id == booked.id and wish.period_end == booked.start


@pytest.fixture(params=["nb", "en"])
def language(request):
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language("nb")


@pytest.mark.parametrize("size", [(80, 24), (100, 32)])
async def test_the_short_notice_screens_fit(live_server, language, size):
    await _wait_listed(live_server, FJORD_STAFF, "2")
    app = make_app(live_server, FJORD_STAFF)
    seen = []
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await press(pilot, "k")
        await wait_for(pilot, lambda: isinstance(app.screen, ShortNoticeScreen) and app.screen.rows)
        seen.append((type(app.screen).__name__, problems(app)))
        await press(pilot, "t")
        await wait_for(pilot, lambda: isinstance(app.screen, OfferDialog))
        seen.append((type(app.screen).__name__, problems(app)))
        await press(pilot, "escape", "escape", "o")
        await wait_for(pilot, lambda: isinstance(app.screen, SetupScreen) and app.screen.current() is not None)
        seen.append((type(app.screen).__name__, problems(app)))
        await press(pilot, "v")
        seen.append((type(app.screen).__name__, problems(app)))
    assert [name for name, _ in seen] == ["ShortNoticeScreen", "OfferDialog", "SetupScreen", "SetupForm"]
    assert [(name, found) for name, found in seen if found] == []
