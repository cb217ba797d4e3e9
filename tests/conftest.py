"""Shared fixtures: a fixed clock, a seeded database, the real app in-process and on loopback.

The database is a seeded SQLite file, except in the API contract tests (tests/test_api_*.py), which
run once on SQLite and once on PostgreSQL (`db_kind`); everything else stays on SQLite.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests import pg
from timebok.backend.app import create_app
from timebok.backend.db import Database
from timebok.backend.schema import Base
from timebok.backend.server import EmbeddedServer, open_database
from timebok.domain import clock

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


@pytest.fixture(autouse=True)
def own_user_dirs(tmp_path_factory, monkeypatch) -> None:
    """Each test gets user directories of its own (the app's state file, trace exports, the demo database, a token
    file): never the real ones in ~, and never a file that another test, or another xdist worker, writes at the same time.
    Subprocesses started by a test inherit them. A test that sets HOME or an XDG variable itself wins."""
    home = tmp_path_factory.mktemp("user")
    for variable, folder in (
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        monkeypatch.setenv(variable, str(home / folder))


@pytest.fixture
def steady_picture(monkeypatch) -> None:
    """What a snapshot shows does not depend on how long the walk to it took (seconds on a loaded machine, where
    snapshots taken at a fixed moment failed): toasts last until the test ends instead of 5 or 10 s (snapshots that
    must not show one clear them), and a text field's cursor stays drawn instead of blinking every 0.5 s."""
    from textual.notifications import Notification
    from textual.widgets import Input

    monkeypatch.setattr(Notification, "time_left", property(lambda notification: 3600.0))
    monkeypatch.setattr(Input, "_toggle_cursor", lambda field: setattr(field, "_cursor_visible", True))


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


DB_KINDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc) -> None:
    # Only the API contract modules are run on both databases; the TUI, client and unit tests stay on SQLite.
    if metafunc.module.__name__.rpartition(".")[2].startswith("test_api_") and "db_kind" in metafunc.fixturenames:
        metafunc.parametrize("db_kind", DB_KINDS, indirect=True)


@pytest.fixture
def db_kind(request) -> str:
    """Which database the test's backend runs on: "sqlite" unless the module is parametrized."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PgServer]:
    """The PostgreSQL server ($TIMEBOK_TEST_PG); skipped when it does not answer, unless a run requires it."""
    try:
        server = pg.connect()
    except ConnectionError as error:
        if pg.required():
            pytest.fail(f"{error} (TIMEBOK_TEST_PG_REQUIRED is set, so this fails instead of skipping)", pytrace=False)
        pytest.skip(str(error))
    server.drop_leftovers()
    try:
        yield server
    finally:
        server.drop_mine()
        server.close()


@pytest.fixture(scope="session")
def pg_seeded(pg_server: pg.PgServer) -> Iterator[pg.SeededDatabase]:
    """One seeded PostgreSQL database per run, put back to its seeded state before each test that uses it."""
    name = pg_server.new_name("seeded")
    clock.set_now(NOW)
    try:
        db = open_database(pg_server.create(name), demo=True)
        db.dispose()
    finally:
        clock.set_now(None)
    seeded = pg_server.reset_point(name, [table.name for table in Base.metadata.sorted_tables])
    yield seeded
    seeded.close()


@pytest.fixture
def pg_database(pg_seeded: pg.SeededDatabase) -> str:
    """The URL of the run's PostgreSQL database, just put back to the seeded state."""
    return pg_seeded.reset()


@pytest.fixture
def pg_empty_database(pg_server: pg.PgServer) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    name = pg_server.new_name("empty")
    yield pg_server.create(name)
    pg_server.drop(name)


@pytest.fixture
def db_url(request, db_kind: str) -> str | Path:
    """What `open_database` is given: the seeded SQLite file (`db_path`) or a seeded PostgreSQL database's URL."""
    return request.getfixturevalue("pg_database" if db_kind == "postgresql" else "db_path")


@pytest.fixture
def database(db_url: str | Path) -> Iterator[Database]:
    db = open_database(db_url, demo=True)
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
def live_server(db_url: str | Path) -> Iterator[EmbeddedServer]:
    """The real backend served by uvicorn on a loopback port, on its own seeded database."""
    server = EmbeddedServer(db_url, demo=True).start()
    server.ready.wait(30)
    assert server.failed is None, server.failed
    yield server
    server.stop()
