"""The front desk in the real app, driven by keys, against the real backend: find, book, confirm, reject, today."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import FJORD_STAFF, KARI, OLA
from tests.tui_helpers import make_app, screen_text, settle, short_timeout, wait_for
from timebok.backend import schema
from timebok.backend.server import open_database
from timebok.client.api import BookingClient
from timebok.client.models import AppointmentState
from timebok.screens.confirmation import ConfirmationScreen
from timebok.screens.patient_search import PatientSearchScreen
from timebok.screens.reject_dialog import RejectDialog
from timebok.screens.requests import RequestQueueScreen
from timebok.screens.staff_home import StaffHomeScreen
from timebok.screens.time_type import TimeTypeScreen
from timebok.screens.today import TodayScreen

SIZE = (100, 32)
KARI_NUMBER = "14838512470"  # the demo's Kari Nordmann (synthetic), listed at Fjordsiden
PER_NUMBER = "30815045633"  # Per Hansen, listed at Bakkebyen: not Fjordsiden's patient


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _home(pilot) -> None:
    await settle(pilot)
    assert isinstance(pilot.app.screen, StaffHomeScreen)


async def _open(pilot, key: str) -> None:
    """From the front desk's home, one of its three actions: b, f or d."""
    await _home(pilot)
    await pilot.press(key)
    await settle(pilot)


async def _to_step_6_for_kari(pilot) -> None:
    """From the front desk's home: Kari by number, Lab, its first free date and time, «Send bestilling»."""
    await _open(pilot, "b")
    await _type(pilot, KARI_NUMBER)
    for keys in (("enter",), ("down", "down", "enter"), ("enter",), ("enter",), ("enter",)):
        await pilot.press(*keys)
        await settle(pilot)
    assert isinstance(pilot.app.screen, ConfirmationScreen)


async def _type(pilot, text: str) -> None:
    await pilot.press(*text)
    await settle(pilot)


async def test_the_front_desk_home_offers_booking_requests_with_their_count_and_today(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _home(pilot)
        text = screen_text(app)
        assert "Ekspedisjonen" in text and "Fjordsiden legekontor" in text
        assert "2 forespørsler venter på svar." in text  # Ola's and Aisha's, from the seed
        assert str(app.screen.query_one("#requests").label) == "f · Forespørsler (2)"
        assert str(app.screen.query_one("#book").label) == "b · Bestill time for pasient"
        assert str(app.screen.query_one("#today").label) == "d · Dagens timer"


@pytest.mark.parametrize(
    "typed, message",
    [
        ("1483851247a", "Fødselsnummer og D-nummer har bare sifre."),
        ("148385124700", "For langt: 12 sifre, men nummeret har 11."),  # pasted (typing stops at 11: she is found)
        ("3213", "De seks første sifrene er ingen mulig fødselsdato."),  # day 32
        ("14838512471", "Kontrollsifrene stemmer ikke. Sjekk at nummeret er skrevet riktig."),
    ],
)
async def test_each_kind_of_mistyped_number_gets_its_own_message_while_typing(live_server, typed, message):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "b")
        if len(typed) > 11:
            app.screen.query_one("#patient-query").insert_text_at_cursor(typed)  # as a paste arrives
            await settle(pilot)
        else:
            await _type(pilot, typed)
        assert isinstance(app.screen, PatientSearchScreen)
        assert message in screen_text(app)
        assert app.screen.query_one("#patient-query").has_class("-invalid")
        assert app.screen.query_one("#patient-query").value == typed  # nothing typed is thrown away
        assert not app.screen.found


async def test_a_short_number_is_only_an_error_when_sent_and_is_kept_for_fixing(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "b")
        await _type(pilot, "148385")
        assert "For kort" not in screen_text(app)  # still typing: not an error yet
        await pilot.press("enter")
        await settle(pilot)
        assert "For kort: 6 av 11 sifre." in screen_text(app)
        await _type(pilot, "12470")
        assert "Nordmann, Kari · født 14. mars 1985 · 148385 *****" in screen_text(app)


async def test_a_valid_number_finds_the_patient_at_once_and_one_not_at_the_office_is_said_plainly(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "b")
        await _type(pilot, PER_NUMBER)
        assert "Fant ingen pasient med dette nummeret hos Fjordsiden legekontor." in screen_text(app)
        await pilot.press(*["backspace"] * 11)
        await _type(pilot, KARI_NUMBER)
        assert [p.name for p in app.screen.found] == ["Kari Nordmann"]
        assert app.screen.focused is app.screen.query_one("#patient-query")  # a 12th digit is seen; Enter picks her


