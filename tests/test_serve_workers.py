"""`timebok serve --workers N`: several processes on one port and one SQLite file agree on every month."""

from __future__ import annotations

import httpx

from tests.conftest import KARI, bearer
from tests.serve_process import ServeProcess


def test_two_workers_on_one_sqlite_file_never_serve_a_stale_month(db_path, tmp_path):
    server = ServeProcess(str(db_path), tmp_path / "serve.log", extra=("--workers", "2")).wait_until_serving()
    try:
        params = {"schedule": "Schedule/4", "status": "free", "start": ["ge2026-12-01", "lt2027-01-01"], "_count": "1000"}

        def month() -> list[str]:
            # A new connection each time: the kernel hands it to either worker.
            response = httpx.get(f"{server.url}/Slot", params=params, headers=bearer(KARI), timeout=10)
            assert response.status_code == 200
            return [e["resource"]["id"] for e in response.json()["entry"]]

        for _ in range(6):
            month()  # both workers now hold the month in their caches
        for slot in month()[:5]:
            body = {
                "resourceType": "Appointment",
                "status": "pending",
                "slot": [{"reference": f"Slot/{slot}"}],
                "participant": [{"actor": {"reference": "Patient/1"}, "status": "accepted"}],
            }
            assert httpx.post(f"{server.url}/Appointment", json=body, headers=bearer(KARI), timeout=10).status_code == 201
            for _ in range(4):
                assert slot not in month()
    finally:
        server.stop()
    assert server.process.returncode is not None
