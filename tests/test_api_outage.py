"""A database that hangs or is gone: 503 with Retry-After in seconds, while /health and /fhir/metadata keep answering."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import KARI, bearer
from tests.fhir_validate import booking_request, free_slots, outcome, timebook
from tests.serve_process import TIMEBOK
from timebok.backend.app import create_app
from timebok.backend.db import Database
from timebok.backend.server import EmbeddedServer


def _hold_lock(url: str, table: str, seconds: float) -> threading.Thread:
    """Another client holds the table in an open transaction: every statement touching it waits."""
    locked = threading.Event()

    def hold() -> None:
        libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(libpq) as connection:
            connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            locked.set()
            time.sleep(seconds)
            connection.rollback()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert locked.wait(10)
    return thread


@pytest.fixture
def quick_timeouts(monkeypatch):
    monkeypatch.setenv("TIMEBOK_DB_LOCK_TIMEOUT", "1.5")
    monkeypatch.setenv("TIMEBOK_DB_STATEMENT_TIMEOUT", "3")
    monkeypatch.setenv("TIMEBOK_DB_POOL_TIMEOUT", "2")


@pytest.fixture
def pg_live_server(pg_database, quick_timeouts):
    server = EmbeddedServer(pg_database, demo=True).start()
    server.ready.wait(30)
    assert server.failed is None, server.failed
    yield server
    server.stop()


async def _timed(request) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await request
    return response, time.perf_counter() - started


async def test_a_hanging_database_is_a_quick_503_while_health_and_metadata_answer(pg_live_server, pg_database):
    async with httpx.AsyncClient(base_url=pg_live_server.url, timeout=30) as client:
        slot = (await free_slots(client, KARI, await timebook(client, KARI, 1, "Lab"), "2026-12-03"))[0]["id"]
        holder = _hold_lock(pg_database, "slot", 10)
        # More bookings than the server has worker threads and pooled connections, all waiting for the lock.
        bookings = [
            asyncio.create_task(_timed(client.post("/Appointment", json=booking_request(slot, 1), headers=bearer(KARI))))
            for _ in range(45)
        ]
        await asyncio.sleep(0.5)
        metadata, metadata_took = await _timed(client.get("/metadata"))
        root = str(pg_live_server.url).removesuffix("/fhir")
        health, health_took = await _timed(client.get(f"{root}/health"))
        assert metadata.status_code == 200 and metadata_took < 2.0  # not the 10 s the lock is held
        assert health.status_code == 200 and health.json()["database"] == "answers" and health_took < 2.0
        results = await asyncio.gather(*bookings)
        holder.join()
    statuses = {response.status_code for response, _ in results}
    assert statuses == {503}, statuses
    response, took = results[0]
    assert "did not answer" in outcome(response, 503, "transient") and response.headers["retry-after"] == "5"
    assert max(took for _, took in results) < 8.5  # the lock, pool and statement timeouts, not the 10 s the lock is held


async def test_a_month_read_while_the_database_hangs_is_a_503_and_the_next_one_answers(pg_live_server, pg_database):
    """The calendar's month read from a caller already known (answered past the router, issue 30) fails as every
    route does: a 503 OperationOutcome with Retry-After once the lock timeout passes, never a 500 or a hang."""
    async with httpx.AsyncClient(base_url=pg_live_server.url, timeout=30) as client:
        schedule = await timebook(client, KARI, 1, "Lab")
        month = {"schedule": f"Schedule/{schedule}", "status": "free", "start": ["ge2026-12-01", "lt2027-01-01"]}
        assert (await client.get("/Slot", params=month, headers=bearer(KARI))).status_code == 200
        holder = _hold_lock(pg_database, "change_version", 6)
        response, took = await _timed(client.get("/Slot", params=month, headers=bearer(KARI)))
        assert "did not answer" in outcome(response, 503, "transient") and response.headers["retry-after"] == "5"
        assert took < 5.5  # the lock timeout (1.5 s), not the 6 s the lock is held
        holder.join()
        assert (await client.get("/Slot", params=month, headers=bearer(KARI))).status_code == 200


async def test_a_database_that_is_gone_is_a_503_and_health_says_so(pg_database, quick_timeouts):
    gone = make_url(pg_database).set(port=1).render_as_string(hide_password=False)  # nothing listens on port 1
    db = Database(gone)
    try:
        app = create_app(db, demo=True)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            response = await client.get("/fhir/Appointment", headers=bearer(KARI))
            assert outcome(response, 503, "transient") and response.headers["retry-after"] == "5"
            health = await client.get("/health")
            assert health.status_code == 503 and health.json()["database"] == "does not answer"
            assert (await client.get("/fhir/metadata")).status_code == 200
    finally:
        db.dispose()


def test_starting_on_an_unreachable_database_is_one_line_naming_it_with_the_password_masked(pg_database):
    gone = make_url(pg_database).set(port=1, username="timebok", password="s3cret-pw").render_as_string(hide_password=False)
    result = subprocess.run([TIMEBOK, "serve", "--port", "0", "--db", gone], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "s3cret-pw" not in result.stderr and "Traceback" not in result.stderr
    assert "timebok:***@127.0.0.1:1/" in lines[0] and "cannot" in lines[0].lower()


async def test_a_hung_writer_on_sqlite_is_a_quick_503_for_every_queued_write(db_path, quick_timeouts):
    """Another process holds SQLite's write lock (a hung writer, a `BEGIN IMMEDIATE` in a shell): each write here,
    the first and those queued behind it, answers 503 within the lock timeout, not after 30 s in the queue and
    30 s more in SQLite's busy handler (57 s seen by a probe)."""
    import sqlite3

    server = EmbeddedServer(db_path, demo=True).start()
    server.ready.wait(30)
    assert server.failed is None, server.failed
    holder = sqlite3.connect(str(db_path), isolation_level=None)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            slots = await free_slots(client, KARI, await timebook(client, KARI, 1, "Lab"), "2026-12-03")
            holder.execute("BEGIN IMMEDIATE")
            results = await asyncio.gather(
                *[
                    _timed(client.post("/Appointment", json=booking_request(slot["id"], 1), headers=bearer(KARI)))
                    for slot in slots[:4]
                ]
            )
            holder.rollback()
            statuses = [response.status_code for response, _ in results]
            assert statuses == [503] * 4, statuses
            response, _ = results[0]
            assert "did not answer" in outcome(response, 503, "transient") and response.headers["retry-after"] == "5"
            assert max(took for _, took in results) < 15  # the queue's and SQLite's waits of 1.5 s each, with room for load
            after = await client.post("/Appointment", json=booking_request(slots[0]["id"], 1), headers=bearer(KARI))
            assert after.status_code == 201  # the lock gone, writes go through again
    finally:
        holder.close()
        server.stop()


