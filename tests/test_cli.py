"""The operator's commands, run as a user would: `timebok tokens` and `timebok serve`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import FJORD_STAFF, KARI, bearer
from timebok.backend import schema

TIMEBOK = str(Path(sys.executable).with_name("timebok"))


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TIMEBOK, *args], capture_output=True, text=True, timeout=60)


def test_tokens_json_lists_every_demo_token_for_scripts(db_path):
    result = _run("tokens", "--db", str(db_path), "--json")
    assert result.returncode == 0, result.stderr
    tokens = json.loads(result.stdout)
    assert len(tokens) == 8 and all(set(t) == {"role", "name", "reference", "token"} for t in tokens)
    by_token = {t["token"]: t for t in tokens}
    assert by_token[KARI] == {"role": "citizen", "name": "Kari Nordmann", "reference": "Patient/1", "token": KARI}
    assert by_token[FJORD_STAFF]["reference"] == "Organization/1" and by_token[FJORD_STAFF]["role"] == "staff"


def test_tokens_without_json_prints_one_line_per_token(db_path):
    result = _run("tokens", "--db", str(db_path))
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and len(lines) == 8
    assert any(line.startswith("citizen") and "Kari Nordmann" in line and line.endswith(KARI) for line in lines)


def test_tokens_on_an_empty_database_says_how_to_get_some(tmp_path):
    result = _run("tokens", "--db", str(tmp_path / "empty.db"))
    assert result.returncode == 0 and result.stdout == "" and "--demo" in result.stderr
    assert json.loads(_run("tokens", "--db", str(tmp_path / "empty.db"), "--json").stdout) == []


def test_serve_help_explains_every_option():
    result = _run("serve", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for option, words in {
        "--host": "address to listen on",
        "--port": "port to listen on",
        "--db": "SQLite file or database URL",
        "--demo": "accept synthetic identity numbers",
    }.items():
        assert option in text and words in text, option


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_demo_answers_over_http_and_logs_no_identity_number(tmp_path, database):
    with database.reading() as session:
        number = session.get(schema.Patient, 1).identifier
    port = _free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    server = subprocess.Popen(
        [TIMEBOK, "serve", "--demo", "--port", str(port), "--db", str(tmp_path / "served.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60  # seeding a new file first: seconds on a loaded machine
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                metadata = httpx.get(f"{base}/metadata", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "timebok serve did not answer within 60 s"
                time.sleep(0.1)
        assert metadata.status_code == 200 and metadata.json()["resourceType"] == "CapabilityStatement"
        assert metadata.headers["content-type"].startswith("application/fhir+json")
        office = httpx.get(f"{base}/Organization/1", headers=bearer(KARI))  # --demo seeded the empty file
        assert office.status_code == 200 and office.json()["name"] == "Fjordsiden legekontor"
        found = httpx.post(f"{base}/Patient/_search", data={"identifier": number}, headers=bearer(FJORD_STAFF))
        assert found.json()["total"] == 1
        httpx.get(f"{base}/Organization", params={"name": number}, headers=bearer(KARI))
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=15)
    assert "GET /fhir/metadata 200" in output  # the access log is on ...
    assert number not in output and f"{number[:6]} *****" in output  # ... and masks the number


def test_serve_in_a_terminal_prints_its_start_lines_filled_in(db_path):
    """In a terminal uvicorn prints a coloured copy of each message; it must carry the values, not «%d» and «%s»."""
    import os
    import pty
    import select

    port = _free_port()
    leader, follower = pty.openpty()
    server = subprocess.Popen(
        [TIMEBOK, "serve", "--demo", "--port", str(port), "--db", str(db_path)],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    output = b""
    try:
        deadline = time.monotonic() + 30
        while b"Uvicorn running on" not in output or not output.endswith(b"\n"):
            assert time.monotonic() < deadline and server.poll() is None, output.decode(errors="replace")
            if select.select([leader], [], [], 0.5)[0]:
                output += os.read(leader, 65536)
    finally:
        server.terminate()
        server.wait(15)
        os.close(leader)
    text = output.decode(errors="replace")
    assert "%d" not in text and "%s" not in text, text
    assert f"Started server process [{server.pid}]" in text
    assert f"Uvicorn running on http://127.0.0.1:{port} " in text