async def test_find_by_name_lists_every_match_with_birth_date_and_masked_number(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "b")
        await _type(pilot, "nordmann")
        assert "Trykk Enter for å søke på navn." in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "Nordmann, Kari · født 14. mars 1985 · 148385 *****" in text
        assert "Nordmann, Ola · født 2. nov. 1979 · 029179 *****" in text
        assert KARI_NUMBER not in text


async def test_booking_a_known_patient_takes_at_most_twelve_keys_after_the_number(live_server):
    """Count every key from the last digit typed to a confirmed appointment in the patient's name."""
    app = make_app(live_server, FJORD_STAFF)
    keys_pressed = 0

    async def press(*keys: str) -> None:
        nonlocal keys_pressed
        for key in keys:
            await pilot.press(key)
            keys_pressed += 1
            await settle(pilot)

    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "b")
        await _type(pilot, KARI_NUMBER)

        await press("enter")  # the patient found
        assert isinstance(app.screen, TimeTypeScreen)
        assert "Helsesekretær, Fjordsiden · for Kari Nordmann" in app.screen.who()
        await press("down", "down", "enter")  # «Time til laboratoriet» (one place: no step 3)
        await press("enter")  # the first free date, where the calendar opens
        await press("enter")  # its first free time
        await press("enter")  # «Send bestilling»
        assert isinstance(app.screen, ConfirmationScreen)
        assert "Timeforespørselen for Kari Nordmann er sendt til Fjordsiden legekontor." in screen_text(app)
        await press("b")  # «Bekreft timen nå»
        assert "Timen er bekreftet." in screen_text(app)
        booked_slot = app.draft.slot

    assert keys_pressed <= 12, keys_pressed
    async with BookingClient(live_server.url, KARI) as kari:
        mine = [a for a in await kari.appointments() if a.start == booked_slot.start]
        assert [a.state for a in mine] == [AppointmentState.CONFIRMED]
        topics = [m.topic for m in await kari.inbox("1") if m.appointment_id == mine[0].id]
        assert topics == ["Timen er bekreftet", "Timeforespørselen er sendt"]  # the patient's inbox, newest first


async def test_requests_oldest_first_confirm_with_one_key_and_the_count_follows(live_server, monkeypatch):
    monkeypatch.setattr(RequestQueueScreen, "UNDO_SECONDS", 0.1)
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "f")
        assert isinstance(app.screen, RequestQueueScreen)
        queue = app.screen.requests
        assert [r.patient.name for r in queue] == ["Ola Nordmann", "Aisha Khan"]
        assert [r.created for r in queue] == sorted(r.created for r in queue)
        text = screen_text(app)
        assert "Forespørsler (2)" in text and "Hoste og feber i tre dager" in text  # the reason, whole, below the table
        first = queue[0]

        await pilot.press("b")
        await settle(pilot)
        assert [r.patient.name for r in app.screen.requests] == ["Aisha Khan"]
        assert "Forespørsler (1)" in screen_text(app)
        await wait_for(pilot, lambda: any("er bekreftet" in n for n in _notes(app)))  # after the undo window
        await settle(pilot)
        assert any("Timen til Ola Nordmann" in n and "er bekreftet" in n for n in _notes(app))
        await pilot.press("escape")
        await settle(pilot)
        assert str(app.screen.query_one("#requests").label) == "f · Forespørsler (1)"

    async with BookingClient(live_server.url, OLA) as ola:
        assert (await ola.appointment(first.id)).state is AppointmentState.CONFIRMED
        assert (await ola.inbox("2"))[0].topic == "Timen er bekreftet"


async def test_rejecting_needs_a_short_reason_which_the_patient_gets(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "f")
        ola_request = app.screen.requests[0]
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, RejectDialog)
        await pilot.press("enter")  # nothing written yet
        await settle(pilot)
        assert isinstance(app.screen, RejectDialog)
        assert "Skriv en kort begrunnelse." in screen_text(app)
        await _type(pilot, "Ring oss for en lengre time")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RequestQueueScreen)
        assert [r.patient.name for r in app.screen.requests] == ["Aisha Khan"]

    async with BookingClient(live_server.url, OLA) as ola:
        rejected = await ola.appointment(ola_request.id)
        assert rejected.state is AppointmentState.REJECTED and rejected.office_reason == "Ring oss for en lengre time"


