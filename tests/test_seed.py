"""The demo data as DESIGN.md describes it, seeded deterministically, and the SQLite file it lives in."""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import func, inspect, select

from tests.conftest import BAKKE_STAFF, FJORD_STAFF, KARI, NOW, OLA, PER, SUPPORT, bearer
from tests.fhir_validate import booking_request, fhir_json, free_slots, included, matches, timebook
from timebok.backend import schema
from timebok.backend.app import create_app
from timebok.backend.seed import demo_tokens, seed_if_empty
from timebok.backend.server import open_database
from timebok.domain import clock
from timebok.domain.clock import OSLO
from timebok.domain.identity import DNR_SYSTEM, FNR_SYSTEM, IdKind, IdProblem, InvalidIdentityNumber, parse_identity_number
from timebok.domain.timetypes import TIMETYPES

FJORD, BAKKE = 1, 2


def _local(stored: datetime) -> datetime:
    return stored.replace(tzinfo=UTC).astimezone(OSLO)


def _slot_rows(db) -> list[tuple]:
    with db.reading() as session:
        return [
            tuple(r)
            for r in session.execute(
                select(schema.Slot.schedule_id, schema.Slot.start, schema.Slot.end, schema.Slot.status).order_by(schema.Slot.id)
            )
        ]


def _days_by_office(db) -> dict[int, set[date]]:
    """The Oslo dates with at least one slot, per office."""
    with db.reading() as session:
        rows = session.execute(
            select(schema.HealthcareService.organization_id, schema.Slot.start)
            .join(schema.Schedule, schema.Slot.schedule_id == schema.Schedule.id)
            .join(schema.HealthcareService, schema.Schedule.healthcare_service_id == schema.HealthcareService.id)
        ).all()
    days: dict[int, set[date]] = defaultdict(set)
    for office, start in rows:
        days[office].add(_local(start).date())
    return days


# Deterministic for a given "now".


def test_seeding_twice_with_the_same_clock_gives_identical_data(tmp_path, database):
    again = open_database(tmp_path / "again.db", demo=True)
    try:
        assert _slot_rows(again) == _slot_rows(database)
        with again.reading() as a, database.reading() as b:
            for table in (schema.Appointment, schema.Patient, schema.Communication, schema.AccessToken):
                columns = [c for c in table.__table__.columns]
                assert a.execute(select(*columns)).all() == b.execute(select(*columns)).all(), table.__tablename__
    finally:
        again.dispose()


def test_a_different_day_seeds_different_slots(tmp_path, database):
    clock.set_now("2026-11-26T09:00:00+01:00")
    try:
        later = open_database(tmp_path / "later.db", demo=True)
    finally:
        clock.set_now(NOW)
    try:
        rows, base = _slot_rows(later), _slot_rows(database)
        assert rows != base
        # Not merely shifted: the same times on the same timebook get other free/taken draws.
        same_times = {r[:3]: r[3] for r in base}
        shared = [(r[3], same_times[r[:3]]) for r in rows if r[:3] in same_times and r[1] > datetime(2026, 11, 27)]
        assert shared and any(a != b for a, b in shared)
    finally:
        later.dispose()


# The calendar rules.


def test_slots_skip_weekends_and_norwegian_public_holidays(database):
    days = set().union(*_days_by_office(database).values())
    assert not [d for d in days if d.weekday() >= 5]
    assert date(2026, 12, 25) not in days and date(2026, 12, 26) not in days and date(2027, 1, 1) not in days
    assert {date(2026, 12, 23), date(2026, 12, 28), date(2026, 12, 31), date(2027, 1, 4)} <= days  # ordinary weekdays around them


def test_slots_skip_the_offices_closure_day_only_at_that_office(database):
    with database.reading() as session:
        (closure,) = session.scalars(select(schema.ClosureDay)).all()
    assert (closure.organization_id, closure.day, closure.reason) == (FJORD, date(2026, 12, 11), "Planleggingsdag")
    assert closure.day.weekday() == 4  # a Friday two weeks ahead, so it shows in the calendar as a closed weekday
    days = _days_by_office(database)
    assert closure.day not in days[FJORD]
    assert closure.day in days[BAKKE]


def test_slots_run_from_two_weeks_back_to_the_end_of_the_month_after_next(database):
    days = set().union(*_days_by_office(database).values())
    assert min(days) == date(2026, 11, 11) and max(days) == date(2027, 1, 29)