async def test_a_full_disk_is_a_503_naming_storage_full_and_health_says_so_until_a_write_commits(db_path):
    """SQLite told to grow no further (`max_page_count`) answers SQLITE_FULL, the very error of a full disk."""
    from sqlalchemy import event

    from timebok.backend.server import open_database

    db = open_database(db_path, demo=True)
    cap = {"pages": 1}  # a cap below the file's size is the file's size: not one page more

    @event.listens_for(db.engine, "connect")
    def _capped(dbapi_connection, _record) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {cap['pages']}")

    db.engine.dispose()  # the pooled connections were opened uncapped
    try:
        app = create_app(db, demo=True)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            assert (await client.get("/health")).status_code == 200
            api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver/fhir")
            lab = await timebook(api, KARI, 1, "Lab")
            slots = await free_slots(api, KARI, lab, "2026-12-08", count=60)
            answers = []
            for slot in slots:
                response = await api.post("/Appointment", json=booking_request(slot["id"], 1), headers=bearer(KARI))
                answers.append(response.status_code)
                if response.status_code != 201:
                    break
            assert answers[-1] == 503 and set(answers[:-1]) <= {201}, answers
            assert "storage is full" in outcome(response, 503, "transient") and response.headers["retry-after"] == "5"
            assert response.json()["issue"][0]["details"]["coding"][0]["code"] == "storage-full"
            health = await client.get("/health")
            assert health.status_code == 503 and health.json()["storage"] == "full" and health.headers["retry-after"] == "5"
            assert (await api.get("/Appointment", headers=bearer(KARI))).status_code == 200  # reads still answer
            cap["pages"] = 1_000_000  # room again
            db.engine.dispose()
            again = await api.post("/Appointment", json=booking_request(slots[len(answers) - 1]["id"], 1), headers=bearer(KARI))
            assert again.status_code == 201
            assert (await client.get("/health")).status_code == 200
            await api.aclose()
    finally:
        db.dispose()


def test_postgresql_disk_full_and_io_error_are_storage_full_and_other_errors_are_not():
    from types import SimpleNamespace

    from sqlalchemy.exc import OperationalError

    from timebok.backend.app import storage_full

    postgresql = SimpleNamespace(is_sqlite=False)
    for error in (psycopg.errors.DiskFull("could not extend file"), psycopg.errors.IoError("could not write block")):
        assert storage_full(OperationalError("INSERT …", None, error), postgresql), error
    assert not storage_full(OperationalError("SELECT …", None, psycopg.errors.QueryCanceled("statement timeout")), postgresql)