async def test_escaping_the_reject_dialog_changes_nothing(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "f")
        await pilot.press("a")
        await settle(pilot)
        await _type(pilot, "tja")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RequestQueueScreen) and len(app.screen.requests) == 2
    async with BookingClient(live_server.url, FJORD_STAFF) as office:
        assert len(await office.pending_requests()) == 2


async def test_two_desks_answering_the_same_request_one_wins_the_other_is_told(live_server, db_path, monkeypatch):
    monkeypatch.setattr(RequestQueueScreen, "UNDO_SECONDS", 0.1)
    first, second = make_app(live_server, FJORD_STAFF), make_app(live_server, FJORD_STAFF)
    async with first.run_test(size=SIZE) as one, second.run_test(size=SIZE) as two:
        for pilot in (one, two):
            await _open(pilot, "f")
        contested = first.screen.requests[0]
        assert second.screen.requests[0].id == contested.id  # both desks look at Ola's request

        await one.press("b")  # the first desk confirms …
        await settle(one)  # waits out the 0.1 s undo window: a timer due soon is work under way
        await two.press("a")  # … while the second, not yet knowing, rejects it
        await settle(two)
        await two.press(*"Fullt i dag", "enter")
        await settle(two)

        assert any("er bekreftet" in n for n in _notes(first))
        told = "Forespørselen fra Ola Nordmann var allerede bekreftet av en annen ekspedisjon."
        assert any(told in n for n in _notes(second))
        assert "Begrunnelsen din ble ikke sendt: «Fullt i dag»" in screen_text(second)  # kept on screen
        assert [r.id for r in second.screen.requests] == [r.id for r in first.screen.requests]  # fetched afresh
        assert contested.id not in {r.id for r in second.screen.requests}

    database = open_database(db_path, demo=False)
    with database.reading() as session:
        answers = session.scalar(
            select(func.count())
            .select_from(schema.AppointmentResponse)
            .where(schema.AppointmentResponse.appointment_id == int(contested.id))
        )
        told = session.scalars(
            select(schema.Communication.kind).where(schema.Communication.appointment_id == int(contested.id))
        ).all()
        status = session.get(schema.Appointment, int(contested.id)).status
    database.dispose()
    assert (answers, status) == (1, "booked")
    assert sorted(told) == ["confirmed", "request-sent"]  # told once, and not told it was rejected


async def test_todays_appointments_by_timebook_and_time(live_server):
    async with BookingClient(live_server.url, FJORD_STAFF) as office:
        today_request = [a for a in await office.pending_requests() if a.start.date().isoformat() == "2026-11-25"]
        assert today_request == []  # the seed has one confirmed time today, at the lab
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "d")
        assert isinstance(app.screen, TodayScreen)
        text = screen_text(app)
        assert "I dag, onsdag 25. november 2026 · Alle timebøker · 1 time" in text
        table = app.screen.query_one("#day-table")
        assert [str(cell) for cell in table.get_row_at(0)] == [
            "11:00",
            "● Laboratoriet",
            "Fjordsiden lege…",
            "Ola Nordmann",
            "Bekreftet",
        ]
        assert "Ola Nordmann (029179 *****) · Bekreftet" in text and "Kontroll av blodtrykk og kolesterol" in text


async def test_help_and_the_palette_know_the_front_desk_and_english_keeps_it(live_server):
    from timebok.screens.help import HelpScreen
    from timebok.ui import i18n

    app = make_app(live_server, FJORD_STAFF)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _home(pilot)
            await pilot.press("f1")
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen) and "svar på forespørsler" in screen_text(app)
            await pilot.press("escape")
            await settle(pilot)
            commands = [c.title for c in app.get_system_commands(app.screen)]
            assert {"Bestill time for pasient", "Forespørsler", "Dagens timer"} <= set(commands)
            assert "Timeavtaler" not in commands  # the citizen's own list is not the front desk's
            app.action_switch_language()
            await settle(pilot)
            assert isinstance(app.screen, StaffHomeScreen)
            assert "Book a time for a patient" in str(app.screen.query_one("#book").label)
            assert "Requests (2)" in str(app.screen.query_one("#requests").label)
    finally:
        i18n.set_language("nb")