def test_timebooks_keep_their_own_weekdays(database):
    with database.reading() as session:
        rows = session.execute(
            select(schema.Schedule.name, schema.Slot.start).join(schema.Slot, schema.Slot.schedule_id == schema.Schedule.id)
        ).all()
    weekdays: dict[str, set[int]] = defaultdict(set)
    for name, start in rows:
        weekdays[name].add(_local(start).weekday())
    assert weekdays["Koronatest drive-in"] == {0, 2, 4}
    assert weekdays["Koronavaksine"] == {1, 3}
    assert weekdays["Laboratoriet"] == {0, 1, 2, 3, 4}


def test_no_time_that_has_begun_is_free_and_every_timebook_has_both_free_and_taken_times(database):
    now = datetime.fromisoformat(NOW).astimezone(UTC).replace(tzinfo=None)
    with database.reading() as session:
        past_free = session.scalar(
            select(func.count()).select_from(schema.Slot).where(schema.Slot.start <= now, schema.Slot.status == "free")
        )
        future = session.execute(select(schema.Slot.schedule_id, schema.Slot.status).where(schema.Slot.start > now)).all()
    assert past_free == 0
    by_book: dict[int, Counter] = defaultdict(Counter)
    for book, status in future:
        by_book[book][status] += 1
    assert len(by_book) == 7
    for book, statuses in by_book.items():
        assert statuses["free"] > 0 and statuses["busy"] > 0, (book, statuses)


# The offices, time types and timebooks.


async def test_every_time_type_is_offered_and_only_koronatest_has_two_places(api):
    services = matches(
        fhir_json(await api.get("/HealthcareService", params={"organization": "Organization/1"}, headers=bearer(KARI)))
    )
    assert sorted(s["type"][0]["coding"][0]["code"] for s in services) == sorted(TIMETYPES)
    for service in services:
        bundle = fhir_json(
            await api.get(
                "/Schedule",
                params={"actor": f"HealthcareService/{service['id']}", "_include": "Schedule:actor"},
                headers=bearer(KARI),
            )
        )
        places = {r["name"] for r in included(bundle) if r["resourceType"] == "Location"}
        expected = 2 if service["type"][0]["coding"][0]["code"] == "Koronatest" else 1
        assert bundle["total"] == expected == len(places), service["name"]


async def test_the_vaccine_timebook_at_fjordsiden_is_full_until_next_month(api):
    book = await timebook(api, KARI, 1, "Vaksine")
    november = fhir_json(
        await api.get(
            "/Slot",
            params={"schedule": f"Schedule/{book}", "status": "free", "start": ["ge2026-11-01", "lt2026-12-01"]},
            headers=bearer(KARI),
        )
    )
    assert november["total"] == 0
    (first,) = await free_slots(api, KARI, book, "2026-11-25", count=1)
    assert first["start"].startswith("2026-12-")
    other = await timebook(api, KARI, 2, "Vaksine")  # the other office's vaccine timebook has times this month
    assert (await free_slots(api, KARI, other, "2026-11-25", count=1))[0]["start"].startswith("2026-11-")


# The people.


def test_patients_have_synthetic_numbers_that_only_demo_mode_accepts(database):
    with database.reading() as session:
        patients = session.scalars(select(schema.Patient).order_by(schema.Patient.id)).all()
    assert [f"{p.given} {p.family}" for p in patients] == [
        "Kari Nordmann",
        "Ola Nordmann",
        "Aisha Khan",
        "Per Hansen",
        "Ingrid Berg",
        # The folkeregister's people (issue 27): Kari's children and mother, Ola's daughter at a protected address.
        "Emma Lie",
        "Jonas Lie",
        "Sofie Dahl",
        "Astrid Solberg",
    ]
    for patient in patients:
        number = parse_identity_number(patient.identifier, allow_synthetic=True)
        assert number.synthetic and 81 <= int(patient.identifier[2:4]) <= 92
        assert number.birth_date == patient.birth_date
        assert patient.identifier_system == (DNR_SYSTEM if number.kind is IdKind.D_NUMMER else FNR_SYSTEM)
        with pytest.raises(InvalidIdentityNumber) as refused:
            parse_identity_number(patient.identifier)
        assert refused.value.problem is IdProblem.SYNTHETIC_NOT_ALLOWED
    assert [p.identifier_system for p in patients].count(DNR_SYSTEM) == 1  # Aisha has a D-nummer


