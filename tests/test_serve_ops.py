"""`timebok serve` as operators run it: metrics summed over `--workers N`, JSON log lines, SIGTERM draining the requests
in flight, and `timebok migrate` apart from serving."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import threading
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import KARI, bearer
from tests.fhir_validate import booking_request, free_slots, timebook
from tests.serve_process import TIMEBOK, ServeProcess

NUMBER = "14838512470"  # Kari Nordmann's (synthetic) fødselsnummer in the demo


def _count(exposition: str, route: str, status: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
        if s.name == "timebok_http_request_duration_seconds_count"
        and s.labels.get("route") == route
        and s.labels["status"] == status
    )


def test_two_workers_count_into_one_scrape_and_log_json_lines_with_the_request_id(db_path, tmp_path):
    server = ServeProcess(str(db_path), tmp_path / "serve.log", extra=("--workers", "2", "--log-format", "json"))
    server.wait_until_serving(90)  # two fresh interpreters each: slow on a loaded machine
    try:
        sent = 0
        # A new connection each: the kernel hands it to whichever worker accepts first, so ask until both have answered.
        while sent < 30 or len(_pids(server)) < 2:
            response = httpx.get(
                f"{server.url}/Appointment/{900000 + sent}", headers=bearer(KARI) | {"X-Request-ID": f"case-{sent}"}, timeout=10
            )
            assert response.status_code == 404
            sent += 1
            assert sent < 500, "one worker answered every request"
        httpx.get(f"{server.url}/Patient", params={"identifier": NUMBER}, headers=bearer(KARI), timeout=10)
        # Every scrape, whichever worker answers it, sums both workers' counts.
        scrapes = [httpx.get(server.url.removesuffix("/fhir") + "/metrics", timeout=10).text for _ in range(4)]
        assert [_count(s, "/fhir/Appointment/{id_}", "404") for s in scrapes] == [float(sent)] * 4
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.strip()]  # every line is JSON
    access = {line["request_id"]: line for line in lines if line["logger"] == "timebok.access"}
    assert {f"case-{i}" for i in range(sent)} <= set(access)
    one = access["case-7"]
    assert (one["method"], one["path"], one["status"], one["level"]) == ("GET", "/fhir/Appointment/900007", 404, "info")
    assert NUMBER not in server.log.read_text() and any("148385 *****" in line.get("path", "") for line in lines)


def test_sigterm_lets_a_booking_in_flight_finish_before_the_workers_stop(db_path, tmp_path, monkeypatch):
    # The booking waits for the lock up to 30 s instead of 5: a loaded machine must not turn the wait into a 503.
    monkeypatch.setenv("TIMEBOK_DB_LOCK_TIMEOUT", "30")
    server = ServeProcess(str(db_path), tmp_path / "serve.log", extra=("--workers", "2"))
    server.wait_until_serving(90)  # two fresh interpreters each: slow on a loaded machine
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:

            async def slot() -> str:
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                    return (await free_slots(client, KARI, await timebook(client, KARI, 1, "Lab"), "2026-12-03"))[0]["id"]

            wanted = asyncio.run(slot())
            # Another writer holds the file's write lock, so the booking waits inside the server.
            holder = sqlite3.connect(db_path, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            answers: list[httpx.Response] = []
            booking = threading.Thread(
                target=lambda: answers.append(http.post("/Appointment", json=booking_request(wanted, 1), headers=bearer(KARI)))
            )
            booking.start()
            deadline = time.monotonic() + 10
            while _in_use(server) < 1:  # the booking has its connection and waits for the lock
                assert time.monotonic() < deadline, "the booking never reached the database"
                time.sleep(0.05)
            server.process.send_signal(signal.SIGTERM)
            # The workers are shutting down now, the booking still waiting: the lock is let go after longer than uvicorn's
            # 2 s we had before.
            time.sleep(3.0)
            holder.execute("ROLLBACK")
            holder.close()
            booking.join(30)
        assert [a.status_code for a in answers] == [201], [a.text for a in answers]
        assert server.process.wait(30) == 0
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Received SIGTERM" in log and "POST /fhir/Appointment 201" in log
    assert "timeout graceful shutdown exceeded" not in log


def _pids(server: ServeProcess) -> set[int]:
    """The worker processes that have logged a request so far (the JSON log's pid)."""
    return {
        json.loads(line)["pid"]
        for line in server.log.read_text().splitlines()
        if line.startswith("{") and '"timebok.access"' in line
    }


def _in_use(server: ServeProcess) -> float:
    exposition = httpx.get(server.url.removesuffix("/fhir") + "/metrics", timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
        if s.name == "timebok_db_connections_in_use"
    )


def test_migrate_runs_apart_and_serve_no_migrate_refuses_a_database_behind(tmp_path):
    db = tmp_path / "fresh.db"
    refused = subprocess.run([TIMEBOK, "serve", "--db", str(db), "--no-migrate"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "run `timebok migrate` first" in refused.stderr
    done = subprocess.run([TIMEBOK, "migrate", "--db", str(db)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "newest schema" in done.stdout, done.stderr
    server = ServeProcess(str(db), tmp_path / "serve.log", demo=False, extra=("--no-migrate",)).wait_until_serving(90)
    try:
        ready = httpx.get(server.url.removesuffix("/fhir") + "/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
    finally:
        server.stop()
