"""The server's own log, read from a real `timebok serve` process: one line per event, no identity number, no forged line."""

from __future__ import annotations

import re
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import FJORD_STAFF, KARI, bearer
from tests.fhir_validate import booking_request, free_slots, outcome, timebook
from tests.serve_process import ServeProcess
from timebok.backend.db import Database, database_url
from timebok.backend.logs import clean
from timebok.domain.privacy import scrub

NUMBER = "14838512470"  # Kari Nordmann's (synthetic) fødselsnummer in the demo


@pytest.fixture
def server(db_url, tmp_path):
    process = ServeProcess(str(db_url), tmp_path / "serve.log").wait_until_serving()
    yield process
    process.stop()


@contextmanager
def appointments_gone(db_url):
    """The appointment table renamed away for a moment, so a booking fails inside the server in a way no rule foresaw."""
    db = Database(database_url(db_url))
    try:
        with db.engine.begin() as connection:
            connection.execute(text("ALTER TABLE appointment RENAME TO appointment_away"))
        yield
    finally:
        with db.engine.begin() as connection:
            connection.execute(text("ALTER TABLE appointment_away RENAME TO appointment"))
        db.dispose()


async def test_a_failing_request_is_one_log_line_with_its_request_id_and_no_value_it_carried(server, db_url):
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        slot = (await free_slots(client, KARI, await timebook(client, KARI, 1, "Lab"), "2026-12-03"))[0]["id"]
        body = booking_request(slot, 1, f"fnr {NUMBER}, også skrevet 148 385 124 70")
        with appointments_gone(db_url):
            response = await client.post("/Appointment", json=body, headers=bearer(KARI) | {"X-Request-ID": "case-4711"})
        diagnostics = outcome(response, 500, "exception")
        assert response.headers["x-request-id"] == "case-4711"
        assert "case-4711" in diagnostics and "nothing was changed" in diagnostics
        # The service still answers, and the same booking now goes through.
        assert (await client.post("/Appointment", json=body, headers=bearer(KARI))).status_code == 201
    server.stop()
    log = server.log.read_text(errors="replace")
    assert NUMBER not in log and "124 70" not in log and NUMBER[6:] not in log
    assert "Traceback" not in log and "parameters" not in log.lower() and "INSERT" not in log
    # The request's failure, among the lines about requests: the background jobs (the e-mail/SMS sender, the sweep of
    # unanswered requests) also lose the table for that moment and say so on lines of their own, with no request id.
    background = ("timebok.sender", "timebok.generation")
    (failed,) = [line for line in log.splitlines() if "failed" in line and not any(job in line for job in background)]
    assert "case-4711" in failed and "POST /fhir/Appointment" in failed
    assert any(re.search(r"case-4711 POST /fhir/Appointment 500 ", line) for line in log.splitlines())


async def test_a_caller_that_gives_up_before_its_body_arrives_is_logged_as_gone_not_as_a_failure(server, db_url):
    """A client's timeout, or a server resumed after a stop: the request's body never comes. Nothing is written, and
    the log says 499 (the caller went away), not «failed» with a 500 that would page someone for nothing."""
    import asyncio
    from urllib.parse import urlsplit

    where = urlsplit(server.url)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        before = len((await client.get("/Appointment", headers=bearer(FJORD_STAFF))).json().get("entry", []))
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(
        (
            f"POST {where.path}/Appointment HTTP/1.1\r\nHost: x\r\nX-Request-ID: gone-4711\r\n"
            f"Authorization: Bearer {KARI}\r\nContent-Type: application/fhir+json\r\nContent-Length: 400\r\n\r\n"
            '{"resourceType": "Appoi'
        ).encode()
    )
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.close()
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        after = len((await client.get("/Appointment", headers=bearer(FJORD_STAFF))).json().get("entry", []))
    assert after == before
    server.stop()
    lines = [line for line in server.log.read_text(errors="replace").splitlines() if "gone-4711" in line]
    assert lines and not [line for line in lines if "failed" in line or " 500 " in line], lines
    assert any(re.search(r"gone-4711 POST /fhir/Appointment 499 ", line) for line in lines), lines


