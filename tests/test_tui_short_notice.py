"""«Kan komme på kort varsel» in the citizen's screens, on the real backend: the box on step 5 makes the wish, K in
«Timeavtaler» asks and withdraws, an offered time is shown with until when it is held, taken with J (becoming the
booked time, the old one moved) or let go with N (the next in line gets it)."""

from __future__ import annotations

from datetime import date, timedelta

from textual.widgets import Button

from tests.conftest import FJORD_STAFF, KARI, OLA
from tests.test_tui_fit import problems
from tests.test_tui_life import _kari_booked
from tests.tui_helpers import make_app, screen_text, settle, to_review, wait_for
from timebok.backend import short_notice
from timebok.client.api import BookingClient
from timebok.client.models import Appointment, AppointmentState
from timebok.domain import clock
from timebok.screens.appointments import AppointmentsScreen
from timebok.screens.confirmation import ConfirmationScreen
from timebok.screens.inbox import InboxScreen
from timebok.screens.review import ReviewScreen

SIZE = (80, 24)
AISHA = "demo-citizen-aisha"


async def _offered(live_server, database) -> Appointment:
    """Kari's confirmed Lab time on 9 December, on the list for an earlier one; Aisha's Lab time on 3 December frees
    after that (a time free all along is offered to nobody), and the sender loop's round offers it to Kari. (Her
    old time.)"""
    old = await _kari_booked(live_server, date(2026, 12, 9))
    async with BookingClient(live_server.url, AISHA) as aisha:
        me = await aisha.whoami()
        lab = next(t for t in await aisha.time_types(me.office.id) if t.code == "Lab")
        (book,) = await aisha.timebooks(lab.id)
        asked = await aisha.request_booking((await aisha.free_slots(book.id, date(2026, 12, 3)))[0], me.patient.id)
        async with BookingClient(live_server.url, FJORD_STAFF) as office:
            hers = await office.confirm(asked.id)
        async with BookingClient(live_server.url, KARI) as kari:
            await kari.ask_earlier(old)
        assert short_notice.run(database) == 0  # nothing has freed yet
        await aisha.cancel(hers)
    assert short_notice.run(database) == 1
    return old


async def _to_appointments(pilot) -> AppointmentsScreen:
    await settle(pilot)
    await pilot.press("t")
    await settle(pilot, rounds=5)
    assert isinstance(pilot.app.screen, AppointmentsScreen)
    return pilot.app.screen


async def test_ticking_short_notice_on_step_5_puts_the_new_time_on_the_list(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "blodprøve")
        await wait_for(pilot, lambda: app.draft.hold is not None)
        assert "Kan komme på kort varsel" in screen_text(app)
        assert problems(app) == {}  # the box and its key fit at 80x24
        await pilot.press("f3")
        await settle(pilot)
        assert app.draft.short_notice
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, ConfirmationScreen), screen_text(app)
        assert "Du står på listen for kort varsel" in screen_text(app)
        made = app.screen.appointment
    async with BookingClient(live_server.url, KARI) as kari:
        (wish,) = await kari.wishes()
    assert wish.replaces_id == made.id and wish.period_end == made.start and wish.time_type_code == "Lab"


async def test_k_asks_for_an_earlier_time_marks_it_and_withdraws_it(live_server):
    old = await _kari_booked(live_server, date(2026, 12, 9))
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _to_appointments(pilot)
        assert "Kort varsel: du får tilbud" not in screen_text(app)
        await pilot.press("k")
        await settle(pilot)
        assert "Vil du få tilbud om en tidligere time" in screen_text(app)
        await pilot.press("j")  # «Ja, gi meg tilbud»
        await wait_for(pilot, lambda: old.id in screen.wished)
        await settle(pilot)
        assert "Kort varsel: du får tilbud" in screen_text(app)
        await pilot.press("k")
        await settle(pilot)
        assert "Vil du tas av listen for kort varsel" in screen_text(app)
        await pilot.press("j")
        await wait_for(pilot, lambda: old.id not in screen.wished)
        await settle(pilot)
        assert "Kort varsel: du får tilbud" not in screen_text(app)
    async with BookingClient(live_server.url, KARI) as kari:
        assert await kari.wishes() == []


