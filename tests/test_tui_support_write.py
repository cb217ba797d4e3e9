"""Read-only support sessions in the real app: the keys that would write are greyed out until «Skriv som» with a reason."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import KARI, SUPPORT
from tests.tui_helpers import footer_keys, make_app, screen_text, settle, to_review, wait_for
from timebok.backend import schema
from timebok.backend.server import open_database
from timebok.screens.appointments import AppointmentsScreen
from timebok.screens.confirmation import ConfirmationScreen
from timebok.screens.review import ReviewScreen
from timebok.screens.write_as_dialog import WriteAsDialog

SIZE = (80, 24)


def _keys(app) -> dict[str, bool]:
    return {k.key: k.enabled for k in footer_keys(app)}


def _appointments(db_path) -> int:
    db = open_database(db_path, demo=False)
    with db.reading() as session:
        return len(session.scalars(select(schema.Appointment.id)).all())


async def test_an_agent_cannot_send_a_booking_until_skriv_som_with_a_reason(live_server, db_path):
    before = _appointments(db_path)
    app = make_app(live_server, KARI, agent_token=SUPPORT)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "influensavaksine")
        assert isinstance(app.screen, ReviewScreen)
        assert _keys(app)["ctrl+s"] is False  # «Send bestilling» greyed out
        assert _keys(app)["f2"] is True  # «Skriv som» offered
        assert "Kun lesing: du ser det Kari Nordmann ser. F2 «Skriv som» for å endre." in screen_text(app)
        await pilot.press("ctrl+s", "enter")  # neither sends
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen) and _appointments(db_path) == before

        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, WriteAsDialog)
        assert "Skriv som Kari" in screen_text(app)
        await pilot.press(*"kort", "enter")  # too short: the dialog says so and stays
        await settle(pilot)
        assert isinstance(app.screen, WriteAsDialog)
        assert "Skriv en begrunnelse på minst 5 tegn." in screen_text(app)
        await pilot.press(*" sak 4711", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen) and not app.read_only)
        assert app.screen.who() == "Kundesenter, NHN · skriver som Kari Nordmann"
        await settle(pilot)
        assert _keys(app)["ctrl+s"] is True and "f2" not in _keys(app)
        assert app.draft.reason == "influensavaksine"  # the step and what was typed are kept
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmationScreen))
    assert _appointments(db_path) == before + 1
    db = open_database(db_path, demo=False)
    with db.reading() as session:
        events = session.execute(
            select(schema.AuditEvent.actor, schema.AuditEvent.detail).where(schema.AuditEvent.action == "support-write")
        ).all()
    assert [tuple(e) for e in events] == [("support:Kundesenter, NHN as citizen:Kari Nordmann", "kort sak 4711")]


async def test_cancel_is_greyed_out_for_an_agent_and_esc_leaves_the_session_read_only(live_server):
    app = make_app(live_server, KARI, agent_token=SUPPORT)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, AppointmentsScreen)
        assert _keys(app)["a"] is False
        assert "Kun lesing" in screen_text(app)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press(*"sak 1", "escape")  # thought better of it
        await settle(pilot)
        assert isinstance(app.screen, AppointmentsScreen) and app.read_only
        assert app.screen.who() == "Kundesenter, NHN · som Kari Nordmann"


async def test_the_citizen_herself_has_no_skriv_som_and_nothing_greyed_out(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "influensavaksine")
        keys = _keys(app)
        assert keys["ctrl+s"] is True and "f2" not in keys
        assert "Kun lesing" not in screen_text(app)