async def test_confirm_now_after_another_desk_rejected_says_so_and_offers_it_no_more(live_server):
    """«Bekreft timen nå» on a request another desk has just rejected: told who did what, as in «Forespørsler», the
    button goes, and a language switch keeps the answer (the rebuilt screen used to offer B again)."""
    from timebok.ui import i18n

    app = make_app(live_server, FJORD_STAFF)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _to_step_6_for_kari(pilot)
            async with BookingClient(live_server.url, FJORD_STAFF) as other_desk:
                await other_desk.reject(app.screen.appointment.id, "Labben er stengt")
            await pilot.press("b")
            await settle(pilot)
            text = screen_text(app)
            assert "Forespørselen fra Kari Nordmann var allerede avvist av en annen ekspedisjon." in text
            assert "Trykk B" not in text and not [b for b in app.screen.query("#confirm-now") if b.display]
            assert not [n for n in _notes(app) if "Dette er allerede endret" in n]
            app.action_switch_language()
            await settle(pilot)
            assert isinstance(app.screen, ConfirmationScreen) and not [b for b in app.screen.query("#confirm-now") if b.display]
            assert "The request from Kari Nordmann had already been rejected by another desk." in screen_text(app)
    finally:
        i18n.set_language("nb")


async def test_confirm_now_pressed_twice_on_a_slow_backend_confirms_once_without_an_error(live_server, db_path):
    """B («Bekreft timen nå») twice while another writer holds the database: the second press waits for the first."""
    import threading

    from tests.sqlite_lock import hold_write_lock

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _to_step_6_for_kari(pilot)
        booked_slot = app.draft.slot
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        await pilot.press("b")
        await pilot.pause(0.3)
        await pilot.press("b")
        await pilot.pause(0.3)
        release.set()
        holder.join(5)
        await wait_for(pilot, lambda: "Timen er bekreftet." in screen_text(app))
        assert "Timen er bekreftet." in screen_text(app)
        assert not [n for n in app._notifications if n.severity == "error"], [n.message for n in app._notifications]
    async with BookingClient(live_server.url, KARI) as kari:
        mine = [a for a in await kari.appointments() if a.start == booked_slot.start]
        assert [a.state for a in mine] == [AppointmentState.CONFIRMED]


async def test_a_rejection_on_its_way_leaves_the_list_so_the_next_key_is_for_the_next_request(live_server, db_path):
    """A slow backend (another writer holds the database): the rejected request leaves the queue as it is sent, so a
    second A or B reaches the next request, not the one already answered (which said «allerede besvart»)."""
    import threading

    from tests.sqlite_lock import hold_write_lock

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "f")
        ola_request = app.screen.requests[0]
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        await pilot.press("a")
        await settle(pilot)
        await _type(pilot, "Ring oss for en lengre time")
        await pilot.press("enter")
        await wait_for(pilot, lambda: [r.patient.name for r in app.screen.requests] == ["Aisha Khan"])
        assert isinstance(app.screen, RequestQueueScreen)
        assert [r.patient.name for r in app.screen.requests] == ["Aisha Khan"]  # gone while its answer is on its way
        release.set()
        holder.join(5)
        await settle(pilot)
        assert [r.patient.name for r in app.screen.requests] == ["Aisha Khan"]
        assert not app.screen.query_one("#answer-note").display  # no «already answered» about our own rejection
    async with BookingClient(live_server.url, OLA) as ola:
        assert (await ola.appointment(ola_request.id)).state is AppointmentState.REJECTED