async def test_an_offer_is_shown_taken_with_j_and_becomes_the_booked_time(live_server, database):
    old = await _offered(live_server, database)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _to_appointments(pilot)
        (hold, _) = next(iter(screen.offers.values()))
        text = screen_text(app)
        assert "Tilbud på kort varsel" in text and f"holdes for deg til {hold.hold_expires:%H:%M}" in text, text
        assert hold.start < old.start
        assert problems(app) == {}  # J and N in the footer at 80x24
        await pilot.press("enter")  # «Se detaljer»: what it replaces, and the keys
        await settle(pilot)
        assert "Erstatter timen din ons. 9. des." in screen_text(app)
        await pilot.press("j")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, ReviewScreen) and app.draft.hold.id == hold.id
        text = screen_text(app)
        assert str(app.screen.query_one("#send", Button).label) == "Send endring"
        assert f"Timen holdes for deg til {hold.hold_expires:%H:%M}" in text, text
        assert "Kan komme på kort varsel" not in text
        await pilot.press("escape")  # back: the offer stays
        await settle(pilot, rounds=5)
        assert isinstance(app.screen, AppointmentsScreen)
        await wait_for(pilot, lambda: hold.id in app.screen.offers)
        await pilot.press("j")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("ctrl+s")
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, ConfirmationScreen), screen_text(app)
        assert app.screen.appointment.id == hold.id and app.screen.appointment.replaces_id == old.id
    async with BookingClient(live_server.url, FJORD_STAFF) as office:
        await office.confirm(hold.id)
        assert (await office.appointment(old.id)).state is AppointmentState.MOVED
        assert (await office.appointment(hold.id)).state is AppointmentState.CONFIRMED
    short_notice.run(database)  # the wish is met: nothing more is offered
    async with BookingClient(live_server.url, KARI) as kari:
        assert await kari.wishes() == []


async def test_n_declines_and_the_next_in_line_is_offered_the_time(live_server, database):
    await _offered(live_server, database)
    async with BookingClient(live_server.url, OLA) as ola:  # Ola, next in line, for an earlier time than hers
        me = await ola.whoami()
        lab = next(t for t in await ola.time_types(me.office.id) if t.code == "Lab")
        (book,) = await ola.timebooks(lab.id)
        later = await ola.request_booking((await ola.free_slots(book.id, date(2026, 12, 10)))[0], me.patient.id)
        await ola.ask_earlier(later)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _to_appointments(pilot)
        (hold, _) = next(iter(screen.offers.values()))
        await pilot.press("n")
        await settle(pilot)
        assert "Vil du la tiden" in screen_text(app)
        await pilot.press("j")
        await wait_for(pilot, lambda: not screen.offers and not screen.writing)
        await settle(pilot)
        assert "Tilbud på kort varsel" not in screen_text(app)
    short_notice.run(database)  # the sender loop's next round
    async with BookingClient(live_server.url, OLA) as ola:
        (wish,) = await ola.wishes()
        offer = await ola.appointment(wish.offer_id)
    assert offer.state is AppointmentState.HELD and offer.start == hold.start


async def test_an_offer_that_runs_out_while_shown_says_so_and_cannot_be_taken(live_server, database):
    await _offered(live_server, database)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _to_appointments(pilot)
        (hold, _) = next(iter(screen.offers.values()))
        clock.set_now((hold.hold_expires + timedelta(seconds=1)).isoformat())
        screen._refresh()  # the screen's timer, due at the expiry, fires now
        await wait_for(pilot, lambda: hold.id in screen._expired)
        await settle(pilot)
        assert f"Tilbudet gikk ut kl. {hold.hold_expires:%H:%M}" in screen_text(app)
        assert screen.check_action("accept_offer", ()) is False and screen.check_action("decline_offer", ()) is False
        assert problems(app) == {}


async def test_the_offer_message_in_the_inbox_leads_to_timeavtaler(live_server, database):
    await _offered(live_server, database)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot, rounds=5)
        assert isinstance(app.screen, InboxScreen) and "Ledig time til deg" in screen_text(app)
        assert (
            app.screen.check_action("to_offer", ()) is True
        )  # the newest message, the offer, is highlighted and problems(app) == {}
        await pilot.press("down")
        await settle(pilot)
        assert app.screen.check_action("to_offer", ()) is False  # another message: the key goes
        await pilot.press("up")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot, rounds=5)
        assert isinstance(app.screen, AppointmentsScreen)
        await wait_for(pilot, lambda: app.screen.offers)


async def test_withdrawing_a_wish_with_an_offer_waiting_says_the_offer_goes_to_the_next_in_line(live_server, database):
    old = await _offered(live_server, database)
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _to_appointments(pilot)
        assert screen.offers
        await pilot.press("down")  # from the offer to the time it would replace, the one with «Kort varsel»
        await settle(pilot)
        assert screen._highlighted().id == old.id
        await pilot.press("k")
        await settle(pilot)
        assert "Tilbudet du har fått, går da videre til neste på listen" in screen_text(app)
        await pilot.press("escape")  # no: nothing withdrawn
        await settle(pilot)
        assert screen.offers and screen.wished
