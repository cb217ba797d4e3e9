"""The app's embedded backend in a child process: it serves, stops when asked, and never outlives the app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.conftest import KARI, bearer
from timebok.backend.embedded import EmbeddedProcess


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_the_child_serves_the_demo_and_stops_when_asked(db_path):
    server = EmbeddedProcess(db_path).start()
    try:
        assert server.ready.wait(60) and server.failed is None
        response = httpx.get(f"{server.url}/Appointment", headers=bearer(KARI), timeout=10)
        assert response.status_code == 200 and response.json()["resourceType"] == "Bundle"
        pid = server.process.pid
    finally:
        server.stop()
    assert _gone(pid, 10)


def test_a_child_that_cannot_start_says_why(tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    server = EmbeddedProcess(blocked / "demo.db").start()
    assert server.ready.wait(60)
    assert server.failed is not None and str(server.failed)
    server.stop()


_APP_STAND_IN = """
import sys, time
from timebok.backend.embedded import EmbeddedProcess
server = EmbeddedProcess(sys.argv[1]).start()
server.ready.wait(60)
print(server.process.pid, server.port, flush=True)
time.sleep(60)
"""


def test_the_child_dies_with_the_app_even_when_the_app_is_killed(db_path):
    # SIGKILL: no handler of the app runs, as when the terminal window is closed hard or the OOM killer strikes.
    app = subprocess.Popen([sys.executable, "-c", _APP_STAND_IN, str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        child_pid, port = map(int, app.stdout.readline().split())
        assert httpx.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=10).status_code == 200
        app.send_signal(signal.SIGKILL)
        app.wait(10)
        assert _gone(child_pid, 10), "the backend outlived the app"
    finally:
        if app.poll() is None:
            app.kill()
