"""Several `timebok serve` processes on one PostgreSQL database: racing for slots across instances, and a SIGKILL mid-burst."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import KARI, bearer
from tests.fhir_validate import booking_request, fhir_json, free_slots, matches, outcome, timebook
from tests.serve_process import ServeProcess
from timebok.backend import schema
from timebok.backend.db import Database

CITIZENS = {f"demo-citizen-{name}": patient for patient, name in enumerate(("kari", "ola", "aisha", "per", "ingrid"), 1)}
TOKENS = list(CITIZENS)


@pytest.fixture
def instances(request, tmp_path):
    """Start `timebok serve` processes (stopped, or already killed, at the end)."""
    started: list[ServeProcess] = []

    def start(db_url: str, *options: dict) -> list[ServeProcess]:
        """One process per options dict (ServeProcess keywords), all launched before any is waited for."""
        new = [ServeProcess(db_url, tmp_path / f"serve-{len(started) + i}.log", **o) for i, o in enumerate(options or [{}])]
        started.extend(new)
        return [p.wait_until_serving() for p in new]

    yield start
    for process in started:
        process.stop()


def _rows(db: Database, table, *where) -> list:
    with db.reading() as session:
        return session.scalars(select(table).where(*where)).all()


def _count(db: Database, table) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(table))


async def _lab_slots(url: str, count: int, day: str) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return [s["id"] for s in await free_slots(client, KARI, await timebook(client, KARI, 1, "Lab"), day, count=count)]


async def test_64_clients_on_two_instances_race_for_four_slots_and_each_is_booked_once(pg_empty_database, instances):
    # Both start at once on an empty database: they migrate and seed it together (once, under a lock).
    first, second = instances(pg_empty_database, {}, {"via_env": True})
    slots = await _lab_slots(first.url, 4, "2026-12-07")
    db = Database(pg_empty_database)
    try:
        appointments_before, messages_before = _count(db, schema.Appointment), _count(db, schema.Communication)
        plan = [((first, second)[i % 2], TOKENS[i % 5], slots[i % 4]) for i in range(64)]
        clients = [httpx.AsyncClient(base_url=server.url, timeout=30) for server, _, _ in plan]
        try:
            await asyncio.gather(*(c.get("/metadata") for c in clients))  # connected, so the bookings leave together
            responses = await asyncio.gather(
                *(
                    c.post("/Appointment", json=booking_request(slot, CITIZENS[token], "kappløp"), headers=bearer(token))
                    for c, (_, token, slot) in zip(clients, plan)
                )
            )
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))

        by_slot: dict[str, Counter] = defaultdict(Counter)
        winners: dict[str, tuple[str, str]] = {}
        for (_, token, slot), response in zip(plan, responses):
            by_slot[slot][response.status_code] += 1
            if response.status_code == 201:
                winners[slot] = (fhir_json(response, 201)["id"], token)
            else:  # the slot went to another, or this citizen already won a time that overlaps it
                said = outcome(response, 409, "conflict")
                assert "no longer free" in said or "a patient holds one time at once" in said, said
        assert {slot: dict(counts) for slot, counts in by_slot.items()} == {slot: {201: 1, 409: 15} for slot in slots}

        # Exactly one Appointment and one request-sent message per slot, for the winner, seen alike by both instances.
        assert _count(db, schema.Appointment) == appointments_before + 4
        assert _count(db, schema.Communication) == messages_before + 4
        for slot, (appointment_id, token) in winners.items():
            (row,) = _rows(db, schema.Appointment, schema.Appointment.slot_id == int(slot))
            assert (str(row.id), row.patient_id, row.status) == (appointment_id, CITIZENS[token], "pending")
            (message,) = _rows(db, schema.Communication, schema.Communication.appointment_id == row.id)
            assert message.kind == "request-sent" and message.patient_id == CITIZENS[token]
            for server in (first, second):
                seen = fhir_json(httpx.get(f"{server.url}/Slot/{slot}", headers=bearer(KARI)))
                assert seen["status"] == "busy-tentative"
        assert _count(db, schema.Organization) == 2  # seeded once although both instances started on an empty database
    finally:
        db.dispose()


async def test_an_instance_killed_mid_burst_loses_nothing_it_acknowledged_and_leaves_nothing_half_done(pg_database, instances):
    (server,) = instances(pg_database)
    slots = await _lab_slots(server.url, 80, "2026-12-14")
    db = Database(pg_database)
    try:
        appointments_before, messages_before = _count(db, schema.Appointment), _count(db, schema.Communication)
        acknowledged: dict[str, tuple[str, str]] = {}  # slot → (appointment id, token)
        queue = list(enumerate(slots))

        async def citizen(http: httpx.AsyncClient) -> None:
            while queue:
                i, slot = queue.pop(0)
                token = TOKENS[i % 5]
                try:
                    response = await http.post("/Appointment", json=booking_request(slot, CITIZENS[token]), headers=bearer(token))
                except httpx.TransportError:
                    return  # the instance is gone; what became of this one is for the database to tell
                if response.status_code == 201:
                    acknowledged[slot] = (fhir_json(response, 201)["id"], token)
                if len(acknowledged) == 15:
                    server.kill()

        clients = [httpx.AsyncClient(base_url=server.url, timeout=10) for _ in range(8)]
        try:
            await asyncio.gather(*(citizen(c) for c in clients))
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
        assert server.process.poll() is not None and 15 <= len(acknowledged) < len(slots), "the kill came mid-burst"

        (restarted,) = instances(pg_database)
        async with httpx.AsyncClient(base_url=restarted.url, timeout=30) as http:
            for slot, (appointment_id, token) in acknowledged.items():
                appointment = fhir_json(await http.get(f"/Appointment/{appointment_id}", headers=bearer(token)))
                assert appointment["status"] == "pending" and appointment["slot"] == [{"reference": f"Slot/{slot}"}]
                inbox = matches(fhir_json(await http.get("/Communication", headers=bearer(token))))
                assert [
                    m["category"][0]["coding"][0]["code"]
                    for m in inbox
                    if m.get("about") == [{"reference": f"Appointment/{appointment_id}"}]
                ] == ["request-sent"]

            # Every slot of the burst is either wholly booked (slot taken, one Appointment, one message) or wholly free.
            booked, still_free = 0, []
            for slot in slots:
                status = fhir_json(await http.get(f"/Slot/{slot}", headers=bearer(KARI)))["status"]
                rows = _rows(db, schema.Appointment, schema.Appointment.slot_id == int(slot))
                messages = [
                    m for row in rows for m in _rows(db, schema.Communication, schema.Communication.appointment_id == row.id)
                ]
                if status == "free":
                    assert rows == [] and slot not in acknowledged, slot
                    still_free.append(slot)
                else:
                    assert status == "busy-tentative" and len(rows) == 1 and len(messages) == 1, (slot, status, rows, messages)
                    booked += 1
            assert (
                _count(db, schema.Appointment) - appointments_before
                == booked
                == _count(db, schema.Communication) - messages_before
            )

            # And the restarted instance books as before.
            fhir_json(await http.post("/Appointment", json=booking_request(still_free[0], 1), headers=bearer(KARI)), 201)
    finally:
        db.dispose()
