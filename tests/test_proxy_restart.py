"""Two instances behind a real haproxy on PostgreSQL: a rolling restart (SIGTERM one, start it again, then the other)
while citizens book and browse through the proxy loses no request and books no slot twice."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import KARI, bearer
from tests.fhir_validate import booking_request, timebook
from tests.serve_process import ServeProcess, free_port
from timebok.backend.db import Database

CITIZENS = {f"demo-citizen-{name}": patient for patient, name in enumerate(("kari", "ola", "aisha", "per", "ingrid"), 1)}

# The recipe's proxy (deploy/haproxy.cfg): health from /ready every 300 ms, a refused or dropped connection tried again
# on the other instance. Only its listening address and its servers are changed here.
RECIPE = Path(__file__).resolve().parent.parent / "deploy" / "haproxy.cfg"


def _config(port: int, backends: list[int]) -> str:
    lines = []
    for line in RECIPE.read_text().splitlines():
        if re.match(r"\s+bind ", line):
            line = f"    bind 127.0.0.1:{port}"
        if re.match(r"\s+server ", line):
            continue
        lines.append(line)
    return "\n".join(lines + [f"    server i{n} 127.0.0.1:{p} check" for n, p in enumerate(backends, 1)]) + "\n"


@pytest.fixture
def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (os.path.exists("/usr/sbin/haproxy") and "/usr/sbin/haproxy") or None
    if found:
        return found
    if os.environ.get("TIMEBOK_TEST_HAPROXY_REQUIRED", "") not in ("", "0"):
        pytest.fail("haproxy is required here (TIMEBOK_TEST_HAPROXY_REQUIRED) and not installed")
    pytest.skip("haproxy is not installed (Debian: apt-get install haproxy; .ci/run installs it)")


def _start_haproxy(binary: str, port: int, backends: list[int], folder: Path) -> subprocess.Popen:
    config = folder / "haproxy.cfg"
    config.write_text(_config(port, backends))
    check = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    log = open(folder / "haproxy.log", "wb")
    return subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)


def _both_up(proxy: str, instances: list[ServeProcess], timeout: float = 90) -> None:
    """Until each instance answers /ready itself and the proxy answers (its next check marks a restarted one up)."""
    deadline = time.monotonic() + timeout
    for instance in instances:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{instance.port}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert instance.process.poll() is None, instance.log.read_text(errors="replace")
            assert time.monotonic() < deadline, "an instance did not get ready"
            time.sleep(0.1)
    time.sleep(1.0)  # haproxy's two 300 ms checks: it has seen the instance up


async def test_a_rolling_restart_behind_haproxy_loses_no_request_and_books_no_slot_twice(pg_database, haproxy_binary, tmp_path):
    a = ServeProcess(pg_database, tmp_path / "a.log")
    b = ServeProcess(pg_database, tmp_path / "b.log")
    instances = [a.wait_until_serving(90), b.wait_until_serving(90)]
    port = free_port()
    proxy = _start_haproxy(haproxy_binary, port, [a.port, b.port], tmp_path)
    base = f"http://127.0.0.1:{port}/fhir"
    try:
        _both_up(base, instances)
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 404  # never through the proxy
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            schedule = await timebook(http, KARI, 1, "Lab")
            month = await http.get(
                "/Slot",
                params={"schedule": schedule, "status": "free", "start": ["ge2026-12-01", "lt2027-01-01"], "_count": "1000"},
                headers=bearer(KARI),
            )
            slots = [e["resource"]["id"] for e in month.json()["entry"]]
        assert len(slots) >= 300
        outcomes: Counter[str] = Counter()
        failures: list[str] = []
        stop = asyncio.Event()

        async def citizen(n: int, token: str) -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                while not stop.is_set() and slots:
                    slot = slots.pop()
                    identifier = f"restart-{slot}-{n}"
                    body = booking_request(slot, CITIZENS[token]) | {
                        "identifier": [{"system": "urn:timebok:test", "value": identifier}]
                    }
                    try:
                        response = await client.post(
                            "/Appointment",
                            json=body,
                            headers=bearer(token) | {"If-None-Exist": f"identifier=urn:timebok:test|{identifier}"},
                        )
                        month = await client.get(
                            "/Slot",
                            params={"schedule": schedule, "status": "free", "start": ["ge2026-12-01", "lt2027-01-01"]},
                            headers=bearer(token),
                        )
                    except httpx.TransportError as error:
                        failures.append(f"{type(error).__name__}: {error}")
                        continue
                    for r in (response, month):
                        if r.status_code >= 500:
                            failures.append(f"{r.request.method} {r.status_code} {r.text[:200]}")
                    # 201 made; 409 only as the rule of one time at once per patient (parallel seats share a start).
                    said = response.json().get("issue", [{}])[0].get("diagnostics", "") if response.status_code == 409 else ""
                    outcomes[str(response.status_code) + (" overlap" if "one time at once" in said else "")] += 1

        async def restarts() -> None:
            await asyncio.sleep(1.5)
            for index, old in enumerate(list(instances)):
                old.process.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(old.process.wait, 30) == 0
                new = ServeProcess(pg_database, old.log, port=old.port)
                instances[index] = new
                await asyncio.to_thread(_both_up, base, instances)
                old.stop()  # closes its log file
            await asyncio.sleep(1.0)
            stop.set()

        tokens = list(CITIZENS)
        await asyncio.gather(restarts(), *(citizen(n, tokens[n % 5]) for n in range(6)))

        assert failures == [], failures[:10]
        assert outcomes["201"] >= 20 and set(outcomes) <= {"201", "409 overlap"}, outcomes
        restarted_logs = [i.log.read_text(errors="replace") for i in instances]
        assert all(log.count("Received SIGTERM") + log.count("Shutting down") >= 1 for log in restarted_logs)

        # Each slot held by at most one live appointment, and every 201 is in the database once.
        db = Database(pg_database)
        try:
            with db.engine.connect() as connection:
                twice = connection.execute(
                    text(
                        "SELECT slot_id FROM appointment WHERE status IN ('pending', 'booked') "
                        "GROUP BY slot_id HAVING count(*) > 1"
                    )
                ).all()
                made = connection.execute(
                    text("SELECT count(*) FROM appointment WHERE identifier LIKE 'urn:timebok:test|restart-%'")
                ).scalar_one()
        finally:
            db.dispose()
        assert twice == []
        assert made == outcomes["201"]
    finally:
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(10)
        for instance in instances:
            instance.stop()