@contextmanager
def writes_held(db_url):
    """Another client holds the write lock (SQLite) or the slot table (PostgreSQL) until the block ends."""
    if "://" not in str(db_url):
        import sqlite3

        connection = sqlite3.connect(str(db_url), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.rollback()
            connection.close()
        return
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)) as connection:
        connection.execute("LOCK TABLE slot IN ACCESS EXCLUSIVE MODE")
        yield
        connection.rollback()


async def test_an_answer_the_caller_left_before_is_logged_as_499_with_what_it_would_have_been(server, db_url):
    """The caller's timeout ran out while its booking waited for the database; the booking was then made and its
    201 went to nobody. The log says so (499, as nginx), and keeps the 201: the booking exists."""
    import asyncio
    import json
    from urllib.parse import urlsplit

    where = urlsplit(server.url)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        slot = (await free_slots(client, KARI, await timebook(client, KARI, 1, "Lab"), "2026-12-03"))[0]["id"]
        before = len((await client.get("/Appointment", headers=bearer(FJORD_STAFF))).json().get("entry", []))
        body = json.dumps(booking_request(slot, 1)).encode()
        with writes_held(db_url):
            reader, writer = await asyncio.open_connection(where.hostname, where.port)
            writer.write(
                (
                    f"POST {where.path}/Appointment HTTP/1.1\r\nHost: x\r\nX-Request-ID: left-4711\r\n"
                    f"Authorization: Bearer {KARI}\r\nContent-Type: application/fhir+json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                + body
            )
            await writer.drain()
            await asyncio.sleep(0.5)
            writer.close()  # gone before any answer
            await asyncio.sleep(0.5)
        for _ in range(100):
            after = len((await client.get("/Appointment", headers=bearer(FJORD_STAFF))).json().get("entry", []))
            if after > before:
                break
            await asyncio.sleep(0.1)
        assert after == before + 1  # the booking went through once the lock was gone
        answered = await client.get("/metadata", headers={"X-Request-ID": "read-4711"})
        assert answered.status_code == 200
    server.stop()
    log = server.log.read_text(errors="replace").splitlines()
    lines = [line for line in log if "left-4711" in line]
    assert len(lines) == 1 and re.search(r"left-4711 POST /fhir/Appointment 499 [\d.]+ms \(201 unread\)$", lines[0]), lines
    assert [line for line in log if re.search(r"read-4711 GET /fhir/metadata 200 [\d.]+ms$", line)]  # a read answer is 200


async def test_every_answer_carries_a_request_id_and_a_wild_one_is_replaced(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        mine = await client.get("/metadata", headers={"X-Request-ID": "trace-1.2:3"})
        assert mine.headers["x-request-id"] == "trace-1.2:3"
        fresh = await client.get("/metadata")
        wild = await client.get("/metadata", headers={"X-Request-ID": "x" * 65})
        failed = await client.get("/Nonsense")
        ids = [fresh.headers["x-request-id"], wild.headers["x-request-id"], failed.headers["x-request-id"]]
        assert all(re.fullmatch(r"[a-z2-7]{16}", value) for value in ids) and len(set(ids)) == 3


async def test_control_characters_and_spaced_numbers_in_a_url_cannot_forge_or_leak_a_log_line(server):
    forged = "2026-11-26 09:00:00,000 timebok.access GET /fhir/metadata 200 0.1ms"
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        await client.get(f"/Organization?name=x%0A{forged.replace(' ', '%20')}", headers=bearer(FJORD_STAFF))
        await client.get("/Organization?name=a%00b%1b[31mred", headers=bearer(FJORD_STAFF))
        for spelled in ("148%20385%20124%2070", "148385-12470", "148.385.124.70", "1+4+8+3+8+5+1+2+4+7+0"):
            await client.get(f"/Organization?name={spelled}", headers=bearer(FJORD_STAFF))
    server.stop()
    raw = server.log.read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw
    lines = raw.decode().splitlines()
    assert not any(line.startswith("2026-11-26 09:00:00,000") for line in lines)
    assert any("\\n2026-11-26" in line for line in lines)
    assert not any(NUMBER in line.replace(" ", "").replace(".", "").replace("-", "").replace("+", "") for line in lines)
    assert sum("148385 *****" in line for line in lines) == 4


def test_the_mask_covers_every_spelling_the_server_reads():
    for spelled in (NUMBER, "148385 12470", "148 385 124 70", "148385-12470", "148.385.124.70"):
        assert scrub(f"x {spelled} y") == "x 148385 ***** y", spelled
    assert scrub("ge2026-12-01T09:00:00+01:00 Slot/123456789012") == "ge2026-12-01T09:00:00+01:00 Slot/123456789012"
    # The identifier systems stay whole (support reads them); a number right after one is still masked.
    oid = '"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "14838512470"'
    assert scrub(oid) == '"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "148385 *****"'
    assert scrub("urn:oid:2.16.578.1.12.4.1.4.1 14838512470") == "urn:oid:2.16.578.1.12.4.1.4.1 148385 *****"
    assert scrub("urn:oid:1.14838512470") == "urn:oid:1.148385 *****"  # no number hides in an «OID»
    assert scrub("urn:oid:2.16.578.1.12.4.1.4.1.14838512470") == "urn:oid:2.16.578.1.12.4.1.4.1.148385 *****"
    assert clean("a\nb\x00c\u2028") == "a\\nb\\x00c\\u2028"


def test_the_mask_takes_identity_numbers_not_dates_and_what_follows_them():
    for kept in ("lt2027-02-01 200", "lt20270201 200", "ge20261207 201", "Slot/12345678901", "2026-12-07 12345"):
        assert scrub(kept) == kept, kept
    # D-nummer, synthetic D-nummer, H-nummer, and numbers mistyped in their date are masked all the same.
    for number in ("55088512307", "61879212345", "15488512134", "15138512313", "32088512313"):
        assert scrub(f"a {number} b") == f"a {number[:6]} ***** b", number


def test_the_access_line_keeps_its_status_after_a_date_and_masks_each_value():
    import logging

    from timebok.backend import logs

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("timebok.test-access")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addFilter(logs.Scrubbing())
    logger.addHandler(Keep())
    logs.access(logger, "case-1", "GET", "/fhir/Slot?schedule=Schedule/3&start=ge2027-01-01&start=lt2027-02-01", 200, 123.4)
    logs.access(logger, NUMBER, "GET", f"/fhir/Organization?name={NUMBER}\n", 400, 2.0)
    lines = [record.getMessage() for record in records]
    assert lines[0] == "case-1 GET /fhir/Slot?schedule=Schedule/3&start=ge2027-01-01&start=lt2027-02-01 200 123.4ms"
    assert lines[1] == "148385 ***** GET /fhir/Organization?name=148385 *****\\n 400 2.0ms"


async def test_a_month_query_is_logged_whole_with_its_status(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        lab = await timebook(client, KARI, 1, "Lab")
        response = await client.get(
            "/Slot",
            params=[("schedule", f"Schedule/{lab}"), ("status", "free"), ("start", "ge2027-01-01"), ("start", "lt2027-02-01")],
            headers=bearer(KARI) | {"X-Request-ID": "month-1"},
        )
        assert response.status_code == 200
    server.stop()
    (line,) = [line for line in server.log.read_text(errors="replace").splitlines() if "month-1" in line]
    assert re.search(
        r"month-1 GET /fhir/Slot\?schedule=Schedule/\d+&status=free&start=ge2027-01-01&start=lt2027-02-01 200 "
        r"\d+\.\dms$",
        line,
    ), line


async def test_request_ids_the_server_makes_never_look_like_an_identity_number(api):
    """A support case is matched to the server log by request id: one holding eleven digits in a row would be
    masked as an identity number in the log and the trace, and could not be matched (a uuid's hex does ~2 %)."""
    ids = {(await api.get("/metadata")).headers["x-request-id"] for _ in range(400)}
    assert len(ids) == 400
    assert not [rid for rid in ids if re.search(r"\d{11}", rid)]


def test_write_identifiers_never_hold_eleven_digits_in_a_row():
    from timebok.client.api import _request_identifier

    keys = {_request_identifier() for _ in range(3000)}  # a plain uuid4 does this ~0.8 % of the time
    assert len(keys) == 3000 and all(key.startswith("urn:uuid:") for key in keys)
    assert not [key for key in keys if re.search(r"\d{11}", key)]
