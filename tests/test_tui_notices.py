"""Support's «Varsler» in the real app against the real backend: each e-mail and SMS to the citizen they act as, its
state and why, its tries; and the same answer in the trace export (issue 25)."""

from __future__ import annotations

import json

import httpx

from tests.conftest import FJORD_STAFF, KARI, SUPPORT, bearer
from tests.fhir_validate import answer, booking_request
from tests.tui_helpers import make_app, screen_text, settle, wait_for
from timebok.backend.channels import FileChannel
from timebok.backend.sender import Sender
from timebok.backend.server import open_database
from timebok.screens.support_notices import SupportNoticesScreen

SIZE = (80, 24)


def _book_and_confirm(server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        schedule = http.get("/Schedule", params={"actor": "HealthcareService/4", "active": "true"}, headers=bearer(KARI))
        book_id = schedule.json()["entry"][0]["resource"]["id"]
        slots = http.get(
            "/Slot",
            params={"schedule": f"Schedule/{book_id}", "status": "free", "start": "ge2026-12-03", "_count": 1},
            headers=bearer(KARI),
        )
        slot_id = slots.json()["entry"][0]["resource"]["id"]
        made = http.post("/Appointment", json=booking_request(slot_id, 1), headers=bearer(KARI))
        assert made.status_code == 201, made.text
        confirmed = http.post("/AppointmentResponse", json=answer(made.json()["id"], "accepted"), headers=bearer(FJORD_STAFF))
        assert confirmed.status_code == 201, confirmed.text


async def test_support_sees_each_notice_its_state_and_tries_and_it_goes_into_the_trace(live_server, tmp_path):
    _book_and_confirm(live_server)
    db = open_database(live_server.db_path, demo=True)
    sender = Sender(db, {"email": FileChannel("email", tmp_path / "e-post.jsonl")})  # no SMS channel on this server
    while sender.run_once():
        pass
    sender.stop()
    db.dispose()
    app = make_app(live_server, KARI, agent_token=SUPPORT, trace_dir=tmp_path / "traces")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "V: varsler – e-post og SMS" in screen_text(app)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, SupportNoticesScreen) and "Påminnelse" in screen_text(app))
        text = screen_text(app)
        assert "E-post og SMS til Kari Nordmann, nyeste først:" in text
        assert "25. nov. kl. 09:00 · E-post · Forespørsel mottatt" in text
        assert "kari.nordmann@innbygger.example · sendt 25. nov. kl. 09:00\n  1 forsøk: kl. 09:00 ok" in text
        assert "25. nov. kl. 09:00 · SMS · Bekreftet\n  +47 000 00 123 · hoppet over" in text
        assert "hoppet over – ingen e-post eller SMS satt opp på serveren" in text
        assert "venter til 1. des." in text  # the reminder, 48 hours before 3 December
        await pilot.press("ctrl+t")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
    (exported,) = sorted((tmp_path / "traces").glob("timebok-trace-*.json"))
    exchanges = json.loads(exported.read_text(encoding="utf-8"))["exchanges"]
    (read,) = [e for e in exchanges if e["path"] == "/notices/Patient/1"]
    assert "kari.nordmann@innbygger.example" in json.dumps(read) and "no-channel" in json.dumps(read)