def test_the_demo_tokens_are_the_ones_the_tests_and_the_start_screen_use(database):
    tokens = {t.token: (t.role, t.name, t.reference) for t in demo_tokens(database)}
    assert tokens[KARI] == ("citizen", "Kari Nordmann", "Patient/1")
    assert tokens[OLA] == ("citizen", "Ola Nordmann", "Patient/2")
    assert tokens[PER] == ("citizen", "Per Hansen", "Patient/4")
    assert tokens[FJORD_STAFF] == ("staff", "Helsesekretær, Fjordsiden", "Organization/1")
    assert tokens[BAKKE_STAFF] == ("staff", "Helsesekretær, Bakkebyen", "Organization/2")
    assert tokens[SUPPORT] == ("support", "Kundesenter, NHN", "")
    assert len(tokens) == 8
    assert [t.role for t in demo_tokens(database)] == ["citizen"] * 5 + ["staff"] * 2 + ["support"]  # citizens first


def test_the_demo_history_gives_each_desk_something_to_do(database):
    now = datetime.fromisoformat(NOW).astimezone(UTC).replace(tzinfo=None)
    with database.reading() as session:
        appointments = session.scalars(select(schema.Appointment)).all()
        slots = {a.id: session.get(schema.Slot, a.slot_id).status for a in appointments}
        kinds = {
            a.id: sorted(session.scalars(select(schema.Communication.kind).where(schema.Communication.appointment_id == a.id)))
            for a in appointments
        }
    pending_here = [a for a in appointments if a.organization_id == FJORD and a.status == "pending" and a.start > now]
    assert len(pending_here) >= 2  # requests for Fjordsiden's staff to answer
    assert any(a.organization_id == BAKKE and a.status == "pending" for a in appointments)
    today = [a for a in appointments if a.status == "booked" and _local(a.start).date() == date(2026, 11, 25) and a.start > now]
    assert today, "someone is coming today"
    for a in appointments:
        assert slots[a.id] == {"pending": "busy-tentative", "booked": "busy"}[a.status]
        assert kinds[a.id] == (["confirmed", "request-sent"] if a.status == "booked" else ["request-sent"])


# Storage: one SQLite file in WAL mode, created on first start, surviving a restart.


def test_the_database_is_one_sqlite_file_in_wal_mode(tmp_path):
    path = tmp_path / "fresh" / "timebok.db"
    db = open_database(path, demo=False)
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        raw = sqlite3.connect(path)  # WAL is a property of the file, so any other program sees it too
        try:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            raw.close()
        assert {p.name for p in path.parent.iterdir()} <= {"timebok.db", "timebok.db-wal", "timebok.db-shm"}
    finally:
        db.dispose()


async def test_the_schema_is_created_on_first_start_and_empty_without_demo(tmp_path):
    db = open_database(tmp_path / "plain.db", demo=False)
    try:
        tables = set(inspect(db.engine).get_table_names())
        assert {"organization", "slot", "appointment", "communication", "access_token", "audit_event"} <= tables
        with db.reading() as session:
            assert session.scalar(select(func.count()).select_from(schema.Organization)) == 0
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(db)), base_url="http://testserver/fhir") as api:
            assert (await api.get("/metadata")).status_code == 200
            assert (await api.get("/Organization/1", headers=bearer(KARI))).status_code == 401  # no demo tokens
    finally:
        db.dispose()


async def test_a_booking_survives_a_restart_and_the_seed_does_not_run_twice(tmp_path):
    path = tmp_path / "restart.db"
    db = open_database(path, demo=True)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(db, demo=True)), base_url="http://testserver/fhir"
        ) as api:
            slot = (await free_slots(api, KARI, await timebook(api, KARI, 1, "Lab"), "2026-12-03"))[0]
            booked = fhir_json(
                await api.post("/Appointment", json=booking_request(slot["id"], 1, "etter omstart"), headers=bearer(KARI)), 201
            )
        before = {
            t: _table_count(db, t)
            for t in (schema.Organization, schema.Slot, schema.Patient, schema.AccessToken, schema.Communication)
        }
    finally:
        db.dispose()

    db = open_database(path, demo=True)
    try:
        assert seed_if_empty(db) is False
        assert {t: _table_count(db, t) for t in before} == before
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(db, demo=True)), base_url="http://testserver/fhir"
        ) as api:
            again = fhir_json(await api.get(f"/Appointment/{booked['id']}", headers=bearer(KARI)))
            assert again == booked
            assert fhir_json(await api.get(f"/Slot/{slot['id']}", headers=bearer(KARI)))["status"] == "busy-tentative"
            inbox = matches(fhir_json(await api.get("/Communication", headers=bearer(KARI))))
            assert inbox[0]["about"] == [{"reference": f"Appointment/{booked['id']}"}]
    finally:
        db.dispose()


def _table_count(db, table) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(table))
