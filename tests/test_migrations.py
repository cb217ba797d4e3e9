"""Schema migrations: they build exactly what the code declares, upgrade old SQLite files, and run once when instances start together."""

from __future__ import annotations

import threading

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from tests.conftest import DB_KINDS, FJORD_STAFF, bearer
from tests.fhir_validate import fhir_json, matches
from timebok.backend import schema
from timebok.backend.app import create_app
from timebok.backend.migrate import head
from timebok.backend.seed import demo_tokens
from timebok.backend.server import open_database


@pytest.fixture
def empty_db_url(request, db_kind, tmp_path):
    """An empty database of the kind asked for."""
    return tmp_path / "empty.db" if db_kind == "sqlite" else request.getfixturevalue("pg_empty_database")


def _count(db, table) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(table))


@pytest.mark.parametrize("db_kind", DB_KINDS, indirect=True)
def test_the_migrations_build_exactly_the_schema_the_code_declares(empty_db_url):
    db = open_database(empty_db_url, demo=False)
    try:
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, schema.Base.metadata) == []
            assert context.get_current_revision() == head()
    finally:
        db.dispose()


@pytest.mark.parametrize("db_kind", DB_KINDS, indirect=True)
def test_two_instances_starting_at_once_migrate_and_seed_exactly_once(empty_db_url):
    start = threading.Barrier(2)
    opened, failed = [], []

    def instance() -> None:
        start.wait()
        try:
            opened.append(open_database(empty_db_url, demo=True))
        except Exception as error:  # noqa: BLE001 - reported below
            failed.append(error)

    threads = [threading.Thread(target=instance) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert failed == [] and len(opened) == 2
        assert (_count(opened[0], schema.Organization), _count(opened[0], schema.Patient)) == (2, 9)
        assert demo_tokens(opened[0]) == demo_tokens(opened[1]) != []  # both see the one seed
    finally:
        for db in opened:
            db.dispose()


async def test_a_sqlite_file_made_before_migrations_is_upgraded_and_keeps_its_data(db_path):
    # Make the file look as the backend left it before migrations: no version table, no name key.
    db = open_database(db_path, demo=True)
    slots = _count(db, schema.Slot)
    with db.writing_connection() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
        connection.exec_driver_sql("ALTER TABLE patient DROP COLUMN name_key")
        connection.exec_driver_sql("ALTER TABLE schedule DROP COLUMN lead_minutes")  # nor the lead time of 0003_citizen
        for table in ("appointment", "appointment_response"):  # nor the request identifiers of 0003
            connection.exec_driver_sql(f"DROP INDEX ix_{table}_identifier")
            connection.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN identifier")
        connection.exec_driver_sql("DROP TABLE change_version")  # nor the change counters of 0004
        # nor the timebook setup of 0004_setup
        connection.exec_driver_sql("DROP INDEX ux_slot_schedule_start_seq")
        connection.exec_driver_sql("ALTER TABLE slot DROP COLUMN seq")
        for column in ("slot_minutes", "parallel", "horizon_days", "weekly"):
            connection.exec_driver_sql(f"ALTER TABLE schedule DROP COLUMN {column}")
        for column in ("start_time", "end_time", "schedule_id"):
            connection.exec_driver_sql(f"ALTER TABLE closure_day DROP COLUMN {column}")
        connection.exec_driver_sql("DROP TABLE campaign")
        connection.exec_driver_sql("DROP TABLE setup_event")
        connection.exec_driver_sql("DROP TABLE freed_slot")  # nor the freed times of 0010_freed_slot
        # nor the offer window of 0009_offer_window
        connection.exec_driver_sql("ALTER TABLE schedule DROP COLUMN offer_minutes")
        # nor the folkeregister and representatives of 0008_represent
        connection.exec_driver_sql("ALTER TABLE appointment DROP COLUMN representative_id")
        connection.exec_driver_sql("DROP TABLE register_relation")
        connection.exec_driver_sql("DROP TABLE register_person")
        # nor the outbox of 0006_outbox
        connection.exec_driver_sql("DROP TABLE short_notice")
        connection.exec_driver_sql("DROP TABLE outbox_attempt")
        connection.exec_driver_sql("DROP TABLE outbox_message")
        connection.exec_driver_sql("ALTER TABLE schedule DROP COLUMN reminder_hours")
        for column in ("email", "phone", "language"):
            connection.exec_driver_sql(f"ALTER TABLE patient DROP COLUMN {column}")
        for column in ("no_notices", "no_reminders"):
            connection.exec_driver_sql(f"ALTER TABLE appointment DROP COLUMN {column}")
        # nor the appointment's life of 0005_life
        connection.exec_driver_sql("DROP INDEX ix_slot_schedule_held_until")
        connection.exec_driver_sql("ALTER TABLE slot DROP COLUMN held_until")
        connection.exec_driver_sql("DROP INDEX ix_appointment_replaces_id")
        for column in ("replaces_id", "held_until", "held_by"):
            connection.exec_driver_sql(f"ALTER TABLE appointment DROP COLUMN {column}")
        for column in ("hold_minutes", "deadline_hours", "monday_by_friday", "answer_days"):
            connection.exec_driver_sql(f"ALTER TABLE schedule DROP COLUMN {column}")
    db.dispose()

    db = open_database(db_path, demo=True)
    try:
        with db.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == head()
        assert "name_key" in {c["name"] for c in inspect(db.engine).get_columns("patient")}
        assert {"lead_minutes", "offer_minutes"} <= {c["name"] for c in inspect(db.engine).get_columns("schedule")}
        assert _count(db, schema.Slot) == slots and _count(db, schema.Organization) == 2  # not seeded again
        transport = httpx.ASGITransport(app=create_app(db, demo=True))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver/fhir") as api:
            found = fhir_json(await api.post("/Patient/_search", data={"name": "NORDMANN"}, headers=bearer(FJORD_STAFF)))
        assert [p["name"][0]["text"] for p in matches(found)] == ["Kari Nordmann", "Ola Nordmann"]
    finally:
        db.dispose()
