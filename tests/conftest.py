"""Shared fixtures: a fixed clock, a seeded SQLite file, the real app in-process and on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import shutil
from pathlib import Path

import httpx
import pytest

from backend.app import create_app
from backend.db import Database
from backend.server import EmbeddedServer, open_database
from domain import clock

NOW = "2026-11-25T09:00:00+01:00"  # a Wednesday morning; snapshots and seeds depend on it

KARI = "demo-citizen-kari"  # Patient/1, listed at Fjordsiden (Organization/1)
OLA = "demo-citizen-ola"  # Patient/2, Fjordsiden
PER = "demo-citizen-per"  # Patient/4, listed at Bakkebyen (Organization/2)
FJORD_STAFF = "demo-staff-fjordsiden"
BAKKE_STAFF = "demo-staff-bakkebyen"
SUPPORT = "demo-support-nhn"  # a support agent at NHN kundesenter; acts as a citizen


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("TIMEBOK_NOW", NOW)
    clock.set_now(NOW)
    yield
    clock.set_now(None)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory) -> Path:
    """Seed once per run; each test gets its own copy of the file (seeding takes most of a second)."""
    clock.set_now(NOW)
    path = tmp_path_factory.mktemp("template") / "seeded.db"
    db = open_database(path, demo=True)
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    clock.set_now(None)
    return path


@pytest.fixture
def db_path(tmp_path: Path, seeded_template: Path) -> Path:
    path = tmp_path / "timebok.db"
    shutil.copyfile(seeded_template, path)
    return path


@pytest.fixture
def database(db_path: Path) -> Iterator[Database]:
    db = open_database(db_path, demo=True)
    yield db
    db.dispose()


@pytest.fixture
def app(database: Database):
    return create_app(database, demo=True)


@pytest.fixture
async def api(app) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the real app in-process (no sockets)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver/fhir") as client:
        yield client


@pytest.fixture
def live_server(db_path: Path) -> Iterator[EmbeddedServer]:
    """The real backend served by uvicorn on a loopback port, on its own seeded SQLite file."""
    server = EmbeddedServer(db_path, demo=True).start()
    server.ready.wait(30)
    assert server.failed is None, server.failed
    yield server
    server.stop()