async def test_a_rejection_that_got_no_reply_says_it_may_have_landed_and_then_what_became_of_it(live_server, db_path):
    """The backend answers too late (another writer holds the database longer than the app waits): the desk is not
    told «not sent» (it landed), but that it does not know yet; once the request has left the queue, it is told it
    was rejected, and the reason typed was kept meanwhile for a second A."""
    import threading

    from tests.sqlite_lock import hold_write_lock

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "f")
        ola_request = app.screen.requests[0]
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        with short_timeout(app):
            await pilot.press("a")
            await settle(pilot)
            await _type(pilot, "Ring oss for en lengre time")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "Sender avvisningen" in str(app.screen.query_one("#answer-note").render()))
            note = " ".join(str(app.screen.query_one("#answer-note").render()).split())
            assert note == "Sender avvisningen til Ola Nordmann …", note  # while it is on its way
            await wait_for(pilot, lambda: "vet ikke" in str(app.screen.query_one("#answer-note").render()))
            note = " ".join(str(app.screen.query_one("#answer-note").render()).split())
            assert "vi vet ikke om avvisningen til Ola Nordmann kom fram" in note, note
            assert "ble ikke sendt" not in note
            assert [r.patient.name for r in app.screen.requests] == ["Ola Nordmann", "Aisha Khan"]  # back, for a second A
            await pilot.press("a")
            await settle(pilot)
            assert app.screen.query_one("#reject-reason").value == "Ring oss for en lengre time"
            await pilot.press("escape")
            release.set()  # the backend's waiting write goes through now
            holder.join(5)
        await pilot.pause(1.0)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "er avvist" in str(app.screen.query_one("#answer-note").render()))
        assert "Forespørselen fra Ola Nordmann er avvist." in str(app.screen.query_one("#answer-note").render())
        assert [r.patient.name for r in app.screen.requests] == ["Aisha Khan"]
    async with BookingClient(live_server.url, OLA) as ola:
        rejected = await ola.appointment(ola_request.id)
    assert rejected.state is AppointmentState.REJECTED and rejected.office_reason == "Ring oss for en lengre time"


async def test_the_reject_reason_survives_esc_and_its_required_message_goes_once_typed(live_server):
    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "f")
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("enter")  # empty: refused, said in red
        await settle(pilot)
        message = app.screen.query_one("#reject-message")
        assert "Skriv en kort begrunnelse" in str(message.render()) and message.has_class("error")
        await _type(pilot, "Legen er syk i dag")
        assert "Skriv en kort begrunnelse" not in str(message.render())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RequestQueueScreen)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, RejectDialog)
        assert app.screen.query_one("#reject-reason").value == "Legen er syk i dag"  # as typed, not wiped by Esc
        await pilot.press("escape", "down", "a")  # another request: its own, empty reason
        await settle(pilot)
        assert app.screen.query_one("#reject-reason").value == ""
        await pilot.press("escape", "up", "a")
        await settle(pilot)
        app.action_switch_language()  # the dialog closes with the rebuilt queue; the reason typed goes along
        await settle(pilot)
        try:
            assert isinstance(app.screen, RequestQueueScreen)
            await pilot.press("a")
            await settle(pilot)
            assert app.screen.query_one("#reject-reason").value == "Legen er syk i dag"
        finally:
            from timebok.ui import i18n

            i18n.set_language("nb")


async def test_confirm_now_that_got_no_answer_says_so_holds_the_screen_and_ctrl_r_finishes_it(live_server, db_path):
    """«Bekreft timen nå» while the backend answers too late: «Bekrefter timen …», Esc greyed out meanwhile, then a
    line saying it may have landed; Ctrl+R (as it says) ends in «Timen er bekreftet.», confirmed once."""
    import threading

    from tests.sqlite_lock import hold_write_lock

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _to_step_6_for_kari(pilot)
        booked = app.screen.appointment
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        with short_timeout(app):
            await pilot.press("b")
            await wait_for(pilot, lambda: "Bekrefter timen …" in screen_text(app))
            assert "Bekrefter timen … Vent til svaret kommer." in screen_text(app)
            await pilot.press("escape")  # greyed out: the screen stays to hear the answer
            await pilot.pause(0.1)
            assert isinstance(app.screen, ConfirmationScreen)
            await wait_for(pilot, lambda: "vi vet ikke om timen ble bekreftet" in screen_text(app))
            assert "Trykk Ctrl+R" in screen_text(app)
            release.set()
            holder.join(5)
        await pilot.pause(1.0)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "Timen er bekreftet." in screen_text(app))
        assert "Timen er bekreftet." in screen_text(app) and "vet ikke" not in screen_text(app)
    async with BookingClient(live_server.url, KARI) as kari:
        assert (await kari.appointment(booked.id)).state is AppointmentState.CONFIRMED


async def test_the_reject_dialog_shows_its_own_keys_and_ctrl_s_sends(live_server):
    from tests.tui_helpers import footer_keys

    app = make_app(live_server, FJORD_STAFF)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "f")
        ola = app.screen.requests[0]
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, RejectDialog)
        shown = {k.key for k in footer_keys(app)}
        assert {"escape", "ctrl+s", "f1", "ctrl+q"} <= shown and "b" not in shown  # not the queue's keys below it
        await _type(pilot, "Fullt i dag")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, RequestQueueScreen) and ola.id not in {r.id for r in app.screen.requests}
